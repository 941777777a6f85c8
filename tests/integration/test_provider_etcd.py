"""The etcd provider (providers.etcd) against a real etcd 3.4 (lib/etcd.py) on a real 3-node
cluster: Traefik's KV layout under traefik/ becomes routers served by every node; a multi-key
transaction is one emission and one table (atomic); deletes withdraw routes; the provider runs
on the leader only and a new leader takes over; an etcd outage keeps the routes and shows the
error, and changes flow again once etcd is back."""

import re

from lib import util
from lib.cluster import Cluster
from lib.etcd import Etcd
from lib.util import check

GEN_RE = re.compile(r"routing table generation (\d+): (\d+) router\(s\)")


def router(name, host, service="s"):
    return {"traefik/http/routers/%s/rule" % name: "Host(`%s`)" % host,
            "traefik/http/routers/%s/service" % name: service,
            "traefik/http/routers/%s/entryPoints/0" % name: "web"}


def service(url, name="s"):
    return {"traefik/http/services/%s/loadBalancer/servers/0/url" % name: url}


def static(e, throttle="2s"):
    return {"providers": {"providersThrottleDuration": throttle,
                          "etcd": {"endpoints": [e.endpoint], "rootKey": "traefik"}}}


def wait_gone(c, i, host):
    util.wait_until(lambda: c.nodes[i].get(host)[0] == 404, c.t(10), 0.02,
                    "%s to stop serving %s" % (c.nodes[i].id, host))


def etcd_error(c, i):
    """The etcd provider's error in node i's status ("" when none, None when not listed)."""
    st = c.nodes[i].status(stale=False)
    for p in (st or {}).get("providers") or []:
        if p["name"] == "etcd":
            return p["error"] or ""
    return None


def test_etcd_provider_keys_txn_and_deletes():
    with Etcd() as e:
        # throttle 0: every emission is proposed at once, so a provider that applied a
        # transaction key by key would show intermediate tables
        with Cluster(3, static_extra=static(e, throttle="0s")) as c:
            a = c.backend("A")
            e.txn(puts=dict(service(a.url), **router("r1", "h1.test")))
            for i in range(3):
                c.wait_served(i, "h1.test", "A")
            li = c.wait_leader()
            st = c.nodes[0].status(stale=False)
            provs = [(p["name"], p["node"]) for p in st["providers"]]
            check(("etcd", st["leader"]) in provs and
                  sum(1 for n, _ in provs if n == "etcd") == 1,
                  "one etcd provider, on the leader: %r" % provs)
            for i in range(3):
                c.wait_caught_up(i)

            # A transaction writing three routers (9 keys, one etcd revision): one emission on
            # the leader, and every node goes from 1 router to 4 in one table, never 2 or 3.
            marks = [len(c.nodes[i].log_text()) for i in range(3)]
            keys = {}
            for n in ("t1", "t2", "t3"):
                keys.update(router(n, "%s.test" % n))
            rev = e.txn(puts=keys)
            for i in range(3):
                for n in ("t1", "t2", "t3"):
                    c.wait_served(i, "%s.test" % n, "A")
            lines = [l for l in c.nodes[li].log_text()[marks[li]:].splitlines()
                     if "etcd provider: revision" in l]
            check(len(lines) == 1 and ("revision %d: 9 event(s), 9 key(s) changed, one emission"
                                       % rev) in lines[0],
                  "the leader's etcd provider lines for revision %d: %r" % (rev, lines))
            for i in range(3):
                c.wait_caught_up(i)
                counts = [int(m.group(2)) for m in
                          GEN_RE.finditer(c.nodes[i].log_text()[marks[i]:])]
                check(counts and all(n == 4 for n in counts),
                      "%s's tables after the txn had %r routers (want only 4: no half-applied "
                      "transaction)" % (c.nodes[i].id, counts))

            # one router deleted (its three keys, one delete-range): it goes everywhere
            e.delete("traefik/http/routers/t2/", prefix=True)
            for i in range(3):
                wait_gone(c, i, "t2.test")
                c.wait_served(i, "t1.test", "A")

            # everything under the root deleted: a healthy etcd with zero keys, routes go
            e.delete("traefik/", prefix=True)
            for i in range(3):
                for h in ("h1.test", "t1.test", "t3.test"):
                    wait_gone(c, i, h)
            check(etcd_error(c, li) == "", "the etcd provider reports %r" % etcd_error(c, li))


test_etcd_provider_keys_txn_and_deletes.timeout = 120


def test_etcd_provider_failover_and_outage():
    with Etcd() as e:
        with Cluster(3, static_extra=static(e, throttle="200ms")) as c:
            a = c.backend("A")
            e.txn(puts=dict(service(a.url), **router("r1", "h1.test")))
            for i in range(3):
                c.wait_served(i, "h1.test", "A")

            # the leader dies: the new leader's provider reads etcd and follows new keys
            li = c.wait_leader()
            c.kill9(li)
            nl = c.wait_leader(exclude=(li,))
            alive = [i for i in range(3) if i != li]
            e.txn(puts=router("r2", "h2.test"))
            for i in alive:
                c.wait_served(i, "h2.test", "A")
            check(etcd_error(c, nl) == "", "the new leader's etcd provider reports %r"
                  % etcd_error(c, nl))

            # etcd stops: the routes stay on every live node, the status shows the error
            e.stop()
            util.wait_until(lambda: etcd_error(c, nl), c.t(10), 0.05,
                            "the etcd provider's error in status")
            err = etcd_error(c, nl)
            check(e.endpoint in err, "the error names the endpoint: %r" % err)
            for i in alive:
                c.wait_served(i, "h1.test", "A")
                c.wait_served(i, "h2.test", "A")

            # etcd comes back with its data: a change flows again, and the error clears
            e.start()
            e.put("traefik/http/routers/r3/rule", "Host(`h3.test`)")
            e.put("traefik/http/routers/r3/service", "s")
            for i in alive:
                c.wait_served(i, "h3.test", "A", timeout=c.t(20))  # backoff: at most a few s
            util.wait_until(lambda: etcd_error(c, nl) == "", c.t(10), 0.05,
                            "the etcd provider's error to clear")


test_etcd_provider_failover_and_outage.timeout = 120


def test_etcd_provider_compaction_and_second_endpoint():
    """The first endpoint refuses connections: the provider fails over to the second. After an
    outage the watch resumes from the last revision seen; when that revision was compacted
    meanwhile, the provider reads every key again."""
    from lib.etcd import free_ports
    with Etcd() as e:
        dead = "127.0.0.1:%d" % free_ports(1)[0]  # closed again: connection refused
        st = {"providers": {"providersThrottleDuration": "0s",
                            "etcd": {"endpoints": [dead, "http://" + e.endpoint + "/"]}}}
        with Cluster(1, static_extra=st) as c:
            a = c.backend("A")
            e.txn(puts=dict(service(a.url), **router("r1", "h1.test")))
            c.wait_served(0, "h1.test", "A")
            check(etcd_error(c, 0) == "", "error with a live second endpoint: %r"
                  % etcd_error(c, 0))
            # etcd stops; it is changed and compacted on a port the provider does not know;
            # then it comes back on its usual port
            e.stop()
            util.wait_until(lambda: etcd_error(c, 0), c.t(10), 0.05, "the outage error")
            e.start(client_port=free_ports(1)[0])
            for k in range(5):
                e.put("traefik/http/routers/r1/priority", str(k + 1))
            rev = e.put("traefik/http/routers/r1/rule", "Host(`h1b.test`)")
            e.compact(rev)
            e.stop()
            e.start()
            c.wait_served(0, "h1b.test", "A", timeout=c.t(40))  # after the backoff (<= 8 s)
            wait_gone(c, 0, "h1.test")
            check("was compacted" in c.nodes[0].log_text(),
                  "the provider did not see the compaction: %s" % c.nodes[0].tail(8))
            util.wait_until(lambda: etcd_error(c, 0) == "", c.t(10), 0.05, "the error to clear")


test_etcd_provider_compaction_and_second_endpoint.timeout = 120


def test_etcd_provider_username_password():
    """With etcd's authentication on, the provider authenticates (POST /v3/auth/authenticate,
    the token in Authorization); a wrong password is an error in status, naming etcd's
    reason."""
    with Etcd() as e:
        e.enable_auth("root", "concord-pw")
        good = {"providers": {"etcd": {"endpoints": [e.endpoint], "username": "root",
                                       "password": "concord-pw"}}}
        with Cluster(1, static_extra=good) as c:
            a = c.backend("A")
            e.txn(puts=dict(service(a.url), **router("r1", "auth.test")))
            c.wait_served(0, "auth.test", "A")
            check(etcd_error(c, 0) == "", "error with the right password: %r" % etcd_error(c, 0))
        bad = {"providers": {"etcd": {"endpoints": [e.endpoint], "username": "root",
                                      "password": "wrong"}}}
        with Cluster(1, static_extra=bad) as c:
            util.wait_until(lambda: etcd_error(c, 0), c.t(10), 0.05, "the auth error in status")
            err = etcd_error(c, 0)
            check("authenticate" in err and "authentication failed" in err,
                  "the status names the failed authentication: %r" % err)
            check(c.nodes[0].get("auth.test")[0] == 404, "nothing served without a config")


test_etcd_provider_username_password.timeout = 90


def test_etcd_provider_tls():
    """An etcd that speaks https only: with tls.ca the provider verifies it (the endpoint is a
    host name, checked against the certificate) and its keys are served; trusting another CA,
    the provider refuses the server and says so in status."""
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix="concord-etcd-tls-")
    try:
        good = util.make_cert(d, "etcd")
        other = util.make_cert(d, "other")
        with Etcd(tls=good) as e:
            ep = "https://localhost:%d" % e.client_port
            ok = {"providers": {"etcd": {"endpoints": [ep], "tls": {"ca": good[0]}}}}
            with Cluster(1, static_extra=ok) as c:
                a = c.backend("A")
                e.txn(puts=dict(service(a.url), **router("r1", "tls.test")))
                c.wait_served(0, "tls.test", "A")
                check(etcd_error(c, 0) == "", "error over TLS: %r" % etcd_error(c, 0))
            bad = {"providers": {"etcd": {"endpoints": ["localhost:%d" % e.client_port],
                                          "tls": {"ca": other[0]}}}}
            with Cluster(1, static_extra=bad) as c:
                util.wait_until(lambda: "certificate" in etcd_error(c, 0), c.t(10), 0.05,
                                "the certificate error in status")
                check(c.nodes[0].get("tls.test")[0] == 404, "nothing served from an unverified etcd")
    finally:
        shutil.rmtree(d, ignore_errors=True)


test_etcd_provider_tls.timeout = 90


def test_etcd_provider_frozen_etcd():
    """A frozen etcd (SIGSTOP: its connections stay open, nothing answers) is noticed by the
    provider's periodic probe: the error shows, the routes stay; once it thaws the watch
    resumes and changes flow."""
    with Etcd() as e:
        with Cluster(1, static_extra=static(e, throttle="0s")) as c:
            a = c.backend("A")
            e.txn(puts=dict(service(a.url), **router("r1", "f1.test")))
            c.wait_served(0, "f1.test", "A")
            e.pause()
            try:
                # probe every 5 s with a 5 s deadline: noticed within about 10 s
                util.wait_until(lambda: etcd_error(c, 0), c.t(25), 0.1,
                                "the frozen etcd's error in status")
                err = etcd_error(c, 0)
                check("stopped answering" in err or "timed out" in err.lower(),
                      "the error says etcd does not answer: %r" % err)
                c.wait_served(0, "f1.test", "A")
            finally:
                e.resume()
            e.txn(puts=router("r2", "f2.test"))
            c.wait_served(0, "f2.test", "A", timeout=c.t(40))
            util.wait_until(lambda: etcd_error(c, 0) == "", c.t(10), 0.05, "the error to clear")


test_etcd_provider_frozen_etcd.timeout = 120
