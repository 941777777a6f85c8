"""Header middlewares through real sockets: headers (custom fields, CORS, security fields,
allowedHosts), basicAuth and contentType."""

import base64
import json
import os
import tempfile

from lib.backend import FakeBackend, HttpBackend, Reply
from lib.check import Env
from lib.client import Client
from lib.util import check

# Made with `htpasswd -nbB -C 4 alice wonderland` and `htpasswd -nbm bob builder`.
ALICE = "alice:$2y$04$jrcXhI5aBbxDTQMRR32d8udvyCc.NWiWU09XDIrJevGR8dNdGtcqu"
BOB = "bob:$apr1$g6tpZUCj$A16SCiABhGqGQMcKpnay80"


def _req(c, target="/", host="svc.local", method="GET", extra=()):
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: %s" % host] + list(extra)
    c.send(("\r\n".join(lines) + "\r\n\r\n").encode())
    return c.read_response(method=method.encode())


def _get(addr, target="/", host="svc.local", method="GET", extra=()):
    with Client(addr) as c:
        return _req(c, target, host, method, extra)


def _seen(r):
    check(r.status == 200, "status %d: %r" % (r.status, r.body[:200]))
    return json.loads(r.body)


def _seen_field(info, name):
    vals = [v for k, v in info["headers"] if k.lower() == name.lower()]
    return vals[0] if vals else None


def _basic(cred):
    return "Authorization: Basic " + base64.b64encode(cred.encode()).decode()


def _env(mws, names, backend=None):
    routers = [{"rule": "PathPrefix(`/`)", "service": "A", "middlewares": names}]
    return Env(backends={"A": backend or HttpBackend("A")}, routers=routers, middlewares=mws)


def test_headers_custom_fields_both_ways():
    mws = {"h": {"headers": {
        "customRequestHeaders": {"X-Script-Name": "test", "X-Drop": ""},
        "customResponseHeaders": {"X-Custom-Response-Header": "value", "X-Backend": ""}}}}
    with _env(mws, ["h"]) as env:
        r = _get(env.addr, extra=["X-Drop: secret", "X-Script-Name: client"])
        info = _seen(r)
        check(_seen_field(info, "X-Script-Name") == "test", "request field set: %r" % info)
        check(_seen_field(info, "X-Drop") is None, "request field removed: %r" % info)
        check(r.get("X-Custom-Response-Header") == b"value", "response field set: %r" % r)
        check(r.get("X-Backend") is None, "response field removed: %r" % r)


def test_headers_cors_preflight_and_simple_request():
    mws = {"cors": {"headers": {
        "accessControlAllowMethods": ["GET", "OPTIONS", "PUT"],
        "accessControlAllowHeaders": ["X-Token"],
        "accessControlAllowOriginList": ["https://app.example"],
        "accessControlMaxAge": 100,
        "addVaryHeader": True}}}
    with _env(mws, ["cors"]) as env:
        r = _get(env.addr, method="OPTIONS", extra=["Origin: https://app.example",
                                                    "Access-Control-Request-Method: PUT"])
        check(r.status == 200, "preflight answered: %r" % r)
        check(r.get("Access-Control-Allow-Origin") == b"https://app.example", "%r" % r)
        check(r.get("Access-Control-Allow-Methods") == b"GET,OPTIONS,PUT", "%r" % r)
        check(r.get("Access-Control-Allow-Headers") == b"X-Token", "%r" % r)
        check(r.get("Access-Control-Max-Age") == b"100", "%r" % r)
        check(r.get("X-Backend") is None and env.A.requests == [],
              "a preflight never reaches the backend: %r" % env.A.requests)
        r = _get(env.addr, extra=["Origin: https://app.example"])
        _seen(r)
        check(r.get("Access-Control-Allow-Origin") == b"https://app.example", "%r" % r)
        check(r.has_token("Vary", b"Origin"), "Vary: Origin: %r" % r)
        r = _get(env.addr, extra=["Origin: https://evil.example"])
        check(r.get("Access-Control-Allow-Origin") is None, "other origin refused: %r" % r)


def test_headers_security_fields():
    mws = {"sec": {"headers": {
        "frameDeny": True, "contentTypeNosniff": True, "browserXssFilter": True,
        "contentSecurityPolicy": "default-src 'self'", "referrerPolicy": "same-origin",
        "permissionsPolicy": "camera=()", "stsSeconds": 31536000,
        "stsIncludeSubdomains": True}},
        "forced": {"headers": {"stsSeconds": 60, "forceSTSHeader": True}}}
    routers = [{"rule": "Host(`plain`)", "service": "A", "middlewares": ["sec"]},
               {"rule": "Host(`forced`)", "service": "A", "middlewares": ["forced"]}]
    with Env(backends={"A": HttpBackend("A")}, routers=routers, middlewares=mws) as env:
        r = _get(env.addr, host="plain")
        _seen(r)
        check(r.get("X-Frame-Options") == b"DENY", "%r" % r)
        check(r.get("X-Content-Type-Options") == b"nosniff", "%r" % r)
        check(r.get("X-XSS-Protection") == b"1; mode=block", "%r" % r)
        check(r.get("Content-Security-Policy") == b"default-src 'self'", "%r" % r)
        check(r.get("Referrer-Policy") == b"same-origin", "%r" % r)
        check(r.get("Permissions-Policy") == b"camera=()", "%r" % r)
        check(r.get("Strict-Transport-Security") is None, "no STS on plain HTTP: %r" % r)
        r = _get(env.addr, host="forced")
        check(r.get("Strict-Transport-Security") == b"max-age=60", "forced STS: %r" % r)


def test_headers_allowed_hosts():
    mws = {"hosts": {"headers": {"allowedHosts": ["good.example"]}}}
    with _env(mws, ["hosts"]) as env:
        _seen(_get(env.addr, host="good.example"))
        r = _get(env.addr, host="bad.example")
        check(r.status == 500 and r.body == b"Bad Host\n", "bad host refused: %r" % r)
        check(len(env.A.requests) == 1, "the refused request never reached the backend")


def test_basic_auth():
    mws = {"auth": {"basicAuth": {"users": [ALICE, BOB], "realm": "staff",
                                  "headerField": "X-WebAuth-User"}},
           "strip": {"basicAuth": {"users": [BOB], "removeHeader": True}}}
    routers = [{"rule": "Host(`keep`)", "service": "A", "middlewares": ["auth"]},
               {"rule": "Host(`strip`)", "service": "A", "middlewares": ["strip"]}]
    with Env(backends={"A": HttpBackend("A")}, routers=routers, middlewares=mws) as env:
        r = _get(env.addr, host="keep")
        check(r.status == 401, "no credentials: %r" % r)
        check(r.get("WWW-Authenticate") == b'Basic realm="staff"', "challenge: %r" % r)
        r = _get(env.addr, host="keep", extra=[_basic("alice:wrong")])
        check(r.status == 401, "bad password: %r" % r)
        check(env.A.requests == [], "refused requests never reach the backend")
        # Keep-alive: the same credentials twice on one connection (the second from the cache).
        with Client(env.addr) as c:
            for _ in range(2):
                info = _seen(_req(c, host="keep", extra=[_basic("alice:wonderland")]))
                check(_seen_field(info, "X-WebAuth-User") == "alice", "headerField: %r" % info)
                check(_seen_field(info, "Authorization") is not None, "kept: %r" % info)
        info = _seen(_get(env.addr, host="strip", extra=[_basic("bob:builder")]))
        check(_seen_field(info, "Authorization") is None, "removeHeader: %r" % info)
        check(_get(env.addr, host="strip", extra=[_basic("alice:wonderland")]).status == 401,
              "users are per middleware")


def test_basic_auth_users_file():
    fd, path = tempfile.mkstemp(prefix="concord-users-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write("# staff\n\n%s\n" % BOB)
        mws = {"auth": {"basicAuth": {"usersFile": path}}}
        with _env(mws, ["auth"]) as env:
            check(_get(env.addr).status == 401, "no credentials")
            _seen(_get(env.addr, extra=[_basic("bob:builder")]))
    finally:
        os.unlink(path)


def _untyped(req):
    body = b"<!DOCTYPE html><html><body>hi</body></html>"
    return Reply(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)


def test_content_type():
    mws = {"ct": {"contentType": {}}}
    routers = [{"rule": "Host(`sniff`)", "service": "A", "middlewares": ["ct"]},
               {"rule": "Host(`raw`)", "service": "A"}]
    be = FakeBackend("A", responder=_untyped)
    with Env(backends={"A": be}, routers=routers, middlewares=mws) as env:
        r = _get(env.addr, host="sniff")
        check(r.status == 200 and r.get("Content-Type") == b"text/html; charset=utf-8",
              "sniffed: %r" % r)
        r = _get(env.addr, host="raw")
        check(r.status == 200 and r.get("Content-Type") is None,
              "without the middleware no Content-Type is added: %r" % r)


def test_basic_auth_bcrypt_waits_off_the_worker():
    """bcrypt runs on the thread pool while the exchange waits: with one worker, a pipelined
    pair of requests, a POST with a body, a client that leaves during the check, and many
    wrong passwords at once are all handled, and a route without auth stays served."""
    mws = {"auth": {"basicAuth": {"users": [ALICE], "headerField": "X-User"}}}
    routers = [{"rule": "Host(`auth`)", "service": "A", "middlewares": ["auth"]},
               {"rule": "Host(`open`)", "service": "A"}]
    with Env(backends={"A": HttpBackend("A")}, routers=routers, middlewares=mws,
             workers=1) as env:
        good = _basic("alice:wonderland")
        # Two pipelined requests: the first waits for bcrypt, the second (cached by then, or
        # checked again) is answered after it, in order.
        with Client(env.addr) as c:
            one = "GET /1 HTTP/1.1\r\nHost: auth\r\n%s\r\n\r\n" % good
            two = "GET /2 HTTP/1.1\r\nHost: auth\r\n%s\r\n\r\n" % good
            c.send((one + two).encode())
            r1, r2 = c.read_response(), c.read_response()
            check(_seen(r1)["path"] == "/1" and _seen(r2)["path"] == "/2", "order")
        # A body waits in the client buffer while the check runs, then streams upstream.
        with Client(env.addr) as c:
            body = b"x" * 5000
            c.send(("POST /p HTTP/1.1\r\nHost: auth\r\n%s\r\nContent-Length: %d\r\n\r\n"
                    % (_basic("alice:wonderland2"), len(body))).encode() + body)
            check(c.read_response().status == 401, "wrong password with a body")
        # A client that leaves while its check runs.
        for _ in range(5):
            with Client(env.addr) as c:
                c.send(("GET / HTTP/1.1\r\nHost: auth\r\n%s\r\n\r\n"
                        % _basic("alice:nope")).encode())
        # Many wrong passwords at once, and the open route meanwhile.
        clients = [Client(env.addr) for _ in range(8)]
        try:
            for c in clients:
                c.send(("GET / HTTP/1.1\r\nHost: auth\r\n%s\r\n\r\n"
                        % _basic("alice:bad")).encode())
            check(_get(env.addr, host="open").status == 200, "open route served")
            for c in clients:
                check(c.read_response().status == 401, "wrong password")
        finally:
            for c in clients:
                c.close()
        info = _seen(_get(env.addr, host="auth", extra=[good]))
        check(_seen_field(info, "X-User") == "alice", "headerField after a wait: %r" % info)
