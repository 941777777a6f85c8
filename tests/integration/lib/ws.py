"""A minimal hand-written WebSocket (RFC 6455): handshake key/accept, frame encode/decode, and an
echo server to plug into FakeBackend as a Reply takeover."""

import base64
import hashlib
import os
import socket
import struct
import time

from .util import TestFailure

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 1, 2, 8, 9, 10


def new_key():
    return base64.b64encode(os.urandom(16))


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def encode(opcode, payload, mask):
    b0 = 0x80 | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask:
        key = os.urandom(4)
        masked = bytes(b ^ key[i & 3] for i, b in enumerate(payload)) if n < 4096 else \
            _mask_fast(payload, key)
        return head + key + masked
    return head + payload


def _mask_fast(payload, key):
    n = len(payload)
    k = int.from_bytes((key * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(payload, "big") ^ k).to_bytes(n, "big")


def _unmask(payload, key):
    return _mask_fast(payload, key) if payload else b""


def read_frame(readn):
    """readn(n) -> exactly n bytes. Returns (fin, opcode, masked, payload)."""
    b0, b1 = readn(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", readn(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", readn(8))[0]
    masked = bool(b1 & 0x80)
    key = readn(4) if masked else None
    payload = readn(n) if n else b""
    if masked:
        payload = _unmask(payload, key)
    return bool(b0 & 0x80), b0 & 0x0F, masked, payload


def client_reader(client, timeout=5.0):
    """readn for a lib.client.Client (uses its buffer)."""
    def readn(n):
        out = []
        client._exact(n, time.monotonic() + timeout, out.append)
        return b"".join(out)
    return readn


def echo_server(greeting=b"hello from backend"):
    """A FakeBackend takeover: sends `greeting` as a text frame, then echoes every data frame
    with the prefix b"echo:", answers ping with pong, and close with close. Client frames must be
    masked; an unmasked one is recorded as an error on the connection."""
    def run(sock, leftover, conn):
        buf = bytearray(leftover)
        sock.settimeout(10)

        def readn(n):
            while len(buf) < n:
                b = sock.recv(65536)
                if not b:
                    raise ConnectionError("eof")
                buf.extend(b)
            out = bytes(buf[:n])
            del buf[:n]
            return out
        try:
            sock.sendall(encode(OP_TEXT, greeting, False))
            while True:
                fin, op, masked, payload = read_frame(readn)
                if not masked:
                    conn.error = "unmasked client frame reached the backend"
                if op in (OP_TEXT, OP_BINARY):
                    sock.sendall(encode(op, b"echo:" + payload, False))
                elif op == OP_PING:
                    sock.sendall(encode(OP_PONG, payload, False))
                elif op == OP_CLOSE:
                    sock.sendall(encode(OP_CLOSE, payload[:2], False))
                    break
        except (OSError, ConnectionError, ValueError):
            pass
        finally:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    return run


def handshake_response(req):
    key = req.get("sec-websocket-key")
    if key is None:
        raise TestFailure("no Sec-WebSocket-Key reached the backend")
    return (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept_for(key) + b"\r\n\r\n")
