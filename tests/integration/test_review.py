"""Reproducers from the data-path review of node/proxy (see each docstring for the code path).

Every test_review_* here passes against correct behaviour. All of them fail against the reviewed
code except three load/shutdown guards, which pass and are kept so regressions show up
(test_review_chaos_keepalive_pipelining_misbehaving_backend,
test_review_sigterm_under_load_exits_clean, test_review_sigterm_with_every_connection_state).
Run the guards under ASan as well.
"""

import socket
import threading
import time

from lib import ws
from lib.backend import FakeBackend, Reply, canonical_body, simple_response
from lib.check import Env, victim
from lib.client import Client, Closed
from lib.util import check, fail, show, wait_until


# ---- local replies queued behind a pending write ----------------------------------------------
def test_review_pipelined_local_replies_resume_after_pending_write():
    """downstream.c conn_after_write/on_client_read: a keep-alive local reply (404 here) whose
    write goes pending leaves the connection in C_IDLE; bytes arriving meanwhile move it to
    C_HEAD, and when the write completes conn_after_write() only resumes C_IDLE, so the
    pipelined requests already buffered are never parsed until readHeaderTimeout fires (408)."""
    n = 60000
    ep = {"transport": {"respondingTimeouts": {"readHeaderTimeout": "60s"}}}
    with Env(entrypoint=ep) as env:
        c = env.client(timeout=10, rcvbuf=4096)
        blob = b"".join(b"GET /nf/%d HTTP/1.1\r\nHost: nowhere\r\n\r\n" % i for i in range(n))
        t = threading.Thread(target=c.send, args=(blob,), daemon=True)
        t.start()
        # Do not read yet: the proxy's replies back up (a pending write) while it keeps
        # reading the pipelined requests.
        t.join(5)
        time.sleep(0.5)
        deadline = time.monotonic() + 15
        for i in range(n):
            left = deadline - time.monotonic()
            if left <= 0:
                fail("only %d of %d pipelined 404s arrived within 15s" % (i, n))
            try:
                r = c.read_response(timeout=min(left, 3))
            except Closed as e:
                fail("connection closed after %d of %d responses: %s" % (i, n, e))
            except Exception as e:  # a read timeout is the stall
                fail("stalled: response %d of %d never came (%s)" % (i, n, str(e)[:60]))
            if r.status != 404:
                fail("response %d is %s, expected 404" % (i, r.status))
        t.join(5)


# ---- tunnel: upstream dies while a write to it is pending ------------------------------------
def _ws_upgrade(c):
    key = ws.new_key()
    c.send(b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
    r = c.read_response()
    check(r.status == 101, "handshake answered %s" % r)


def test_review_tunnel_upstream_reset_during_pending_write_closes_client():
    """upstream.c on_up_write: in a tunnel, a failed write to the upstream only sets
    req_abandoned and returns. When the upstream resets while the proxy has a write pending to
    it, the read error (seen first) finds the write still pending and does not close; the write
    callback then returns without pumping: both reads are stopped and C_TUNNEL has no timer,
    so the client connection hangs forever."""
    def reset_later(sock, leftover, conn):
        time.sleep(1.0)  # never read: the proxy's write to us backs up
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()

    def resp(req):
        if (req.get("upgrade") or b"").lower() == b"websocket":
            return Reply(ws.handshake_response(req), takeover=reset_later)
        return simple_response(canonical_body("A", req))
    with Env(backends={"A": FakeBackend("A", responder=resp)}) as env:
        c = env.client(timeout=10)
        _ws_upgrade(c)
        frame = ws.encode(ws.OP_BINARY, b"x" * (1 << 20), True)

        def pump():
            for _ in range(64):  # 64 MiB: far more than the socket buffers hold
                if not c.send(frame):
                    return
        t = threading.Thread(target=pump, daemon=True)
        t.start()
        st = c.wait_closed(8)
        check(st in ("closed", "reset"), "client connection still %s 8s after the upstream of "
              "its tunnel was reset" % st)
        c.close()
        t.join(5)


# ---- request fully read, last upstream write pending: no deadline at all ------------------------
class _SilentSink:
    """A server that accepts and never reads nor answers, with a small receive buffer."""

    def __init__(self):
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(512)
        self.lsock.settimeout(0.05)
        self.conns = []
        self.stopping = False
        self.t = threading.Thread(target=self._loop, daemon=True)
        self.t.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.lsock.getsockname()[1]

    def _loop(self):
        while not self.stopping:
            try:
                s, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.conns.append(s)

    def stop(self):
        self.stopping = True
        self.t.join(2)
        for s in self.conns:
            s.close()
        self.lsock.close()


def _post_round(env, sizes, wait):
    """POSTs a body of each size to the sink in parallel; returns {size: outcome}, outcome being
    the status line, 'closed' or 'stuck' (nothing received and the connection open)."""
    clients = []
    for n in sizes:
        c = env.client(timeout=30)
        t = threading.Thread(target=c.send, args=(
            b"POST /sink HTTP/1.1\r\nHost: sink\r\nContent-Length: %d\r\n\r\n" % n
            + b"z" * n,), daemon=True)
        t.start()
        clients.append((n, c))
    time.sleep(wait)
    out = {}
    for n, c in clients:
        got = c.recv_available(0.02)
        if got:
            out[n] = got.split(b"\r\n", 1)[0].decode("latin-1")
        else:
            out[n] = "closed" if c.eof else "stuck"
        c.close()
    return out


def test_review_request_sent_but_write_pending_still_times_out():
    """exchange.c exchange_pump_request / downstream.c conn_arm_timer: the response timer is
    armed only once req_done and no upstream write is pending; nothing re-arms the client timer
    when req_done becomes true. A request whose last body bytes were read from the client but
    are still queued to an upstream that stopped reading gets no 504: the stale readTimeout
    deadline later fires in C_EXCHANGE with req_done and closes the client without any answer
    (and with readTimeout 0 the connection hangs forever). That state
    is reached when the body is a little larger than what the kernel buffers towards the
    upstream hold, so the test first finds that size (504 below it, 408 above), then tries
    sizes around it."""
    sink = _SilentSink()
    tr = {"forwardingTimeouts": {"responseHeaderTimeout": "1s"}}
    ep = {"transport": {"respondingTimeouts": {"readTimeout": "2s"}}}
    try:
        with Env(routers=[("Host(`a`)", "A"), ("Host(`sink`)", "sink")],
                 services_extra={"sink": [sink.url]}, transport=tr, entrypoint=ep) as env:
            fine = {}
            coarse = _post_round(env, list(range(256 << 10, 8 << 20, 256 << 10)), 4)
            stuck = [n for n, o in coarse.items() if not o.startswith("HTTP/1.1 ")]
            lo = max([n for n, o in coarse.items() if "504" in o] or [0])
            hi = min([n for n, o in coarse.items() if n > lo and "504" not in o] or [lo])
            print("coarse: 504 up to %d KiB, then %s at %d KiB" % (lo >> 10, coarse.get(hi),
                                                                    hi >> 10))
            if not stuck and hi > lo:
                fine = _post_round(env, list(range(lo, hi + (64 << 10), 4 << 10)), 4)
                stuck = [n for n, o in fine.items() if not o.startswith("HTTP/1.1 ")]
            check(not stuck, "%d POSTs to a backend that stopped reading got no 504/408 within "
                  "4s but were %s (body sizes in KiB: %s)"
                  % (len(stuck), sorted(set((coarse.get(n) or fine.get(n)) for n in stuck)),
                     [n >> 10 for n in sorted(stuck)[:10]]))
    finally:
        sink.stop()


# ---- retry on a stale pooled connection ---------------------------------------------------------
def _stale_second_request(req):
    """The second request on a backend connection finds it 'stale': closed with no answer."""
    if len(req.conn.requests) >= 2:
        return Reply(b"", close=True)
    return simple_response(canonical_body("A", req))


def test_review_retry_resends_complete_chunked_request():
    """exchange.c try_retry: the retry resets head_sent but not the body state. An idempotent
    request with an empty chunked body ("0\\r\\n\\r\\n", which sets req_done without setting
    req_body_sent) is retried after a stale keep-alive connection closes, but the retry carries
    only the head with Transfer-Encoding: chunked and never the last chunk: the backend waits
    for the body and the client gets a 504 instead of the answer."""
    tr = {"forwardingTimeouts": {"responseHeaderTimeout": "2s"}}
    with Env(backends={"A": FakeBackend("A", responder=_stale_second_request)},
             transport=tr) as env:
        c = env.client(timeout=10)
        c.send(b"GET /warm HTTP/1.1\r\nHost: a\r\n\r\n")
        r = c.read_response()
        check(r.status == 200, "warm-up request: %s" % r)
        c.send(b"PUT /put HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        r = c.read_response(timeout=8)
        # Retrying (200) or not retrying (502) are both correct; a hung half-request is not.
        check((r.status == 200 and r.body == b"A PUT /put len=0") or r.status == 502,
              "PUT retried after a stale pooled connection got %s %s, expected 200 (or 502)"
              % (r.status, show(r.body, 60)))
        c.close()
        incomplete = [x for x in env.A.connections() if x.partial()]
        check(not incomplete, "the retry left an incomplete request at the backend: %s"
              % show(incomplete[0].raw, 200) if incomplete else "")


# ---- half-close after pipelined requests ------------------------------------------------------
def test_review_pipelined_requests_before_half_close_are_answered():
    """downstream.c conn_on_eof: an EOF read while an exchange runs sets client_close, and
    exchange_finish() then closes (lingering) with the pipelined requests still unread in the
    buffer: requests the client sent completely before half-closing its side are dropped
    without an answer. (A half-close is how `printf ... | nc -N` and many scripts end their
    input; the responses must still come, in order, for every complete request received.)"""
    def resp(req):
        r = simple_response(canonical_body("A", req))
        if req.target == b"/1":
            r.delay = 0.3
        return r
    with Env(backends={"A": FakeBackend("A", responder=resp)}) as env:
        c = env.client(timeout=5)
        c.send(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
               b"GET /3 HTTP/1.1\r\nHost: a\r\n\r\n")
        c.shutdown_write()
        got = []
        for i in (1, 2, 3):
            try:
                r = c.read_response()
            except Closed as e:
                fail("after a half-close, %d of 3 pipelined requests were answered (%s), then "
                     "the proxy closed: %s" % (len(got), got, str(e)[:60]))
            got.append(r.body.decode())
        check(got == ["A GET /1 len=0", "A GET /2 len=0", "A GET /3 len=0"],
              "responses %s" % got)


# ---- heads re-serialised into an undersized buffer -------------------------------------------
def test_review_response_head_with_many_short_lf_fields_not_truncated():
    """headers.c headers_build_response sizes its buffer as head_len + 160, but every field
    re-serialised from a bare-LF, no-space line ("a:\\n", 3 bytes) grows by 2 ("a: \\r\\n").
    With the default limits (100 fields) the bound is exceeded by ~40 bytes and put() silently
    truncates: the client gets a head without its final CRLF CRLF (its Content-Length cut off),
    and the body is read as header lines - a response-splitting primitive for a backend."""
    n = 98
    raw = (b"HTTP/1.1 200 OK\n" + b"a:\n" * n + b"X-End: 1\nContent-Length: 5\n\nhello")

    def resp(req):
        if req.target == b"/many":
            return Reply(raw)
        return simple_response(canonical_body("A", req))
    with Env(backends={"A": FakeBackend("A", responder=resp)}) as env:
        c = env.client(timeout=5)
        c.send(b"GET /many HTTP/1.1\r\nHost: a\r\n\r\n")
        try:
            r = c.read_response(timeout=3)
        except Closed as e:
            fail("response cut: %s" % str(e)[:200])
        if r.status == 502:
            return  # refusing the response is fine
        check(r.status == 200 and r.body == b"hello" and r.get("x-end") == b"1",
              "response re-serialised wrongly: %s headers %d" % (r, len(r.headers)))
        check(len(r.all("a")) == n, "%d of %d fields forwarded" % (len(r.all("a")), n))
        c.send(b"GET /after HTTP/1.1\r\nHost: a\r\n\r\n")
        r2 = c.read_response(timeout=3)
        check(r2.status == 200 and r2.body == b"A GET /after len=0", "next response %s" % r2)


def test_review_request_head_with_many_short_fields_not_truncated():
    """headers.c headers_build_request: the buffer bound (head_len + ... + 512) does not count
    the byte each re-serialised field gains over a minimal "a:\r\n" line (2 for "a:\n"). With
    maxHeaderCount raised (here 1000) a request with ~600 short fields is cut by put() before
    its Content-Length and final CRLF CRLF, so the backend reads the client's body as the end of
    the head and then as a second request: request smuggling. A few field counts are tried so
    the cut falls on a line boundary at least once."""
    ep = {"http": {"maxHeaderCount": 1000}}
    with Env(entrypoint=ep) as env:
        body = b"Q: 1\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
        for n in range(590, 596):
            raw = (b"POST /big-head HTTP/1.1\r\nHost: a\r\n" + b"a:\r\n" * n
                   + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            c = env.client(timeout=5)
            c.send(raw)
            c.recv_available(0.3)
            c.close()
        time.sleep(0.3)
        reqs = env.A.requests()
        smuggled = [q for q in reqs if q.target == b"/smuggled"]
        check(not smuggled, "the backend received %d smuggled request(s) made of a client's body "
              "(requests: %s)" % (len(smuggled), [q.summary() for q in reqs][:4]))
        errs = env.A.errors()
        check(not errs, "the backend received a malformed head: %s" % errs[0][:200] if errs else "")
        for q in reqs:
            check(q.body == body, "POST forwarded with body %s" % show(q.body, 60))


# ---- chaos: many keep-alive clients against a misbehaving backend, then SIGTERM under load ---
def _chaos_responder(req):
    t = req.target
    base = canonical_body("A", req)
    if b"/close/" in t:  # closes after the response without announcing it
        return simple_response(base, close=True)
    if b"/extra/" in t:  # bytes after the end of the response
        r = simple_response(base)
        r.data += b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nPOISON"
        return r
    if b"/chunky/" in t:  # many tiny chunks
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        return Reply(head + b"".join(b"1\r\n%c\r\n" % ch for ch in base) + b"0\r\n\r\n")
    if b"/slow/" in t:
        r = simple_response(base)
        r.delay = 0.05
        return r
    if b"/early/" in t:
        return None  # answered from on_head, before the body was read
    return simple_response(base)


def _chaos_on_head(req):
    if b"/early/" in req.target:
        body = canonical_body("A", req).replace(b"len=", b"early len=")
        return (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
    return None


def _chaos_client(addr, cid, stop, errors, counts, rnd):
    import random
    rng = random.Random(rnd)
    kinds = ["ok", "ok", "close", "extra", "chunky", "slow", "early"]
    i = 0
    while not stop.is_set():
        try:
            c = Client(addr, timeout=10)
        except OSError as e:
            errors.append("connect: %s" % e)
            return
        try:
            for _ in range(rng.randint(1, 6)):
                batch = []
                for _ in range(rng.randint(1, 4)):
                    i += 1
                    kind = rng.choice(kinds)
                    path = "/%s/%d/%d" % (kind, cid, i)
                    if rng.random() < 0.4:
                        body = b"b" * rng.choice((1, 100, 5000, 70000))
                        if rng.random() < 0.5:
                            raw = (b"POST %s HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n"
                                   % (path.encode(), len(body)) + body)
                        else:
                            raw = (b"POST %s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked"
                                   b"\r\n\r\n%x\r\n" % (path.encode(), len(body)) + body
                                   + b"\r\n0\r\n\r\n")
                        batch.append((b"POST", path, len(body), raw))
                    else:
                        raw = b"GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % path.encode()
                        batch.append((b"GET", path, 0, raw))
                cut = rng.random()
                blob = b"".join(x[3] for x in batch)
                if cut < 0.05:  # disconnect mid-request
                    c.send(blob[:rng.randint(1, len(blob))])
                    counts["cut"] += 1
                    break
                if not c.send(blob):
                    break
                stop_early = cut < 0.1  # disconnect mid-response
                closed = False
                for method, path, blen, _ in batch:
                    try:
                        r = c.read_response(method=method, timeout=10)
                    except Closed:
                        closed = True
                        break
                    if r.status in (502, 504):
                        counts["err"] += 1
                        if r.has_token("connection", b"close"):
                            closed = True
                            break
                        continue
                    want = ("A %s %s len=%d" % (method.decode(), path, blen)).encode()
                    want2 = ("A %s %s early len=0" % (method.decode(), path)).encode()
                    if r.body not in (want, want2):
                        errors.append("%s %s got %s %s" % (method.decode(), path, r.status,
                                                           show(r.body, 80)))
                    counts["ok"] += 1
                    if r.has_token("connection", b"close"):
                        closed = True
                        break
                    if stop_early:
                        break
                if closed or stop_early:
                    break
        except Exception as e:  # timeouts and protocol errors are findings
            if not stop.is_set():
                errors.append("client %d: %s: %s" % (cid, type(e).__name__, str(e)[:120]))
        finally:
            c.close()


def _chaos(env, seconds, nclients=24, sigterm_at=None):
    import collections
    stop = threading.Event()
    errors = []
    counts = collections.Counter()
    ts = [threading.Thread(target=_chaos_client, args=(env.addr, k, stop, errors, counts, k),
                           daemon=True) for k in range(nclients)]
    for t in ts:
        t.start()
    if sigterm_at is not None:
        time.sleep(sigterm_at)
        env.px.signal(15)
    time.sleep(seconds - (sigterm_at or 0))
    stop.set()
    for t in ts:
        t.join(15)
    return errors, counts


def test_review_chaos_keepalive_pipelining_misbehaving_backend():
    """24 clients pipelining GETs and POSTs (Content-Length and chunked, up to 70 KB) against
    a backend that sometimes closes after a response, sends bytes after it, answers with
    1-byte chunks, answers before reading the body, or is slow; clients disconnect at random
    points. Every response must be the one for its request (or a 502/504), nothing may hang,
    and proxyd must stop cleanly (exit 0, no sanitizer report)."""
    be = FakeBackend("A", responder=_chaos_responder, on_head=_chaos_on_head)
    with Env(backends={"A": be}) as env:
        errors, counts = _chaos(env, 8)
        print("chaos: %s" % dict(counts))
        check(not errors, "%d problem(s): %s" % (len(errors), " | ".join(errors[:4])))
        check(counts["ok"] > 200, "only %d good responses" % counts["ok"])
        victim(env)


def test_review_sigterm_under_load_exits_clean():
    """SIGTERM while the chaos load runs: proxyd must drain and exit 0 with no sanitizer
    report, within the grace period."""
    be = FakeBackend("A", responder=_chaos_responder, on_head=_chaos_on_head)
    ep = {"transport": {"lifeCycle": {"graceTimeOut": "3s"}}}
    with Env(backends={"A": be}, entrypoint=ep) as env:
        _chaos(env, 3, sigterm_at=1.5)
        check(env.px.wait_exit(10), "proxyd did not exit within 10s of SIGTERM")
        check(env.px.rc == 0, "exit code %s after SIGTERM" % env.px.rc)


# ---- framing re-emitted on bodiless responses -------------------------------------------------
def test_review_no_content_length_on_204():
    """headers.c headers_build_response keeps a backend's Content-Length on every OUT_NONE
    response with status >= 200, so a "204 No Content" with "Content-Length: 0" (which many
    frameworks send) is forwarded with it. RFC 9110 section 8.6: a server MUST NOT send
    Content-Length in a 204 (the HEAD/304 case, where it describes the representation, is
    right to keep it)."""
    def resp(req):
        if req.target == b"/204":
            return Reply(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nX-A: 1\r\n\r\n")
        return simple_response(canonical_body("A", req))
    with Env(backends={"A": FakeBackend("A", responder=resp)}) as env:
        c = env.client()
        c.send(b"GET /204 HTTP/1.1\r\nHost: a\r\n\r\n")
        h = c.read_head(timeout=3)
        check(h.status == 204 and h.get("x-a") == b"1", "204 forwarded as %s" % h)
        check(not h.all("content-length") and not h.all("transfer-encoding"),
              "204 forwarded with framing fields: %s" % show(h.raw_head, 200))


def test_review_sigterm_with_every_connection_state():
    """SIGTERM while connections sit in every state: idle keep-alive, a partial head, a request
    waiting for a slow response, a request whose upstream connect hangs, a WebSocket tunnel, a
    lingering close, two workers with pooled upstream connections. proxyd must exit 0 within
    the grace period (plus slack), without sanitizer reports, and the in-flight response must
    complete."""
    # A listener whose accept queue is full: connects to it hang (SYNs dropped), on loopback.
    full = socket.socket()
    full.bind(("127.0.0.1", 0))
    full.listen(0)
    fillers = []
    for _ in range(3):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(full.getsockname())
        except BlockingIOError:
            pass
        fillers.append(s)

    def resp(req):
        if (req.get("upgrade") or b"").lower() == b"websocket":
            return Reply(ws.handshake_response(req), takeover=ws.echo_server())
        r = simple_response(canonical_body("A", req))
        if req.target == b"/slow":
            r.delay = 1.0
        return r
    ep = {"transport": {"lifeCycle": {"graceTimeOut": "3s"}}}
    routers = [("Host(`a`)", "A"), ("Host(`hang`)", "hang")]
    try:
        with Env(backends={"A": FakeBackend("A", responder=resp)}, routers=routers,
                 services_extra={"hang": ["http://%s:%d" % full.getsockname()]},
                 entrypoint=ep, workers=2) as env:
            for i in range(6):  # pooled upstream connections on both workers
                with Client(env.addr) as c:
                    c.send(b"GET /warm/%d HTTP/1.1\r\nHost: a\r\n\r\n" % i)
                    c.read_response()
            idle = env.client()
            idle.send(b"GET /idle HTTP/1.1\r\nHost: a\r\n\r\n")
            idle.read_response()
            partial = env.client()
            partial.send(b"GET /partial HTTP/1.1\r\nHost: a\r\nX-")
            slow = env.client(timeout=10)
            slow.send(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
            hang = env.client(timeout=10)
            hang.send(b"GET /hang HTTP/1.1\r\nHost: hang\r\n\r\n")
            tun = env.client(timeout=10)
            _ws_upgrade(tun)
            linger = env.client()
            linger.send(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + b"x" * 1000)
            r = linger.read_response()
            check(r.status == 400, "double Host answered %s" % r)
            wait_until(lambda: any(q.target == b"/slow" for q in env.A.requests()), 3,
                       what="the slow request to reach the backend")
            t0 = time.monotonic()
            env.px.signal(15)
            r = slow.read_response(timeout=8)
            check(r.status == 200 and r.body == b"A GET /slow len=0", "in-flight: %s" % r)
            check(env.px.wait_exit(10), "proxyd did not exit within 10s of SIGTERM (grace 3s)")
            dt = time.monotonic() - t0
            check(env.px.rc == 0, "exit code %s after SIGTERM" % env.px.rc)
            check(dt < 6, "exit took %.1fs with a 3s grace period" % dt)
    finally:
        for s in fillers:
            s.close()
        full.close()
