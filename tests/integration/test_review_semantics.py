"""Reproducers from the review of middleware and service semantics against Traefik (security
first), through real sockets. Each test states the Traefik behaviour it pins down."""

import json

from lib.backend import HttpBackend
from lib.check import Env
from lib.client import Client
from lib.util import check


def _get(addr, target="/", host="svc.local", extra=(), method="GET"):
    with Client(addr) as c:
        lines = ["%s %s HTTP/1.1" % (method, target), "Host: %s" % host] + list(extra)
        c.send(("\r\n".join(lines) + "\r\n\r\n").encode())
        return c.read_response()


def _seen(r):
    check(r.status == 200, "status %d: %r" % (r.status, r.body[:200]))
    return json.loads(r.body)


def _router(host, mws, **kw):
    d = {"rule": "Host(`%s`)" % host, "service": "A", "middlewares": mws}
    d.update(kw)
    return d


def test_review_untrusted_peer_cannot_spoof_forwarded_for():
    """Traefik deletes X-Forwarded-* and X-Real-Ip from a peer its entry point does not trust
    (forwardedHeaders) before any middleware runs: ipStrategy.depth / excludedIPs then find no
    address from such a client, and ipAllowList refuses it. The test entry point trusts
    10.0.0.0/8 only, so the loopback client is untrusted."""
    routers = [_router("depth", ["depth"]), _router("ex", ["ex"]), _router("rl", ["rl"])]
    mws = {"depth": {"ipAllowList": {"sourceRange": ["198.51.100.7"],
                                     "ipStrategy": {"depth": 1}}},
           "ex": {"ipAllowList": {"sourceRange": ["198.51.100.7"],
                                  "ipStrategy": {"excludedIPs": ["10.0.0.0/8"]}}},
           # X-Real-Ip is the peer for Traefik: spoofed values share the peer's bucket.
           "rl": {"rateLimit": {"average": 1, "period": "1h", "burst": 1,
                                "sourceCriterion": {"requestHeaderName": "X-Real-Ip"}}}}
    with Env(backends={"A": HttpBackend("A")}, routers=routers, middlewares=mws) as env:
        r = _get(env.addr, host="depth", extra=["X-Forwarded-For: 198.51.100.7"])
        check(r.status == 403, "depth 1 from an untrusted peer: %d" % r.status)
        r = _get(env.addr, host="ex", extra=["X-Forwarded-For: 198.51.100.7, 10.1.1.1"])
        check(r.status == 403, "excludedIPs from an untrusted peer: %d" % r.status)
        check(_get(env.addr, host="rl", extra=["X-Real-Ip: 1.1.1.1"]).status == 200, "first")
        r = _get(env.addr, host="rl", extra=["X-Real-Ip: 2.2.2.2"])
        check(r.status == 429, "a new X-Real-Ip is not a new source: %d" % r.status)
    trusted = {"forwardedHeaders": {"trustedIPs": ["127.0.0.0/8"]}}
    with Env(backends={"A": HttpBackend("A")}, routers=routers, middlewares=mws,
             entrypoint=trusted) as env:
        r = _get(env.addr, host="depth", extra=["X-Forwarded-For: 198.51.100.7"])
        check(r.status == 200, "depth 1 from a trusted peer: %d" % r.status)
        r = _get(env.addr, host="ex", extra=["X-Forwarded-For: 198.51.100.7, 10.1.1.1"])
        check(r.status == 200, "excludedIPs from a trusted peer: %d" % r.status)


# htpasswd -nbB -C 4 alice wonderland
ALICE = "alice:$2y$04$jrcXhI5aBbxDTQMRR32d8udvyCc.NWiWU09XDIrJevGR8dNdGtcqu"


def test_review_tls_router_never_serves_cleartext():
    """Traefik serves a router that has `tls` on TLS connections only. Concord has no TLS yet,
    so such a router must not answer cleartext requests: here it would win the tie (same rule
    length, its name sorts first) over the router that asks for credentials."""
    routers = [dict(_router("app", []), tls={}), _router("app", ["auth"])]
    mws = {"auth": {"basicAuth": {"users": [ALICE]}}}
    with Env(backends={"A": HttpBackend("A")}, routers=routers, middlewares=mws) as env:
        r = _get(env.addr, host="app")
        check(r.status == 401, "cleartext request served by the tls router: %d" % r.status)


def _basic(userpass):
    import base64
    return "Basic " + base64.b64encode(userpass.encode()).decode()


def test_review_basic_auth_edges_and_entrypoint_copies():
    """basicAuth through real sockets: one Authorization line only (a second one, which the
    backend would also get, is refused), the scheme name in any case, odd spacing refused; an
    entry point's default basicAuth guards the router's copy on that entry point (a ruleSyntax
    v2 router, whose copy is compiled again) and not the copy on the other one."""
    routers = [{"rule": "Path(`/a`, `/b`)", "ruleSyntax": "v2", "service": "A"}]
    mws = {"auth": {"basicAuth": {"users": [ALICE]}}}
    # The defaults go on "alt": the harness's probe router lives on web too.
    static = {"entryPoints": {"alt": {"address": "127.0.0.1:0",
                                      "http": {"middlewares": ["auth@file"]}}}}
    good = _basic("alice:wonderland")
    with Env(backends={"A": HttpBackend("A")}, routers=routers, middlewares=mws,
             static_extra=static) as env:
        host, _, port = env.px.listeners["alt"].rpartition(":")
        alt = (host.strip("[]"), int(port))
        check(_get(alt, "/b", host="h").status == 401, "alt: credentials asked")
        check(_get(alt, "/b", host="h", extra=["Authorization: " + good]).status == 200,
              "alt: good credentials")
        check(_get(alt, "/a", host="h",
                   extra=["authorization: b" + good[1:]]).status == 200, "case-insensitive")
        r = _get(alt, "/a", host="h",
                 extra=["Authorization: " + good, "Authorization: " + _basic("root:x")])
        check(r.status == 401, "two Authorization lines: %d" % r.status)
        r = _get(alt, "/a", host="h", extra=["Authorization: Basic  " + good[6:]])
        check(r.status == 401, "two spaces: %d" % r.status)
        r = _get(alt, "/a", host="h", extra=["Authorization: " + good[:-1]])
        check(r.status == 401, "bad padding: %d" % r.status)
        check(_get(env.addr, "/b", host="h").status == 200, "web: no default middleware")
