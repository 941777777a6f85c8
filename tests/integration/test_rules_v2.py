"""Routing by rules in Traefik's v2 syntax (`ruleSyntax: v2`): several values per matcher,
Headers/HeadersRegexp, HostHeader, key=value Query and gorilla/mux `{name:re}` templates, through
proxyd to real backends; v3-only matchers disable only their own router."""

import json

from lib.backend import HttpBackend
from lib.check import Env, check_local_reply
from lib.client import Client
from lib.util import SubCases, check, fail, show


def _v2(rule, service, priority=None):
    d = {"rule": rule, "service": service, "ruleSyntax": "v2"}
    if priority is not None:
        d["priority"] = priority
    return d


# Explicit priorities where two routers could both match a case.
ROUTERS = [
    _v2("Host(`a.test`, `b.test`) && PathPrefix(`/multi`)", "MULTI"),
    _v2("HostHeader(`c.test`) && PathPrefix(`/multi`)", "HOSTHEADER"),
    _v2("HostRegexp(`{sub:[a-z]+}.wild.test`)", "WILD"),
    _v2("Path(`/user/{id:[0-9]+}`, `/member/{name}`)", "USER", priority=200),
    _v2("PathPrefix(`/api/{ver:v[0-9]}/`)", "API"),
    _v2("Method(`PUT`, `DELETE`) && PathPrefix(`/m`)", "WRITE", priority=300),
    _v2("Headers(`X-Tenant`, `blue`, `X-Zone`, `eu`)", "BLUE", priority=400),
    _v2("HeadersRegexp(`X-Tenant`, `^gr(?:e|a)y$`)", "GREY", priority=390),
    _v2("Query(`v=2`, `lang={lang:[a-z]{2}}`) && PathPrefix(`/q`)", "QV2", priority=310),
    _v2("Query(`mobile=`) && PathPrefix(`/q`)", "MOBILE", priority=305),
    _v2("ClientIP(`10.0.0.0/8`, `127.0.0.1`) && PathPrefix(`/ip`)", "LOCAL"),
    # A v3 router with the same template text: literal braces in v3.
    {"rule": "Path(`/v3/{id}`)", "service": "V3"},
    # Disabled: v3-only matcher in a v2 router, v2-only matcher in a v3 router.
    _v2("PathRegexp(`^/bad`)", "BAD", priority=1000),
    {"rule": "Headers(`X-Bad`, `1`)", "service": "BAD", "priority": 1000},
]

# (method, target, host, extra header lines, expected backend or None for 404)
CASES = (
    ("GET", "/multi", "a.test", [], "MULTI"),
    ("GET", "/multi/x", "B.TEST:8080", [], "MULTI"),
    ("GET", "/multi", "d.test", [], None),
    ("GET", "/multi", "c.test", [], "HOSTHEADER"),
    ("GET", "/", "api.wild.test", [], "WILD"),
    ("GET", "/", "API.Wild.Test", [], "WILD"),
    ("GET", "/", "a.b.wild.test", [], None),
    ("GET", "/", "wild.test", [], None),
    ("GET", "/user/42", "x.test", [], "USER"),
    ("GET", "/user/42/x", "x.test", [], None),
    ("GET", "/user/abc", "x.test", [], None),
    ("GET", "/member/ann", "x.test", [], "USER"),
    ("GET", "/member/ann/x", "x.test", [], None),
    ("GET", "/api/v1/users", "x.test", [], "API"),
    ("GET", "/api/vx/users", "x.test", [], None),
    ("PUT", "/m", "x.test", [], "WRITE"),
    ("DELETE", "/m/1", "x.test", [], "WRITE"),
    ("GET", "/m", "x.test", [], None),
    ("GET", "/h", "x.test", ["X-Tenant: blue", "X-Zone: eu"], "BLUE"),
    ("GET", "/h", "x.test", ["X-Tenant: blue"], None),
    ("GET", "/h", "x.test", ["x-tenant: gray"], "GREY"),
    ("GET", "/h", "x.test", ["X-Tenant: greys"], None),
    ("GET", "/q?v=2&lang=en", "x.test", [], "QV2"),
    ("GET", "/q?lang=fr;v=2", "x.test", [], "QV2"),
    ("GET", "/q?v=2&lang=eng", "x.test", [], None),
    ("GET", "/q?v=3&v=2&lang=en", "x.test", [], None),  # only the first v counts
    ("GET", "/q?mobile", "x.test", [], "MOBILE"),
    ("GET", "/q?mobile=1", "x.test", [], "MOBILE"),
    ("GET", "/q?other=1", "x.test", [], None),
    ("GET", "/ip", "x.test", [], "LOCAL"),
    ("GET", "/v3/{id}", "x.test", [], "V3"),
    ("GET", "/v3/42", "x.test", [], None),
    ("GET", "/bad", "x.test", ["X-Bad: 1"], None),
)


def _req(c, method, target, host, extra):
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: %s" % host]
    lines += extra
    if method in ("POST", "PUT", "DELETE"):
        lines.append("Content-Length: 0")
    c.send(("\r\n".join(lines) + "\r\n\r\n").encode())
    return c.read_response(method=method.encode())


def _backend(r):
    check(r.status == 200, "status %d" % r.status)
    try:
        return json.loads(r.body)["backend"]
    except ValueError:
        fail("backend reply is not JSON: %s" % show(r.body))


def test_rules_v2_route_by_request_fields():
    names = sorted({r["service"] for r in ROUTERS})
    sc = SubCases()
    with Env(backends={n: HttpBackend(n) for n in names}, routers=ROUTERS) as env:
        for method, target, host, extra, want in CASES:
            with sc("%s %s %s %s" % (method, host, target, extra)), Client(env.addr) as c:
                r = _req(c, method, target, host, extra)
                if want is None:
                    check_local_reply(r, {404})
                    continue
                got = _backend(r)
                check(got == want, "routed to %s, expected %s" % (got, want))
        with sc("keep-alive: v2 matchers see each request afresh"), Client(env.addr) as c:
            check(_backend(_req(c, "GET", "/q?v=2&lang=en", "x.test", [])) == "QV2", "first")
            check_local_reply(_req(c, "GET", "/q?v=2", "x.test", []), {404})
            check(_backend(_req(c, "GET", "/user/7", "x.test", [])) == "USER", "third")
        with sc("the disabled routers' errors are logged"):
            err = env.px.stderr_text()
            for want in ("unknown matcher PathRegexp (v3 syntax",
                         "unknown matcher Headers (v2 syntax"):
                check(want in err, "no %r in proxyd's log" % want)
    sc.done()
