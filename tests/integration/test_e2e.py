"""End-to-end behaviour of proxyd with real backends over loopback: routing, keep-alive and
pipelining, chunked bodies both ways, Expect, bodiless responses, 1xx, WebSocket, large streamed
bodies with bounded memory, graceful shutdown, 502/503/504, curl."""

import hashlib
import json
import shutil
import signal
import socket
import struct
import subprocess
import time

from lib import ws
from lib.backend import FakeBackend, HttpBackend, Reply, canonical_body, simple_response
from lib.check import E, Env, accept, check_close, check_local_reply, oracle, victim
from lib.client import Client
from lib.util import Skip, SubCases, big_body_bytes, check, fail, poll_until, show, wait_until


def _json(r):
    try:
        return json.loads(r.body)
    except ValueError:
        fail("backend reply is not JSON: %s" % show(r.body))


def _get(c, host, path, method="GET"):
    c.send(("%s %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (method, path, host)).encode())
    return c.read_response(method=method.encode())


# ---- routing ---------------------------------------------------------------------------------
def test_routing_by_host_and_path():
    names = ("A", "B", "X", "P")
    routers = [("Host(`a`)", "A"), ("Host(`b`)", "B"), ("PathPrefix(`/x`)", "X"),
               ("Host(`a`) && PathPrefix(`/p`)", "P")]
    cases = (("a", "/", "A"), ("b", "/", "B"), ("c", "/x/1", "X"), ("a", "/p/1", "P"),
             ("a", "/pq", "P"), ("b", "/p", "B"), ("a:8080", "/", "A"), ("A", "/", "A"),
             ("b", "/x", "X"), ("c", "/", None), ("a", "/q?x=1", "A"))
    sc = SubCases()
    with Env(backends={n: HttpBackend(n) for n in names}, routers=routers) as env:
        for host, path, want in cases:
            with sc("%s%s" % (host, path)), Client(env.addr) as c:
                r = _get(c, host, path)
                if want is None:
                    check_local_reply(r, {404})
                    continue
                check(r.status == 200, "status %d" % r.status)
                j = _json(r)
                check(j["backend"] == want and j["path"] == path,
                      "routed to %s with path %s, expected %s %s" % (j["backend"], j["path"],
                                                                     want, path))
    sc.done()


def test_curl_reaches_right_backend():
    if not shutil.which("curl"):
        raise Skip("curl is not installed")
    routers = [("Host(`a`) && PathPrefix(`/x`)", "X"), ("Host(`a`)", "A")]
    with Env(backends={"A": HttpBackend("A"), "X": HttpBackend("X")}, routers=routers) as env:
        out = subprocess.run(["curl", "-sS", "--max-time", "10", "-H", "Host: a",
                              "http://127.0.0.1:%d/x" % env.px.port],
                             capture_output=True, timeout=20)
        check(out.returncode == 0, "curl failed: %s" % out.stderr.decode(errors="replace"))
        j = json.loads(out.stdout)
        check(j["backend"] == "X" and j["path"] == "/x", "curl reached %s %s" % (j["backend"],
                                                                               j["path"]))


def test_workers_two():
    with Env(backends={"A": HttpBackend("A")}, routers=[("Host(`a`)", "A")], workers=2) as env:
        for i in range(20):
            with Client(env.addr) as c:
                r = _get(c, "a", "/w/%d" % i)
                check(r.status == 200 and _json(r)["path"] == "/w/%d" % i,
                      "request %d: %s" % (i, r))


def test_forwarded_request_shape():
    """Request line in origin form with HTTP/1.1, end-to-end fields in received order (repeated
    ones too), Host passed through, framing re-emitted, X-Forwarded-* / X-Real-Ip / Via added,
    X-Forwarded-Server = the Via pseudonym."""
    with Env() as env:
        raw = (b"POST /shape?q=1&r=%20 HTTP/1.1\r\nX-First: 1\r\nHost: a\r\nX-Dup: one\r\n"
               b"User-Agent: it\r\nX-Dup: two\r\nContent-Length: 4\r\nAccept: */*\r\n"
               b"X-Last: z\r\n\r\nbody")
        r, reqs = accept(env, raw, [E("POST", "/shape?q=1&r=%20", b"body", framing="length",
                                       host=b"a")], method=b"POST")
        q = reqs[0]
        names = [n.lower() for n in q.names()]
        # Host may move to the front (RFC 9112 section 3.2 recommends it first); the other
        # fields keep the received order, and same-name lines their relative order (RFC 9110
        # section 5.3: a proxy MUST NOT change it).
        mine = [n for n in names if n in ("x-first", "x-dup", "user-agent", "accept", "x-last")]
        check(mine == ["x-first", "x-dup", "user-agent", "x-dup", "accept", "x-last"],
              "end-to-end fields reordered: %s" % mine)
        print("forwarded field order: %s" % names)
        check(q.all("x-dup") == [b"one", b"two"], "X-Dup values %r" % q.all("x-dup"))
        via = q.all("via")[-1].split(b",")[-1].strip()
        # X-Forwarded-Server is the node id; the Via pseudonym is the node id plus a random
        # suffix, so two deployments with the same node names never look like a loop (F8).
        xfs = q.get("x-forwarded-server")
        check(xfs and via[4:].startswith(xfs + b"-") and len(via[4:]) > len(xfs) + 1,
              "X-Forwarded-Server %r, Via pseudonym %r: expected <node id>-<suffix>" % (xfs, via))
        check(q.raw_head.count(b"\r\n") == len(q.headers) + 2, "head not CRLF-separated")


def test_idle_timeout_closes_keepalive():
    ep = {"transport": {"respondingTimeouts": {"idleTimeout": "1s"}}}
    with Env(entrypoint=ep) as env:
        c = env.client()
        r = _get(c, "a", "/idle")
        check(r.status == 200, "request failed: %s" % r)
        t0 = time.monotonic()
        st = c.wait_closed(4)
        dt = time.monotonic() - t0
        check(st in ("closed", "reset"), "idle keep-alive connection still %s after 4s "
              "(idleTimeout 1s)" % st)
        check(0.7 <= dt < 3, "idle connection closed after %.2fs (idleTimeout 1s)" % dt)


# ---- connection reuse and pipelining ---------------------------------------------------------
def test_keepalive_reuse_both_sides():
    with Env(backends={"A": HttpBackend("A")}, routers=[("Host(`a`)", "A")]) as env:
        c = env.client()
        for i in range(20):
            r = _get(c, "a", "/k/%d" % i)
            check(r.status == 200 and _json(r)["path"] == "/k/%d" % i, "request %d: %s" % (i, r))
            check(not r.has_token("connection", b"close"), "proxy closed keep-alive at %d" % i)
        check_close(c, r, False)
        for i in range(20):
            with Client(env.addr) as c2:
                r = _get(c2, "a", "/n/%d" % i)
                check(r.status == 200, "fresh connection %d: %d" % (i, r.status))
        n = env.A.connections
        check(n <= 3, "backend saw %d TCP connections for 40 requests (no upstream reuse)" % n)


def test_pipelining_in_order():
    with Env(backends={"A": HttpBackend("A")}, routers=[("Host(`a`)", "A")]) as env:
        c = env.client()
        reqs = []
        for i in range(10):
            if i % 3 == 1:
                reqs.append(b"POST /pl/%d HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" % i)
            else:
                reqs.append(b"GET /pl/%d HTTP/1.1\r\nHost: a\r\n\r\n" % i)
        c.send(b"".join(reqs))
        for i in range(10):
            r = c.read_response()
            j = _json(r)
            check(j["path"] == "/pl/%d" % i, "response %d is for %s" % (i, j["path"]))
            if i % 3 == 1:
                check(j["body_len"] == 3 and j["method"] == "POST", "POST %d: %s" % (i, j))


# ---- chunked ---------------------------------------------------------------------------------
def test_chunked_upload_rechunked():
    with Env() as env:
        c = env.client()
        c.send(b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        parts = [b"hello ", b"chunked " * 100, b"world"]
        for p in parts:
            time.sleep(0.05)
            c.send(b"%x\r\n%s\r\n" % (len(p), p))
        c.send(b"0\r\n\r\n")
        body = b"".join(parts)
        r = c.read_response()
        check(r.status == 200 and r.body == b"A POST /up len=%d" % len(body), "response %s" % r)
        c.close()
        oracle(env, [E("POST", "/up", body, framing="chunked")])


def _chunked_reply(pieces, delay=0.05):
    def gen():
        yield b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
        for p in pieces:
            time.sleep(delay)
            yield b"%x\r\n%s\r\n" % (len(p), p)
        yield b"0\r\n\r\n"
    return Reply(gen())


def test_chunked_download_http11_and_http10():
    pieces = [b"first ", b"second " * 500, b"third"]
    body = b"".join(pieces)

    def resp(req):
        if req.target == b"/down":
            return _chunked_reply(pieces)
        return simple_response(canonical_body("A", req))
    with Env(backends={"A": FakeBackend("A", responder=resp)}) as env:
        c = env.client()
        c.send(b"GET /down HTTP/1.1\r\nHost: a\r\n\r\n")
        r = c.read_response()
        check(r.status == 200 and r.body == body, "HTTP/1.1 download: %s" % r)
        check(r.framing == "chunked", "HTTP/1.1 download framed by %s, expected chunked"
              % r.framing)
        r = _get(c, "a", "/after")
        check(r.body == b"A GET /after len=0", "keep-alive after a chunked response: %s" % r)
        c.close()
        c = env.client()
        c.send(b"GET /down HTTP/1.0\r\nHost: a\r\n\r\n")
        r = c.read_response()
        check(r.status == 200 and r.body == body, "HTTP/1.0 download: %s" % r)
        check(r.framing in ("close", "length"), "HTTP/1.0 client got %s framing" % r.framing)
        if r.framing == "close":
            check(c.eof, "close-delimited body but connection open")
        c.close()


# ---- Expect, bodiless responses, 1xx ---------------------------------------------------------
def test_expect_100_continue_real_backend():
    body = bytes(range(256)) * 4096  # 1 MiB
    with Env(backends={"A": HttpBackend("A")}, routers=[("Host(`a`)", "A")]) as env:
        c = env.client()
        c.send(b"PUT /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n"
               % len(body))
        h = c.read_head(timeout=3)
        check(h.status == 100, "expected 100 Continue, got %d" % h.status)
        c.send(body)
        r = c.read_response()
        j = _json(r)
        check(r.status == 200 and j["body_len"] == len(body)
              and j["sha256"] == hashlib.sha256(body).hexdigest(), "upload after 100: %s" % j)


def test_head_204_304_framing():
    def resp(req):
        t = req.target
        if t == b"/head":
            return Reply(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n"
                         b"Content-Type: text/plain\r\n\r\n")
        if t == b"/204":
            return Reply(b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n")
        if t == b"/304":
            return Reply(b"HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n")
        return simple_response(canonical_body("A", req))
    with Env(backends={"A": FakeBackend("A", responder=resp)}) as env:
        c = env.client()
        r = _get(c, "a", "/head", "HEAD")
        check(r.status == 200 and r.get("content-length") == b"1234" and r.body == b"",
              "HEAD: %s CL %r" % (r, r.get("content-length")))
        r = _get(c, "a", "/204")
        check(r.status == 204 and r.body == b"", "204: %s" % r)
        r = _get(c, "a", "/304")
        check(r.status == 304 and r.body == b"" and r.get("etag") == b'"v1"', "304: %s" % r)
        r = _get(c, "a", "/last")
        check(r.status == 200 and r.body == b"A GET /last len=0", "after bodiless: %s" % r)
        c.close()
        oracle(env, [E("HEAD", "/head"), E("GET", "/204"), E("GET", "/304"), E("GET", "/last")])


def test_1xx_103_forwarded():
    def resp(req):
        return Reply(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
                     b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    with Env(backends={"A": FakeBackend("A", responder=resp)}) as env:
        c = env.client()
        r = _get(c, "a", "/hints")
        check([i.status for i in r.interim] == [103], "interim %s" % [i.status for i in r.interim])
        check(r.interim[0].get("link") == b"</a.css>; rel=preload", "Link lost")
        check(r.status == 200 and r.body == b"ok", "final %s" % r)


# ---- WebSocket -------------------------------------------------------------------------------
def test_websocket_tunnel():
    def resp(req):
        if (req.get("upgrade") or b"").lower() == b"websocket":
            return Reply(ws.handshake_response(req), takeover=ws.echo_server())
        return simple_response(canonical_body("A", req))
    with Env(backends={"A": FakeBackend("A", responder=resp)}) as env:
        c = env.client(timeout=10)
        key = ws.new_key()
        c.send(b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
        r = c.read_response()
        check(r.status == 101, "handshake answered %s" % r)
        check(r.get("sec-websocket-accept") == ws.accept_for(key), "bad Sec-WebSocket-Accept")
        check(r.has_token("upgrade", b"websocket") and r.has_token("connection", b"upgrade"),
              "101 lacks Upgrade/Connection: %r" % r.headers)
        readn = ws.client_reader(c)
        fin, op, masked, payload = ws.read_frame(readn)
        check(op == ws.OP_TEXT and payload == b"hello from backend" and not masked,
              "server-first frame: op %d %r" % (op, payload))
        for msg, op in ((b"ping-1", ws.OP_TEXT), (bytes(range(256)) * 800, ws.OP_BINARY)):
            c.send(ws.encode(op, msg, True))
            fin, rop, masked, payload = ws.read_frame(readn)
            check(rop == op and payload == b"echo:" + msg, "echo of %d bytes wrong (op %d, %d "
                  "bytes)" % (len(msg), rop, len(payload)))
        c.send(ws.encode(ws.OP_CLOSE, struct.pack("!H", 1000), True))
        fin, op, masked, payload = ws.read_frame(readn)
        check(op == ws.OP_CLOSE, "expected a close frame, got op %d" % op)
        check(c.wait_closed(3) in ("closed", "reset"), "tunnel not closed after the close frames")
        c.close()
        reqs = env.A.requests()
        check(len(reqs) == 1, "backend got %d requests" % len(reqs))
        mm = E("GET", "/chat", ws=True, headers={"upgrade": b"websocket"}).mismatches(reqs[0])
        check(not mm, "upgrade request: %s" % "; ".join(mm))
        check(reqs[0].all("connection") == [b"Upgrade"] or
              [v.lower() for v in reqs[0].all("connection")] == [b"upgrade"],
              "Connection forwarded as %r" % reqs[0].all("connection"))
        check(not env.A.errors(), "backend: %s" % env.A.errors())
        env.A.reset()
        victim(env)


# ---- large bodies, bounded memory ------------------------------------------------------------
PIECE = 1 << 20


def _pieces(total):
    """Deterministic pseudo-random pieces generated on the fly (1 MiB held at a time)."""
    block = hashlib.sha256(b"concord").digest() * (PIECE // 32)
    i = 0
    left = total
    while left:
        n = min(left, PIECE)
        yield (struct.pack("<Q", i) + block[8:])[:n]
        i += 1
        left -= n


def _hwm_check(env, what):
    """VmHWM bound: 64 MiB for a release build; 160 MiB under ASan, whose quarantine keeps freed
    buffers resident for a while (the sanitizer run uses 64 MiB bodies)."""
    hwm = env.px.hwm()
    bound = (160 << 20) if env.px.sanitized() else (64 << 20)
    print("%s: proxyd VmHWM %d MiB (bound %d MiB)" % (what, hwm >> 20, bound >> 20))
    check(hwm < bound, "%s: proxyd VmHWM %d MiB, bound %d MiB" % (what, hwm >> 20, bound >> 20))


def test_big_body_upload_streamed():
    total = big_body_bytes()

    def resp(req):
        return simple_response(("%s %d" % (req.sha256, req.body_len)).encode())
    be = FakeBackend("A", responder=resp, store_body=False, record_raw=False)
    with Env(backends={"A": be}) as env:
        c = env.client(timeout=60)
        c.send(b"POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % total)
        h = hashlib.sha256()
        t0 = time.monotonic()
        done = 0
        for p in _pieces(total):
            h.update(p)
            if not c.send(p):
                fail("proxy closed the upload after about %d bytes (%s)" % (done, c.send_error))
            done += len(p)
        r = c.read_response(timeout=120)
        dt = time.monotonic() - t0
        check(r.status == 200 and r.body == ("%s %d" % (h.hexdigest(), total)).encode(),
              "upload of %d bytes arrived as %s" % (total, show(r.body)))
        print("upload %d MiB in %.1fs (%.0f MiB/s)" % (total >> 20, dt, (total >> 20) / dt))
        _hwm_check(env, "upload")


test_big_body_upload_streamed.timeout = 600
test_big_body_upload_streamed.slow = True


def test_big_body_download_streamed():
    total = big_body_bytes()
    sent = {}

    def resp(req):
        def gen():
            yield b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            h = hashlib.sha256()
            for p in _pieces(total):
                h.update(p)
                yield b"%x\r\n" % len(p) + p + b"\r\n"
            sent["sha"] = h.hexdigest()
            yield b"0\r\n\r\n"
        return Reply(gen())
    be = FakeBackend("A", responder=resp, store_body=False, record_raw=False)
    with Env(backends={"A": be}) as env:
        c = env.client(timeout=60)
        c.send(b"GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
        h = hashlib.sha256()
        t0 = time.monotonic()
        r = c.read_response(timeout=300, sink=h.update)
        dt = time.monotonic() - t0
        check(r.status == 200 and r.body_len == total, "download got %s, %d of %d bytes"
              % (r.status, r.body_len, total))
        check(h.hexdigest() == sent.get("sha"), "download content differs from what was sent")
        print("download %d MiB in %.1fs (%.0f MiB/s)" % (total >> 20, dt, (total >> 20) / dt))
        _hwm_check(env, "download")


test_big_body_download_streamed.timeout = 600
test_big_body_download_streamed.slow = True


# ---- shutdown and upstream errors ------------------------------------------------------------
def test_graceful_shutdown_completes_inflight():
    def resp(req):
        if req.target == b"/slow":
            r = simple_response(b"slow done")
            r.delay = 1.5
            return r
        return simple_response(canonical_body("A", req))
    with Env(backends={"A": FakeBackend("A", responder=resp)}) as env:
        c = env.client(timeout=10)
        c.send(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        wait_until(lambda: env.A.requests(), 3, what="the slow request to reach the backend")
        env.px.signal(signal.SIGTERM)

        def refused():
            try:
                s = socket.create_connection(env.addr, timeout=0.5)
            except (ConnectionRefusedError, ConnectionResetError):
                return True
            except OSError:
                return False
            s.close()
            return False
        wait_until(refused, 1.5, 0.02, "new connections to be refused after SIGTERM")
        r = c.read_response(timeout=8)
        check(r.status == 200 and r.body == b"slow done", "in-flight response after SIGTERM: %s"
              % r)
        check(env.px.wait_exit(10), "proxyd did not exit after draining")
        check(env.px.rc == 0, "exit code %s after SIGTERM" % env.px.rc)


def test_502_backend_refuses():
    # A bound but not listening socket: connect() is refused, and the port stays ours.
    hold = socket.socket()
    hold.bind(("127.0.0.1", 0))
    try:
        url = "http://127.0.0.1:%d" % hold.getsockname()[1]
        routers = [("Host(`a`)", "A"), ("Host(`dead`)", "dead")]
        with Env(routers=routers, services_extra={"dead": [url]}) as env:
            c = env.client()
            t0 = time.monotonic()
            r = _get(c, "dead", "/")
            check_local_reply(r, {502})
            check(time.monotonic() - t0 < 5, "502 took %.1fs" % (time.monotonic() - t0))
            c.close()
            oracle(env, [])
    finally:
        hold.close()


def test_503_service_without_servers():
    routers = [("Host(`a`)", "A"), ("Host(`empty`)", "empty")]
    with Env(routers=routers, services_extra={"empty": []}) as env:
        c = env.client()
        r = _get(c, "empty", "/")
        check_local_reply(r, {503})
        c.close()
        oracle(env, [])


def test_504_silent_backend():
    def resp(req):
        if req.target == b"/silent":
            return Reply(silent=True)
        return simple_response(canonical_body("A", req))
    tr = {"forwardingTimeouts": {"responseHeaderTimeout": "1s"}}
    with Env(backends={"A": FakeBackend("A", responder=resp)}, transport=tr) as env:
        c = env.client(timeout=10)
        t0 = time.monotonic()
        r = _get(c, "a", "/silent")
        dt = time.monotonic() - t0
        check_local_reply(r, {504})
        check(0.8 <= dt < 4, "504 after %.2fs with responseHeaderTimeout 1s" % dt)
        c.close()
        atk = [q for q in env.A.requests() if q.target == b"/silent"]
        check(len(atk) == 1, "silent request forwarded %d times" % len(atk))
        check(poll_until(lambda: atk[0].conn.closed, 3), "upstream connection kept after 504")
        env.A.reset()
        victim(env)
