"""A real single-member etcd (Debian's etcd-server 3.4) for the etcd provider's tests, on
loopback ports picked free, with its data in a temp dir; and a small client of its v3 JSON
gateway (urllib, base64 keys), so no etcdctl is needed.

    with Etcd() as e:                      # started, answering /v3/kv/range
        e.put("traefik/http/routers/r/rule", "Host(`a.test`)")
        e.txn(puts={"traefik/a": "1", "traefik/b": "2"}, deletes=["traefik/c"])
        e.stop(); e.start()                # same data dir, same ports
        e.stop(); e.start(client_port=p)   # same data, a port the proxies do not know

The process is stopped by PID (and written to CONCORD_IT_PIDFILE so the runner can stop it if
the test dies); the data dir is removed on close. If etcd is not installed or does not start,
the test FAILS with the reason (CI installs etcd-server: scripts/install-deps.sh)."""

import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.request

from . import util
from .util import TestFailure

ETCD_BIN = os.environ.get("ETCD_BIN", "/usr/bin/etcd")


def _b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def _prefix_end(prefix):
    b = bytearray(prefix.encode())
    while b and b[-1] == 0xff:
        b.pop()
    if not b:
        return b"\0"
    b[-1] += 1
    return bytes(b)


def free_ports(n):
    """n distinct loopback ports, each bound to port 0 then closed (etcd cannot take port 0:
    its advertised URLs must name the real port)."""
    socks, ports = [], []
    try:
        while len(ports) < n:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def reserve_port(port):
    """A socket bound to 127.0.0.1:port with SO_REUSEADDR and not listening: it holds the port
    while etcd is down (binds to port 0 skip it, connections are refused); etcd, which sets
    SO_REUSEADDR on its listeners (Go does), can still bind it."""
    r = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    r.bind(("127.0.0.1", port))
    return r


class Etcd:
    def __init__(self, slow=1.0, tls=None):
        """tls: (cert, key) PEM paths: the client port speaks https only."""
        self.slow = slow
        self.tls = tls
        self.scheme = "https" if tls else "http"
        self.ssl_ctx = ssl.create_default_context(cafile=tls[0]) if tls else None
        self.dir = tempfile.mkdtemp(prefix="concord-etcd-")
        self.home_port, self.peer_port = free_ports(2)
        # held from here to etcd's listen, and again whenever it is stopped
        self.reserved = [reserve_port(self.home_port), reserve_port(self.peer_port)]
        self.client_port = self.home_port
        self.endpoint = "127.0.0.1:%d" % self.client_port
        self.proc = None
        self.token = None  # set by enable_auth: every call then authenticates
        self.log_path = os.path.join(self.dir, "etcd.log")

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self, client_port=None):
        """Starts etcd on its own client port, or on `client_port` (same data: a way to change
        the store while the proxies, which know only the usual port, cannot see it)."""
        self.client_port = client_port or self.home_port
        self.endpoint = "127.0.0.1:%d" % self.client_port
        if not os.path.exists(ETCD_BIN):
            raise TestFailure("etcd is not installed at %s (Debian package etcd-server; "
                              "scripts/install-deps.sh installs it)" % ETCD_BIN)
        client = "%s://%s" % (self.scheme, self.endpoint)
        peer = "http://127.0.0.1:%d" % self.peer_port
        args = [ETCD_BIN, "--name", "e1", "--data-dir", os.path.join(self.dir, "data"),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", "e1=" + peer, "--log-level", "warn"]
        if self.tls:
            args += ["--cert-file", self.tls[0], "--key-file", self.tls[1]]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        pidfile = os.environ.get("CONCORD_IT_PIDFILE")
        if pidfile:
            with open(pidfile, "a") as f:
                f.write("%d\n" % self.proc.pid)

        def up():
            if self.proc.poll() is not None:
                raise TestFailure("etcd exited (rc=%s) while starting: %s"
                                  % (self.proc.returncode, self.tail()))
            try:
                self.range("health-check/")
                return True
            except (OSError, ValueError, TestFailure):
                return False
        util.wait_until(up, 20 * self.slow, 0.05, "etcd on %s to answer /v3/kv/range"
                        % self.endpoint)
        self._release()
        return self

    def _release(self):
        for r in self.reserved:
            r.close()
        self.reserved = []

    def stop(self):
        """SIGTERM (SIGKILL after 10 s) and wait; the data dir stays for a restart."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        os.kill(self.proc.pid, signal.SIGCONT)  # a paused etcd handles its SIGTERM
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        if not self.reserved:
            self.reserved = [reserve_port(self.home_port), reserve_port(self.peer_port)]

    def pause(self):
        """SIGSTOP: etcd keeps its sockets open and answers nothing (a frozen host)."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def close(self):
        self.stop()
        self._release()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc):
        self.close()

    def tail(self, n=5):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return " // ".join(lines[-n:])

    # ---- the v3 JSON gateway -----------------------------------------------------------
    def call(self, path, body):
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = self.token
        req = urllib.request.Request("%s://%s%s" % (self.scheme, self.endpoint, path),
                                     data=json.dumps(body).encode(), method="POST",
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=5 * self.slow, context=self.ssl_ctx) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise TestFailure("etcd %s answered %d: %s" % (path, e.code, e.read()[:200]))

    def put(self, key, value):
        """Returns the new revision."""
        return int(self.call("/v3/kv/put", {"key": _b64(key), "value": _b64(value)})
                   ["header"]["revision"])

    def delete(self, key, prefix=False):
        body = {"key": _b64(key)}
        if prefix:
            body["range_end"] = _b64(_prefix_end(key))
        return int(self.call("/v3/kv/deleterange", body)["header"]["revision"])

    def txn(self, puts=None, deletes=()):
        """One transaction (one revision) of several puts and deletes; returns its revision."""
        ops = [{"request_put": {"key": _b64(k), "value": _b64(v)}}
               for k, v in (puts or {}).items()]
        ops += [{"request_delete_range": {"key": _b64(k)}} for k in deletes]
        r = self.call("/v3/kv/txn", {"success": ops})
        if not r.get("succeeded"):
            raise TestFailure("etcd txn did not succeed: %r" % r)
        return int(r["header"]["revision"])

    def range(self, prefix):
        """{key: value} of every key under prefix."""
        r = self.call("/v3/kv/range", {"key": _b64(prefix), "range_end": _b64(_prefix_end(prefix))})
        return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv.get("value", "")).decode()
                for kv in r.get("kvs", [])}

    def enable_auth(self, user="root", password="concord-pw"):
        """Creates `user` with etcd's root role and turns authentication on; this client then
        sends a token (etcd's simple tokens)."""
        self.call("/v3/auth/user/add", {"name": user, "password": password})
        self.call("/v3/auth/role/add", {"name": "root"})
        self.call("/v3/auth/user/grant", {"user": user, "role": "root"})
        self.call("/v3/auth/enable", {})
        self.token = self.call("/v3/auth/authenticate",
                               {"name": user, "password": password})["token"]

    def compact(self, revision):
        self.call("/v3/kv/compaction", {"revision": str(revision), "physical": True})
