"""The HTTP provider (providers.http): a real loopback HTTP server serves a dynamic
configuration with an ETag; the cluster's leader polls it and every node serves what it says.
Cluster-wide: only the leader runs it, and a new leader takes over."""

import hashlib
import http.server
import json
import shutil
import ssl
import tempfile
import threading
import time

from lib import util
from lib.cluster import Cluster
from lib.util import check


class ConfigServer:
    """Serves `doc` at /config with an ETag; counts the requests and the 304s."""

    def __init__(self, tls=None):
        """tls: (cert, key) PEM paths: serve https."""
        self.doc = ""
        self.fail = False  # answer 500 to every poll
        self.etag = True  # False: no ETag, every poll gets the whole document
        self.auth = set()  # the Authorization values polls carried
        self.close_delimited = None  # "notify" / "abrupt": no Content-Length, the close ends
        #                              the body, with or without TLS close_notify
        self.requests = 0
        self.failed_at = []  # monotonic times of the polls answered 500
        self.not_modified = 0
        self.lock = threading.Lock()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with outer.lock:
                    outer.requests += 1
                    outer.auth.add(self.headers.get("Authorization"))
                    body = outer.doc.encode()
                    fail = outer.fail
                    if fail:
                        outer.failed_at.append(time.monotonic())
                if fail:
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if outer.close_delimited:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/yaml")
                    self.end_headers()
                    self.wfile.write(body)
                    self.wfile.flush()
                    self.close_connection = True
                    if outer.close_delimited == "notify":
                        try:
                            self.connection.unwrap()  # sends close_notify
                        except OSError:
                            pass
                    return
                etag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
                if outer.etag and self.headers.get("If-None-Match") == etag:
                    with outer.lock:
                        outer.not_modified += 1
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/yaml")
                self.send_header("Content-Length", str(len(body)))
                if outer.etag:
                    self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/config" % self.httpd.server_address[1]
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls[0], tls[1])
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            self.url = "https://localhost:%d/config" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def route(host, url):
    return ("http:\n  routers:\n    r:\n      rule: \"Host(`%s`)\"\n      service: s\n"
            "  services:\n    s:\n      loadBalancer:\n        servers:\n"
            "          - url: \"%s\"\n" % (host, url))


def test_http_provider_cluster_wide_leader_polls():
    srv = ConfigServer().start()
    try:
        static = {"providers": {"http": {"endpoint": srv.url, "pollInterval": "100ms",
                                         "pollTimeout": "1s"}}}
        with Cluster(3, static_extra=static) as c:
            a = c.backend("A")
            srv.doc = route("h1.test", a.url)
            for i in range(3):
                c.wait_served(i, "h1.test", "A")
            # unchanged documents cost 304s, not proposals
            util.wait_until(lambda: srv.not_modified >= 3, c.t(10), 0.05, "304 answers")
            st = c.nodes[0].status(stale=False)
            provs = [(p["name"], p["node"]) for p in st["providers"]]
            check(("http", st["leader"]) in provs and
                  sum(1 for n, _ in provs if n == "http") == 1,
                  "one http provider, on the leader: %r" % provs)
            # the leader dies: the next one polls, and a change is served by the survivors
            li = c.wait_leader()
            c.kill9(li)
            nl = c.wait_leader(exclude=(li,))
            srv.doc = route("h2.test", a.url)
            for i in range(3):
                if i != li:
                    c.wait_served(i, "h2.test", "A")
            # the source fails: the routes stay, the error shows
            srv.stop()
            srv = None
            util.wait_until(lambda: any(p["name"] == "http" and p["error"]
                                        for p in c.nodes[nl].status(stale=False)["providers"]),
                            c.t(10), 0.05, "the provider's error in status")
            c.wait_served(nl, "h2.test", "A")
            # /api/overview of the leader says so too; a follower's http provider is inactive
            st, ov = c.nodes[nl].api("GET", "/api/overview")
            hp = [p for p in (ov.get("providerStatus", []) if st == 200 else [])
                  if p["name"] == "http"]
            check(len(hp) == 1 and hp[0]["active"] and hp[0]["error"] != "",
                  "overview providerStatus on the leader: %s" % (ov,))
            fo = next(i for i in range(3) if i not in (li, nl))
            st, ov = c.nodes[fo].api("GET", "/api/overview")
            check(st == 200 and {"name": "http", "active": False, "error": "", "skipped": ""}
                  in ov["providerStatus"] and "Http" in ov["providers"],
                  "overview on a follower: %s" % (ov,))
    finally:
        if srv is not None:
            srv.stop()


test_http_provider_cluster_wide_leader_polls.timeout = 120


def test_http_provider_throttled_by_providers_throttle_duration():
    """providersThrottleDuration bounds how often a provider's changes are proposed: the
    server answers a new document to every poll (every 20 ms), the throttle is 1 s, so over a
    window of W seconds at most W/1s + 1 tables are built (slowness can only lower the count),
    and the last document is served in the end."""
    import time
    srv = ConfigServer().start()
    try:
        with Cluster(1, static_extra={"providers": {
                "providersThrottleDuration": "1s",
                "http": {"endpoint": srv.url, "pollInterval": "20ms", "pollTimeout": "1s"}}}) as c:
            a = c.backend("A")
            srv.doc = route("t0.test", a.url)
            c.wait_served(0, "t0.test", "A")
            before = c.nodes[0].log_text().count("routing table generation")
            n = 0
            t0 = time.monotonic()
            while time.monotonic() < t0 + 2.5:  # bounded: 2.5 s of changes
                n += 1
                srv.doc = route("t%d.test" % n, a.url)
                time.sleep(0.02)
            window = time.monotonic() - t0
            c.wait_served(0, "t%d.test" % n, "A")  # the latest document wins
            tables = c.nodes[0].log_text().count("routing table generation") - before
            check(tables <= int(window) + 2,
                  "%d tables in %.1f s with a 1 s throttle (%d documents)" % (tables, window, n))
            check(n > 20, "the server changed its document only %d times" % n)
    finally:
        srv.stop()


test_http_provider_throttled_by_providers_throttle_duration.timeout = 60


def test_http_provider_https_verifies_the_server():
    """An https endpoint (a real TLS server on loopback, named "localhost" so the name goes
    through the resolver path and the certificate's name is checked): with tls.ca the document
    is served; a node that trusts another CA refuses the server and says why, and keeps what it
    had; insecureSkipVerify accepts it."""
    d = tempfile.mkdtemp(prefix="concord-https-")
    good = util.make_cert(d, "server")
    other = util.make_cert(d, "other")
    srv = ConfigServer(tls=good).start()
    try:
        base = {"endpoint": srv.url, "pollInterval": "100ms", "pollTimeout": "2s"}
        with Cluster(1, static_extra={"providers": {"http": dict(base, tls={"ca": good[0]})}}) as c:
            a = c.backend("A")
            srv.doc = route("tls.test", a.url)
            c.wait_served(0, "tls.test", "A")
        with Cluster(1, static_extra={"providers": {"http": dict(base, tls={"ca": other[0]})}}) as c:
            util.wait_until(lambda: any(p["name"] == "http" and "certificate" in p["error"]
                                        for p in (c.nodes[0].status(stale=False) or {})
                                        .get("providers", [])),
                            c.t(10), 0.05, "the certificate error in status")
            check("certificate verify failed" in c.nodes[0].log_text(),
                  "the log names OpenSSL's reason: %s" % c.nodes[0].tail())
        with Cluster(1, static_extra={"providers": {"http": dict(
                base, tls={"insecureSkipVerify": True})}}) as c:
            a = c.backend("B")
            srv.doc = route("insecure.test", a.url)
            c.wait_served(0, "insecure.test", "B")
            # a body that ends with the connection: accepted after close_notify; refused
            # when the TLS session just stops (it may have been cut short)
            srv.close_delimited = "notify"
            srv.doc = route("closed.test", a.url)
            c.wait_served(0, "closed.test", "B")
            srv.close_delimited = "abrupt"
            srv.doc = route("cut.test", a.url)
            util.wait_until(lambda: any(p["name"] == "http" and
                                        "protocol error" in (p["error"] or "")
                                        for p in (c.nodes[0].status(stale=False) or {})
                                        .get("providers", [])),
                            c.t(10), 0.05, "the truncated body refused")
            c.wait_served(0, "closed.test", "B")
    finally:
        srv.stop()
        shutil.rmtree(d, ignore_errors=True)


test_http_provider_https_verifies_the_server.timeout = 90


def test_http_provider_backs_off_while_the_source_fails():
    """A source that answers 500, polled every 50 ms: after each failure the delay doubles, so
    the first five failing polls span 100+200+400+800 ms = 1.5 s (without a backoff, 0.2 s;
    load can only stretch it). The error shows, the routes stay, and once the source is back a
    change is served."""
    srv = ConfigServer().start()
    try:
        with Cluster(1, static_extra={"providers": {"http": {
                "endpoint": srv.url, "pollInterval": "50ms", "pollTimeout": "1s"}}}) as c:
            a = c.backend("A")
            srv.doc = route("b0.test", a.url)
            c.wait_served(0, "b0.test", "A")
            srv.fail = True
            util.wait_until(lambda: len(srv.failed_at) >= 5, c.t(20), 0.05, "5 failed polls")
            span = srv.failed_at[4] - srv.failed_at[0]
            check(span >= 0.7, "5 failed polls within %.2f s: no backoff" % span)
            st = c.nodes[0].status(stale=False) or {}
            check(any(p["name"] == "http" and "500" in (p["error"] or "")
                      for p in st.get("providers", [])),
                  "the error in status: %r" % st.get("providers"))
            c.wait_served(0, "b0.test", "A")  # the routes stay
            srv.fail = False
            srv.doc = route("b1.test", a.url)
            c.wait_served(0, "b1.test", "A")
    finally:
        srv.stop()


test_http_provider_backs_off_while_the_source_fails.timeout = 60


def test_http_provider_identical_document_makes_no_proposal():
    """A source without ETags hands the whole, unchanged document to every poll: each poll is an
    emission equal to the committed contribution, which the node does not propose again. The
    Raft log and the table generation stay where they are over 20 polls; a real change then
    goes through. The configured headers (a bearer token) go with every poll."""
    srv = ConfigServer()
    srv.etag = False
    srv.start()
    try:
        with Cluster(1, static_extra={"providers": {"providersThrottleDuration": "0s", "http": {
                "endpoint": srv.url, "pollInterval": "50ms", "pollTimeout": "1s",
                "headers": {"Authorization": "Bearer s3cret"}}}}) as c:
            a = c.backend("A")
            srv.doc = route("same.test", a.url)
            c.wait_served(0, "same.test", "A")
            # stale reads: a linearizable one would append a read barrier to the log itself
            st0 = c.nodes[0].status(stale=True)
            n0 = srv.requests
            util.wait_until(lambda: srv.requests >= n0 + 20, c.t(20), 0.05, "20 more polls")
            st1 = c.nodes[0].status(stale=True)
            check(srv.not_modified == 0, "the source sent no 304 (no ETag)")
            me0 = [m for m in st0["members"] if m["id"] == "n1"][0]
            me1 = [m for m in st1["members"] if m["id"] == "n1"][0]
            check(me1["commitIndex"] == me0["commitIndex"] and
                  me1["tableGeneration"] == me0["tableGeneration"],
                  "identical documents were proposed: %r -> %r" % (me0, me1))
            srv.doc = route("changed.test", a.url)
            c.wait_served(0, "changed.test", "A")
            check(srv.auth == {"Bearer s3cret"}, "Authorization sent: %r" % srv.auth)
    finally:
        srv.stop()


test_http_provider_identical_document_makes_no_proposal.timeout = 60
