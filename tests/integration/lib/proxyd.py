"""Starting and stopping the real proxyd with a generated static + dynamic configuration.

A Proxyd always adds one router of its own, Host(`probe.invalid`), pointing at a private probe
backend: start() waits for the listener line on stderr and then for that route to answer 200, so
a test begins only when routing is live. Tests never talk to the probe backend.
"""

import copy
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from . import util
from .util import TestFailure, show

LISTENER_RE = re.compile(r"listener entrypoint=(\S+) addr=(\S+)")
SANITIZER_RE = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
                          r"WARNING: ThreadSanitizer")
PROBE_HOST = "probe.invalid"


def to_yaml(obj, indent=0):
    """A tiny block-style YAML emitter (strings always double-quoted, JSON escapes)."""
    pad = " " * indent
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if _is_scalar(v) or v == [] or v == {}:
                out.append("%s%s: %s" % (pad, k, _scalar(v)))
            else:
                out.append("%s%s:" % (pad, k))
                out.append(to_yaml(v, indent + 2))
    elif isinstance(obj, list):
        for v in obj:
            if _is_scalar(v) or v == [] or v == {}:
                out.append("%s- %s" % (pad, _scalar(v)))
            else:
                sub = to_yaml(v, indent + 2).split("\n")
                sub[0] = pad + "- " + sub[0][indent + 2:]
                out.append("\n".join(sub))
    else:
        out.append(pad + _scalar(obj))
    return "\n".join(out)


def _is_scalar(v):
    return not isinstance(v, (dict, list))


def _scalar(v):
    if v == []:
        return "[]"
    if v == {}:
        return "{}"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if v is None:
        return "null"
    return json.dumps(str(v))


def deep_merge(base, over):
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def default_entrypoint():
    return {
        "address": "127.0.0.1:0",
        "transport": {
            "respondingTimeouts": {"readTimeout": "60s", "writeTimeout": 0, "idleTimeout": "180s",
                                   "readHeaderTimeout": "10s"},
            "lifeCycle": {"graceTimeOut": "5s"},
            "keepAliveMaxRequests": 0,
        },
        "forwardedHeaders": {"insecure": False, "trustedIPs": ["10.0.0.0/8"]},
        "http": {"maxHeaderBytes": 65536, "maxRequestLineBytes": 8192,
                 "maxHeaderFieldBytes": 8192, "maxHeaderCount": 100, "maxRequestBodyBytes": 0},
    }


def default_transport():
    return {
        "maxIdleConnsPerHost": 200,
        "forwardingTimeouts": {"dialTimeout": "30s", "responseHeaderTimeout": "60s",
                               "idleConnTimeout": "90s"},
    }


_asan_cache = {}


def binary_has_sanitizer(path):
    """True when the proxyd binary was built with ASan (statically or against libasan.so)."""
    if path not in _asan_cache:
        found = False
        try:
            with open(path, "rb") as f:
                while True:
                    blk = f.read(1 << 20)
                    if not blk:
                        break
                    if b"__asan_init" in blk or b"libasan.so" in blk or b"AddressSanitizer" in blk:
                        found = True
                        break
        except OSError:
            pass
        _asan_cache[path] = found
    return _asan_cache[path]


class Proxyd:
    """One proxyd process.

    routers: list of (rule, service_name) or dicts with rule/service/priority.
    services: dict name -> list of backend URLs (an empty list makes a service without servers).
    entrypoint / transport / static_extra: dicts deep-merged over the contract's defaults.
    middlewares: dict name -> Traefik middleware object (http.middlewares).
    dynamic_extra: dict deep-merged over the generated dynamic configuration (e.g. services of
    other kinds, serversTransports).
    """

    def __init__(self, routers=(), services=None, entrypoint=None, transport=None, workers=1,
                 static_extra=None, rlimit_nofile=None, binary=None, start_timeout=15.0,
                 middlewares=None, dynamic_extra=None):
        self.binary = binary or util.proxyd_path()
        self.routers = list(routers)
        self.services = dict(services or {})
        self.middlewares = dict(middlewares or {})
        self.dynamic_extra = dynamic_extra or {}
        self.entrypoint = deep_merge(default_entrypoint(), entrypoint)
        self.transport = deep_merge(default_transport(), transport)
        self.static_extra = static_extra or {}
        self.workers = workers
        self.rlimit_nofile = rlimit_nofile
        self.start_timeout = start_timeout
        self.proc = None
        self.tmpdir = None
        self.addr = None
        self.listeners = {}
        self.rc = None
        self.terminated = False
        self.probe = None
        self._stderr_path = None

    # ---- configuration -------------------------------------------------------------------
    def _dynamic(self):
        routers = {}
        for i, r in enumerate(self.routers):
            if isinstance(r, dict):
                d = dict(r)
            else:
                d = {"rule": r[0], "service": r[1]}
            routers["r%d" % i] = d
        routers["probe"] = {"rule": "Host(`%s`)" % PROBE_HOST, "service": "probe"}
        services = {}
        for name, urls in self.services.items():
            services[name] = {"loadBalancer": {"servers": [u if isinstance(u, dict) else {"url": u}
                                                         for u in urls]}}
        services["probe"] = {"loadBalancer": {"servers": [{"url": self.probe.url}]}}
        http = {"routers": routers, "services": services}
        if self.middlewares:
            http["middlewares"] = self.middlewares
        return deep_merge({"http": http}, self.dynamic_extra)

    def _static(self):
        st = {
            "entryPoints": {"web": self.entrypoint},
            "serversTransport": self.transport,
            "providers": {"file": {"filename": os.path.join(self.tmpdir, "dynamic.yaml")}},
            "cluster": {"dataDir": os.path.join(self.tmpdir, "data"),
                        "raftAddress": "127.0.0.1:%d" % util.free_port()},
            "admin": {"address": "127.0.0.1:0"},
        }
        return deep_merge(st, self.static_extra)

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self):
        from .backend import HttpBackend  # local import: backend imports nothing from here

        if not os.path.isfile(self.binary) or not os.access(self.binary, os.X_OK):
            raise TestFailure("proxyd binary not found or not executable: %s" % self.binary)
        self.probe = HttpBackend("probe").start()
        self.tmpdir = tempfile.mkdtemp(prefix="concord-it-")
        with open(os.path.join(self.tmpdir, "dynamic.yaml"), "w") as f:
            f.write(to_yaml(self._dynamic()) + "\n")
        self.static_path = os.path.join(self.tmpdir, "static.yaml")
        with open(self.static_path, "w") as f:
            f.write(to_yaml(self._static()) + "\n")
        self._stderr_path = os.path.join(self.tmpdir, "stderr.log")
        errf = open(self._stderr_path, "wb")
        outf = open(os.path.join(self.tmpdir, "stdout.log"), "wb")
        argv = [self.binary, "--config", self.static_path]
        if self.workers:
            argv += ["--workers", str(self.workers)]
        nofile = self.rlimit_nofile

        def pre():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=outf, stderr=errf,
                                         cwd=self.tmpdir, start_new_session=True,
                                         preexec_fn=pre if nofile else None)
        finally:
            errf.close()
            outf.close()
        pidfile = os.environ.get("CONCORD_IT_PIDFILE")
        if pidfile:  # lets the runner stop this process by PID if the test itself is killed
            with open(pidfile, "a") as f:
                f.write("%d\n" % self.proc.pid)
        self._wait_listener()
        self._wait_routable()
        return self

    def stderr_text(self):
        try:
            with open(self._stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def _tail(self, n=12):
        lines = self.stderr_text().splitlines()
        return " // ".join(lines[-n:])

    def _wait_listener(self):
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            for m in LISTENER_RE.finditer(self.stderr_text()):
                self.listeners[m.group(1)] = m.group(2)
            # every configured entry point, not only "web": each logs its own line, and a
            # test may use another one as soon as start() returns
            wanted = list((self._static().get("entryPoints") or {"web": None}).keys())
            if "web" in self.listeners and all(n in self.listeners for n in wanted):
                host, _, port = self.listeners["web"].rpartition(":")
                self.addr = (host.strip("[]"), int(port))
                return
            if self.proc.poll() is not None:
                self.rc = self.proc.returncode
                raise TestFailure("proxyd exited (rc=%s) before logging its listener: %s"
                                  % (self.rc, self._tail()))
            time.sleep(0.01)
        raise TestFailure("proxyd logged no 'listener entrypoint=web' line within %.0fs: %s"
                          % (self.start_timeout, self._tail()))

    def _wait_routable(self):
        req = ("GET /__probe HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
               % PROBE_HOST).encode()
        deadline = time.monotonic() + self.start_timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise TestFailure("proxyd exited (rc=%s) while starting: %s"
                                  % (self.proc.returncode, self._tail()))
            try:
                with socket.create_connection(self.addr, timeout=2) as s:
                    s.sendall(req)
                    data = b""
                    while len(data) < 64 * 1024:
                        b = s.recv(65536)
                        if not b:
                            break
                        data += b
                        if b"\r\n\r\n" in data and b"probe-ok" in data:
                            break
                if data.startswith(b"HTTP/1.1 200") and b"probe-ok" in data:
                    return
                last = show(data, 80)
            except OSError as e:
                last = str(e)
            time.sleep(0.02)
        raise TestFailure("the probe route never answered 200 within %.0fs (last: %s); stderr: %s"
                          % (self.start_timeout, last, self._tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        """Sends `sig`; after SIGTERM/SIGINT an exit is expected, not a crash."""
        if self.alive():
            if sig in (signal.SIGTERM, signal.SIGINT):
                self.terminated = True
            os.kill(self.proc.pid, sig)

    def wait_exit(self, timeout):
        try:
            self.rc = self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop(self, timeout=15.0):
        """SIGTERM, wait, SIGKILL after `timeout`. Returns a list of problems found (exit code,
        sanitizer reports), empty when the stop was clean."""
        problems = []
        if self.proc is not None:
            if self.proc.poll() is not None and self.rc is None and not self.terminated:
                problems.append("proxyd died during the test (rc=%s): %s"
                                % (self.proc.returncode, self._tail()))
            if self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    os.kill(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=10)
                    problems.append("proxyd did not exit within %.0fs of SIGTERM (killed)"
                                    % timeout)
            self.rc = self.proc.returncode
            if self.rc != 0 and not problems:
                problems.append("proxyd exit code %s after SIGTERM: %s" % (self.rc, self._tail()))
            san = [l for l in self.stderr_text().splitlines() if SANITIZER_RE.search(l)]
            if san:
                problems.append("sanitizer report in proxyd stderr: %s" % " // ".join(san[:3]))
        if self.probe:
            self.probe.stop()
        if self.tmpdir and not os.environ.get("CONCORD_KEEP_TMP"):
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        return problems

    # ---- observation ---------------------------------------------------------------------
    def status(self):
        """/proc/PID/status fields as a dict of strings."""
        out = {}
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    out[k] = v.strip()
        except OSError:
            pass
        return out

    def _kb(self, key):
        v = self.status().get(key, "0 kB").split()
        return int(v[0]) * 1024 if v else 0

    def rss(self):
        return self._kb("VmRSS")

    def hwm(self):
        return self._kb("VmHWM")

    def nfds(self):
        try:
            return len(os.listdir("/proc/%d/fd" % self.proc.pid))
        except OSError:
            return -1

    def sanitized(self):
        return binary_has_sanitizer(self.binary)

    @property
    def port(self):
        return self.addr[1]
