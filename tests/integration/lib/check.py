"""Test environment (backends + proxyd) and the assertions shared by the suites: local error
replies, connection close, and the desync oracle (what exactly reached the backend)."""

import re
import time

from . import util
from .backend import FakeBackend, HttpBackend, canonical_body
from .client import Client, Closed
from .proxyd import Proxyd
from .util import TestFailure, check, fail, show

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
              "transfer-encoding"}
VIA_RE = re.compile(rb"^1\.1 [!-~]+$")


class Env:
    """Backends plus one proxyd routing to them.

    backends: dict name -> FakeBackend/HttpBackend (not started) or a list of names for default
    FakeBackends. routers default to Host(`<lowercase name>`) -> name for each backend.
    services_extra: dict name -> list of URLs (e.g. an empty list for a 503 service).
    """

    def __init__(self, backends=("A",), routers=None, services_extra=None, **proxyd_kw):
        if isinstance(backends, dict):
            self.be = dict(backends)
        else:
            self.be = {n: FakeBackend(n) for n in backends}
        self.routers = routers
        self.services_extra = services_extra or {}
        self.proxyd_kw = proxyd_kw
        self.clients = []
        self.px = None

    def __getattr__(self, name):
        be = self.__dict__.get("be", {})
        if name in be:
            return be[name]
        raise AttributeError(name)

    def __enter__(self):
        if self.px is not None:  # already started (a test may start first, then use `with`)
            return self
        try:
            for b in self.be.values():
                b.start()
            services = {n: [b.url] for n, b in self.be.items()}
            services.update(self.services_extra)
            routers = self.routers
            if routers is None:
                routers = [("Host(`%s`)" % n.lower(), n) for n in self.be]
            self.px = Proxyd(routers=routers, services=services, **self.proxyd_kw)
            self.px.start()
        except BaseException:
            self._cleanup()
            raise
        return self

    @property
    def addr(self):
        return self.px.addr

    def client(self, **kw):
        c = Client(self.px.addr, **kw)
        self.clients.append(c)
        return c

    def _cleanup(self):
        for c in self.clients:
            c.close()
        problems = self.px.stop() if self.px else []
        for b in self.be.values():
            try:
                b.stop()
            except Exception:
                pass
        return problems

    def __exit__(self, et, ev, tb):
        if et is not None and issubclass(et, TestFailure):
            errs = [e for b in self.be.values() if isinstance(b, FakeBackend) for e in b.errors()]
            if errs and "malformed" not in str(ev):
                ev = TestFailure("%s; backend saw malformed bytes: %s" % (ev, "; ".join(errs[:2])))
                problems = self._cleanup()
                if problems:
                    raise TestFailure("%s; also: %s" % (ev, "; ".join(problems))) from None
                raise ev from None
        problems = self._cleanup()
        if problems:
            if et is None:
                raise TestFailure("; ".join(problems))
            if issubclass(et, TestFailure):
                raise TestFailure("%s; also: %s" % (ev, "; ".join(problems))) from None
        return False


# ---- expected backend requests ---------------------------------------------------------------
class E:
    """An expected request at the backend. framing: None (any consistent framing), 'none',
    'length' or 'chunked'. headers: {name: bytes value} that must be present with that value.
    absent: names that must not be present. ws: a WebSocket upgrade (Connection: Upgrade ok)."""

    def __init__(self, method, target, body=b"", framing=None, headers=None, absent=(), ws=False,
                 host=None, trailers_absent=()):
        self.method = method.encode() if isinstance(method, str) else method
        self.target = target.encode() if isinstance(target, str) else target
        self.body = body
        self.framing = framing
        self.headers = headers or {}
        self.absent = absent
        self.ws = ws
        self.host = host
        self.trailers_absent = trailers_absent

    def mismatches(self, r):
        out = []
        if r.method != self.method or r.target != self.target:
            out.append("expected %s %s, got %s %s" % (self.method.decode("latin-1"),
                                                      self.target.decode("latin-1"),
                                                      r.method.decode("latin-1"),
                                                      r.target.decode("latin-1")))
        if r.conn.backend.store_body and bytes(r.body) != self.body:
            out.append("body %s, expected %s" % (show(r.body, 60), show(self.body, 60)))
        if self.framing and r.framing != self.framing:
            out.append("framing %s, expected %s" % (r.framing, self.framing))
        if self.framing == "length" and r.content_length != len(self.body):
            out.append("Content-Length %s, expected %d" % (r.content_length, len(self.body)))
        if self.host is not None and r.get("host") != self.host:
            out.append("Host %r, expected %r" % (r.get("host"), self.host))
        for k, v in self.headers.items():
            got = r.all(k)
            if got != [v]:
                out.append("%s is %r, expected [%r]" % (k, got, v))
        for k in self.absent:
            if r.all(k):
                out.append("%s present (%r), must be absent" % (k, r.all(k)))
        for k in self.trailers_absent:
            if any(n.lower() == k for n, _ in r.trailers):
                out.append("trailer %s forwarded (%r)" % (k, r.trailers))
        out += sanity(r, ws=self.ws)
        return out


def sanity(r, ws=False):
    """The proxy's forwarding contract, checked on every forwarded request."""
    out = []
    for name, value in r.headers:
        ln = name.lower()
        if "_" in ln:
            out.append("forwarded a field with '_' (%s)" % name)
        if ln in HOP_BY_HOP:
            if ln == "transfer-encoding" and value == b"chunked":
                continue
            if ws and ((ln == "connection" and value.lower() == b"upgrade")
                       or (ln == "upgrade" and value.lower() == b"websocket")):
                continue
            if ln == "connection" and all(t.strip().lower() in (b"keep-alive", b"close")
                                          for t in value.split(b",")):
                continue
            out.append("forwarded hop-by-hop field %s: %s" % (name, show(value, 60)))
    via = r.all("via")
    if not via or not VIA_RE.match(via[-1].split(b",")[-1].strip()):
        out.append("Via missing or not '1.1 <node>' (%r)" % via)
    xff = r.all("x-forwarded-for")
    if not xff or xff[-1].split(b",")[-1].strip() != b"127.0.0.1":
        out.append("X-Forwarded-For does not end with 127.0.0.1 (%r)" % xff)
    if r.all("x-forwarded-proto") != [b"http"]:
        out.append("X-Forwarded-Proto %r, expected [b'http']" % r.all("x-forwarded-proto"))
    if r.all("x-real-ip") != [b"127.0.0.1"]:
        out.append("X-Real-Ip %r, expected [b'127.0.0.1']" % r.all("x-real-ip"))
    for k in ("x-forwarded-port", "x-forwarded-server"):
        if len(r.all(k)) != 1:
            out.append("%s %r, expected one value" % (k, r.all(k)))
    if r.all("x-forwarded-host") != r.all("host"):
        out.append("X-Forwarded-Host %r differs from Host %r" % (r.all("x-forwarded-host"),
                                                                r.all("host")))
    return out


def backend_settled(be, n, timeout=5.0, settle=0.15):
    """Waits for `n` requests, then `settle` more seconds so stray (smuggled) ones show up."""
    be.wait_requests(n, timeout)
    t_end = time.monotonic() + settle
    last = len(be.requests())
    while time.monotonic() < t_end:
        time.sleep(0.01)
        if len(be.requests()) != last:
            last = len(be.requests())
            t_end = time.monotonic() + settle
    return be.requests()


def expect_backend(be, expected, allow_aborted=False, timeout=5.0, settle=0.15):
    """The desync oracle: the backend received exactly `expected` (list of E), in order, with no
    malformed bytes and no half-sent request left on an open connection."""
    reqs = backend_settled(be, len(expected), timeout, settle)
    errs = be.errors()
    if errs:
        fail("backend %s received malformed bytes: %s" % (be.name, "; ".join(errs[:2])))
    if len(reqs) != len(expected):
        fail("backend %s received %d requests, expected %d: %s"
             % (be.name, len(reqs), len(expected), [r.summary() for r in reqs][:6]))
    for i, (r, e) in enumerate(zip(reqs, expected)):
        mm = e.mismatches(r)
        if mm:
            fail("backend %s request #%d (%s): %s" % (be.name, i + 1, r.summary(), "; ".join(mm)))
    for c in be.connections():
        if c.partial():
            if not allow_aborted:
                fail("backend %s conn%d holds an incomplete request: %s"
                     % (be.name, c.id, show(c.raw, 160)))
            if not util.poll_until(lambda: c.closed, 3.0):
                fail("backend %s conn%d got an incomplete request and the proxy did not close "
                     "it: %s" % (be.name, c.id, show(c.raw, 160)))
    return reqs


def victim(env, backend="A", host="a", target="/victim"):
    """A well-formed request on a fresh connection; its response must be its own."""
    be = env.be[backend]
    c = env.client()
    c.send(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, host)).encode())
    try:
        r = c.read_response()
    except Closed as e:
        fail("victim request got no response: %s" % e)
    want = ("%s GET %s len=0" % (be.name, target)).encode()
    if r.status != 200 or r.body != want:
        fail("victim request got %s %s, expected 200 %s" % (r.status, show(r.body, 80), show(want)))
    c.close()
    return r


def oracle(env, expected, backend="A", allow_aborted=False, host="a"):
    """Victim request on a second connection, then the exact-requests check."""
    victim(env, backend, host=host)
    return expect_backend(env.be[backend], list(expected) + [E("GET", "/victim")],
                          allow_aborted=allow_aborted)


# ---- client-side expectations ----------------------------------------------------------------
def check_local_reply(r, codes):
    """A reply made by proxyd itself: `HTTP/1.1 <code> <reason>`, Content-Type
    text/plain; charset=utf-8, Content-Length and a short body."""
    check(r.status in codes, "status %s, expected %s (%s)" % (r.status, sorted(codes),
                                                                show(r.body, 80)))
    check(r.version == b"HTTP/1.1" and r.reason.strip(),
          "local reply status line %s %d %r" % (r.version, r.status, r.reason))
    ct = r.get("content-type") or b""
    check(ct.lower().replace(b" ", b"") == b"text/plain;charset=utf-8",
          "local %d reply Content-Type %r, expected text/plain; charset=utf-8" % (r.status, ct))
    check(r.framing == "length", "local %d reply framed by %s, expected Content-Length"
          % (r.status, r.framing))
    check(len(r.body) < 4096, "local %d reply body is %d bytes" % (r.status, len(r.body)))


PARSE_ERROR_CODES = (400, 414, 431, 501, 505)


def check_close(c, r, close, what=""):
    """close: True (must close, with Connection: close), False (must stay open), None (either),
    "auto" (must close after a parse-error status, PARSE_ERROR_CODES; either otherwise)."""
    if close == "auto":
        close = True if (r is None or r.status in PARSE_ERROR_CODES) else None
    if close is None:
        return
    if close:
        st = c.wait_closed(3.0)
        check(st in ("closed", "reset"), "%sconnection not closed after %s (%s)"
              % (what, r.status if r else "no response", st))
        if r is not None:
            check(r.has_token("connection", b"close"),
                  "%s%d reply closed the connection without 'Connection: close'" % (what, r.status))
    else:
        st = c.wait_closed(0.3)
        check(st == "open", "%sconnection %s after %s, expected it to stay open"
              % (what, st, r.status if r else "?"))


def send_and_read(env, raw, method=b"GET", timeout=5.0, shut=False):
    """Sends `raw` on a new connection; returns (client, response or None when the proxy closed
    the connection without answering)."""
    c = env.client(timeout=timeout)
    c.send(raw)
    if shut:
        c.shutdown_write()
    try:
        return c, c.read_response(method=method, timeout=timeout)
    except Closed as e:
        if e.partial:
            fail("connection closed inside a response: %s" % show(e.partial))
        return c, None


def reject(env, raw, codes=(400,), close=True, allow_aborted=False, method=b"GET",
           backend="A", allow_silent_close=False):
    """The proxy must answer one of `codes` locally (or, if allow_silent_close, just close),
    forward nothing, and a victim afterwards must get its own response."""
    env.be[backend].reset()
    c, r = send_and_read(env, raw, method=method)
    if r is None:
        check(allow_silent_close, "connection closed without a response (expected %s)"
              % sorted(codes))
        check(c.eof, "no response")
    else:
        check_local_reply(r, set(codes))
        check_close(c, r, close)
    c.close()
    oracle(env, [], backend=backend, allow_aborted=allow_aborted)
    return r


def accept(env, raw, expected, status=200, method=b"GET", backend="A", keepalive=True,
           host="a", close=None):
    """The proxy must forward: the client gets the backend's reply for the last expected
    request, the connection stays usable (a follow-up request on it works, unless keepalive is
    False), and the backend saw exactly `expected` (+ follow-up + victim)."""
    be = env.be[backend]
    be.reset()
    c = env.client()
    c.send(raw)
    try:
        r = c.read_response(method=method)
    except Closed as e:
        fail("closed without a response: %s" % e)
    check(r.status == status, "status %s, expected %s (%s)" % (r.status, status, show(r.body, 80)))
    exp = list(expected)
    if close:
        check_close(c, r, True)
    if keepalive:
        c.send(("GET /after HTTP/1.1\r\nHost: %s\r\n\r\n" % host).encode())
        try:
            r2 = c.read_response()
        except Closed as e:
            fail("follow-up request on the same connection failed: %s" % e)
        check(r2.status == 200 and r2.body.endswith(b"GET /after len=0"),
              "follow-up request got %s %s" % (r2.status, show(r2.body, 80)))
        exp.append(E("GET", "/after"))
    c.close()
    victim(env, backend, host=host)
    exp.append(E("GET", "/victim"))
    reqs = expect_backend(be, exp)
    return r, reqs


def reject_or_accept(env, raw, reject_codes, expected, close=True, method=b"GET",
                     allow_aborted=False, backend="A", accept_keepalive=True, accept_close=None):
    """Where the doc allows both: a local reply in reject_codes (then nothing forwarded), or a
    forward matching `expected`."""
    be = env.be[backend]
    be.reset()
    c, r = send_and_read(env, raw, method=method)
    check(r is not None, "connection closed without any response")
    if r.status in reject_codes and not be.requests():
        check_local_reply(r, set(reject_codes))
        check_close(c, r, close)
        c.close()
        oracle(env, [], backend=backend, allow_aborted=allow_aborted)
        print("outcome: rejected with %d" % r.status)
        return "rejected", r, []
    c.close()
    check(r.status == 200, "status %s (%s): neither a rejection %s nor a forward"
          % (r.status, show(r.body, 80), sorted(reject_codes)))
    be.reset()
    r, reqs = accept(env, raw, expected, method=method, backend=backend,
                     keepalive=accept_keepalive, close=accept_close)
    print("outcome: forwarded as %s" % [q.summary() for q in reqs])
    return "accepted", r, reqs


def canonical(name, method, target, body_len=0):
    return ("%s %s %s len=%d" % (name, method, target, body_len)).encode()


__all__ = ["Env", "E", "FakeBackend", "HttpBackend", "Client", "Closed", "sanity", "oracle",
           "victim", "reject", "accept", "reject_or_accept", "expect_backend", "check_local_reply",
           "check_close", "send_and_read", "canonical", "canonical_body", "backend_settled"]
