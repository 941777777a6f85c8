"""Backends for the tests.

FakeBackend: a threaded raw-socket server on 127.0.0.1:0. It records exactly the bytes received on
each connection, parses them with a strict HTTP/1.1 request parser (the desync oracle: what did
the proxy really send?) and answers each complete request with scripted raw bytes, so tests can
make the backend misbehave (bad framing, silence, early close, 1xx, 101, bytes after a 204...).

HttpBackend: a real http.server (ThreadingHTTPServer, HTTP/1.1) answering a JSON description of
the request; used for routing tests and as the probe route.
"""

import hashlib
import http.server
import json
import re
import socket
import threading
import time

from .util import show

TOKEN_RE = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
REQ_LINE_RE = re.compile(rb"^([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([^ \x00-\x1f\x7f]+) HTTP/1\.1$")
HDR_RE = re.compile(rb"^([^:\s]+):[ \t]*(.*?)[ \t]*$", re.S)
BAD_VALUE_RE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
CHUNK_RE = re.compile(rb"^([0-9A-Fa-f]{1,16})(;[^\r\n]*)?$")


class Req:
    """One complete request as the backend received it."""

    def __init__(self, conn, head):
        self.conn = conn
        self.raw_head = bytes(head)
        self.method = None
        self.target = None
        self.headers = []  # [(name str, value bytes)] in received order
        self.framing = "none"  # none | length | chunked
        self.content_length = None
        self.body = bytearray()
        self.body_len = 0
        self._sha = hashlib.sha256()
        self.sha256 = None
        self.trailers = []
        self.chunk_sizes = []
        self.t_head = time.monotonic()
        self.t_done = None

    def all(self, name):
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def get(self, name):
        v = self.all(name)
        return v[0] if v else None

    def names(self):
        return [k.lower() for k, _ in self.headers]

    def summary(self):
        return "%s %s [%s%s] body=%s" % (
            self.method.decode("latin-1") if self.method else "?",
            self.target.decode("latin-1") if self.target else "?",
            self.framing, "" if self.content_length is None else "=%d" % self.content_length,
            show(self.body, 40) if self.conn.backend.store_body else "%d bytes" % self.body_len)

    __repr__ = summary


class Reply:
    """What the fake backend does after a complete request (or after a head, see on_head).

    data: bytes, or an iterable of bytes sent piece by piece (streaming).
    delay: seconds to wait before sending.  close: close the connection after sending.
    silent: send nothing now and never answer again on this connection.
    takeover: fn(sock, leftover_bytes, conn) that owns the connection afterwards (WebSocket).
    """

    def __init__(self, data=b"", close=False, delay=0.0, silent=False, takeover=None):
        self.data = data
        self.close = close
        self.delay = delay
        self.silent = silent
        self.takeover = takeover


def simple_response(body, status="200 OK", headers=(), close=False):
    if isinstance(body, str):
        body = body.encode()
    h = "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n" % (status, len(body))
    for k, v in headers:
        h += "%s: %s\r\n" % (k, v)
    return Reply((h + "\r\n").encode() + body, close=close)


def canonical_body(name, req):
    return ("%s %s %s len=%d" % (name, req.method.decode("latin-1"),
                                 req.target.decode("latin-1"), req.body_len)).encode()


class Conn:
    def __init__(self, backend, sock, cid):
        self.backend = backend
        self.sock = sock
        self.id = cid
        self.raw = bytearray()
        self.requests = []
        self.error = None
        self.closed = False  # the peer (proxy) closed or reset the connection
        self.t_closed = None
        self.muted = False
        self.pending = None  # a Req whose body is incomplete
        self.buf = bytearray()
        self.state = "head"
        self.remaining = 0
        self.chunk_state = None

    def partial(self):
        """True when the proxy sent part of a request that never completed."""
        return self.pending is not None or (self.state == "head" and len(self.buf) > 0)

    def send(self, data):
        try:
            if isinstance(data, (bytes, bytearray)):
                self.sock.sendall(data)
            else:
                for piece in data:
                    if self.backend.stopping:
                        return False
                    self.sock.sendall(piece)
            return True
        except OSError:
            return False


class FakeBackend:
    def __init__(self, name="A", responder=None, on_head=None, store_body=True, record_raw=True):
        self.name = name
        self.responder = responder or self.default_responder
        self.on_head = on_head
        self.store_body = store_body
        self.record_raw = record_raw
        self.conns = []
        self.lock = threading.Lock()
        self.all_requests = []
        self.stopping = False
        self.threads = []
        self.lsock = None
        self.epoch = 0

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self):
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(512)
        self.lsock.settimeout(0.05)
        self.addr = self.lsock.getsockname()
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self.threads.append(t)
        return self

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.addr[1]

    def stop(self):
        self.stopping = True
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in list(self.threads):
            t.join(timeout=3)
        for c in conns:
            try:
                c.sock.close()
            except OSError:
                pass
        try:
            self.lsock.close()
        except OSError:
            pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    # ---- observation ---------------------------------------------------------------------
    def requests(self):
        with self.lock:
            return list(self.all_requests)

    def connections(self):
        with self.lock:
            return list(self.conns)

    def reset(self):
        """Forget the requests seen so far (connections stay open)."""
        with self.lock:
            self.all_requests = []
            self.epoch += 1
            for c in self.conns:
                c.requests = []
                c.raw = bytearray()

    def wait_requests(self, n, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.requests()) >= n:
                return True
            time.sleep(0.005)
        return len(self.requests()) >= n

    def errors(self):
        return ["conn%d: %s (raw %s)" % (c.id, c.error, show(c.raw, 120))
                for c in self.connections() if c.error]

    # ---- default behaviour ---------------------------------------------------------------
    def default_responder(self, req):
        return simple_response(canonical_body(self.name, req),
                               headers=[("X-Backend", self.name)])

    # ---- connection handling -------------------------------------------------------------
    def _accept_loop(self):
        cid = 0
        while not self.stopping:
            try:
                s, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            cid += 1
            s.settimeout(None)
            c = Conn(self, s, cid)
            with self.lock:
                self.conns.append(c)
            t = threading.Thread(target=self._serve, args=(c,), daemon=True)
            t.start()
            self.threads.append(t)

    def _serve(self, c):
        try:
            while not self.stopping:
                try:
                    data = c.sock.recv(262144)
                except OSError:
                    data = b""
                if not data:
                    break
                with self.lock:
                    if self.record_raw:
                        c.raw += data
                    c.buf += data
                if c.error:
                    continue
                tk = self._parse(c)
                if tk is not None:
                    fn, leftover = tk
                    fn(c.sock, leftover, c)
                    return
        finally:
            c.closed = True
            c.t_closed = time.monotonic()
            if not self.stopping:
                try:
                    c.sock.close()
                except OSError:
                    pass

    def _fail(self, c, msg):
        """Records what was wrong and closes the connection, so the proxy sees an upstream error
        at once instead of waiting for an answer that never comes."""
        c.error = msg
        try:
            c.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _parse(self, c):
        """Consumes c.buf; answers complete requests. Returns (takeover_fn, leftover) when a
        reply takes the connection over."""
        while not c.error:
            if c.state == "head":
                if not c.buf:
                    return None
                idx = c.buf.find(b"\r\n\r\n")
                if idx < 0:
                    if len(c.buf) > 1 << 20:
                        self._fail(c, "head over 1 MiB without CRLFCRLF")
                    elif b"\n\n" in c.buf or b"\r\r" in c.buf:
                        self._fail(c, "head terminated without CRLFCRLF: %s" % show(c.buf, 200))
                    return None
                head = bytes(c.buf[:idx + 4])
                del c.buf[:idx + 4]
                req = Req(c, head)
                err = self._parse_head(req, head)
                if err:
                    self._fail(c, "%s in head %s" % (err, show(head, 300)))
                    return None
                c.pending = req
                if self.on_head:
                    r = self.on_head(req)
                    if r:
                        c.send(r if isinstance(r, (bytes, bytearray)) else r.data)
                if req.framing == "length":
                    c.remaining = req.content_length
                    c.state = "body"
                elif req.framing == "chunked":
                    c.state = "chunk-size"
                else:
                    c.state = "done"
            if c.state == "body":
                n = min(c.remaining, len(c.buf))
                if n:
                    self._add_body(c.pending, c.buf[:n])
                    del c.buf[:n]
                    c.remaining -= n
                if c.remaining:
                    return None
                c.state = "done"
            if c.state in ("chunk-size", "chunk-data", "chunk-crlf", "trailer"):
                if not self._parse_chunked(c):
                    return None
            if c.state == "done":
                req = c.pending
                c.pending = None
                c.state = "head"
                req.t_done = time.monotonic()
                req.sha256 = req._sha.hexdigest()
                with self.lock:
                    c.requests.append(req)
                    self.all_requests.append(req)
                if c.muted:
                    continue
                r = self.responder(req)
                if r is None:
                    continue
                if isinstance(r, (bytes, bytearray)):
                    r = Reply(r)
                if r.delay:
                    time.sleep(r.delay)
                if r.silent:
                    c.muted = True
                    continue
                if r.data:
                    c.send(r.data)
                if r.takeover:
                    leftover = bytes(c.buf)
                    c.buf = bytearray()
                    return (r.takeover, leftover)
                if r.close:
                    try:
                        c.sock.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    c.muted = True
        return None

    def _add_body(self, req, piece):
        req.body_len += len(piece)
        req._sha.update(piece)
        if self.store_body:
            req.body += piece

    def _parse_chunked(self, c):
        """Returns True when the chunked body is complete (state 'done'), False if more input
        is needed or an error was recorded."""
        req = c.pending
        while True:
            if c.state == "chunk-size" or c.state == "trailer":
                idx = c.buf.find(b"\r\n")
                if idx < 0:
                    if b"\n" in c.buf or len(c.buf) > 65536:
                        self._fail(c, "chunk line without CRLF: %s" % show(c.buf, 100))
                    return False
                line = bytes(c.buf[:idx])
                del c.buf[:idx + 2]
                if b"\r" in line or b"\n" in line:
                    self._fail(c, "bare CR/LF in chunk line %s" % show(line))
                    return False
                if c.state == "trailer":
                    if line == b"":
                        c.state = "done"
                        return True
                    m = HDR_RE.match(line)
                    if not m or not TOKEN_RE.match(m.group(1)):
                        self._fail(c, "bad trailer line %s" % show(line))
                        return False
                    req.trailers.append((m.group(1).decode("latin-1"), m.group(2)))
                    continue
                m = CHUNK_RE.match(line)
                if not m:
                    self._fail(c, "bad chunk-size line %s" % show(line))
                    return False
                size = int(m.group(1), 16)
                req.chunk_sizes.append(size)
                if size == 0:
                    c.state = "trailer"
                    continue
                c.remaining = size
                c.state = "chunk-data"
            if c.state == "chunk-data":
                n = min(c.remaining, len(c.buf))
                if n:
                    self._add_body(req, c.buf[:n])
                    del c.buf[:n]
                    c.remaining -= n
                if c.remaining:
                    return False
                c.state = "chunk-crlf"
            if c.state == "chunk-crlf":
                if len(c.buf) < 2:
                    return False
                if c.buf[:2] != b"\r\n":
                    self._fail(c, "chunk data not followed by CRLF: %s" % show(c.buf, 60))
                    return False
                del c.buf[:2]
                c.state = "chunk-size"

    @staticmethod
    def _parse_head(req, head):
        lines = head[:-4].split(b"\r\n")
        for ln in lines:
            if b"\n" in ln or b"\r" in ln:
                return "bare CR or LF inside a line %s" % show(ln)
        m = REQ_LINE_RE.match(lines[0])
        if not m:
            return "bad request line %s" % show(lines[0])
        req.method, req.target = m.group(1), m.group(2)
        for ln in lines[1:]:
            if ln[:1] in (b" ", b"\t"):
                return "obs-fold / whitespace-led field line %s" % show(ln)
            hm = HDR_RE.match(ln)
            if not hm or not TOKEN_RE.match(hm.group(1)):
                return "bad field line %s" % show(ln)
            if BAD_VALUE_RE.search(hm.group(2)):
                return "control character in field value %s" % show(ln)
            req.headers.append((hm.group(1).decode("latin-1"), hm.group(2)))
        cls = req.all("content-length")
        tes = req.all("transfer-encoding")
        if cls and tes:
            return "both Content-Length and Transfer-Encoding"
        if len(cls) > 1:
            return "several Content-Length fields %r" % cls
        if len(tes) > 1:
            return "several Transfer-Encoding fields %r" % tes
        if tes:
            if tes[0] != b"chunked":
                return "Transfer-Encoding is %r, not exactly 'chunked'" % tes[0]
            req.framing = "chunked"
        elif cls:
            if not re.match(rb"^[0-9]{1,18}$", cls[0]):
                return "invalid Content-Length %r" % cls[0]
            req.framing = "length"
            req.content_length = int(cls[0])
        if len(req.all("host")) != 1:
            return "%d Host fields" % len(req.all("host"))
        return None


# ---------------------------------------------------------------------------------------------
class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "it-backend"

    def log_message(self, *a):
        pass

    def setup(self):
        super().setup()
        with self.server.owner.lock:
            self.server.owner.connections += 1

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        h = hashlib.sha256()
        n = 0
        if te.lower() == "chunked":
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                left = size
                while left:
                    piece = self.rfile.read(min(left, 1 << 20))
                    if not piece:
                        raise ConnectionError("eof in chunk")
                    h.update(piece)
                    n += len(piece)
                    left -= len(piece)
                self.rfile.readline(3)
        else:
            left = int(self.headers.get("Content-Length", "0") or 0)
            while left:
                piece = self.rfile.read(min(left, 1 << 20))
                if not piece:
                    raise ConnectionError("eof in body")
                h.update(piece)
                n += len(piece)
                left -= len(piece)
        return n, h.hexdigest()

    def _any(self):
        owner = self.server.owner
        n, digest = self._read_body()
        info = {"backend": owner.name, "method": self.command, "path": self.path,
                "headers": [[k, v] for k, v in self.headers.items()], "body_len": n,
                "sha256": digest}
        with owner.lock:
            owner.requests.append(info)
        if owner.name == "probe":
            body = b"probe-ok"
        else:
            body = json.dumps(info).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Backend", owner.name)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = _any


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        pass  # a proxy closing or resetting a pooled connection is not an error here


class HttpBackend:
    """http.server backend answering JSON {backend, method, path, headers, body_len, sha256}."""

    def __init__(self, name):
        self.name = name
        self.lock = threading.Lock()
        self.connections = 0
        self.requests = []
        self.server = None

    def start(self):
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.owner = self
        self.addr = self.server.server_address
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.addr[1]

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=3)

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()
