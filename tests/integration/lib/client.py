"""Raw HTTP/1.1 client: send exact bytes, read responses with a strict parser, observe closes.

The parser refuses anything a careful client would: bare LF, obs-fold, invalid field names,
control characters in values, CL together with TE, several or invalid Content-Length values,
a Transfer-Encoding other than exactly "chunked". A proxy that emits such a response fails the
test with a ProtocolError that shows the bytes.
"""

import re
import socket
import time

from .util import TestFailure, show

STATUS_RE = re.compile(rb"^HTTP/1\.([01]) ([0-9]{3}) ([\t \x21-\x7e\x80-\xff]*)$")
HDR_RE = re.compile(rb"^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$", re.S)
BAD_VALUE_RE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
CHUNK_RE = re.compile(rb"^([0-9A-Fa-f]{1,16})[ \t]*(;[^\r\n]*)?$")


class ProtocolError(TestFailure):
    pass


class Closed(TestFailure):
    """The connection ended before a complete response."""

    def __init__(self, msg, reset=False, partial=b""):
        TestFailure.__init__(self, msg)
        self.reset = reset
        self.partial = partial


class Response:
    def __init__(self):
        self.version = None
        self.status = None
        self.reason = b""
        self.headers = []
        self.body = b""
        self.body_len = 0
        self.framing = None  # none | length | chunked | close
        self.trailers = []
        self.interim = []
        self.raw_head = b""

    def all(self, name):
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def get(self, name):
        v = self.all(name)
        return v[0] if v else None

    def has_token(self, name, token):
        toks = []
        for v in self.all(name):
            toks += [t.strip().lower() for t in v.split(b",")]
        return token.lower() in toks

    def __repr__(self):
        return "<%s %s %s body=%s>" % (self.version, self.status, self.reason.decode("latin-1"),
                                       show(self.body, 60))


class Client:
    def __init__(self, addr, timeout=5.0, rcvbuf=None, connect=True):
        self.addr = addr
        self.timeout = timeout
        self.rcvbuf = rcvbuf
        self.sock = None
        self.buf = bytearray()
        self.eof = False
        self.reset = False
        self.send_error = None
        if connect:
            self.connect()

    def connect(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        s.settimeout(self.timeout)
        s.connect(self.addr)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = s
        return self

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def close(self):
        if self.sock:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def send(self, data):
        """Sends all of `data`; returns False (and records why) when the peer already closed."""
        try:
            self.sock.settimeout(self.timeout)  # reads may have left a short timeout behind
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError) as e:
            self.send_error = e
            return False

    def shutdown_write(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    # ---- low-level reading ---------------------------------------------------------------
    def _fill(self, deadline):
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise TestFailure("timed out waiting for bytes from the proxy (have %s)"
                              % show(self.buf, 120))
        self.sock.settimeout(left)
        try:
            b = self.sock.recv(1 << 20)
        except socket.timeout:
            raise TestFailure("timed out waiting for bytes from the proxy (have %s)"
                              % show(self.buf, 120))
        except ConnectionResetError:
            self.eof = True
            self.reset = True
            return False
        if not b:
            self.eof = True
            return False
        self.buf += b
        return True

    def recv_available(self, wait=0.0):
        """Returns whatever bytes arrive within `wait` seconds (b'' if none)."""
        deadline = time.monotonic() + wait
        got = bytearray(self.buf)
        self.buf = bytearray()
        while not self.eof:
            left = deadline - time.monotonic()
            self.sock.settimeout(max(left, 0.001))
            try:
                b = self.sock.recv(1 << 20)
            except socket.timeout:
                break
            except ConnectionResetError:
                self.eof = self.reset = True
                break
            if not b:
                self.eof = True
                break
            got += b
            if left <= 0:
                break
        return bytes(got)

    def _line(self, deadline):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                if b"\n" in line or b"\r" in line:
                    raise ProtocolError("bare CR/LF in response line %s" % show(line))
                return line
            if len(self.buf) > 1 << 20:
                raise ProtocolError("response line over 1 MiB")
            if not self._fill(deadline):
                raise Closed("connection %s inside a response line (have %s)"
                             % ("reset" if self.reset else "closed", show(self.buf)),
                             self.reset, bytes(self.buf))

    def _exact(self, n, deadline, sink):
        while n:
            if not self.buf and not self._fill(deadline):
                raise Closed("connection %s with %d body bytes missing"
                             % ("reset" if self.reset else "closed", n), self.reset)
            take = min(n, len(self.buf))
            sink(bytes(self.buf[:take]))
            del self.buf[:take]
            n -= take

    # ---- responses -----------------------------------------------------------------------
    def read_head(self, timeout=None):
        """Reads one status line + header section (interim or final). Returns a Response with no
        body read yet."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.buf:
            if not self._fill(deadline):
                raise Closed("connection %s before any response byte"
                             % ("reset" if self.reset else "closed"), self.reset)
        # A head must end with CRLFCRLF; find it first so a bare-LF head is reported as such.
        while self.buf.find(b"\r\n\r\n") < 0:
            if len(self.buf) > 1 << 20:
                raise ProtocolError("response head over 1 MiB")
            if not self._fill(deadline):
                raise Closed("connection %s inside the response head %s"
                             % ("reset" if self.reset else "closed", show(self.buf, 200)),
                             self.reset, bytes(self.buf))
        r = Response()
        start = bytes(self.buf[:self.buf.find(b"\r\n\r\n") + 4])
        r.raw_head = start
        line = self._line(deadline)
        m = STATUS_RE.match(line)
        if not m:
            raise ProtocolError("bad status line %s" % show(line))
        r.version = b"HTTP/1." + m.group(1)
        r.status = int(m.group(2))
        r.reason = m.group(3)
        while True:
            line = self._line(deadline)
            if line == b"":
                break
            if line[:1] in (b" ", b"\t"):
                raise ProtocolError("obs-fold in response %s" % show(line))
            hm = HDR_RE.match(line)
            if not hm:
                raise ProtocolError("bad response field line %s" % show(line))
            if BAD_VALUE_RE.search(hm.group(2)):
                raise ProtocolError("control character in response field %s" % show(line))
            r.headers.append((hm.group(1).decode("latin-1"), hm.group(2)))
        return r

    def read_response(self, method=b"GET", timeout=None, sink=None, max_body=256 << 20):
        """Reads interim responses and one final response with its body.

        method: the request's method (HEAD responses have no body).
        sink: a callable receiving body pieces instead of storing them (big downloads).
        """
        deadline = time.monotonic() + (timeout or self.timeout)
        interim = []
        while True:
            r = self.read_head(max(deadline - time.monotonic(), 0.001))
            if 100 <= r.status < 200 and r.status != 101:
                if r.all("content-length") or r.all("transfer-encoding"):
                    raise ProtocolError("framing fields on a %d response" % r.status)
                interim.append(r)
                continue
            break
        r.interim = interim
        self._read_body(r, method, deadline, sink, max_body)
        return r

    def _read_body(self, r, method, deadline, sink, max_body):
        parts = []

        def store(piece):
            r.body_len += len(piece)
            if sink:
                sink(piece)
            else:
                if r.body_len > max_body:
                    raise ProtocolError("response body over %d bytes" % max_body)
                parts.append(piece)

        cls = r.all("content-length")
        tes = r.all("transfer-encoding")
        if method == b"HEAD" or r.status in (204, 304) or r.status == 101:
            r.framing = "none"
            if r.status == 204 and (cls or tes):
                raise ProtocolError("framing fields on a 204 response")
            return
        if tes and cls:
            raise ProtocolError("response with both Transfer-Encoding and Content-Length")
        if len(tes) > 1 or (tes and tes[0] != b"chunked"):
            raise ProtocolError("response Transfer-Encoding %r is not exactly 'chunked'" % tes)
        if len(cls) > 1:
            raise ProtocolError("response has %d Content-Length fields" % len(cls))
        if tes:
            r.framing = "chunked"
            while True:
                line = self._line(deadline)
                m = CHUNK_RE.match(line)
                if not m:
                    raise ProtocolError("bad chunk-size line %s" % show(line))
                size = int(m.group(1), 16)
                if size == 0:
                    break
                self._exact(size, deadline, store)
                if self._line(deadline) != b"":
                    raise ProtocolError("chunk data not followed by CRLF")
            while True:
                line = self._line(deadline)
                if line == b"":
                    break
                hm = HDR_RE.match(line)
                if not hm:
                    raise ProtocolError("bad trailer line %s" % show(line))
                r.trailers.append((hm.group(1).decode("latin-1"), hm.group(2)))
        elif cls:
            if not re.match(rb"^[0-9]{1,18}$", cls[0]):
                raise ProtocolError("invalid response Content-Length %r" % cls[0])
            r.framing = "length"
            self._exact(int(cls[0]), deadline, store)
        else:
            r.framing = "close"
            while True:
                if self.buf:
                    store(bytes(self.buf))
                    self.buf = bytearray()
                if not self._fill(deadline):
                    break
        r.body = b"".join(parts)

    def wait_closed(self, timeout=3.0):
        """Returns 'closed' (FIN), 'reset' (RST), 'open' (nothing within `timeout`) or 'data'
        (unexpected bytes arrived; they stay in the buffer)."""
        if self.buf:
            return "data"
        if self.eof:
            return "reset" if self.reset else "closed"
        deadline = time.monotonic() + timeout
        try:
            got = self._fill(deadline)
        except TestFailure:
            return "open"
        if got:
            return "data"
        return "reset" if self.reset else "closed"


def request(addr, raw, method=b"GET", timeout=5.0):
    """One request on a fresh connection; returns (response, client)."""
    c = Client(addr, timeout=timeout)
    c.send(raw)
    return c.read_response(method=method), c
