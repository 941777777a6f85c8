"""Access and limit middlewares through real sockets: ipAllowList (peer and X-Forwarded-For
depth), inFlightReq (N held requests, the next one refused, then accepted after release, and
an aborted exchange giving its slot back) and rateLimit (a burst, then 429s)."""

import os
import re
import subprocess
import tempfile
import threading

from lib.backend import FakeBackend, HttpBackend, Reply, simple_response
from lib.check import Env
from lib import util
from lib.client import Client
from lib.proxyd import to_yaml
from lib.util import check, wait_until


def _get(addr, target="/", host="svc.local", extra=()):
    with Client(addr) as c:
        lines = ["GET %s HTTP/1.1" % target, "Host: %s" % host] + list(extra)
        c.send(("\r\n".join(lines) + "\r\n\r\n").encode())
        return c.read_response()


def _router(host, mws):
    return {"rule": "Host(`%s`)" % host, "service": "A", "middlewares": mws}


def test_ip_allow_list_by_peer_and_depth():
    routers = [_router("local", ["local"]), _router("other", ["other"]),
               _router("old", ["old"]), _router("xff", ["xff"]), _router("ex", ["ex"])]
    mws = {"local": {"ipAllowList": {"sourceRange": ["127.0.0.0/8", "::1"]}},
           "other": {"ipAllowList": {"sourceRange": ["10.0.0.0/8"], "rejectStatusCode": 404}},
           "old": {"ipWhiteList": {"sourceRange": ["192.0.2.0/24"]}},
           "xff": {"ipAllowList": {"sourceRange": ["198.51.100.7"], "ipStrategy": {"depth": 2}}},
           "ex": {"ipAllowList": {"sourceRange": ["198.51.100.7"],
                                  "ipStrategy": {"excludedIPs": ["203.0.113.0/24"]}}}}
    # X-Forwarded-For counts only from a trusted peer (test_review_semantics.py has the
    # untrusted case): trust the loopback client here.
    trusted = {"forwardedHeaders": {"trustedIPs": ["127.0.0.0/8"]}}
    with Env(backends={"A": HttpBackend("A")}, routers=routers, middlewares=mws,
             entrypoint=trusted) as env:
        check(_get(env.addr, host="local").status == 200, "loopback peer allowed")
        r = _get(env.addr, host="other")
        check(r.status == 404, "peer outside the range: rejectStatusCode, got %d" % r.status)
        r = _get(env.addr, host="old")
        check(r.status == 403 and r.body == b"Forbidden", "ipWhiteList refuses: %r" % r)
        # depth 2: the second entry from the right, whatever the peer.
        ok = _get(env.addr, host="xff", extra=["X-Forwarded-For: 1.1.1.1, 198.51.100.7, 10.0.0.1"])
        check(ok.status == 200, "depth 2 entry allowed: %d" % ok.status)
        no = _get(env.addr, host="xff", extra=["X-Forwarded-For: 198.51.100.7, 10.0.0.1, 1.1.1.1"])
        check(no.status == 403, "depth 2 entry refused: %d" % no.status)
        short = _get(env.addr, host="xff", extra=["X-Forwarded-For: 198.51.100.7"])
        check(short.status == 403, "too few entries: %d" % short.status)
        check(_get(env.addr, host="xff").status == 403, "no X-Forwarded-For")
        ex = _get(env.addr, host="ex", extra=["X-Forwarded-For: 198.51.100.7, 203.0.113.5"])
        check(ex.status == 200, "excluded proxies skipped: %d" % ex.status)


def _slow_backend(release):
    """A backend that holds /slow until `release` is set."""

    def responder(req):
        if req.target.startswith(b"/slow"):
            release.wait(20)
        return simple_response(b"done " + req.target)

    return FakeBackend("A", responder=responder)


def _send(c, target):
    c.send(("GET %s HTTP/1.1\r\nHost: svc.local\r\n\r\n" % target).encode())


def test_in_flight_req_limit_and_release():
    release = threading.Event()
    be = _slow_backend(release)
    routers = [_router("svc.local", ["cap"])]
    mws = {"cap": {"inFlightReq": {"amount": 2}}}
    held = []
    with Env(backends={"A": be}, routers=routers, middlewares=mws, workers=2) as env:
        try:
            # Several connections, spread over both workers by the kernel: one shared count.
            for i in range(2):
                c = Client(env.addr)
                held.append(c)
                _send(c, "/slow%d" % i)
            check(be.wait_requests(2), "the backend holds two requests")
            for _ in range(3):
                r = _get(env.addr, "/fast")
                check(r.status == 429, "third concurrent request refused: %d" % r.status)
            release.set()
            for c in held:
                check(c.read_response().status == 200, "held request completes")
            r = _get(env.addr, "/fast")
            check(r.status == 200, "accepted once the others are done: %d" % r.status)
        finally:
            release.set()
            for c in held:
                c.close()


def test_in_flight_req_aborted_exchange_releases():
    def responder(req):
        if req.target == b"/broken":
            return Reply(close=True)  # the upstream dies without an answer: 502
        return simple_response(b"ok")

    be = FakeBackend("A", responder=responder)
    routers = [_router("svc.local", ["cap"])]
    mws = {"cap": {"inFlightReq": {"amount": 1}}}
    with Env(backends={"A": be}, routers=routers, middlewares=mws) as env:
        # A request whose body never comes holds the only slot...
        c = Client(env.addr)
        try:
            c.send(b"POST /upload HTTP/1.1\r\nHost: svc.local\r\nContent-Length: 100\r\n\r\n"
                   b"0123456789")
            wait_until(lambda: _get(env.addr, "/fast").status == 429, timeout=5,
                       what="the truncated upload to hold the slot")
        finally:
            c.close()  # ...until the client gives up: the exchange is aborted
        wait_until(lambda: _get(env.addr, "/fast").status == 200, timeout=5,
                   what="the aborted exchange to give its slot back")
        # An upstream failure ends the exchange too.
        for _ in range(3):
            r = _get(env.addr, "/broken")
            check(r.status == 502, "upstream failure: %d" % r.status)
        check(_get(env.addr, "/fast").status == 200, "slot released after 502s")


def test_rate_limit_burst_then_429():
    routers = [_router("svc.local", ["rl"])]
    mws = {"rl": {"rateLimit": {"average": 1, "period": "1m", "burst": 3}}}
    with Env(backends={"A": HttpBackend("A")}, routers=routers, middlewares=mws,
             workers=2) as env:
        statuses = [_get(env.addr, "/x").status for _ in range(8)]
        check(statuses.count(200) == 3 and statuses.count(429) == 5,
              "exactly the burst passes: %r" % statuses)
        r = _get(env.addr, "/x")
        check(r.status == 429, "still limited")
        after = r.get("retry-after")
        check(after is not None and after.isdigit() and 1 <= int(after) <= 60,
              "Retry-After in seconds: %r" % after)
        check(r.get("x-retry-in") is not None, "X-Retry-In as Traefik sends it")
        check(r.body == b"Too Many Requests", "body %r" % r.body)


BAD_MWS = {"bad": {"ipAllowList": {"sourceRange": ["10.0.0.0/8", "10.0.0.300"]}},
           "zero": {"inFlightReq": {"amount": 0}},
           "neg": {"rateLimit": {"average": -5}}}


def test_bad_values_disable_the_router():
    routers = [_router("a", ["bad"]), _router("b", ["zero"]), _router("c", ["neg"]),
               {"rule": "Host(`ok`)", "service": "A"}]
    with Env(backends={"A": HttpBackend("A")}, routers=routers, middlewares=BAD_MWS) as env:
        for host in ("a", "b", "c"):
            r = _get(env.addr, host=host)
            check(r.status == 404, "router with a bad middleware must not serve %s: %d"
                  % (host, r.status))
        check(_get(env.addr, host="ok").status == 200, "the other routers still serve")


def test_bad_values_in_proxyd_check():
    d = tempfile.mkdtemp(prefix="concord-check-")
    dyn = to_yaml({"http": {
        "routers": {"r": {"rule": "Host(`a`)", "service": "s", "middlewares": ["bad"]}},
        "services": {"s": {"loadBalancer": {"servers": [{"url": "http://127.0.0.1:1"}]}}},
        "middlewares": BAD_MWS}})
    try:
        with open(os.path.join(d, "dynamic.yaml"), "w") as f:
            f.write(dyn + "\n")
        with open(os.path.join(d, "static.yaml"), "w") as f:
            f.write('entryPoints:\n  web:\n    address: "127.0.0.1:0"\n'
                    'providers:\n  file:\n    filename: dynamic.yaml\n')
        p = subprocess.run([util.proxyd_path(), "--config", os.path.join(d, "static.yaml"),
                            "--check"], capture_output=True, text=True, timeout=30, cwd=d)
        out = p.stdout + p.stderr
        check(p.returncode == 1, "bad middleware values fail the check: rc %d, %s"
              % (p.returncode, out))
        check(re.search(r"dynamic\.yaml:\d+:\d+: http\.middlewares\.bad\.ipAllowList\."
                        r"sourceRange\[1\]: \"10\.0\.0\.300\"", out) is not None,
              "file:line:col, key path and the bad entry: %s" % out)
        check("http.middlewares.zero.inFlightReq.amount" in out, "amount: %s" % out)
        check("http.middlewares.neg.rateLimit.average" in out, "average: %s" % out)
    finally:
        for n in os.listdir(d):
            os.unlink(os.path.join(d, n))
        os.rmdir(d)
