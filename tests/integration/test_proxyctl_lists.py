"""`proxyctl routers list` and `proxyctl services list` against a real proxyd's admin API:
table, JSON and YAML output, the next endpoint tried when the first is down, and the exit
codes (0 done, 2 usage or unreadable token file, 3 unreachable or token refused)."""

import json
import os
import re
import socket
import subprocess
import tempfile

from lib.check import Env
from lib.util import Skip, check, proxyctl_path

EXTRA = {"http": {
    "routers": {"badrule": {"rule": "Host(`x`", "service": "A"}},
    "services": {"w": {"weighted": {"services": [{"name": "A", "weight": 2}]}}},
}}


def admin(px):
    m = re.search(r"listener admin addr=(\S+)", px.stderr_text())
    check(m is not None, "no admin listener line in the log")
    return m.group(1), os.path.join(px.tmpdir, "data", "admin.token")


def ctl(*args):
    exe = proxyctl_path()
    if not os.path.exists(exe):
        raise Skip("proxyctl not built at %s" % exe)
    p = subprocess.run([exe] + list(args), capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "127.0.0.1:%d" % port


def rows(out):
    """The non-empty output lines: the table (header first), then the error lines."""
    return [l for l in out.splitlines() if l.strip()]


def test_routers_list_table_json_yaml():
    with Env(backends=["A"], dynamic_extra=EXTRA) as env:
        ep, tok = admin(env.px)
        rc, out, err = ctl("--endpoints", ep, "--token-file", tok, "routers", "list")
        check(rc == 0, "routers list: rc %d, stderr %r" % (rc, err))
        lines = rows(out)
        check(lines[0].split()[:6] == ["NAME", "STATUS", "ENTRYPOINTS", "SERVICE", "PRIORITY",
                                       "RULE"], "header: %r" % lines[0])
        r0 = [l for l in lines if l.startswith("r0@file ")]
        check(len(r0) == 1 and r0[0].split()[1:5] == ["enabled", "web", "A@file", "9"]
              and r0[0].endswith("Host(`a`)"), "r0 row: %r" % r0)
        bad = [l for l in lines if l.startswith("badrule@file ")]
        check(len(bad) == 1 and bad[0].split()[1] == "disabled", "badrule row: %r" % bad)
        check(any(l.startswith("badrule@file: ") and "rule" in l for l in lines),
              "no error line for badrule: %r" % out)

        rc, out, err = ctl("--endpoints", ep, "--token-file", tok, "-o", "json", "routers",
                           "list")
        check(rc == 0, "routers list -o json: rc %d, %r" % (rc, err))
        doc = json.loads(out)
        names = [o["name"] for o in doc]
        check(names == sorted(["r0@file", "badrule@file", "probe@file"]), "json names: %s"
              % names)
        check({o["name"]: o["status"] for o in doc}["badrule@file"] == "disabled", "json status")

        rc, out, err = ctl("--endpoints", ep, "--token-file", tok, "routers", "list", "-oyaml")
        check(rc == 0 and out.startswith("- ") and 'name: "r0@file"' in out,
              "routers list -o yaml: rc %d, %r" % (rc, out[:200]))


def test_services_list_table_and_json():
    with Env(backends=["A"], dynamic_extra=EXTRA) as env:
        ep, tok = admin(env.px)
        rc, out, err = ctl("--endpoints", ep, "--token-file", tok, "services", "list")
        check(rc == 0, "services list: rc %d, %r" % (rc, err))
        lines = rows(out)
        check(lines[0].split() == ["NAME", "STATUS", "TYPE", "USEDBY", "TARGETS"],
              "header: %r" % lines[0])
        a = [l.split() for l in lines if l.startswith("A@file ")]
        check(len(a) == 1 and a[0][1:3] == ["enabled", "loadbalancer"]
              and a[0][4] == env.A.url and "r0@file" in a[0][3].split(","), "A row: %r" % a)
        w = [l.split() for l in lines if l.startswith("w@file ")]
        check(len(w) == 1 and w[0][2] == "weighted" and w[0][4] == "A*2", "w row: %r" % w)
        rc, out, err = ctl("--endpoints", ep, "--token-file", tok, "services", "list",
                           "-o", "json")
        doc = {o["name"]: o for o in json.loads(out)}
        check(rc == 0 and doc["A@file"]["serverStatus"] == {env.A.url: "UP"},
              "services -o json: %r" % doc.get("A@file"))


def test_unreachable_first_endpoint_is_skipped():
    with Env(backends=["A"]) as env:
        ep, tok = admin(env.px)
        rc, out, err = ctl("--endpoints", closed_port() + "," + ep, "--token-file", tok,
                           "-o", "json", "routers", "list")
        check(rc == 0, "a down first endpoint must be skipped: rc %d, %r" % (rc, err))
        check("r0@file" in [o["name"] for o in json.loads(out)], "answer: %r" % out)
        env_vars = dict(os.environ, CONCORD_ENDPOINTS=closed_port() + "," + ep,
                        CONCORD_TOKEN_FILE=tok)
        p = subprocess.run([proxyctl_path(), "services", "list"], capture_output=True,
                           text=True, timeout=60, env=env_vars)
        check(p.returncode == 0 and "A@file" in p.stdout,
              "endpoints and token file from the environment: rc %d, %r" % (p.returncode,
                                                                          p.stderr))


def test_exit_codes_unreachable_token_usage():
    with Env(backends=["A"]) as env:
        ep, tok = admin(env.px)
        with tempfile.NamedTemporaryFile("w", suffix=".token") as bad:
            bad.write("not-the-token\n")
            bad.flush()
            rc, out, err = ctl("--endpoints", ep, "--token-file", bad.name, "routers", "list")
            check(rc == 3 and "401" in err and out == "",
                  "a wrong token: rc %d, stderr %r" % (rc, err))
            rc, out, err = ctl("--endpoints", "%s,%s" % (closed_port(), closed_port()),
                               "--token-file", bad.name, "services", "list")
            check(rc == 3 and "no endpoint answered" in err,
                  "every endpoint down: rc %d, %r" % (rc, err))
        rc, out, err = ctl("--endpoints", ep, "--token-file", "/nonexistent/token", "routers",
                           "list")
        check(rc == 2 and "token file" in err, "unreadable token file: rc %d, %r" % (rc, err))
        rc, out, err = ctl("--endpoints", ep, "--token-file", tok, "routers", "list", "extra")
        check(rc == 2 and "usage" in err, "an extra argument: rc %d, %r" % (rc, err))
        rc, out, err = ctl("--endpoints", ep, "--token-file", tok, "-o", "xml", "routers",
                           "list")
        check(rc == 2, "-o xml: rc %d" % rc)
