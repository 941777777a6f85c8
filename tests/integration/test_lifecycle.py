"""Connection lifecycle keys: keepAliveMaxTime, requestAcceptGraceTimeout,
graceTimeOut expiry, SIGINT, weighted balancing across real connections, stale pooled
connections, stalled writes, and one SO_REUSEPORT listener per worker."""

import os
import signal
import time

from lib.backend import FakeBackend, simple_response
from lib.check import Env
from lib.client import Client, Closed
from lib.util import check, wait_until


def _get(c, target=b"/", host=b"a"):
    c.send(b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
    return c.read_response()


def test_keepalive_max_time_closes_after_deadline():
    ep = {"transport": {"keepAliveMaxTime": "1s"}}
    with Env(entrypoint=ep) as env:
        c = env.client(timeout=5)
        r = _get(c)
        check(r.status == 200 and not r.has_token("connection", b"close"),
              "first response should keep the connection: %s" % r)
        time.sleep(1.1)
        r = _get(c)
        check(r.status == 200, "second response: %s" % r)
        check(r.has_token("connection", b"close"),
              "a response past keepAliveMaxTime must say Connection: close")
        check(c.wait_closed(2), "connection not closed after keepAliveMaxTime")


def test_request_accept_grace_keeps_serving_after_sigterm():
    ep = {"transport": {"lifeCycle": {"requestAcceptGraceTimeout": "1s"}}}
    with Env(entrypoint=ep) as env:
        env.px.signal(signal.SIGTERM)
        time.sleep(0.3)
        c = Client(env.addr, timeout=3)
        check(_get(c).status == 200, "new requests must be served during requestAcceptGraceTimeout")
        c.close()
        check(env.px.wait_exit(10), "proxyd did not exit after the grace periods")
        check(env.px.rc == 0, "exit code %s" % env.px.rc)


def test_grace_timeout_cuts_stuck_requests_sigint():
    """SIGINT behaves as SIGTERM; a response that outlives graceTimeOut is cut and proxyd still
    exits 0."""
    def resp(req):
        r = simple_response(b"late")
        r.delay = 10
        return r
    ep = {"transport": {"lifeCycle": {"graceTimeOut": "500ms"}}}
    with Env(backends={"A": FakeBackend("A", responder=resp)}, entrypoint=ep) as env:
        c = env.client(timeout=5)
        c.send(b"GET /stuck HTTP/1.1\r\nHost: a\r\n\r\n")
        wait_until(lambda: env.A.requests(), 3, what="the request to reach the backend")
        t0 = time.monotonic()
        env.px.signal(signal.SIGINT)
        check(env.px.wait_exit(5), "proxyd did not exit after graceTimeOut")
        check(env.px.rc == 0, "exit code %s after SIGINT" % env.px.rc)
        check(time.monotonic() - t0 < 4, "exit took longer than graceTimeOut allows")
        check(c.wait_closed(2), "the stuck client connection was not closed")


def test_weighted_round_robin_shares():
    """Weights 3:1 over two backends: 40 requests split 30/10 (one worker, smooth WRR), and a
    weight-0 server never gets traffic."""
    a, b, z = FakeBackend("A").start(), FakeBackend("B").start(), FakeBackend("Z").start()
    routers = [("Host(`w`)", "W")]
    # Started here: the service needs their URLs before Env exists, and Env would start them
    # again, so Env gets no backends of its own.
    try:
        with Env(backends={}, routers=routers,
                 services_extra={"W": [{"url": a.url, "weight": 3}, {"url": b.url, "weight": 1},
                                       {"url": z.url, "weight": 0}]}) as env:
            c = env.client(timeout=5)
            for i in range(40):
                check(_get(c, b"/%d" % i, b"w").status == 200, "request %d failed" % i)
            na, nb, nz = len(a.requests()), len(b.requests()), len(z.requests())
            check((na, nb, nz) == (30, 10, 0), "weights 3:1:0 gave %d/%d/%d" % (na, nb, nz))
    finally:
        for be in (a, b, z):
            be.stop()



def test_post_after_backend_closed_idle_connection():
    """A backend answers with keep-alive framing and then closes (no Connection: close), as
    servers do when their idle timer fires. A POST sent a moment later must go out on a fresh
    connection (POST is never retried, H6): the pooled connection's EOF was noticed while it was
    idle, so the POST gets a 200, never a 502."""
    def resp(req):
        r = simple_response(b"%s %s" % (req.method, req.target))
        r.close = req.method == b"GET"
        return r
    with Env(backends={"A": FakeBackend("A", responder=resp)}) as env:
        c = env.client(timeout=5)
        for i in range(10):
            c.send(b"GET /g%d HTTP/1.1\r\nHost: a\r\n\r\n" % i)
            check(c.read_response().status == 200, "round %d: GET failed" % i)
            time.sleep(0.1)
            c.send(b"POST /p%d HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi" % i)
            r = c.read_response(method=b"POST")
            check(r.status == 200 and r.body == b"POST /p%d" % i,
                  "round %d: POST after the backend closed its idle connection got %s %r"
                  % (i, r.status, r.body))


def test_stalled_write_closed_after_idle_timeout_without_write_timeout():
    """writeTimeout 0 (Traefik's default): a client that never reads a large response must still
    lose its connection once the write makes no progress for idleTimeout (1s here)."""
    size = 64 << 20
    piece = b"x" * 65536

    def resp(req):
        def gen():
            yield b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size
            for _ in range(size // len(piece)):
                yield piece
        from lib.backend import Reply
        return Reply(gen())
    ep = {"transport": {"respondingTimeouts": {"writeTimeout": "0", "idleTimeout": "1s"}}}
    with Env(backends={"A": FakeBackend("A", responder=resp)}, entrypoint=ep) as env:
        c = env.client(rcvbuf=4096, timeout=20)
        c.send(b"GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
        t0 = time.monotonic()
        upstream = None
        while time.monotonic() - t0 < 10:
            conns = env.A.connections()
            if conns and upstream is None:
                upstream = conns[-1]
            if upstream is not None and upstream.closed:
                break
            time.sleep(0.05)
        check(upstream is not None and upstream.closed,
              "upstream still open %.1fs after the client stopped reading"
              % (time.monotonic() - t0))
        deadline = time.monotonic() + 5
        while not c.eof and time.monotonic() < deadline:
            c.recv_available(0.2)
        check(c.eof, "client connection still open with a stalled write and writeTimeout 0")


def _listening_sockets(pid, port):
    """Listening TCP sockets on `port` that process `pid` holds (from /proc)."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                parts = line.split()
                local, state, inode = parts[1], parts[3], parts[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port and inode in inodes:
                    n += 1
    return n


def test_each_worker_has_its_own_reuseport_listener():
    """--workers 3: three listening sockets on the entry point's port (SO_REUSEPORT, one per
    worker loop), and requests on many connections are all served."""
    with Env(workers=3) as env:
        port = env.addr[1]
        check(_listening_sockets(env.px.proc.pid, port) == 3,
              "expected 3 listening sockets (one per worker) on port %d, found %d"
              % (port, _listening_sockets(env.px.proc.pid, port)))
        for i in range(30):
            c = Client(env.addr, timeout=5)
            check(_get(c, b"/w%d" % i).status == 200, "request %d failed" % i)
            c.close()
