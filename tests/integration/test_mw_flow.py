"""Flow middlewares through real sockets: retry, errors, compress, buffering."""

import gzip
import os
import socket

from lib.backend import FakeBackend, Reply, simple_response
from lib.check import Env
from lib.client import Client
from lib.util import free_port, check


def _closed_url():
    # A port outside the kernel's range for port-0 binds: a proxyd started afterwards binds its
    # own listeners on port 0 and could otherwise take this one, turning "dead" into itself.
    return "http://127.0.0.1:%d" % free_port()


def _req(addr, method, target, host="svc.local", extra=(), body=None):
    with Client(addr) as c:
        lines = ["%s %s HTTP/1.1" % (method, target), "Host: %s" % host] + list(extra)
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode()
        c.send(raw + (body or b""))
        return c.read_response(method=method.encode())


def _router(mws, service="S"):
    return [{"rule": "PathPrefix(`/`)", "service": service, "middlewares": mws}]


# ---- retry ----------------------------------------------------------------------------------

def test_retry_moves_to_the_next_server_after_a_refused_connect():
    mws = {"r": {"retry": {"attempts": 3, "initialInterval": "5ms"}}}
    a = FakeBackend("A")
    a.start()
    try:
        with Env(backends={}, routers=_router(["r"]), middlewares=mws,
                 services_extra={"S": [_closed_url(), a.url]}) as env:
            for i in range(4):
                r = _req(env.addr, "GET", "/x%d" % i)
                check(r.status == 200, "GET %d: %d %r" % (i, r.status, r.body[:100]))
            # A POST whose connect was refused never left: it may go to the next server.
            r = _req(env.addr, "POST", "/p", extra=["Content-Length: 5"], body=b"hello")
            check(r.status == 200, "POST: %d %r" % (r.status, r.body[:100]))
            check(a.requests()[-1].body == b"hello", "the body arrived whole")
    finally:
        a.stop()


def test_retry_gives_up_after_its_attempts():
    mws = {"r": {"retry": {"attempts": 2, "initialInterval": "1ms"}}}
    with Env(backends={}, routers=_router(["r"]), middlewares=mws,
             services_extra={"S": [_closed_url(), _closed_url()]}) as env:
        r = _req(env.addr, "GET", "/")
        check(r.status == 502, "every attempt refused: %d" % r.status)


def test_without_retry_a_refused_connect_is_502():
    a = FakeBackend("A")
    a.start()
    try:
        with Env(backends={}, routers=[{"rule": "PathPrefix(`/`)", "service": "S"}],
                 services_extra={"S": [_closed_url(), a.url]}) as env:
            r = _req(env.addr, "GET", "/")
            check(r.status == 502, "no retry middleware: %d" % r.status)
    finally:
        a.stop()


def test_retry_after_the_upstream_closes_before_answering():
    mws = {"r": {"retry": {"attempts": 2, "initialInterval": "1ms"}}}
    closer = FakeBackend("C", responder=lambda req: Reply(b"", close=True))
    good = FakeBackend("G")
    closer.start()
    good.start()
    try:
        with Env(backends={}, routers=_router(["r"]), middlewares=mws,
                 services_extra={"S": [closer.url, good.url]}) as env:
            for i in range(2):
                r = _req(env.addr, "GET", "/g%d" % i)
                check(r.status == 200, "GET %d retried: %d" % (i, r.status))
            # A POST whose head reached the closer may have been acted on: no retry.
            r = _req(env.addr, "POST", "/p", extra=["Content-Length: 2"], body=b"hi")
            check(r.status == 502, "POST not retried once sent: %d" % r.status)
    finally:
        closer.stop()
        good.stop()


def test_retry_wait_ends_with_the_client():
    """The client leaves during the backoff: the timer goes with the exchange."""
    mws = {"r": {"retry": {"attempts": 5, "initialInterval": "300ms"}}}
    with Env(backends={}, routers=_router(["r"]), middlewares=mws,
             services_extra={"S": [_closed_url(), _closed_url()]}) as env:
        for _ in range(3):
            c = Client(env.addr)
            c.send(b"GET / HTTP/1.1\r\nHost: svc.local\r\n\r\n")
            c.close()
        r = _req(env.addr, "GET", "/", extra=["Connection: close"])
        check(r.status == 502, "still serving, every attempt refused: %d" % r.status)


# ---- errors ---------------------------------------------------------------------------------

def test_errors_serves_the_page_with_the_original_status():
    def app(req):
        if req.target.startswith(b"/ok"):
            return simple_response("fine")
        return simple_response("ugly upstream error", status="503 Service Unavailable")

    def pages(req):
        return simple_response("nice page for " + req.target.decode(),
                               headers=[("X-Page", "yes")])

    a, e = FakeBackend("A", responder=app), FakeBackend("E", responder=pages)
    mws = {"err": {"errors": {"status": ["500-599"], "service": "E",
                              "query": "/{status}.html?from={url}"}}}
    with Env(backends={"A": a, "E": e}, routers=_router(["err"], service="A"),
             middlewares=mws) as env:
        r = _req(env.addr, "GET", "/broken?x=1", host="shop.example")
        check(r.status == 503, "original status kept: %d" % r.status)
        check(r.body == b"nice page for /503.html?from=%2Fbroken%3Fx%3D1", "page: %r" % r.body)
        check(r.get("X-Page") == b"yes", "the page's fields")
        got = e.requests()[-1]
        check(got.get("Host") == b"shop.example", "the client's Host: %r" % got.get("Host"))
        r = _req(env.addr, "GET", "/ok")
        check(r.status == 200 and r.body == b"fine", "other statuses pass: %d" % r.status)


def test_errors_when_the_error_service_is_down():
    a = FakeBackend("A", responder=lambda req: simple_response("x", status="500 Oops"))
    a.start()
    try:
        mws = {"err": {"errors": {"status": ["500"], "service": "E", "query": "/e"}}}
        with Env(backends={}, routers=_router(["err"], service="A"), middlewares=mws,
                 services_extra={"A": [a.url], "E": [_closed_url()]}) as env:
            r = _req(env.addr, "GET", "/")
            check(r.status == 500, "the original status: %d" % r.status)
            check(b"Oops" not in r.body, "not the upstream's body")
    finally:
        a.stop()


# ---- compress -------------------------------------------------------------------------------

BIG = b"".join(b"line %05d of a compressible body\n" % i for i in range(2000))


def test_compress_gzips_a_large_response():
    a = FakeBackend("A", responder=lambda req: simple_response(BIG))
    mws = {"z": {"compress": {}}}
    with Env(backends={"A": a}, routers=_router(["z"], service="A"), middlewares=mws) as env:
        r = _req(env.addr, "GET", "/", extra=["Accept-Encoding: br;q=1, gzip;q=0.5"])
        check(r.status == 200, "status %d" % r.status)
        check(r.get("Content-Encoding") == b"gzip", "encoded: %r" % r.headers)
        check(r.has_token("Vary", b"Accept-Encoding"), "Vary")
        check(r.framing == "chunked" and r.get("Content-Length") is None, "chunked output")
        check(len(r.body) < len(BIG) // 4, "smaller: %d" % len(r.body))
        check(gzip.decompress(r.body) == BIG, "decompresses to the original")
        # Not accepted (q=0), or no Accept-Encoding: untouched.
        r = _req(env.addr, "GET", "/", extra=["Accept-Encoding: gzip;q=0"])
        check(r.get("Content-Encoding") is None and r.body == BIG, "q=0 refuses gzip")
        r = _req(env.addr, "GET", "/")
        check(r.get("Content-Encoding") is None and r.body == BIG, "no Accept-Encoding")


def test_compress_skips_small_and_excluded_responses():
    def app(req):
        if req.target == b"/small":
            return simple_response("tiny")
        return simple_response(BIG, headers=[("X-T", "1")])

    a = FakeBackend("A", responder=app)
    mws = {"z": {"compress": {"excludedContentTypes": ["text/plain"]}},
           "y": {"compress": {"minResponseBodyBytes": 100}}}
    routers = [{"rule": "PathPrefix(`/x`)", "service": "A", "middlewares": ["z"]},
               {"rule": "PathPrefix(`/`)", "service": "A", "middlewares": ["y"]}]
    with Env(backends={"A": a}, routers=routers, middlewares=mws) as env:
        r = _req(env.addr, "GET", "/x", extra=["Accept-Encoding: gzip"])
        check(r.get("Content-Encoding") is None and r.body == BIG, "text/plain excluded")
        r = _req(env.addr, "GET", "/small", extra=["Accept-Encoding: gzip"])
        check(r.get("Content-Encoding") is None and r.body == b"tiny", "below the minimum")


def test_compress_streams_a_chunked_response():
    pieces = [b"%x\r\n%s\r\n" % (len(p), p) for p in (BIG[:5000], BIG[5000:30000], BIG[30000:])]
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
    a = FakeBackend("A", responder=lambda req: Reply([head] + pieces + [b"0\r\n\r\n"]))
    mws = {"z": {"compress": {}}}
    with Env(backends={"A": a}, routers=_router(["z"], service="A"), middlewares=mws) as env:
        for _ in range(2):  # the connection is reused: the stream state is per exchange
            r = _req(env.addr, "GET", "/", extra=["Accept-Encoding: gzip, deflate"])
            check(r.get("Content-Encoding") == b"gzip", "encoded")
            check(gzip.decompress(r.body) == BIG, "streamed body decompresses whole")


def test_compress_incompressible_body_through_a_small_window():
    """Output larger than input (random bytes), many writes against a small receive buffer:
    the gzip output buffer must stay put while a write is pending."""
    body = os.urandom(1 << 20) + BIG
    a = FakeBackend("A", responder=lambda req: simple_response(body))
    mws = {"z": {"compress": {}}}
    with Env(backends={"A": a}, routers=_router(["z"], service="A"), middlewares=mws) as env:
        with Client(env.addr, rcvbuf=4096) as c:
            c.send(b"GET / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n")
            r = c.read_response()
        check(r.get("Content-Encoding") == b"gzip", "encoded")
        check(gzip.decompress(r.body) == body, "whole body back")


def test_compress_client_leaves_mid_stream():
    pieces = [b"%x\r\n%s\r\n" % (len(BIG), BIG)] * 20 + [b"0\r\n\r\n"]
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
    a = FakeBackend("A", responder=lambda req: Reply([head] + pieces))
    mws = {"z": {"compress": {}}}
    with Env(backends={"A": a}, routers=_router(["z"], service="A"), middlewares=mws) as env:
        for _ in range(3):
            c = Client(env.addr, rcvbuf=4096)
            c.send(b"GET / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n")
            c.read_head()
            c.close()
        r = _req(env.addr, "GET", "/", extra=["Accept-Encoding: gzip"])
        check(gzip.decompress(r.body) == BIG * 20, "the next exchange is whole")


# ---- buffering ------------------------------------------------------------------------------

def test_buffering_sends_a_chunked_request_with_its_length():
    a = FakeBackend("A")
    mws = {"b": {"buffering": {"maxRequestBodyBytes": 1000}}}
    with Env(backends={"A": a}, routers=_router(["b"], service="A"), middlewares=mws) as env:
        body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        r = _req(env.addr, "POST", "/up", extra=["Transfer-Encoding: chunked"], body=body)
        check(r.status == 200, "status %d %r" % (r.status, r.body[:100]))
        got = a.requests()[-1]
        check(got.framing == "length" and got.content_length == 11, "sent with a length: %s"
              % got.summary())
        check(got.body == b"hello world", "the body: %r" % bytes(got.body))
        # Past the limit: 413, chunked or not, and nothing reaches the backend.
        n = len(a.requests())
        big = b"%x\r\n%s\r\n0\r\n\r\n" % (1500, b"x" * 1500)
        r = _req(env.addr, "POST", "/up", extra=["Transfer-Encoding: chunked"], body=big)
        check(r.status == 413, "chunked past the limit: %d" % r.status)
        r = _req(env.addr, "POST", "/up", extra=["Content-Length: 1001"], body=b"y" * 1001)
        check(r.status == 413, "length past the limit: %d" % r.status)
        check(len(a.requests()) == n, "nothing went upstream")


def test_buffering_answers_with_a_length():
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
    pieces = [b"4\r\nabcd\r\n", b"3\r\nefg\r\n", b"0\r\n\r\n"]

    def app(req):
        if req.target == b"/big":
            return simple_response(b"z" * 5000)
        return Reply([head] + pieces)

    a = FakeBackend("A", responder=app)
    mws = {"b": {"buffering": {"maxResponseBodyBytes": 4096}}}
    with Env(backends={"A": a}, routers=_router(["b"], service="A"), middlewares=mws) as env:
        r = _req(env.addr, "GET", "/")
        check(r.status == 200 and r.body == b"abcdefg", "body %d %r" % (r.status, r.body))
        check(r.framing == "length" and r.get("Content-Length") == b"7", "length framing")
        r = _req(env.addr, "GET", "/big")
        check(r.status == 500, "past maxResponseBodyBytes: %d" % r.status)


def test_buffering_retry_expression_retries_network_errors():
    mws = {"b": {"buffering": {"retryExpression": "IsNetworkError() && Attempts() < 2"}}}
    a = FakeBackend("A")
    a.start()
    try:
        with Env(backends={}, routers=_router(["b"]), middlewares=mws,
                 services_extra={"S": [_closed_url(), a.url]}) as env:
            for i in range(3):
                r = _req(env.addr, "PUT", "/k%d" % i, extra=["Content-Length: 3"], body=b"abc")
                check(r.status == 200, "PUT %d: %d" % (i, r.status))
            check(a.requests()[-1].body == b"abc", "the buffered body went to the second server")
    finally:
        a.stop()


def test_buffering_answers_expect_continue_itself():
    a = FakeBackend("A")
    mws = {"b": {"buffering": {}}}
    with Env(backends={"A": a}, routers=_router(["b"], service="A"), middlewares=mws) as env:
        with Client(env.addr) as c:
            c.send(b"PUT /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
                   b"Content-Length: 4\r\n\r\n")
            r = c.read_head()
            check(r.status == 100, "the proxy sends the 100 itself: %d" % r.status)
            c.send(b"data")
            r = c.read_response(method=b"PUT")
            check(r.status == 200, "final: %d" % r.status)
        check(a.requests()[-1].body == b"data", "body upstream")


def test_buffering_and_compress_together():
    a = FakeBackend("A", responder=lambda req: simple_response(BIG))
    mws = {"b": {"buffering": {}}, "z": {"compress": {}}}
    with Env(backends={"A": a}, routers=_router(["b", "z"], service="A"),
             middlewares=mws) as env:
        r = _req(env.addr, "GET", "/", extra=["Accept-Encoding: gzip"])
        check(r.status == 200 and r.get("Content-Encoding") == b"gzip", "compressed")
        check(r.framing == "length", "buffered: sent with a length (%s)" % r.framing)
        check(gzip.decompress(r.body) == BIG, "decompresses")
