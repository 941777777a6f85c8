"""Small shared pieces: test outcome exceptions, deadline polling, environment settings."""

import os
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


class TestFailure(AssertionError):
    """A test assertion failed; the message is the one-line reason shown by the runner."""


class Skip(Exception):
    """The test cannot run here (missing tool or feature); the message says why."""


def fail(msg):
    raise TestFailure(msg)


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def proxyd_path():
    return os.environ.get("PROXYD") or os.path.join(REPO, "build-release", "node", "proxyd")


def proxyctl_path():
    """proxyctl from the same build as proxyd (<build>/ctl/proxyctl); env PROXYCTL overrides."""
    return os.environ.get("PROXYCTL") or os.path.abspath(
        os.path.join(os.path.dirname(proxyd_path()), "..", "ctl", "proxyctl"))


def big_body_bytes():
    return int(os.environ.get("CONCORD_BIG_BODY_BYTES", str(1 << 30)))


def wait_until(pred, timeout, interval=0.005, what="condition"):
    """Polls `pred` until it returns a true value or `timeout` seconds pass. Returns the value,
    or raises TestFailure naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TestFailure("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def poll_until(pred, timeout, interval=0.005):
    """Like wait_until but returns the last value (false) instead of raising on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


class SubCases:
    """Runs several variants in one test, collecting every failure instead of stopping at the
    first, so one run reports them all:

        sc = SubCases()
        for name, raw in variants:
            with sc(name):
                ...
        sc.done()
    """

    def __init__(self):
        self.failures = []
        self.count = 0

    def __call__(self, name):
        return _SubCase(self, name)

    def done(self):
        if self.failures:
            raise TestFailure("%d of %d sub-cases failed: %s"
                              % (len(self.failures), self.count, " | ".join(self.failures)))


class _SubCase:
    def __init__(self, parent, name):
        self.parent = parent
        self.name = name

    def __enter__(self):
        self.parent.count += 1
        return self

    def __exit__(self, et, ev, tb):
        if et is None:
            return False
        if issubclass(et, (TestFailure, OSError, ValueError, TimeoutError)):
            self.parent.failures.append("[%s] %s" % (self.name, _short(ev)))
            return True
        return False


def _short(ev):
    s = "%s" % (ev,)
    if not isinstance(ev, TestFailure):
        s = "%s: %s" % (type(ev).__name__, s)
    return s


def show(b, limit=160):
    """A bytes value as a short printable string for messages."""
    if isinstance(b, str):
        b = b.encode("latin-1", "replace")
    r = repr(bytes(b[:limit]))
    if len(b) > limit:
        r += "...(%d bytes)" % len(b)
    return r


def free_port():
    """A loopback TCP port that was free a moment ago, for listeners that cannot take port 0
    (Raft: the other nodes dial a fixed address). Ports are drawn from a high range at random
    so that parallel tests rarely collide; callers retry on a bind failure if they must."""
    import random
    import socket
    for _ in range(200):
        port = random.randint(20000, 32000)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port found")


def make_cert(d, name, hosts=("localhost", "127.0.0.1")):
    """A self-signed certificate (openssl CLI) for `hosts` (names and IPs), written in d:
    returns (cert path, key path). It is its own CA: trust it with the cert path."""
    import ipaddress
    import os
    import subprocess
    san = []
    for h in hosts:
        try:
            ipaddress.ip_address(h)
            san.append("IP:" + h)
        except ValueError:
            san.append("DNS:" + h)
    cert, key = os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=" + hosts[0],
                    "-addext", "subjectAltName=" + ",".join(san),
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key
