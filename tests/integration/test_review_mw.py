"""Adversarial review of the middleware data path: requests held by a middleware (bcrypt on
the thread pool, rateLimit delays), retries, error pages, mirrors and buffering meeting a
client that leaves, a table hot swap and a SIGTERM drain; framing of the next request and
response on a kept-alive connection after every kind of local or rewritten reply; header
injection through config values. Meant to run under the ASan build with detect_leaks=1 too
(Env.stop reports sanitizer lines)."""

import gzip
import os
import signal
import socket
import subprocess

from lib.backend import FakeBackend, Reply, simple_response
from lib.check import Env
from lib.client import Client
from lib.proxyd import to_yaml
from lib.util import free_port, check, proxyd_path, wait_until

FAST = {"providers": {"providersThrottleDuration": "10ms"}}

# `slow` with bcrypt cost 16 (made with Python's crypt module): about 3 s of CPU on the thread
# pool, long enough to swap the table or stop the proxy while the request is held.
SLOW = "u:$2b$16$abcdefghijklmnopqrstuuyYEJMaOHtQaIuzoAyzXGUf8TxYTR1va"
SLOW_AUTH = "Authorization: Basic dTpzbG93"  # u:slow
# `fast` with cost 4: still goes through the thread pool, briefly.
FAST_HASH = "u:$2b$04$abcdefghijklmnopqrstuuzHQ8m4CjsGQzbsANLXy/iqXJ57cNNAW"
FAST_AUTH = "Authorization: Basic dTpmYXN0"  # u:fast


def _closed_url():
    # A port outside the kernel's range for port-0 binds: a proxyd started afterwards binds its
    # own listeners on port 0 and could otherwise take this one, turning "dead" into itself.
    return "http://127.0.0.1:%d" % free_port()


def _write_dynamic(px, routers, services, middlewares=None):
    px.routers = routers
    px.services = services
    if middlewares is not None:
        px.middlewares = middlewares
    path = os.path.join(px.tmpdir, "dynamic.yaml")
    with open(path + ".tmp", "w") as f:
        f.write(to_yaml(px._dynamic()))
    os.rename(path + ".tmp", path)


def _status(addr, host, target=b"/"):
    with Client(addr, timeout=5) as c:
        c.send(b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
        return c.read_response().status


def _router(mws, service="A", rule="PathPrefix(`/`)"):
    return [{"rule": rule, "service": service, "middlewares": mws}]


# ---- held requests: table swap, SIGTERM, client leaving -------------------------------------

def test_held_request_survives_a_table_swap():
    """A request waiting for bcrypt while the table is swapped goes on with the generation it
    was routed on: its service (6 servers) no longer exists in the new table (1 service, 1
    server), so the balancer state of the new table must not be used for it."""
    backs = {"A%d" % i: FakeBackend("A%d" % i) for i in range(6)}
    b = FakeBackend("B")
    mws = {"auth": {"basicAuth": {"users": [SLOW]}}}
    routers = [{"rule": "Host(`auth`)", "service": "S", "middlewares": ["auth"]}]
    for x in list(backs.values()) + [b]:
        x.start()
    try:
        with Env(backends={}, routers=routers, middlewares=mws, static_extra=FAST,
                 services_extra={"S": [x.url for x in backs.values()]}) as env:
            c = env.client(timeout=30)
            c.send(("GET /held HTTP/1.1\r\nHost: auth\r\n%s\r\n\r\n" % SLOW_AUTH).encode())
            _write_dynamic(env.px, [("Host(`new`)", "B")], {"B": [b.url]}, middlewares={})
            wait_until(lambda: _status(env.addr, b"new") == 200, 10, 0.02, "the new table")
            check(c.recv_available() == b"", "bcrypt ended before the swap: the test proves "
                  "nothing (raise the cost)")
            r = c.read_response(timeout=30)
            check(r.status == 200 and r.body.startswith(b"A"),
                  "the held request goes on on its own generation: %s" % r)
    finally:
        for x in list(backs.values()) + [b]:
            x.stop()


def test_held_request_refused_after_a_table_swap():
    """A wrong password found after the swap: the 401 (its WWW-Authenticate comes from the
    old generation's config) is built and the middlewares end while that generation is still
    pinned."""
    a, b = FakeBackend("A"), FakeBackend("B")
    mws = {"auth": {"basicAuth": {"users": [SLOW], "realm": "old-realm"}},
           "hdr": {"headers": {"customResponseHeaders": {"X-Old": "generation-1"}}}}
    routers = [{"rule": "Host(`auth`)", "service": "A", "middlewares": ["hdr", "auth"]}]
    for x in (a, b):
        x.start()
    try:
        with Env(backends={}, routers=routers, middlewares=mws, static_extra=FAST,
                 services_extra={"A": [a.url]}) as env:
            c = env.client(timeout=30)
            wrong = SLOW_AUTH.replace("dTpzbG93", "dTpzbG94")  # u:slox, same user
            c.send(("GET /held HTTP/1.1\r\nHost: auth\r\n%s\r\n\r\n" % wrong).encode())
            _write_dynamic(env.px, [("Host(`new`)", "B")], {"B": [b.url]}, middlewares={})
            wait_until(lambda: _status(env.addr, b"new") == 200, 10, 0.02, "the new table")
            check(c.recv_available() == b"", "bcrypt ended before the swap (raise the cost)")
            r = c.read_response(timeout=30)
            check(r.status == 401 and b"old-realm" in (r.get("WWW-Authenticate") or b"") and
                  r.get("X-Old") == b"generation-1", "the 401 of the old generation: %s" % r)
    finally:
        for x in (a, b):
            x.stop()


def test_held_request_with_mirror_survives_a_table_swap():
    """The same with a mirroring service: the copy's pick must not use the new table's
    balancer state either."""
    backs = {"A%d" % i: FakeBackend("A%d" % i) for i in range(6)}
    b = FakeBackend("B")
    for x in list(backs.values()) + [b]:
        x.start()
    try:
        services = {"M%d" % i: [x.url] for i, x in enumerate(backs.values())}
        services["W"] = [x.url for x in backs.values()]
        dyn = {"http": {"services": {"S": {"mirroring": {
            "service": "M0", "mirrors": [{"name": "W", "percent": 100}]}}}}}
        mws = {"auth": {"basicAuth": {"users": [SLOW]}}}
        routers = [{"rule": "Host(`auth`)", "service": "S", "middlewares": ["auth"]}]
        with Env(backends={}, routers=routers, middlewares=mws, static_extra=FAST,
                 services_extra=services, dynamic_extra=dyn) as env:
            c = env.client(timeout=30)
            c.send(("GET /held HTTP/1.1\r\nHost: auth\r\n%s\r\n\r\n" % SLOW_AUTH).encode())
            env.px.dynamic_extra = {}
            _write_dynamic(env.px, [("Host(`new`)", "B")], {"B": [b.url]}, middlewares={})
            wait_until(lambda: _status(env.addr, b"new") == 200, 10, 0.02, "the new table")
            check(c.recv_available() == b"", "bcrypt ended before the swap (raise the cost)")
            r = c.read_response(timeout=30)
            check(r.status == 200, "the held request is answered: %s" % r)
    finally:
        for x in list(backs.values()) + [b]:
            x.stop()


def test_sigterm_while_a_request_is_held():
    """SIGTERM during a bcrypt wait: the request is still answered (with a close) and proxyd
    exits cleanly; a client that left during its wait costs nothing."""
    mws = {"auth": {"basicAuth": {"users": [SLOW]}}}
    routers = _router(["auth"], rule="Host(`x`)") + [("Host(`open`)", "A")]
    # A grace period far longer than the wait: bcrypt cost 16 may take seconds on a busy box.
    ep = {"transport": {"lifeCycle": {"graceTimeOut": "120s"}}}
    with Env(backends=("A",), routers=routers, middlewares=mws, workers=1,
             entrypoint=ep) as env:
        gone = Client(env.addr)
        gone.send(("GET /gone HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n" % SLOW_AUTH).encode())
        gone.close()
        c = env.client(timeout=30)
        c.send(("GET /held HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n" % SLOW_AUTH).encode())
        # One worker: once a later connection is answered, the held one was accepted and read.
        check(_status(env.addr, b"open") == 200, "open route")
        env.px.signal(signal.SIGTERM)
        r = c.read_response(timeout=30)
        check(r.status == 200, "the held request is answered during the drain: %s" % r)
        check(r.has_token("Connection", b"close"), "and the connection closes: %s" % r)
        check(env.px.wait_exit(60), "proxyd exits after the drain")
        check(env.px.rc == 0, "exit code %s" % env.px.rc)


def test_held_request_is_not_timed_out_as_an_unfinished_head():
    """readHeaderTimeout bounds reading the head; a head read whole and held by a middleware
    longer than that is not a slow client (408) but a request under way."""
    mws = {"auth": {"basicAuth": {"users": [SLOW]}}}
    ep = {"transport": {"respondingTimeouts": {"readHeaderTimeout": "1s"}}}
    with Env(backends=("A",), routers=_router(["auth"]), middlewares=mws,
             entrypoint=ep) as env:
        c = env.client(timeout=30)
        c.send(("GET /held HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n" % SLOW_AUTH).encode())
        r = c.read_response(timeout=30)
        check(r.status == 200, "held past readHeaderTimeout: %s" % r)


def test_read_timeout_during_a_wait():
    """readTimeout expires while bcrypt runs: 408, the wait is cancelled (the running work
    ends on its own and frees its state), and the next connection is served."""
    mws = {"auth": {"basicAuth": {"users": [SLOW]}}}
    ep = {"transport": {"respondingTimeouts": {"readTimeout": "1s",
                                               "readHeaderTimeout": "1s"}}}
    routers = _router(["auth"], rule="Host(`x`)") + [("Host(`open`)", "A")]
    with Env(backends=("A",), routers=routers, middlewares=mws, entrypoint=ep) as env:
        c = env.client(timeout=30)
        c.send(("GET /held HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n" % SLOW_AUTH).encode())
        r = c.read_response(timeout=30)
        check(r.status == 408, "readTimeout during the wait: %s" % r)
        check(_status(env.addr, b"open") == 200, "still serving")


def test_client_leaves_during_bcrypt_with_a_body_then_pipelined():
    """Clients that send a body, or a pipelined request, behind a held head and leave; then a
    held request with a body whose password is right streams its body upstream."""
    mws = {"auth": {"basicAuth": {"users": [FAST_HASH]}}}
    with Env(backends=("A",), routers=_router(["auth"]), middlewares=mws) as env:
        for _ in range(10):
            c = Client(env.addr)
            c.send(("POST /p HTTP/1.1\r\nHost: x\r\n%s\r\nContent-Length: 5\r\n\r\nhello"
                    "GET /q HTTP/1.1\r\nHost: x\r\n\r\n" % FAST_AUTH).encode())
            c.close()
        with Client(env.addr) as c:
            c.send(("POST /p HTTP/1.1\r\nHost: x\r\n%s\r\nContent-Length: 5\r\n\r\nhello"
                    "GET /q HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n" % (FAST_AUTH, FAST_AUTH)).encode())
            r1 = c.read_response()
            r2 = c.read_response()
            check(r1.status == 200 and r1.body.endswith(b"POST /p len=5"), "first: %s" % r1)
            check(r2.status == 200 and r2.body.endswith(b"GET /q len=0"), "second: %s" % r2)


def test_two_waits_in_a_row():
    """Two bcrypt middlewares: the request waits twice (the second wait starts from the first
    one's resume); a refusal after the second wait, pipelining behind both, and clients that
    leave during either wait."""
    other = "u:$2b$04$abcdefghijklmnopqrstuu0HtfOlPbTiymk5tcV.3TsFPDd3SYZqu"
    mws = {"a1": {"basicAuth": {"users": [FAST_HASH]}},
           "a2": {"basicAuth": {"users": [FAST_HASH]}},
           "a3": {"basicAuth": {"users": [other]}}}
    routers = [{"rule": "Host(`ok`)", "service": "A", "middlewares": ["a1", "a2"]},
               {"rule": "Host(`no`)", "service": "A", "middlewares": ["a1", "a3"]}]
    with Env(backends=("A",), routers=routers, middlewares=mws) as env:
        for _ in range(10):
            c = Client(env.addr)
            c.send(("GET / HTTP/1.1\r\nHost: no\r\n%s\r\n\r\n" % FAST_AUTH).encode())
            c.close()
        with Client(env.addr) as c:
            one = "GET /1 HTTP/1.1\r\nHost: ok\r\n%s\r\n\r\n" % FAST_AUTH
            two = "GET /2 HTTP/1.1\r\nHost: no\r\n%s\r\n\r\n" % FAST_AUTH
            three = "GET /3 HTTP/1.1\r\nHost: ok\r\n%s\r\n\r\n" % FAST_AUTH
            c.send((one + two + three).encode())
            r1, r2, r3 = c.read_response(), c.read_response(), c.read_response()
            check(r1.status == 200 and r1.body.endswith(b"GET /1 len=0"), "1: %s" % r1)
            check(r2.status == 401, "2: %s" % r2)
            check(r3.status == 200 and r3.body.endswith(b"GET /3 len=0"), "3: %s" % r3)


def test_rate_limit_delays_with_clients_leaving():
    """rateLimit waits (the token is due soon) while clients leave, then SIGTERM with waits in
    progress: no crash, no leak, proxyd exits."""
    mws = {"rl": {"rateLimit": {"average": 50, "period": "1s", "burst": 1}}}
    with Env(backends=("A",), routers=_router(["rl"]), middlewares=mws) as env:
        statuses = []
        for round_ in range(6):
            cs = [Client(env.addr) for _ in range(10)]
            for c in cs:
                c.send(b"GET /r HTTP/1.1\r\nHost: x\r\n\r\n")
            for i, c in enumerate(cs):
                if i % 2 == 0 and round_ % 2 == 0:
                    c.close()  # leaves, maybe while its token is reserved
                else:
                    statuses.append(c.read_response().status)
                    c.close()
        check(set(statuses) <= {200, 429}, "statuses: %s" % statuses)
        cs = [Client(env.addr) for _ in range(10)]
        for c in cs:
            c.send(b"GET /r HTTP/1.1\r\nHost: x\r\n\r\n")
        env.px.signal(signal.SIGTERM)
        check(env.px.wait_exit(30), "proxyd exits")
        for c in cs:
            c.close()
        check(env.px.rc == 0, "exit code %s" % env.px.rc)


# ---- retry, errors, mirror, buffering vs. clients leaving and SIGTERM ------------------------

def test_sigterm_during_retry_backoff():
    mws = {"r": {"retry": {"attempts": 4, "initialInterval": "400ms"}}}
    with Env(backends={}, routers=_router(["r"], service="S"), middlewares=mws,
             services_extra={"S": [_closed_url()]}) as env:
        c = env.client(timeout=30)
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        left = Client(env.addr)
        left.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        left.close()
        env.px.signal(signal.SIGTERM)
        r = c.read_response(timeout=30)
        check(r.status == 502, "every attempt refused: %s" % r)
        check(env.px.wait_exit(30), "proxyd exits")
        check(env.px.rc == 0, "exit code %s" % env.px.rc)


def test_retry_backoff_across_a_table_swap():
    """Retries whose backoff straddles a swap pick servers of their own generation and still
    move on from server to server (the dead ones first, then the live one)."""
    a, b = FakeBackend("A"), FakeBackend("B")
    for x in (a, b):
        x.start()
    try:
        mws = {"r": {"retry": {"attempts": 14, "initialInterval": "150ms"}}}
        with Env(backends={}, routers=_router(["r"], service="S", rule="Host(`x`)"),
                 middlewares=mws, static_extra=FAST,
                 services_extra={"S": [_closed_url() for _ in range(5)] + [a.url]}) as env:
            c = env.client(timeout=30)
            c.send(b"GET /r HTTP/1.1\r\nHost: x\r\n\r\n")
            _write_dynamic(env.px, [("Host(`new`)", "B")], {"B": [b.url]}, middlewares={})
            wait_until(lambda: _status(env.addr, b"new") == 200, 10, 0.02, "the new table")
            r = c.read_response(timeout=30)
            check(r.status == 200 and r.body.startswith(b"A GET /r"), "reached A: %s" % r)
    finally:
        for x in (a, b):
            x.stop()


def test_errors_page_fetch_with_client_leaving_and_sigterm():
    slow_page = FakeBackend("E", responder=lambda req: Reply(
        simple_response("page").data, delay=0.3))
    a = FakeBackend("A", responder=lambda req: simple_response("bad", status="500 Oops"))
    mws = {"err": {"errors": {"status": ["500"], "service": "E", "query": "/e"}}}
    with Env(backends={"A": a, "E": slow_page}, routers=_router(["err"]),
             middlewares=mws) as env:
        for _ in range(5):
            c = Client(env.addr)
            c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            wait_until(lambda: len(slow_page.requests()) > 0, 5, what="page fetch")
            c.close()
        c = env.client(timeout=10)
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        n = len(slow_page.requests())
        wait_until(lambda: len(slow_page.requests()) > n, 5, what="page fetch")
        env.px.signal(signal.SIGTERM)
        r = c.read_response()
        check(r.status == 500 and r.body == b"page", "the page under 500: %s" % r)
        check(env.px.wait_exit(30), "proxyd exits")


def test_errors_page_picked_after_a_table_swap():
    """The upstream answers 500 after a swap: the page is picked from the error service of
    the exchange's own generation."""
    def slow_500(req):
        r = simple_response("bad", status="500 Oops")
        r.delay = 1.0
        return r
    a = FakeBackend("A", responder=slow_500)
    e = FakeBackend("E", responder=lambda req: simple_response("page"))
    b = FakeBackend("B")
    mws = {"err": {"errors": {"status": ["500"], "service": "E", "query": "/e"}}}
    with Env(backends={"A": a, "E": e, "B": b}, routers=_router(["err"], rule="Host(`x`)"),
             middlewares=mws, static_extra=FAST) as env:
        c = env.client(timeout=30)
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_until(lambda: a.requests(), 5, what="the request at A")
        _write_dynamic(env.px, [("Host(`new`)", "B")], {"B": [b.url]}, middlewares={})
        wait_until(lambda: _status(env.addr, b"new") == 200, 10, 0.02, "the new table")
        check(c.recv_available() == b"", "A answered before the swap")
        r = c.read_response()
        check(r.status == 500 and r.body == b"page", "the page: %s" % r)


def test_mirror_copies_in_flight_at_sigterm_and_swap():
    """A mirror that never answers holds copies when the table is swapped and proxyd stops."""
    a = FakeBackend("A")
    q = FakeBackend("Q", responder=lambda req: Reply(silent=True))
    svc = {"S": {"mirroring": {"service": "A", "mirrors": [{"name": "Q", "percent": 100}]}}}
    with Env(backends={"A": a, "Q": q}, routers=[("PathPrefix(`/`)", "S")],
             dynamic_extra={"http": {"services": svc}}, static_extra=FAST) as env:
        for i in range(5):
            with Client(env.addr) as c:
                c.send(b"POST /m%d HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi" % i)
                check(c.read_response().status == 200, "main answer")
        wait_until(lambda: len(q.requests()) >= 5, 5, what="the copies")
        env.px.dynamic_extra = {}
        _write_dynamic(env.px, [("Host(`new`)", "A")], {"A": [a.url]})
        wait_until(lambda: _status(env.addr, b"new") == 200, 10, 0.02, "the new table")
        env.px.signal(signal.SIGTERM)
        check(env.px.wait_exit(30), "proxyd exits with copies in flight")
        check(env.px.rc == 0, "exit code %s" % env.px.rc)


def test_buffering_client_leaves_mid_body_and_sigterm():
    mws = {"b": {"buffering": {"maxRequestBodyBytes": 1000000}}}
    def accepted(px, client):
        """Whether proxyd holds the server side of `client`'s connection as an open file: a
        connection still in the listen backlog has no inode yet (/proc/net/tcp shows 0)."""
        port = client.sock.getsockname()[1]
        inode = None
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                col = line.split()
                if int(col[2].split(":")[1], 16) == port and col[9] != "0":
                    inode = col[9]
        if inode is None:
            return False
        d = "/proc/%d/fd" % px.proc.pid
        for fd in os.listdir(d):
            try:
                if os.readlink(os.path.join(d, fd)) == "socket:[%s]" % inode:
                    return True
            except OSError:
                pass
        return False

    with Env(backends=("A",), routers=_router(["b"]), middlewares=mws) as env:
        for _ in range(5):
            c = Client(env.addr)
            c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"x" * 50000)
            c.close()
        # SIGTERM closes the listeners, and a connection still in their backlog would be reset
        # (a race of the test, not the point): wait until a worker accepted this one
        c = env.client(timeout=10)
        c.send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        wait_until(lambda: accepted(env.px, c), 10, 0.005, "the connection accepted")
        env.px.signal(signal.SIGTERM)
        c.send(b"0\r\n\r\n")
        r = c.read_response()
        check(r.status == 200 and r.body.endswith(b"len=5"), "buffered request: %s" % r)
        check(env.px.wait_exit(30), "proxyd exits")


# ---- keep-alive and pipelining after local and rewritten replies ---------------------------

def _pipeline(addr, first, method=b"GET"):
    """`first` then a plain GET /next on the same connection; returns both responses (the
    second None when the connection closed after the first) and what reached the backend."""
    with Client(addr, timeout=10) as c:
        c.send(first + b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
        r1 = c.read_response(method=method)
        if r1.has_token("Connection", b"close"):
            c.wait_closed()
            return r1, None
        return r1, c.read_response()


def test_pipelining_after_local_replies():
    """After a redirect, a 401, a 429 and an ipAllowList 403, the next request on the
    connection is parsed where it starts; a body the reply did not read closes the connection
    and its bytes never reach the backend as a request."""
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    mws = {"redir": {"redirectRegex": {"regex": "^http://x/old(.*)", "replacement": "http://x/new$1"}},
           "auth": {"basicAuth": {"users": [FAST_HASH]}},
           "rl": {"rateLimit": {"average": 1, "period": "1m", "burst": 1}},
           "deny": {"ipAllowList": {"sourceRange": ["10.0.0.0/8"]}}}
    a = FakeBackend("A")
    routers = [{"rule": "PathPrefix(`/old`)", "service": "A", "middlewares": ["redir"]},
               {"rule": "PathPrefix(`/auth`)", "service": "A", "middlewares": ["auth"]},
               {"rule": "PathPrefix(`/rl`)", "service": "A", "middlewares": ["rl"]},
               {"rule": "PathPrefix(`/deny`)", "service": "A", "middlewares": ["deny"]},
               {"rule": "PathPrefix(`/`)", "service": "A"}]
    with Env(backends={"A": a}, routers=routers, middlewares=mws) as env:
        # prime the rate limit: its one token is taken
        _pipeline(env.addr, b"GET /rl HTTP/1.1\r\nHost: x\r\n\r\n")
        cases = [(b"GET /old/a HTTP/1.1\r\nHost: x\r\n\r\n", 302),
                 (b"HEAD /old/a HTTP/1.1\r\nHost: x\r\n\r\n", 307),  # GET only: 302
                 (b"GET /auth HTTP/1.1\r\nHost: x\r\n\r\n", 401),
                 (b"HEAD /auth HTTP/1.1\r\nHost: x\r\n\r\n", 401),
                 (("GET /auth HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n" % FAST_AUTH.replace(
                     "dTpmYXN0", "dTp3cm9uZw==")).encode(), 401),
                 (b"GET /rl HTTP/1.1\r\nHost: x\r\n\r\n", 429),
                 (b"HEAD /rl HTTP/1.1\r\nHost: x\r\n\r\n", 429),
                 (b"GET /deny HTTP/1.1\r\nHost: x\r\n\r\n", 403)]
        for raw, want in cases:
            method = raw.split(b" ")[0]
            r1, r2 = _pipeline(env.addr, raw, method=method)
            check(r1.status == want, "%r: %s" % (raw[:20], r1))
            check(r2 is not None and r2.status == 200 and r2.body.startswith(b"A GET /next"),
                  "the next request after %r: %s" % (raw[:20], r2))
        # with a body: the connection closes; the body is never a request
        for path in (b"/old/a", b"/auth", b"/rl", b"/deny"):
            for framing in (b"Content-Length: %d\r\n\r\n" % len(smuggled) + smuggled,
                            b"Transfer-Encoding: chunked\r\n\r\n%x\r\n" % len(smuggled) +
                            smuggled + b"\r\n0\r\n\r\n"):
                with Client(env.addr, timeout=10) as c:
                    c.send(b"POST " + path + b" HTTP/1.1\r\nHost: x\r\n" + framing)
                    r = c.read_response()
                    check(r.status in (307, 401, 429, 403), "%r: %s" % (path, r))
                    rest = c.recv_available(0.2)
                    check(rest == b"" or rest.startswith(b"HTTP/") is False,
                          "nothing after the reply: %r" % rest[:80])
        check(not [q for q in a.requests() if q.target == b"/smuggled"],
              "a body was parsed as a request")


def test_pipelining_after_errors_page_compress_and_buffering():
    def app(req):
        if req.target.startswith(b"/err"):
            return simple_response("upstream error body", status="502 Bad")
        if b"big" in req.target:
            return simple_response(b"z" * 5000, headers=[("Content-Type", "text/plain")])
        return simple_response(b"A " + req.method + b" " + req.target)

    a = FakeBackend("A", responder=app)
    e = FakeBackend("E", responder=lambda req: simple_response("the page"))
    mws = {"err": {"errors": {"status": ["502"], "service": "E", "query": "/p"}},
           "gz": {"compress": {}},
           "buf": {"buffering": {}}}
    routers = [{"rule": "PathPrefix(`/err`)", "service": "A", "middlewares": ["err"]},
               {"rule": "PathPrefix(`/big`)", "service": "A", "middlewares": ["gz"]},
               {"rule": "PathPrefix(`/buf`)", "service": "A", "middlewares": ["buf", "gz"]},
               {"rule": "PathPrefix(`/`)", "service": "A"}]
    with Env(backends={"A": a, "E": e}, routers=routers, middlewares=mws) as env:
        for raw, method, check_first in [
                (b"GET /err HTTP/1.1\r\nHost: x\r\n\r\n", b"GET",
                 lambda r: r.status == 502 and r.body == b"the page"),
                (b"HEAD /err HTTP/1.1\r\nHost: x\r\n\r\n", b"HEAD", lambda r: r.status == 502),
                (b"GET /big HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n", b"GET",
                 lambda r: gzip.decompress(r.body) == b"z" * 5000),
                (b"HEAD /big HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n", b"HEAD",
                 lambda r: r.status == 200 and r.body == b""),
                (b"GET /buf/big HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n", b"GET",
                 lambda r: r.get("Content-Length") is not None and
                 gzip.decompress(r.body) == b"z" * 5000),
                (b"POST /buf HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", b"POST",
                 lambda r: r.body == b"A POST /buf"),
                (b"HEAD /buf HTTP/1.1\r\nHost: x\r\n\r\n", b"HEAD", lambda r: r.body == b"")]:
            r1, r2 = _pipeline(env.addr, raw, method=method)
            check(check_first(r1), "%r: %s %r" % (raw[:24], r1, r1.body[:40]))
            check(r2 is not None and r2.status == 200 and r2.body == b"A GET /next",
                  "the next request after %r: %s" % (raw[:24], r2))


def test_errors_page_never_gives_a_bodiless_status_a_body():
    """An upstream 304 or 204 in the errors ranges: the client must not get the page's body
    after a status that has none (it would read it as the next response)."""
    def app(req):
        if req.target == b"/e304":
            return Reply(b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n")
        if req.target == b"/e204":
            return Reply(b"HTTP/1.1 204 No Content\r\n\r\n")
        return simple_response(b"A " + req.target)

    a = FakeBackend("A", responder=app)
    e = FakeBackend("E", responder=lambda req: simple_response("BAD"))
    mws = {"err": {"errors": {"status": ["200-599"], "service": "E", "query": "/p"}}}
    routers = [{"rule": "PathPrefix(`/e`)", "service": "A", "middlewares": ["err"]},
               {"rule": "PathPrefix(`/`)", "service": "A"}]
    with Env(backends={"A": a, "E": e}, routers=routers, middlewares=mws) as env:
        for target, status in ((b"/e304", 304), (b"/e204", 204)):
            with Client(env.addr, timeout=10) as c:
                c.send(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n"
                       b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
                r1 = c.read_response()
                check(r1.status == status, "%r: %s" % (target, r1))
                if r1.has_token("Connection", b"close"):
                    rest = c.recv_available(0.3)
                    check(rest == b"", "bytes after a %d that closes: %r" % (status, rest[:80]))
                    continue
                r2 = c.read_response()
                check(r2.status == 200 and r2.body == b"A /next",
                      "the next response after a %d: %s %r" % (status, r2, r2.body[:60]))


def test_errors_page_without_a_body_is_framed_as_empty():
    """A page answered without a body (a 204, or a 304 with the length of an entity it does
    not carry) goes out under the original status, which has a body: its length is 0, not
    the page's Content-Length."""
    a = FakeBackend("A", responder=lambda req: simple_response("bad", status="500 Oops"))
    e = FakeBackend("E", responder=lambda req: Reply(
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 25\r\n\r\n" if req.target == b"/304"
        else b"HTTP/1.1 204 No Content\r\nContent-Length: 25\r\n\r\n"))
    routers = [{"rule": "PathPrefix(`/a`)", "service": "A", "middlewares": ["e204"]},
               {"rule": "PathPrefix(`/b`)", "service": "A", "middlewares": ["e304"]},
               {"rule": "PathPrefix(`/`)", "service": "A"}]
    mws = {"e204": {"errors": {"status": ["500"], "service": "E", "query": "/204"}},
           "e304": {"errors": {"status": ["500"], "service": "E", "query": "/304"}}}
    with Env(backends={"A": a, "E": e}, routers=routers, middlewares=mws) as env:
        for target in (b"/a", b"/b"):
            with Client(env.addr, timeout=10) as c:
                c.send(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
                r = c.read_response()
                check(r.status == 500 and r.body == b"" and
                      r.get("Content-Length") in (None, b"0"), "%r: %s" % (target, r))


# ---- compress framing -------------------------------------------------------------------------

def test_compress_framing_cases():
    """compress leaves alone what it must: HEAD, 204, 304, 206, a body already encoded, an
    HTTP/1.0 client; the next response on the connection is intact each time."""
    big = b"y" * 4000

    def app(req):
        t = req.target
        if t == b"/204":
            return Reply(b"HTTP/1.1 204 No Content\r\nContent-Type: text/plain\r\n\r\n")
        if t == b"/304":
            return Reply(b"HTTP/1.1 304 Not Modified\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: 4000\r\n\r\n")
        if t == b"/206":
            return simple_response(big[:2000], status="206 Partial Content",
                                   headers=[("Content-Range", "bytes 0-1999/4000")])
        if t == b"/enc":
            body = gzip.compress(big)
            return simple_response(body, headers=[("Content-Encoding", "gzip")])
        if t == b"/chunked":
            return Reply(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n" +
                         b"".join(b"%x\r\n%s\r\n" % (1000, big[:1000]) for _ in range(4)) +
                         b"0\r\n\r\n")
        if t == b"/next":
            return simple_response(b"A /next")
        return simple_response(big)

    a = FakeBackend("A", responder=app)
    mws = {"gz": {"compress": {}}}
    with Env(backends={"A": a}, routers=_router(["gz"]), middlewares=mws) as env:
        ae = b"Accept-Encoding: gzip\r\n"
        for raw, method, ok in [
                (b"HEAD / HTTP/1.1\r\nHost: x\r\n" + ae + b"\r\n", b"HEAD",
                 lambda r: r.status == 200 and r.get("Content-Encoding") is None),
                (b"GET /204 HTTP/1.1\r\nHost: x\r\n" + ae + b"\r\n", b"GET",
                 lambda r: r.status == 204 and r.body == b""),
                (b"GET /304 HTTP/1.1\r\nHost: x\r\n" + ae + b"\r\n", b"GET",
                 lambda r: r.status == 304 and r.body == b"" and
                 r.get("Content-Encoding") is None),
                (b"GET /206 HTTP/1.1\r\nHost: x\r\n" + ae + b"Range: bytes=0-1999\r\n\r\n",
                 b"GET", lambda r: r.status == 206 and r.body == big[:2000]),
                (b"GET /enc HTTP/1.1\r\nHost: x\r\n" + ae + b"\r\n", b"GET",
                 lambda r: gzip.decompress(r.body) == big),
                (b"GET /chunked HTTP/1.1\r\nHost: x\r\n" + ae + b"\r\n", b"GET",
                 lambda r: gzip.decompress(r.body) == big),
                (b"GET / HTTP/1.1\r\nHost: x\r\n" + ae + b"\r\n", b"GET",
                 lambda r: gzip.decompress(r.body) == big)]:
            r1, r2 = _pipeline(env.addr, raw, method=method)
            check(ok(r1), "%r: %s" % (raw[:30], r1))
            check(r2 is not None and r2.body == b"A /next", "next after %r: %s" % (raw[:30], r2))
        # HTTP/1.0: no chunking, so no compression; the body is whole
        with Client(env.addr, timeout=10) as c:
            c.send(b"GET / HTTP/1.0\r\nHost: x\r\n" + ae + b"\r\n")
            r = c.read_response()
            check(r.body == big and r.get("Content-Encoding") is None, "1.0 client: %s" % r)
        with Client(env.addr, timeout=10) as c:
            c.send(b"GET /chunked HTTP/1.0\r\nHost: x\r\n" + ae + b"\r\n")
            r = c.read_response()
            check(r.body == big, "1.0 client, chunked upstream: %s" % r)


def test_buffering_framing_cases():
    big = b"q" * 3000

    def app(req):
        t = req.target
        if t == b"/204":
            return Reply(b"HTTP/1.1 204 No Content\r\n\r\n")
        if t == b"/eof":
            return Reply(b"HTTP/1.1 200 OK\r\n\r\n" + big, close=True)
        if t == b"/chunked":
            return Reply(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"bb8\r\n" + big + b"\r\n0\r\nX-Trailer: 1\r\n\r\n")
        if t == b"/next":
            return simple_response(b"A /next")
        return simple_response(big)

    a = FakeBackend("A", responder=app)
    mws = {"buf": {"buffering": {}}}
    with Env(backends={"A": a}, routers=_router(["buf"]), middlewares=mws) as env:
        for raw, method, ok in [
                (b"GET /204 HTTP/1.1\r\nHost: x\r\n\r\n", b"GET", lambda r: r.status == 204),
                (b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", b"HEAD", lambda r: r.body == b""),
                (b"GET /eof HTTP/1.1\r\nHost: x\r\n\r\n", b"GET", lambda r: r.body == big),
                (b"GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n", b"GET",
                 lambda r: r.body == big and r.get("Content-Length") == b"3000")]:
            r1, r2 = _pipeline(env.addr, raw, method=method)
            check(ok(r1), "%r: %s" % (raw[:30], r1))
            if r2 is not None:
                check(r2.body == b"A /next", "next after %r: %s" % (raw[:30], r2))
        with Client(env.addr, timeout=10) as c:
            c.send(b"GET /chunked HTTP/1.0\r\nHost: x\r\n\r\n")
            r = c.read_response()
            check(r.body == big, "1.0 client: %s" % r)


# ---- header injection through config values ----------------------------------------------------

def _check_config(dynamic):
    """Runs `proxyd --check` on a dynamic config; returns (rc, output)."""
    import tempfile
    d = tempfile.mkdtemp(prefix="concord-review-")
    dyn = os.path.join(d, "dynamic.yaml")
    with open(dyn, "w") as f:
        f.write(to_yaml(dynamic) + "\n")
    st = os.path.join(d, "static.yaml")
    with open(st, "w") as f:
        f.write(to_yaml({"entryPoints": {"web": {"address": "127.0.0.1:0"}},
                         "providers": {"file": {"filename": dyn}}}) + "\n")
    p = subprocess.run([proxyd_path(), "--config", st, "--check"], capture_output=True,
                       timeout=30)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def test_config_values_cannot_split_a_head():
    """Every config value that ends up in a head refuses CR, LF and other control bytes (and a
    space where it would end a request-target)."""
    svc = {"A": {"loadBalancer": {"servers": [{"url": "http://127.0.0.1:1"}]}}}
    bad = {
        "customRequestHeaders": {"headers": {"customRequestHeaders": {"X-A": "v\r\nX-Evil: 1"}}},
        "customResponseHeaders": {"headers": {"customResponseHeaders": {"X-A": "v\nX-Evil: 1"}}},
        "redirect": {"redirectRegex": {"regex": "^(.*)$", "replacement": "http://a/\r\nX: 1"}},
        "errorsQuery": {"errors": {"status": ["500"], "service": "A",
                                   "query": "/e HTTP/1.1\r\nX-Evil: 1\r\nY: /"}},
        "errorsQuerySpace": {"errors": {"status": ["500"], "service": "A",
                                        "query": "/e x"}},
        "replacePath": {"replacePath": {"path": "/a\r\nX: 1"}},
        "addPrefix": {"addPrefix": {"prefix": "/a HTTP/1.1\r\nX-Evil: 1\r\nY: /"}},
        "addPrefixSpace": {"addPrefix": {"prefix": "/a b"}},
        "stripPrefix": {"stripPrefix": {"prefixes": ["/a\r\n"]}},
        "frameOptions": {"headers": {"customFrameOptionsValue": "x\r\nX-Evil: 1"}},
        "headerField": {"basicAuth": {"users": [FAST_HASH], "headerField": "X-U: a\r\nX"}},
        "realm": {"basicAuth": {"users": [FAST_HASH], "realm": "r\r\nX: 1"}},
    }
    for name, mw in bad.items():
        dyn = {"http": {"routers": {"r": {"rule": "PathPrefix(`/`)", "service": "A",
                                          "middlewares": [name]}},
                        "services": svc, "middlewares": {name: mw}}}
        rc, out = _check_config(dyn)
        check(rc != 0 and "http.middlewares.%s" % name in out,
              "%s: a control character must be refused (rc %d): %s" % (name, rc, out[-400:]))
    dyn = {"http": {"routers": {"r": {"rule": "PathPrefix(`/`)", "service": "A"}},
                    "services": {"A": {"loadBalancer": {
                        "passHostHeader": False,
                        "servers": [{"url": "http://127.0.0.1:1\r\nX-Evil: 1"}]}}}}}
    rc, out = _check_config(dyn)
    check(rc != 0, "a server URL with CR/LF (the Host sent upstream) must be refused: %s"
          % out[-300:])
    for attr in ("name", "path", "domain"):
        dyn = {"http": {"routers": {"r": {"rule": "PathPrefix(`/`)", "service": "A"}},
                        "services": {"A": {"loadBalancer": {
                            "servers": [{"url": "http://127.0.0.1:1"}],
                            "sticky": {"cookie": {attr: "a\r\nSet-Cookie: evil=1"}}}}}}}
        rc, out = _check_config(dyn)
        if attr == "name":
            continue  # a bad name is rewritten with '_' (Traefik), checked end to end below
        check(rc != 0, "sticky cookie %s with CR/LF must be refused: %s" % (attr, out[-300:]))


def test_sticky_cookie_name_with_line_break_is_sanitised():
    a = FakeBackend("A")
    a.start()
    try:
        dyn = {"http": {"services": {"S": {"loadBalancer": {
            "servers": [{"url": a.url}],
            "sticky": {"cookie": {"name": "a\r\nX-Evil: 1"}}}}}}}
        with Env(backends={}, routers=[("PathPrefix(`/`)", "S")], dynamic_extra=dyn) as env:
            r, r2 = _pipeline(env.addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            check(r.status == 200 and r.get("X-Evil") is None, "no injected field: %s" % r)
            check(r2 is not None and r2.status == 200, "next: %s" % r2)
    finally:
        a.stop()
