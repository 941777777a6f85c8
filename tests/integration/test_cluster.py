"""A real three-node Concord cluster (issue 4): replication of configs written through any node,
leader loss with an uninterrupted data plane, catch-up by log and by snapshot, join and removal,
kill -9 chaos with no acknowledged write lost, peer authentication, --force-new-cluster,
graceful leadership hand-over and `proxyctl config apply --wait`."""

import json
import re
import os
import random
import subprocess

from lib import util
from lib.cluster import Cluster, Hammer, Node, api_config, chaos, config_rule, snapshot_indexes
from lib.util import Skip, check, proxyctl_path


def _put(c, i, text):
    st, body = c.put_config(i, text)
    check(st == 200, "PUT through %s: %s %r" % (c.nodes[i].id, st, body))
    return body


def test_cluster_config_through_any_node_served_by_all():
    with Cluster(3) as c:
        a = c.backend("A")
        for i in range(3):
            host = "any%d.test" % i
            _put(c, i, api_config(host, a.url))
            for j in range(3):
                c.wait_served(j, host, "A")
            # The namespace is replaced whole: the previous write's route is gone everywhere.
            if i:
                for j in range(3):
                    util.wait_until(lambda: c.nodes[j].get("any%d.test" % (i - 1))[0] == 404,
                                    c.t(10), 0.02, "the old route to go on %s" % c.nodes[j].id)


test_cluster_config_through_any_node_served_by_all.timeout = 120


def test_cluster_leader_kill_data_plane_uninterrupted():
    with Cluster(3) as c:
        a = c.backend("A")
        _put(c, 0, api_config("live.test", a.url))
        for j in range(3):
            c.wait_served(j, "live.test", "A")
        li = c.wait_leader()
        survivors = [j for j in range(3) if j != li]
        h = Hammer([c.nodes[j] for j in survivors], "live.test", "A").start()
        try:
            util.wait_until(lambda: h.count >= 20, c.t(10), 0.01, "requests before the kill")
            c.kill9(li)
            nl = c.wait_leader(exclude=(li,))
            check(nl in survivors, "new leader %r" % nl)
            # A write (another namespace, so live.test stays) through the new leader and the
            # other survivor.
            # (the new leader takes writes after its barrier: the first may get a 503)
            for j in survivors:
                util.wait_until(lambda: c.put_config(j, api_config("after%d.test" % j, a.url),
                                                     ns="ns%d" % j)[0] == 200,
                                c.t(10), 0.05, "a write through %s after the election"
                                % c.nodes[j].id)
            for j in survivors:
                for k in survivors:
                    c.wait_served(j, "after%d.test" % k, "A")
            n = h.count
            util.wait_until(lambda: h.count >= n + 20, c.t(10), 0.01, "requests after")
        finally:
            h.stop()
        check(not h.bad, "%d of %d data-plane requests to the survivors failed: %r"
              % (len(h.bad), h.count, h.bad[:5]))


test_cluster_leader_kill_data_plane_uninterrupted.timeout = 120


def test_cluster_killed_node_restarts_and_catches_up():
    with Cluster(3) as c:
        a = c.backend("A")
        _put(c, 0, api_config("c0.test", a.url))
        li = c.wait_leader()
        c.kill9(li)
        c.wait_leader(exclude=(li,))
        for k in range(1, 6):
            c.put_until_ok(api_config("c%d.test" % k, a.url))
        c.restart(li)
        c.wait_caught_up(li)
        c.wait_served(li, "c5.test", "A")
        check(config_rule(c.nodes[li].get_config()) == "Host(`c5.test`)", "stale config")


test_cluster_killed_node_restarts_and_catches_up.timeout = 120


def test_cluster_catch_up_by_snapshot():
    with Cluster(3, env={"CONCORD_TEST_SNAPSHOT_THRESHOLD": "16"}) as c:
        a = c.backend("A")
        _put(c, 0, api_config("s0.test", a.url))
        li = c.wait_leader()
        down = (li + 1) % 3
        c.wait_caught_up(down)
        at_kill = c.status(down)["appliedIndex"]
        c.kill9(down)
        for k in range(1, 101):
            _put(c, li, api_config("s%d.test" % k, a.url))
        # The leader compacted its log past what the down node has: only InstallSnapshot can
        # bring it back (trailing = threshold/4 + 1 = 5 entries are kept after a snapshot).
        snaps = snapshot_indexes(c.nodes[li].data_dir)
        check(snaps and snaps[-1] - 5 > at_kill + 1,
              "the leader's snapshots %r do not cover the down node's gap (it had %d)"
              % (snaps, at_kill))
        c.restart(down)
        c.wait_caught_up(down)
        c.wait_served(down, "s100.test", "A")
        check(config_rule(c.nodes[down].get_config()) == "Host(`s100.test`)", "stale config")
        check(c.status(down)["appliedIndex"] >= snaps[-1], "applied below the snapshot")
        # and the node says so: a restore above what it had when killed came from the leader
        restored = [int(m) for m in re.findall(
            r"state restored from a snapshot \(applied index (\d+)\)", c.nodes[down].log_text())]
        check(any(r > at_kill + 1 for r in restored),
              "no InstallSnapshot restore in the node's log (restores: %r, had %d)"
              % (restored, at_kill))


test_cluster_catch_up_by_snapshot.timeout = 150


def test_cluster_join_then_remove():
    with Cluster(3) as c:
        a = c.backend("A")
        _put(c, 0, api_config("join.test", a.url))
        n4 = c.add_node(via=1)
        i4 = c.index("n4")
        c.wait_voter("n4")
        c.wait_served(i4, "join.test", "A")
        # A write through the new node reaches everybody.
        _put(c, i4, api_config("join2.test", a.url))
        for j in range(4):
            c.wait_served(j, "join2.test", "A")
        st, body = c.nodes[0].api("DELETE", "/api/cluster/members/n4")
        check(st == 200 and body == {"removed": "n4"}, "remove: %s %r" % (st, body))
        util.wait_until(lambda: "was removed from the cluster" in n4.log_text(), c.t(10), 0.02,
                        "n4 to log its removal")
        st, body = n4.put_config(api_config("rogue.test", a.url))
        check(st == 409, "a config write to the removed node: %s %r" % (st, body))
        for j in range(3):
            util.wait_until(lambda: [m["id"] for m in c.nodes[j].api(
                "GET", "/api/cluster/members")[1]["members"]] == ["n1", "n2", "n3"],
                c.t(10), 0.02, "n4 to leave %s's member list" % c.nodes[j].id)
        _put(c, 2, api_config("join3.test", a.url))
        for j in range(3):
            c.wait_served(j, "join3.test", "A")


test_cluster_join_then_remove.timeout = 150


def test_cluster_chaos_kill9_no_acknowledged_write_lost():
    rng = random.Random(int(os.environ.get("CONCORD_CHAOS_SEED", "4")))
    with Cluster(3) as c:
        rounds = 15 if c.sanitized else 50
        s = chaos(c, rounds, rng)
        check(s["acked"] >= rounds, "too few acknowledged writes: %r" % s)


test_cluster_chaos_kill9_no_acknowledged_write_lost.timeout = 400


def test_cluster_peer_authentication():
    with Cluster(3) as c:
        a = c.backend("A")
        _put(c, 0, api_config("auth.test", a.url))
        before = {nd.id: c.status(i, stale=True) for i, nd in enumerate(c.nodes)}
        wrong = c.write_file("wrong.secret", "not-the-cluster-secret\n")
        # 1. A node with the wrong secret asks to join: refused by the peer MAC check.
        j = c.add_node(via=0, secret_file=wrong, wait=False, node_id="intruder")
        util.wait_until(lambda: "HTTP 401" in j.log_text(), c.t(10), 0.02,
                        "the intruder's join to be refused with 401: %s" % j.tail())
        # 2. A rogue that bootstraps itself with the victims as peers campaigns at them.
        boot = ["rogue=" + "127.0.0.1:%d" % c._ports(1)[0]]
        boot += ["%s=%s" % (nd.id, nd.raft_address) for nd in c.nodes[:3]]
        r = Node(c, "rogue", int(boot[0].rsplit(":", 1)[1]), bootstrap=boot,
                 secret_file=wrong)
        c.nodes.append(r)
        r.start(wait=False)
        def disc(nd):
            return [l for l in nd.log_text().splitlines()
                    if "raft peer" in l and l.endswith("; disconnected")]
        for nd in c.nodes[:3]:
            util.wait_until(lambda: disc(nd), c.t(10), 0.02,
                            "%s to log the rogue's disconnect" % nd.id)
        for i in range(3):
            st = c.status(i, stale=True)
            b = before[c.nodes[i].id]
            check(st["term"] == b["term"] and st["leader"] == b["leader"],
                  "%s: term/leader %s/%s, was %s/%s" % (c.nodes[i].id, st["term"], st["leader"],
                                                         b["term"], b["leader"]))
            check([m["id"] for m in st["members"]] == ["n1", "n2", "n3"],
                  "members of %s: %r" % (c.nodes[i].id, st["members"]))
            check(config_rule(c.nodes[i].get_config()) == "Host(`auth.test`)", "config changed")
        # The rogue needs 3 of its 4 bootstrap voters: it never gets a leader at all.
        rs = r.status(stale=True)
        check(rs is None or not rs.get("leader"), "the rogue found a leader: %r" % rs)
        _put(c, 1, api_config("auth2.test", a.url))
        for i in range(3):
            c.wait_served(i, "auth2.test", "A")
            st = c.status(i, stale=True)
            check(st["leader"] == before[c.nodes[i].id]["leader"], "leader changed: %r" % st)


test_cluster_peer_authentication.timeout = 120


def test_cluster_force_new_cluster():
    with Cluster(3) as c:
        a = c.backend("A")
        _put(c, 0, api_config("fnc.test", a.url))
        li = c.wait_leader()
        s = (li + 1) % 3
        others = [j for j in range(3) if j != s]
        for j in others:
            c.kill9(j)
        # Until the survivor's election timer fires it may still forward to the dead leader
        # (502); then it has no leader (503) or cannot commit (504). Never a 200.
        seen = []

        def refused():
            st, body = c.put_config(s, api_config("lost.test", a.url), timeout=c.t(30))
            seen.append(st)
            check(st in (502, 503, 504), "a write without quorum: %s %r" % (st, body))
            return st in (503, 504)
        util.wait_until(refused, c.t(15), 0.05, "a 503/504 without quorum (saw %r)" % seen)
        c.kill9(s)
        c.nodes[s].start(args=["--force-new-cluster"])
        c.wait_leader()
        check(c.leader() == s, "the survivor does not lead")
        st = c.status(s)
        check([m["id"] for m in st["members"]] == [c.nodes[s].id], "members: %r" % st["members"])
        check(config_rule(c.nodes[s].get_config()) == "Host(`fnc.test`)", "config lost")
        c.wait_served(s, "fnc.test", "A")
        # /ping is 200 before the new leader's barrier: its first write may get a 503.
        c.put_until_ok(api_config("fnc2.test", a.url), via=s)
        c.wait_served(s, "fnc2.test", "A")
        for j in others:
            nd = c.nodes[j]
            nd.wipe()
            nd.bootstrap = None
            nd.join = c.nodes[s].admin
            nd.start()
        for j in others:
            c.wait_voter(c.nodes[j].id)
        c.wait_formed()
        for j in range(3):
            c.wait_caught_up(j)
            c.wait_served(j, "fnc2.test", "A")
        _put(c, others[0], api_config("fnc3.test", a.url))
        for j in range(3):
            c.wait_served(j, "fnc3.test", "A")


test_cluster_force_new_cluster.timeout = 150


def test_cluster_sigterm_leader_hands_over():
    with Cluster(3) as c:
        a = c.backend("A")
        _put(c, 0, api_config("term.test", a.url))
        li = c.wait_leader()
        rc = c.stop(li)
        check(rc == 0, "the leader's exit code after SIGTERM: %r: %s" % (rc, c.nodes[li].tail()))
        c.wait_leader(exclude=(li,))
        c.put_until_ok(api_config("term2.test", a.url))
        for j in range(3):
            if j != li:
                c.wait_served(j, "term2.test", "A")


test_cluster_sigterm_leader_hands_over.timeout = 90


def _ctl(c, *args):
    exe = proxyctl_path()
    if not os.path.exists(exe):
        raise Skip("proxyctl not built at %s" % exe)
    eps = ",".join(nd.admin for nd in c.nodes if nd.admin)
    p = subprocess.run([exe, "--endpoints", eps, "--token-file", c.token_file] + list(args),
                       capture_output=True, text=True, timeout=c.t(60))
    return p.returncode, p.stdout, p.stderr


def test_cluster_proxyctl_apply_wait():
    with Cluster(3) as c:
        a = c.backend("A")
        f = c.write_file("api.yaml", api_config("ctl.test", a.url))
        rc, out, err = _ctl(c, "config", "apply", "-f", f, "--wait")
        check(rc == 0 and out.startswith("applied namespace api at revision"),
              "apply --wait: rc %d, %r, %r" % (rc, out, err))
        for j in range(3):  # --wait returned: every voter already serves it
            check(c.nodes[j].serves("ctl.test", "A"), "%s does not serve yet" % c.nodes[j].id)
        li = c.wait_leader()
        down = (li + 1) % 3
        c.kill9(down)
        g = c.write_file("api2.yaml", api_config("ctl2.test", a.url))
        rc, out, err = _ctl(c, "config", "apply", "-f", g, "--wait", "--wait-timeout", "3s")
        check(rc == 1 and c.nodes[down].id in err + out,
              "apply --wait with %s down: rc %d, %r, %r" % (c.nodes[down].id, rc, out, err))


test_cluster_proxyctl_apply_wait.timeout = 90


def test_cluster_one_node_restart_keeps_state():
    """A lone voter applies its log inside raft_start (before the store is handed to the node):
    proxyd used to crash there (seen first with --force-new-cluster)."""
    with Cluster(1) as c:
        a = c.backend("A")
        _put(c, 0, api_config("one.test", a.url))
        c.wait_served(0, "one.test", "A")
        check(c.stop(0) == 0, "exit code after SIGTERM")
        c.restart(0)
        c.wait_served(0, "one.test", "A")
        c.kill9(0)
        c.restart(0)
        c.wait_served(0, "one.test", "A")
        # /ping is 200 once a leader is known; the leader takes writes after its barrier.
        c.put_until_ok(api_config("one2.test", a.url))
        c.wait_served(0, "one2.test", "A")


test_cluster_one_node_restart_keeps_state.timeout = 60


def test_cluster_promote_demote_and_transfer():
    """member demote/promote change a role in the Raft configuration, and leader transfer
    hands leadership to the named voter; a spare cannot be given leadership."""
    with Cluster(3) as c:
        li = c.wait_leader()
        other = c.nodes[(li + 1) % 3].id
        rc, out, err = _ctl(c, "member", "demote", other)
        check(rc == 0, "demote: rc %d, %r" % (rc, err))
        def roles():  # the answering node may learn the new configuration a moment later
            rc, out, err = _ctl(c, "-o", "json", "member", "list")
            return {m["id"]: m["role"] for m in json.loads(out)["members"]} if rc == 0 else {}
        util.wait_until(lambda: roles().get(other) == "spare", c.t(10), 0.05,
                        "%s listed as spare" % other)
        rc, out, err = _ctl(c, "leader", "transfer", other)
        check(rc == 1, "transfer to a spare: rc %d, %r" % (rc, err))
        rc, out, err = _ctl(c, "member", "promote", other)
        check(rc == 0, "promote: rc %d, %r" % (rc, err))
        util.wait_until(lambda: roles().get(other) == "voter", c.t(10), 0.05,
                        "%s listed as voter" % other)
        rc, out, err = _ctl(c, "leader", "transfer", other)
        check(rc == 0 and out.strip() == "leader: %s" % other,
              "transfer: rc %d, %r, %r" % (rc, out, err))
        check(c.nodes[c.wait_leader()].id == other, "the leader is not %s" % other)


test_cluster_promote_demote_and_transfer.timeout = 60
