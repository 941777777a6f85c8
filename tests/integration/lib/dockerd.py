"""A real Docker Engine for the Docker provider's tests (../shared/docs/real-services.md):
dockerd in a temp dir with its own unix socket, no networking features, vfs storage and
live-restore (so containers outlive a daemon stopped for an outage test), plus a tiny image made
from the busybox-static binary (no registry).

    with Dockerd() as dk:                    # starts dockerd, waits for /_ping, imports bb:latest
        c = dk.run_httpd("web-1", {"traefik.http.routers.web.rule": "Host(`web.test`)"},
                         files={"f.txt": "hello"})   # busybox httpd on 127.0.0.1:c.port
        dk.remove(c.name)
        dk.stop_daemon(); dk.start_daemon()  # an outage; the same data dir

Talks to the Engine API (v1.41) directly over the socket, so no docker CLI is needed. When
dockerd cannot start (not installed, not root) the test FAILS with the reason: CI installs
docker.io, so a skip would hide a broken setup. Everything started is stopped by PID in stop()
(containers removed first, the netns mount left by the daemon unmounted, the dir removed).
"""

import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
import urllib.parse

from . import util
from .util import TestFailure

API = "/v1.41"
IMAGE = "bb:latest"


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self.sock = s


def free_port():
    """A loopback port nothing listens on right now (bound to 127.0.0.1:0, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Container:
    def __init__(self, name, cid, port, www):
        self.name, self.id, self.port, self.www = name, cid, port, www


class Dockerd:
    def __init__(self, timeout=60.0, tls=None):
        """tls: (cert, key) PEM paths: the daemon also listens on tcp://127.0.0.1:<port>
        (self.tcp_port) with --tlsverify, trusting `cert` as the CA of its clients too."""
        self.timeout = timeout
        self.tls = tls
        self.tcp_port = free_port() if tls else None
        self.dir = tempfile.mkdtemp(prefix="concord-dockerd-")
        self.sock = os.path.join(self.dir, "docker.sock")
        self.endpoint = "unix://" + self.sock
        self.proc = None
        self.containers = {}
        self.log_path = os.path.join(self.dir, "dockerd.log")

    # ---- lifecycle -----------------------------------------------------------------------
    def __enter__(self):
        try:
            self.start_daemon()
            self.import_image()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, et, ev, tb):
        self.stop()

    def start_daemon(self):
        exe = shutil.which("dockerd")
        if exe is None:
            raise TestFailure("dockerd not found: install docker.io (scripts/install-deps.sh)")
        if os.geteuid() != 0:
            raise TestFailure("dockerd needs root; the Docker provider tests run as root in CI")
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [exe, "--host", self.endpoint, "--data-root", os.path.join(self.dir, "root"),
             "--exec-root", os.path.join(self.dir, "exec"),
             "--pidfile", os.path.join(self.dir, "docker.pid"),
             "--iptables=false", "--ip-masq=false", "--bridge=none", "--storage-driver=vfs",
             "--live-restore"] + self._tls_args(),
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        log.close()

        def up():
            if self.proc.poll() is not None:
                raise TestFailure("dockerd exited with %s: %s" % (self.proc.returncode,
                                                                   self.log_tail()))
            try:
                return self.api("GET", "/_ping", timeout=2)[0] == 200
            except OSError:
                return False
        util.wait_until(up, self.timeout, 0.05, "dockerd to answer /_ping")

    def _tls_args(self):
        if not self.tls:
            return []
        cert, key = self.tls
        return ["--host", "tcp://127.0.0.1:%d" % self.tcp_port, "--tlsverify",
                "--tlscacert", cert, "--tlscert", cert, "--tlskey", key]

    def pause(self):
        """SIGSTOP to dockerd: its sockets stay open and nothing answers (a hung daemon)."""
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def stop_daemon(self):
        """SIGTERM to dockerd (by PID) and wait for it; containers live on (live-restore)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a paused daemon handles its SIGTERM
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def stop(self):
        """Removes every container, stops the daemon, unmounts what it left, removes the dir."""
        try:
            if self.proc is not None and self.proc.poll() is None:
                for name in list(self.containers):
                    try:
                        self.remove(name)
                    except (OSError, TestFailure):
                        pass
            self.stop_daemon()
        finally:
            # dockerd leaves mounts behind (its data root, exec/netns/default): deepest first
            for m in sorted(_mounts_under(self.dir), reverse=True):
                subprocess.call(["umount", m], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
            shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, n=15):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""

    # ---- Engine API ----------------------------------------------------------------------
    def api(self, method, path, body=None, ctype="application/json", timeout=30):
        """(status, parsed JSON or raw bytes). `body`: bytes, or an object sent as JSON."""
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
        c = _UnixConnection(self.sock, timeout)
        try:
            c.request(method, (API + path) if path != "/_ping" else path, body=body,
                      headers={"Content-Type": ctype} if body is not None else {})
            r = c.getresponse()
            data = r.read()
        finally:
            c.close()
        try:
            return r.status, json.loads(data) if data else None
        except ValueError:
            return r.status, data

    def import_image(self):
        """bb:latest from /bin/busybox (busybox-static), as the docs' `docker import`."""
        exe = shutil.which("busybox") or "/bin/busybox"
        if not os.path.isfile(exe):
            raise TestFailure("busybox not found: install busybox-static")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            d = tarfile.TarInfo("bin")
            d.type, d.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(d)
            tar.add(exe, arcname="bin/busybox")
            ln = tarfile.TarInfo("bin/sh")
            ln.type, ln.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(ln)
        st, body = self.api("POST", "/images/create?fromSrc=-&repo=bb&tag=latest",
                            body=buf.getvalue(), ctype="application/x-tar", timeout=120)
        if st != 200:
            raise TestFailure("importing the busybox image: %s %r" % (st, body))

    def run_httpd(self, name, labels, files=None, port=None):
        """A host-network container running `busybox httpd -f -p 127.0.0.1:PORT -h /www`, with a
        host temp dir holding `files` ({name: text}) mounted at /www. Returns once the port
        answers."""
        port = port or free_port()
        www = os.path.join(self.dir, "www-" + name)
        os.makedirs(www, exist_ok=True)
        for fn, text in (files or {}).items():
            with open(os.path.join(www, fn), "w") as f:
                f.write(text)
        spec = {"Image": IMAGE, "Labels": labels,
                "Cmd": ["/bin/busybox", "httpd", "-f", "-p", "127.0.0.1:%d" % port, "-h", "/www"],
                "HostConfig": {"NetworkMode": "host", "Binds": ["%s:/www:ro" % www]}}
        st, body = self.api("POST", "/containers/create?name=" + urllib.parse.quote(name), spec)
        if st != 201:
            raise TestFailure("creating container %s: %s %r" % (name, st, body))
        c = Container(name, body["Id"], port, www)
        self.containers[name] = c
        st, body = self.api("POST", "/containers/%s/start" % c.id)
        if st not in (204, 304):
            raise TestFailure("starting container %s: %s %r" % (name, st, body))
        util.wait_until(lambda: _answers(port), self.timeout, 0.02,
                        "container %s's httpd on port %d" % (name, port))
        return c

    def remove(self, name):
        """Removes a container (killed first): its die and destroy events follow."""
        c = self.containers.pop(name)
        st, body = self.api("DELETE", "/containers/%s?force=true" % c.id)
        if st not in (204, 404):
            raise TestFailure("removing container %s: %s %r" % (name, st, body))


def _mounts_under(d):
    out = []
    try:
        with open("/proc/mounts") as f:
            for line in f:
                m = line.split()[1].replace("\\040", " ")
                if m == d or m.startswith(d + "/"):
                    out.append(m)
    except OSError:
        pass
    return out


def _answers(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False
