"""The admin listener that exists before the cluster API: /ping readiness (200 ready, 503
while draining), the bearer token generated in the data directory (mode 0600), 401 without
it (DESIGN.md "Defaults")."""

import os
import re
import signal
import stat
import tempfile
import time

from lib.backend import FakeBackend, simple_response
from lib.check import Env
from lib.client import Client
from lib.util import check, wait_until


def _admin_addr(px):
    m = re.search(r"listener admin addr=(\S+):(\d+)", px.stderr_text())
    check(m is not None, "no admin listener line in the log")
    return (m.group(1), int(m.group(2)))


def _get(addr, target, token=None):
    c = Client(addr, timeout=5)
    auth = b"Authorization: Bearer " + token.encode() + b"\r\n" if token else b""
    c.send(b"GET " + target + b" HTTP/1.1\r\nHost: admin\r\n" + auth + b"\r\n")
    r = c.read_response()
    c.close()
    return r


def test_admin_ping_token_and_version():
    with Env() as env:
        addr = _admin_addr(env.px)
        r = _get(addr, b"/ping")
        check(r.status == 200 and r.body == b"OK", "/ping when ready: %s %r" % (r.status, r.body))
        path = os.path.join(env.px.tmpdir, "data", "admin.token")
        check(os.path.exists(path), "admin.token not generated in the data directory")
        mode = stat.S_IMODE(os.stat(path).st_mode)
        check(mode == 0o600, "admin.token mode %o, expected 600" % mode)
        token = open(path).read().strip()
        check(len(token) == 64, "token %r is not 32 random bytes in hex" % token)
        check("admin token: " + path in env.px.stderr_text(), "token path not logged")
        r = _get(addr, b"/api/version")
        check(r.status == 401, "/api/version without a token: %s" % r.status)
        r = _get(addr, b"/api/version", token="0" * 64)
        check(r.status == 401, "/api/version with a wrong token: %s" % r.status)
        r = _get(addr, b"/api/version", token=token)
        check(r.status == 200 and b'"Version"' in r.body, "/api/version: %s %r"
              % (r.status, r.body))


def test_admin_token_file_used():
    tokdir = tempfile.mkdtemp(prefix="concord-tok-")
    tokpath = os.path.join(tokdir, "token")
    with open(tokpath, "w") as f:
        f.write("  s3cret-token \nsecond line ignored\n")
    try:
        with Env(static_extra={"admin": {"tokenFile": tokpath}}) as env:
            addr = _admin_addr(env.px)
            check(_get(addr, b"/api/version", token="s3cret-token").status == 200,
                  "the tokenFile's first line (trimmed) must be the token")
            check(not os.path.exists(os.path.join(env.px.tmpdir, "data", "admin.token")),
                  "a token was generated although admin.tokenFile is set")
    finally:
        os.unlink(tokpath)
        os.rmdir(tokdir)


def test_admin_ping_503_while_draining():
    def resp(req):
        r = simple_response(b"slow done")
        r.delay = 2.0
        return r
    with Env(backends={"A": FakeBackend("A", responder=resp)}) as env:
        addr = _admin_addr(env.px)
        c = env.client(timeout=10)
        c.send(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        wait_until(lambda: env.A.requests(), 3, what="the slow request to reach the backend")
        env.px.signal(signal.SIGTERM)
        time.sleep(0.3)
        r = _get(addr, b"/ping")
        check(r.status == 503, "/ping while draining: %s" % r.status)
        r = c.read_response(timeout=8)
        check(r.status == 200, "in-flight request during drain: %s" % r.status)
        check(env.px.wait_exit(10), "proxyd did not exit")
        check(env.px.rc == 0, "exit code %s" % env.px.rc)
