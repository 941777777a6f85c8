#!/usr/bin/python3
"""Hold N idle keep-alive HTTP/1.1 connections to a loopback server (bench.sh case idle1000).

Standard library only. Opens --conns connections to 127.0.0.1:--port (each bound to
127.0.0.1 on the client side too), sends one small GET on each, reads the full response
(Content-Length or chunked; status must be 200 and the server must not announce
Connection: close), and then keeps every socket open and idle until SIGTERM/SIGINT or
--max-hold seconds, whichever comes first.

Everything is bounded: --connect-timeout per connect, --io-timeout per send/receive,
--setup-timeout for opening all connections, --max-hold for the idle phase.

stdout gets one JSON line when the connections are set up:
    {"ready": true, "open": N, "failed": M, "setup_s": S, "errors": [...]}
(or {"ready": false, ...} and exit status 1 if setup failed or timed out), and one when it
stops:
    {"done": true, "held_s": S, "closed_by_server": K, "unexpected_data": U,
     "still_open": N, "reason": "signal"|"max-hold"}
While holding, a connection the server closes is counted in closed_by_server, so the caller
can tell whether all connections were really held for the whole measurement.
"""
import argparse
import json
import os
import resource
import selectors
import signal
import socket
import sys
import time

HOST = "127.0.0.1"  # loopback only, both ends


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def read_response(sock, deadline):
    """Read one HTTP/1.1 response; return (status, keep_alive). Raises on error/timeout."""
    buf = b""

    def more():
        nonlocal buf
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("response timed out")
        sock.settimeout(min(left, sock_timeout))
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection before the full response")
        buf += chunk

    while b"\r\n\r\n" not in buf:
        if len(buf) > 65536:
            raise ValueError("response header too large")
        more()
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ValueError("bad status line: %r" % lines[0])
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        k, sep, v = line.partition(":")
        if sep:
            headers[k.strip().lower()] = v.strip()
    keep_alive = "close" not in headers.get("connection", "").lower() and parts[0] == "HTTP/1.1"
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:  # chunked: size line, data, CRLF ... 0 CRLF [trailers] CRLF
            while b"\r\n" not in buf:
                more()
            size_line, _, buf = buf.partition(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while not (buf.startswith(b"\r\n") or b"\r\n\r\n" in buf):
                    more()
                break
            while len(buf) < size + 2:
                more()
            buf = buf[size + 2:]
    elif "content-length" in headers:
        n = int(headers["content-length"])
        while len(buf) < n:
            more()
    else:
        raise ValueError("response has neither Content-Length nor chunked encoding")
    return status, keep_alive


sock_timeout = 5.0


def main():
    global sock_timeout
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--path", default="/")
    ap.add_argument("--connect-timeout", type=float, default=5.0)
    ap.add_argument("--io-timeout", type=float, default=5.0)
    ap.add_argument("--setup-timeout", type=float, default=60.0)
    ap.add_argument("--max-hold", type=float, default=120.0)
    a = ap.parse_args()
    if not (1 <= a.port <= 65535) or not (1 <= a.conns <= 10000) or a.max_hold <= 0:
        ap.error("bad --port, --conns (1..10000) or --max-hold")
    sock_timeout = a.io_timeout

    stop = {"sig": None}

    def on_signal(signum, _frame):
        stop["sig"] = signum

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    # one fd per connection plus a few: raise the soft limit toward the hard one if needed
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.conns + 64
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        except (ValueError, OSError):
            pass

    req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: concord-bench-idle\r\n"
           "Accept: */*\r\n\r\n" % (a.path, HOST, a.port)).encode()
    socks, errors, failed = [], [], 0
    t0 = time.monotonic()
    setup_deadline = t0 + a.setup_timeout
    for i in range(a.conns):
        if stop["sig"] is not None or time.monotonic() > setup_deadline:
            break
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((HOST, 0))
            s.settimeout(a.connect_timeout)
            s.connect((HOST, a.port))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.settimeout(a.io_timeout)
            s.sendall(req)
            status, keep_alive = read_response(s, min(time.monotonic() + a.io_timeout, setup_deadline))
            if status != 200:
                raise ValueError("status %d" % status)
            if not keep_alive:
                raise ValueError("server does not keep the connection alive")
            s.setblocking(False)
            socks.append(s)
        except (OSError, ValueError) as e:  # TimeoutError and ConnectionError are OSErrors
            failed += 1
            if len(errors) < 5:
                errors.append("conn %d: %s" % (i, e))
            s.close()
    setup_s = time.monotonic() - t0
    ok = len(socks) == a.conns and stop["sig"] is None
    if not ok and len(errors) < 5:
        if stop["sig"] is not None:
            errors.append("signal %d during setup" % stop["sig"])
        elif len(socks) + failed < a.conns:
            errors.append("setup timed out after %.1f s" % a.setup_timeout)
    out({"ready": ok, "open": len(socks), "failed": failed, "setup_s": round(setup_s, 3),
         "errors": errors})
    if not ok:
        for s in socks:
            s.close()
        return 1

    # hold: watch for the server closing a connection (or sending anything) until told to stop
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    closed, unexpected, open_now = 0, 0, len(socks)
    t1 = time.monotonic()
    hold_deadline = t1 + a.max_hold
    reason = "max-hold"
    while True:
        if stop["sig"] is not None:
            reason = "signal"
            break
        left = hold_deadline - time.monotonic()
        if left <= 0:
            break
        try:
            events = sel.select(timeout=min(left, 0.5))
        except InterruptedError:
            continue
        for key, _ in events:
            s = key.fileobj
            try:
                data = s.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if data:
                unexpected += 1
                continue
            closed += 1
            open_now -= 1
            sel.unregister(s)
            s.close()
    held_s = time.monotonic() - t1
    sel.close()
    for s in socks:
        if s.fileno() >= 0:
            s.close()
    out({"done": True, "held_s": round(held_s, 3), "closed_by_server": closed,
         "unexpected_data": unexpected, "still_open": open_now, "reason": reason})
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        os._exit(1)
