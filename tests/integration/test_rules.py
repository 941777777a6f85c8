"""Routing by the v3 matchers beyond Host/Path: Method, Header, HeaderRegexp, Query,
QueryRegexp, ClientIP, HostRegexp and PathRegexp, through proxyd to real backends."""

import json

from lib.backend import HttpBackend
from lib.check import Env, check_local_reply
from lib.client import Client
from lib.util import SubCases, check, fail, show

ROUTERS = [
    ("Method(`POST`) && Path(`/m`)", "POST"),
    ("Path(`/m`)", "ANY"),
    ("Header(`X-Tenant`,`blue`)", "BLUE"),
    ("HeaderRegexp(`X-Tenant`,`^gr(e|a)y$`)", "GREY"),
    ("Query(`mobile`) && PathPrefix(`/q`)", "MOBILE"),
    ("Query(`v`,`2`) && PathPrefix(`/q`)", "V2"),
    ("QueryRegexp(`id`,`^[0-9]+$`) && PathPrefix(`/q`)", "ID"),
    ("ClientIP(`127.0.0.1`) && PathPrefix(`/ip`)", "LOCAL"),
    ("ClientIP(`10.0.0.0/8`) && PathPrefix(`/ip`) && Header(`X-Other`,`1`)", "TEN"),
    ("HostRegexp(`^api\\.`) && PathPrefix(`/api`)", "API"),
    ("PathRegexp(`\\.css$`)", "CSS"),
]

# (method, target, extra header lines, expected backend or None for 404)
CASES = (
    ("POST", "/m", [], "POST"),
    ("GET", "/m", [], "ANY"),
    ("PUT", "/m", [], "ANY"),
    ("GET", "/h", ["X-Tenant: blue"], "BLUE"),
    ("GET", "/h", ["x-tenant: blue"], "BLUE"),
    ("GET", "/h", ["X-Tenant: red", "X-Tenant: blue"], "BLUE"),
    ("GET", "/h", ["X-Tenant: blue, red"], None),  # exact value per line, no list splitting
    ("GET", "/h", ["X-Tenant: Blue"], None),
    ("GET", "/h", ["X-Tenant: grey"], "GREY"),
    ("GET", "/h", ["X-Tenant: gray"], "GREY"),
    ("GET", "/h", ["X-Tenant: greys"], None),
    ("GET", "/h", [], None),
    ("GET", "/q?mobile", [], "MOBILE"),
    ("GET", "/q?mobile=", [], "MOBILE"),
    ("GET", "/q?mobile=1", [], None),
    ("GET", "/q?v=2", [], "V2"),
    ("GET", "/q?a=1;v=2", [], "V2"),
    ("GET", "/q?v=%32", [], "V2"),
    ("GET", "/q?V=2", [], None),
    ("GET", "/q?id=42", [], "ID"),
    ("GET", "/q?id=x&id=7", [], "ID"),
    ("GET", "/q?id=4x", [], None),
    ("GET", "/ip", [], "LOCAL"),
    ("GET", "/ip", ["X-Forwarded-For: 10.1.2.3", "X-Other: 1"], "LOCAL"),  # socket address only
    ("GET", "/api/x", [], None),
    ("GET", "/a/b.css", [], "CSS"),
    ("GET", "/a/b.cssx", [], None),
)


def _req(c, method, target, extra, host="svc.local"):
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: %s" % host]
    lines += extra
    if method in ("POST", "PUT"):
        lines.append("Content-Length: 0")
    c.send(("\r\n".join(lines) + "\r\n\r\n").encode())
    return c.read_response(method=method.encode())


def _backend(r):
    check(r.status == 200, "status %d" % r.status)
    try:
        return json.loads(r.body)["backend"]
    except ValueError:
        fail("backend reply is not JSON: %s" % show(r.body))


def test_rules_route_by_request_fields():
    names = sorted({b for _, b in ROUTERS})
    sc = SubCases()
    with Env(backends={n: HttpBackend(n) for n in names}, routers=ROUTERS) as env:
        for method, target, extra, want in CASES:
            with sc("%s %s %s" % (method, target, extra)), Client(env.addr) as c:
                r = _req(c, method, target, extra)
                if want is None:
                    check_local_reply(r, {404})
                    continue
                got = _backend(r)
                check(got == want, "routed to %s, expected %s" % (got, want))
        with sc("HostRegexp on the lower-cased host"), Client(env.addr) as c:
            check(_backend(_req(c, "GET", "/api/x", [], host="API.example.com:8080")) == "API",
                  "HostRegexp(`^api\\.`) did not match API.example.com")
        with sc("keep-alive: fields of one request do not leak into the next"), \
                Client(env.addr) as c:
            check(_backend(_req(c, "GET", "/h", ["X-Tenant: blue"])) == "BLUE", "first")
            check_local_reply(_req(c, "GET", "/h", []), {404})
            check(_backend(_req(c, "GET", "/q?v=2", [])) == "V2", "third")
            check(_backend(_req(c, "POST", "/m", [])) == "POST", "fourth")
    sc.done()


def test_rules_bad_regex_disables_only_that_router():
    routers = [("PathRegexp(`(a)\\1`)", "A"), ("ClientIP(`10.0.0.300`)", "A"),
               ("Method(`GET`)", "B")]
    with Env(backends={"A": HttpBackend("A"), "B": HttpBackend("B")}, routers=routers) as env:
        with Client(env.addr) as c:
            check(_backend(_req(c, "GET", "/aa", [])) == "B", "GET not routed to B")
        with Client(env.addr) as c:
            check_local_reply(_req(c, "POST", "/aa", []), {404})


def test_rules_see_non_reserved_escapes_decoded():
    # traefik-rules.md "Routing path": %20 and %7B are decoded for the matchers, reserved
    # escapes such as %2F are not (so /foo%2Fbar is not /foo/bar), and the backend receives
    # the path as encoded on the wire.
    routers = [("PathPrefix(`/foo bar`)", "SPACE"), ("Path(`/{id}`)", "BRACE"),
               ("Path(`/foo/bar`)", "SLASH")]
    names = sorted({b for _, b in routers})
    sc = SubCases()
    cases = (("/foo%20bar/x", "SPACE", "/foo%20bar/x"), ("/%7Bid%7D", "BRACE", "/%7Bid%7D"),
             ("/foo/bar", "SLASH", "/foo/bar"), ("/foo%2Fbar", None, None))
    with Env(backends={n: HttpBackend(n) for n in names}, routers=routers) as env:
        for target, want, path in cases:
            with sc(target), Client(env.addr) as c:
                r = _req(c, "GET", target, [])
                if want is None:
                    check(r.status == 404, "want 404, got %d" % r.status)
                    continue
                check(_backend(r) == want, "routed to %s" % _backend(r))
                check(json.loads(r.body)["path"] == path, "forwarded %r" % json.loads(r.body)["path"])
    sc.done()
