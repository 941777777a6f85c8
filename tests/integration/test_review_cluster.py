"""Reproducers from the review of issue 4's cluster change (node/sync*.c, node/admin/admin.c,
node/admin/api_cluster.c). Each test states the code path it covers; the lifetime ones matter
under ASan (a report in a node's stderr fails the test at teardown)."""

import os
import signal
import urllib.error
import urllib.request

from lib import util
from lib.client import Client
from lib.cluster import TOKEN, Cluster
from lib.util import check


def _raw(node, method, path, headers=None, body=None, timeout=5.0):
    """(status, body bytes) or (None, error) for one admin request with exactly `headers`."""
    req = urllib.request.Request("http://%s%s" % (node.admin, path), data=body, method=method)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (OSError, ValueError) as e:
        return None, str(e)


def test_review_internal_endpoints_need_token_or_mac():
    """admin.c peer_ok / route: the node-to-node endpoints answer 401 without the token and
    with forged or malformed X-Concord-Peer headers (a guard: passes)."""
    with Cluster(1) as c:
        n = c.nodes[0]
        mac = "ab" * 32
        bad = ["", "x", "0 " + mac, "%d %s" % (2 ** 62, mac), "1 " + "zz" * 32,
               "9999999999 " + mac + "00", "-1 " + mac, "  " + mac,
               "%d  %s" % (0, mac[:63])]
        for path, method in (("/api/cluster/propose", "POST"),
                             ("/api/cluster/readindex", "POST"),
                             ("/api/cluster/self", "GET"),
                             ("/api/cluster/status", "GET")):
            st, _ = _raw(n, method, path, body=b"" if method == "POST" else None)
            check(st == 401, "%s %s without auth: %s" % (method, path, st))
            for h in bad:
                st, _ = _raw(n, method, path, {"X-Concord-Peer": h},
                             body=b"" if method == "POST" else None)
                check(st == 401, "%s %s with X-Concord-Peer %r: %s" % (method, path, h, st))


def test_review_peer_time_overflow():
    """admin.c peer_ok: the header's time goes through strtoll unchecked and then
    llabs(t - time(NULL)): a time of -2^63 is a signed overflow (undefined behaviour; UBSan's
    "runtime error: signed integer overflow" under the ASan build) reachable without any
    credential."""
    with Cluster(1) as c:
        n = c.nodes[0]
        for t in ("-9223372036854775808", "9223372036854775807", "-99999999999999999999"):
            st, _ = _raw(n, "GET", "/api/cluster/self", {"X-Concord-Peer": t + " " + "ab" * 32})
            check(st == 401, "time %s: %s" % (t, st))
        check(n.ping() == 200, "the node still serves")


def test_review_status_pending_when_leader_stops():
    """api_cluster.c status_probe / sync.c sync_call: a status read waiting on the leader's
    barrier is failed inside raftstore_close() (close_rs, after sync_calls_cancel); its
    callback then probes the members with sync_call, a fetch nobody cancels any more. When it
    ends (1 s probe timeout) on_call_done reads the freed struct sync (heap-use-after-free,
    ASan) and status_finish the freed raftstore.

    Setup: the followers are SIGSTOPped (the barrier cannot commit), a leader transfer is
    pending (so sync_close's own transfer fails and close_rs runs at once), then SIGTERM. The
    leader may step down first (lost quorum), which hides the bug: three rounds."""
    with Cluster(3) as c:
        for _ in range(3):
            li = c.wait_leader()
            lead = c.nodes[li]
            others = [c.nodes[j] for j in range(3) if j != li]
            host, _, port = lead.admin.rpartition(":")
            auth = b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
            body = ('{"id":"%s"}' % others[0].id).encode()
            for o in others:
                os.kill(o.proc.pid, signal.SIGSTOP)
            try:
                # in this order: the status's barrier first, then the transfer
                st = Client((host, int(port)), timeout=c.t(20))
                st.send(b"GET /api/cluster/status HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n")
                tr = Client((host, int(port)), timeout=c.t(20))
                tr.send(b"POST /api/cluster/leader/transfer HTTP/1.1\r\nHost: x\r\n" + auth
                        + b"Content-Length: %d\r\n\r\n" % len(body) + body)
                rc = lead.stop(timeout=c.t(20))
                st.close()
                tr.close()
            finally:
                for o in others:
                    os.kill(o.proc.pid, signal.SIGCONT)
            check(rc == 0, "leader exit code %s: %s" % (rc, lead.tail()))
            c.restart(li)


test_review_status_pending_when_leader_stops.timeout = 120


def test_review_member_add_refuses_bad_ids():
    """api_cluster.c members_post: the id is taken as sent. An empty id (or "a/b") was added to
    the raft configuration as a spare named "raft-<hex>", which no DELETE can name afterwards
    (/api/cluster/members/ is no endpoint; "a/b" is two path segments). Ids must follow
    nodeId's rule (1-64 of A-Z a-z 0-9 . _ -): 400, and the configuration is unchanged."""
    with Cluster(1) as c:
        n = c.nodes[0]
        h = {"Authorization": "Bearer " + TOKEN}
        for bad in ("", "a/b", "x y", "..%2F", "\\u0001"):
            body = ('{"id":"%s","raftAddress":"127.0.0.1:1","adminAddress":"127.0.0.1:2",'
                    '"role":"spare"}' % bad).encode()
            st, out = _raw(n, "POST", "/api/cluster/members", h, body, timeout=c.t(10))
            check(st == 400, "id %r: %s %r" % (bad, st, out))
        st, out = _raw(n, "GET", "/api/cluster/members", h)
        check(st == 200 and out.count(b'"raftId"') == 1, "members now: %r" % out)


def test_review_unauthenticated_body_not_buffered():
    """admin.c on_read: a request body (up to 64 MiB, malloc'd at once) is read in full before
    the token is looked at, so anyone who can connect makes the node hold 64 MiB per
    connection for up to 10 s. A request with neither the token nor an X-Concord-Peer header
    is refused (401) from its head, before any body byte is sent."""
    with Cluster(1) as c:
        host, _, port = c.nodes[0].admin.rpartition(":")
        for path in (b"/api/cluster/config/api", b"/api/cluster/members"):
            with Client((host, int(port)), timeout=c.t(5)) as cl:
                cl.send(b"PUT " + path + b" HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Length: 60000000\r\n\r\n")
                r = cl.read_response(method=b"PUT")
                check(r.status == 401, "%s: %s" % (path, r.status))
        with Client((host, int(port)), timeout=c.t(5)) as cl:  # the token path still works
            body = b"http: {}\n"
            cl.send(b"PUT /api/cluster/config/api HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                    + TOKEN.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            r = cl.read_response(method=b"PUT")
            check(r.status == 200, "with the token: %s %r" % (r.status, r.body))


def test_review_put_answer_lists_warnings():
    """api_cluster.c config_put/on_table_swapped: the contract's PUT answer is
    {"namespace","revision","index","warnings":[...]}; the warnings (an unknown key here) were
    dropped, and proxyctl config apply prints them only from that answer
    (cmd_config.c: "an accepted file's warnings come back in the server's answer"). A router's
    `tls` (not supported yet) is such a warning."""
    with Cluster(1) as c:
        n = c.nodes[0]
        doc = ("http:\n  routers:\n    r:\n      rule: \"Host(`w.test`)\"\n      service: s\n"
               "      tls: {}\n  services:\n    s:\n      loadBalancer:\n        servers:\n"
               "          - url: \"http://127.0.0.1:1\"\n")
        st, body = n.put_config(doc)
        check(st == 200, "PUT: %s %r" % (st, body))
        w = body.get("warnings") if isinstance(body, dict) else None
        check(isinstance(w, list) and any("tls" in x for x in w), "warnings: %r" % (body,))
        st, body = n.put_config("http: {}\n", ns="plain")
        check(st == 200 and body.get("warnings") == [], "no warning: %s %r" % (st, body))
