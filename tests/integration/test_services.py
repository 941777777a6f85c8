"""Services beyond a plain load balancer, through real sockets: weighted (exact split),
failover (to the fallback when the main service has no usable server), mirroring (copies to
the mirrors; a dead mirror never affects the client), sticky cookies (attributes; sticking;
two proxyd processes agree on a cookie) and serversTransports (responseHeaderTimeout)."""

import hashlib
import json
import socket

from lib.backend import FakeBackend, HttpBackend, Reply
from lib.check import Env
from lib.client import Client
from lib.proxyd import Proxyd
from lib.util import check, wait_until


def _dead_url():
    """A loopback port nothing listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "http://127.0.0.1:%d" % port


def _get(c, target="/", host="svc.local", extra=(), method="GET", body=b""):
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: %s" % host] + list(extra)
    if body or method in ("POST", "PUT"):
        lines.append("Content-Length: %d" % len(body))
    c.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return c.read_response(method=method.encode())


def _backend_of(r):
    check(r.status == 200, "status %d: %r" % (r.status, r.body[:200]))
    return json.loads(r.body)["backend"]


def _sticky_value(name):
    """Traefik v3's sticky cookie value: 16 hex digits of SHA-256(server URL or child name)."""
    return hashlib.sha256(name.encode()).hexdigest()[:16]


def _services(extra):
    return {"http": {"services": extra}}


ROUTE_S = [{"rule": "PathPrefix(`/`)", "service": "S"}]


def test_services_weighted_split_is_exact():
    svc = {"S": {"weighted": {"services": [{"name": "A", "weight": 3}, {"name": "B", "weight": 1}]}}}
    be = {"A": HttpBackend("A"), "B": HttpBackend("B")}
    with Env(backends=be, routers=ROUTE_S, dynamic_extra=_services(svc)) as env:
        seen = {"A": 0, "B": 0}
        with Client(env.addr) as c:
            for _ in range(40):
                seen[_backend_of(_get(c))] += 1
        check(seen == {"A": 30, "B": 10}, "3:1 over 40 requests: %r" % seen)


def test_services_weighted_nested_and_zero_weight():
    # W -> (V weight 1 -> (A, B), C weight 0): C never chosen; A and B alternate.
    svc = {"S": {"weighted": {"services": [{"name": "V", "weight": 1}, {"name": "C", "weight": 0}]}},
           "V": {"weighted": {"services": [{"name": "A"}, {"name": "B"}]}}}
    be = {"A": HttpBackend("A"), "B": HttpBackend("B"), "C": HttpBackend("C")}
    with Env(backends=be, routers=ROUTE_S, dynamic_extra=_services(svc)) as env:
        with Client(env.addr) as c:
            got = [_backend_of(_get(c)) for _ in range(6)]
        check(got.count("A") == 3 and got.count("B") == 3 and "C" not in got, "got %r" % got)


def test_services_failover_to_fallback_without_usable_server():
    svc = {"S": {"failover": {"service": "M", "fallback": "B"}},
           "T": {"failover": {"service": "A", "fallback": "B"}}}
    be = {"A": HttpBackend("A"), "B": HttpBackend("B")}
    routers = [{"rule": "Path(`/s`)", "service": "S"}, {"rule": "Path(`/t`)", "service": "T"}]
    with Env(backends=be, routers=routers, dynamic_extra=_services(svc),
             services_extra={"M": [{"url": _dead_url(), "weight": 0}]}) as env:
        with Client(env.addr) as c:
            check(_backend_of(_get(c, "/s")) == "B", "main has no usable server: fallback")
            check(_backend_of(_get(c, "/t")) == "A", "main usable: main")


def test_services_mirroring_copies_percent():
    svc = {"S": {"mirroring": {"service": "A", "mirrors": [{"name": "B", "percent": 50},
                                                          {"name": "C", "percent": 10}]}}}
    be = {"A": HttpBackend("A"), "B": HttpBackend("B"), "C": HttpBackend("C")}
    with Env(backends=be, routers=ROUTE_S, dynamic_extra=_services(svc)) as env:
        with Client(env.addr) as c:
            for i in range(20):
                check(_backend_of(_get(c, "/m%d" % i)) == "A", "main serves the client")
        wait_until(lambda: len(be["B"].requests) >= 10 and len(be["C"].requests) >= 2, 5,
                   what="mirror copies")
        check(len(be["A"].requests) == 20, "main got every request")
        check(len(be["B"].requests) == 10, "50%% of 20: %d" % len(be["B"].requests))
        check(len(be["C"].requests) == 2, "10%% of 20: %d" % len(be["C"].requests))
        paths = sorted(r["path"] for r in be["B"].requests)
        check(len(set(paths)) == 10, "copies of distinct requests: %r" % paths)


def test_services_mirroring_bodies():
    svc = {"S": {"mirroring": {"service": "A", "maxBodySize": 10,
                               "mirrors": [{"name": "B", "percent": 100}]}},
           "N": {"mirroring": {"service": "A", "mirrorBody": False,
                               "mirrors": [{"name": "C", "percent": 100}]}}}
    be = {"A": HttpBackend("A"), "B": HttpBackend("B"), "C": HttpBackend("C")}
    routers = [{"rule": "Path(`/s`)", "service": "S"}, {"rule": "Path(`/n`)", "service": "N"}]
    with Env(backends=be, routers=routers, dynamic_extra=_services(svc)) as env:
        with Client(env.addr) as c:
            check(_backend_of(_get(c, "/s", method="POST", body=b"0123456789")) == "A", "small")
            check(_backend_of(_get(c, "/s", method="POST", body=b"x" * 11)) == "A", "big")
            check(_backend_of(_get(c, "/n", method="POST", body=b"hello")) == "A", "no body")
        wait_until(lambda: be["B"].requests and be["C"].requests, 5, what="mirror copies")
        # The next copy to B (if any) would be the 11-byte body: maxBodySize keeps it back.
        with Client(env.addr) as c:
            _get(c, "/s", method="POST", body=b"abc")
        wait_until(lambda: len(be["B"].requests) >= 2, 5, what="second copy")
        got = [(r["method"], r["body_len"]) for r in be["B"].requests]
        check(got == [("POST", 10), ("POST", 3)], "bodies up to maxBodySize only: %r" % got)
        h = dict((k.lower(), v) for k, v in be["C"].requests[0]["headers"])
        check(be["C"].requests[0]["body_len"] == 0 and h.get("content-length") == "0",
              "mirrorBody false: no body: %r" % be["C"].requests[0])


def test_services_dead_mirror_does_not_affect_client():
    svc = {"S": {"mirroring": {"service": "A", "mirrors": [{"name": "D", "percent": 100}]}}}
    be = {"A": HttpBackend("A")}
    with Env(backends=be, routers=ROUTE_S, dynamic_extra=_services(svc),
             services_extra={"D": [_dead_url()]}) as env:
        with Client(env.addr) as c:
            for _ in range(5):
                check(_backend_of(_get(c)) == "A", "client served despite the dead mirror")
            check(_backend_of(_get(c, method="POST", body=b"data")) == "A", "with a body")


def test_services_silent_mirror_does_not_delay_client():
    silent = FakeBackend("Q", responder=lambda req: Reply(silent=True))
    svc = {"S": {"mirroring": {"service": "A", "mirrors": [{"name": "Q", "percent": 100}]}}}
    with Env(backends={"A": HttpBackend("A"), "Q": silent}, routers=ROUTE_S,
             dynamic_extra=_services(svc)) as env:
        with Client(env.addr, timeout=5) as c:
            for _ in range(3):
                check(_backend_of(_get(c)) == "A", "served while the mirror never answers")
        wait_until(lambda: len(silent.requests()) >= 3, 5, what="copies reached the mirror")


def _cookie(r, name):
    for v in r.all("set-cookie"):
        v = v.decode()
        if v.startswith(name + "="):
            return v
    return None


STICKY = {"S": {"loadBalancer": {"sticky": {"cookie": {
    "name": "lb", "httpOnly": True, "secure": True, "sameSite": "lax", "maxAge": 60}}}}}


class _Started:
    """Backends started before the proxy (their URLs go into the configuration)."""

    def __init__(self, *backends):
        self.be = {b.name: b.start() for b in backends}

    def __enter__(self):
        return self.be

    def __exit__(self, *a):
        for b in self.be.values():
            b.stop()


def _sticky_env(be, **kw):
    return Env(backends={}, routers=ROUTE_S, dynamic_extra=_services(STICKY),
               services_extra={"S": [b.url for b in be.values()]}, **kw)


def test_services_sticky_cookie_attributes_and_sticking():
    with _Started(HttpBackend("A"), HttpBackend("B")) as be, _sticky_env(be) as env:
        with Client(env.addr) as c:
            r = _get(c)
            first = _backend_of(r)
            ck = _cookie(r, "lb")
            want = "lb=%s; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Lax" % _sticky_value(
                be[first].url)
            check(ck == want, "Set-Cookie %r, wanted %r" % (ck, want))
            value = ck.split(";")[0]
            for _ in range(5):
                r = _get(c, extra=["Cookie: other=1; %s" % value])
                check(_backend_of(r) == first, "sticks to %s" % first)
                check(_cookie(r, "lb") is None, "no new cookie while it is valid")
            # Without the cookie, round robin goes on (and sets the cookie of the other one).
            r = _get(c)
            check(_backend_of(r) != first and _cookie(r, "lb") is not None, "normal pick")
            # A cookie naming no server of the service: a normal pick and a new cookie.
            r = _get(c, extra=["Cookie: lb=123abc"])
            check(_cookie(r, "lb") is not None, "stale cookie replaced")


def test_services_sticky_cookie_same_on_every_node():
    with _Started(HttpBackend("A"), HttpBackend("B")) as be, _sticky_env(be) as env:
        other = Proxyd(routers=ROUTE_S, services={"S": [b.url for b in be.values()]},
                       dynamic_extra=_services(STICKY)).start()
        try:
            with Client(env.addr) as c1, Client(other.addr) as c2:
                for _ in range(2):  # one cookie per server
                    r = _get(c1)
                    name = _backend_of(r)
                    value = _cookie(r, "lb").split(";")[0]
                    for _ in range(3):
                        check(_backend_of(_get(c2, extra=["Cookie: " + value])) == name,
                              "the second node honours the first node's cookie for %s" % name)
        finally:
            other.stop()


def test_services_sticky_default_cookie_name_and_weighted():
    # No name: Traefik's "_" + 5 hex digits of SHA-1("_TRAEFIK_BACKEND_" + service name).
    svc = {"S": {"weighted": {"sticky": {"cookie": {}},
                              "services": [{"name": "A"}, {"name": "B"}]}}}
    be = {"A": HttpBackend("A"), "B": HttpBackend("B")}
    name = "_" + hashlib.sha1(b"_TRAEFIK_BACKEND_S@file").hexdigest()[:5]
    with Env(backends=be, routers=ROUTE_S, dynamic_extra=_services(svc)) as env:
        with Client(env.addr) as c:
            r = _get(c)
            first = _backend_of(r)
            ck = _cookie(r, name)
            check(ck == "%s=%s; Path=/" % (name, _sticky_value(first)), "cookie %r" % ck)
            for _ in range(3):
                check(_backend_of(_get(c, extra=["Cookie: " + ck.split(";")[0]])) == first,
                      "weighted sticks to the child")


def test_services_transport_response_header_timeout():
    extra = {"http": {
        "serversTransports": {"quick": {"forwardingTimeouts": {"responseHeaderTimeout": "200ms"}}},
        "services": {"S": {"loadBalancer": {"serversTransport": "quick"}}}}}
    with _Started(FakeBackend("Q", responder=lambda req: Reply(silent=True))) as be, \
            Env(backends={}, routers=ROUTE_S, dynamic_extra=extra,
                services_extra={"S": [be["Q"].url]}) as env:
        # The static responseHeaderTimeout is 60s: a 504 within the client's 5s is the
        # service's transport at work.
        with Client(env.addr, timeout=5) as c:
            r = _get(c)
        check(r.status == 504, "status %d" % r.status)


def test_services_bad_reference_disables_router():
    svc = {"S": {"weighted": {"services": [{"name": "nope"}]}}}
    with Env(backends={"A": HttpBackend("A")}, routers=ROUTE_S + [
            {"rule": "Path(`/a`)", "service": "A", "priority": 1000}],
             dynamic_extra=_services(svc)) as env:
        with Client(env.addr) as c:
            check(_get(c, "/x").status == 404, "router on a broken service is disabled")
            check(_backend_of(_get(c, "/a")) == "A", "the rest still routes")


def _transport_env(be, transport):
    extra = {"http": {"serversTransports": {"t": transport},
                      "services": {"S": {"loadBalancer": {"serversTransport": "t"}}}}}
    return Env(backends={}, routers=ROUTE_S, dynamic_extra=extra,
               services_extra={"S": [be.url]})


def test_services_transport_idle_conn_timeout():
    with _Started(FakeBackend("A")) as be, \
            _transport_env(be["A"], {"forwardingTimeouts": {"idleConnTimeout": "100ms"}}) as env:
        with Client(env.addr) as c:
            check(_get(c).status == 200, "served")
        # The static idleConnTimeout is 90s: the pooled connection closing is the transport's.
        wait_until(lambda: any(x.closed for x in be["A"].connections()), 5,
                   what="the idle upstream connection closed by the proxy")


def test_services_transport_max_idle_conns_per_host():
    import threading
    barrier = threading.Barrier(3, timeout=5)

    def responder(req):
        barrier.wait()  # three upstream connections at once
        return Reply(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    with _Started(FakeBackend("A", responder=responder)) as be, \
            _transport_env(be["A"], {"maxIdleConnsPerHost": 1}) as env:
        clients = [Client(env.addr) for _ in range(3)]
        try:
            for c in clients:
                c.send(b"GET / HTTP/1.1\r\nHost: svc.local\r\n\r\n")
            for c in clients:
                check(c.read_response().status == 200, "served")
        finally:
            for c in clients:
                c.close()
        conns = wait_until(lambda: [x for x in be["A"].connections() if x.closed]
                           if len([x for x in be["A"].connections() if x.closed]) >= 2 else None,
                           5, what="connections beyond the idle limit closed")
        check(len(be["A"].connections()) == 3 and len(conns) == 2,
              "one idle connection kept: %d of %d closed" % (len(conns),
                                                             len(be["A"].connections())))


def test_services_check_reports_service_errors():
    """`proxyd --check` (offline) names file:line:col and the key path of service errors."""
    import os
    import subprocess
    import tempfile
    from lib import util

    dyn = ('http:\n'
           '  routers:\n    r:\n      rule: "PathPrefix(`/`)"\n      service: w\n'
           '  serversTransports:\n    t:\n      forwardingTimeouts:\n'
           '        dialTimeout: soon\n'
           '  services:\n'
           '    w:\n      weighted:\n        services:\n          - name: v\n'
           '    v:\n      weighted:\n        services:\n          - name: w\n'
           '    m:\n      mirroring:\n        service: w\n        mirrors:\n'
           '          - name: w\n            percent: 150\n'
           '    s:\n      loadBalancer:\n        serversTransport: t\n        servers:\n'
           '          - url: "http://127.0.0.1:1"\n')
    static = 'entryPoints:\n  web:\n    address: "127.0.0.1:0"\n' \
             'providers:\n  file:\n    filename: dynamic.yaml\n'
    d = tempfile.mkdtemp(prefix="concord-check-")
    try:
        for name, text in (("dynamic.yaml", dyn), ("static.yaml", static)):
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        p = subprocess.run([util.proxyd_path(), "--config", os.path.join(d, "static.yaml"),
                            "--check"], capture_output=True, text=True, timeout=30, cwd=d)
        out = p.stdout + p.stderr
    finally:
        for n in os.listdir(d):
            os.unlink(os.path.join(d, n))
        os.rmdir(d)
    check(p.returncode == 1, "errors fail the check: rc %d\n%s" % (p.returncode, out))
    for want in ("http.services.w: services reference each other in a loop: v@file -> w@file "
                 "-> v@file",
                 "http.services.m.mirroring.mirrors[0].percent: percent 150 is not in 0..100",
                 "http.serversTransports.t.forwardingTimeouts.dialTimeout: \"soon\" is not a "
                 "duration",
                 "http.services.s.loadBalancer.serversTransport: serversTransport \"t@file\" is "
                 "disabled by its own errors",
                 "http.routers.r.service: service \"w@file\" is disabled"):
        check(want in out, "missing %r in:\n%s" % (want, out))
    check("dynamic.yaml:11:5: http.services.w" in out, "file:line:col of the service:\n" + out)


def test_services_transport_dial_timeout():
    # A listener whose accept queue is full drops new SYNs, so connecting hangs: the service's
    # dialTimeout (200ms; the static one is 30s) answers 504.
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(0)
    fillers = []
    try:
        for _ in range(4):
            f = socket.socket()
            f.setblocking(False)
            f.connect_ex(lst.getsockname())
            fillers.append(f)
        url = "http://127.0.0.1:%d" % lst.getsockname()[1]
        extra = {"http": {
            "serversTransports": {"t": {"forwardingTimeouts": {"dialTimeout": "200ms"}}},
            "services": {"S": {"loadBalancer": {"serversTransport": "t"}}}}}
        with Env(backends={}, routers=ROUTE_S, dynamic_extra=extra,
                 services_extra={"S": [url]}) as env:
            with Client(env.addr, timeout=5) as c:
                r = _get(c)
            check(r.status == 504, "status %d" % r.status)
    finally:
        for f in fillers:
            f.close()
        lst.close()
