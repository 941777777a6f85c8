"""proxyctl's cluster commands without a server: usage errors (bad flags, missing arguments,
an unreadable or unparsable -f FILE) exit 2 before anything is sent, and endpoints where
nothing listens exit 3. The end-to-end behaviour is in test_proxyctl_cluster.py."""

import os
import socket
import subprocess
import tempfile

from lib.util import Skip, check, proxyctl_path


def ctl(*args, env=None):
    exe = proxyctl_path()
    if not os.path.exists(exe):
        raise Skip("proxyctl not built at %s" % exe)
    p = subprocess.run([exe] + list(args), capture_output=True, text=True, timeout=60, env=env)
    return p.returncode, p.stdout, p.stderr


def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "127.0.0.1:%d" % port


class Files:
    """A temporary folder with a token file and config files, removed on exit."""

    def __enter__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="concord-ctl-")
        self.dir = self.tmp.name
        self.token = self.write("token", "secret-token\n")
        return self

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def __exit__(self, *a):
        self.tmp.cleanup()


GOOD = """http:
  routers:
    web:
      rule: "Host(`a`)"
      service: s
  services:
    s:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:1
"""


def test_cluster_usage_errors_exit_2():
    with Files() as f:
        good = f.write("good.yaml", GOOD)
        g = ["--endpoints", closed_port(), "--token-file", f.token]
        cases = [
            (["status", "extra"], "unexpected argument"),
            (["status", "--bogus"], "unknown flag"),
            (["member"], "missing verb"),
            (["member", "frob"], "unknown verb"),
            (["member", "add", "n4", "127.0.0.1:7004"], "missing argument"),
            (["member", "add", "n4", "a:1", "b:2", "--role", "boss"], "--role"),
            (["member", "remove"], "missing argument"),
            (["member", "promote", "n1", "n2"], "unexpected argument"),
            (["member", "demote", "n1", "--role", "voter"], "--role"),
            (["member", "demote", "n1", "--role"], "missing value"),
            (["leader", "transfer", "n1", "n2"], "unexpected argument"),
            (["config", "apply"], "-f FILE is required"),
            (["config", "apply", "-f", good, "--revision", "abc"], "--revision"),
            (["config", "apply", "-f", good, "--revision", "-1"], "--revision"),
            (["config", "apply", "-f", good, "--wait", "--wait-timeout", "1x"], "--wait-timeout"),
            (["config", "apply", "-f", good, "--force=yes"], "takes no value"),
            (["config", "delete", "-f", good], "do not apply"),
            (["config", "get", "--revision", "3"], "only --namespace"),
            (["config", "diff"], "-f FILE is required"),
            (["snapshot", "save"], "missing argument"),
            (["snapshot", "save", "a", "b"], "unexpected argument"),
        ]
        for args, why in cases:
            rc, out, err = ctl(*(g + args))
            check(rc == 2 and why in err and out == "",
                  "%s: rc %d, stderr %r (expected 2 and %r)" % (" ".join(args), rc, err, why))
        for args in (["status", "--help"], ["config", "apply", "-h"], ["member", "list", "--help"],
                     ["snapshot", "save", "--help"], ["leader", "transfer", "--help"]):
            rc, out, err = ctl(*(g + args))
            check(rc == 0 and out.startswith("usage: proxyctl") and err == "",
                  "%s: rc %d, %r" % (" ".join(args), rc, err))


def test_cluster_bad_file_exit_2_before_sending():
    with Files() as f:
        # A listening socket that never answers: if anything were sent, the command would hang
        # until its timeout instead of failing at once; the test asserts nothing was accepted.
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(4)
        lsock.setblocking(False)
        ep = "127.0.0.1:%d" % lsock.getsockname()[1]
        try:
            broken = f.write("broken.yaml", "http:\n  routers: [\n")
            unknown = f.write("unknown.yaml", "http:\n  routers:\n    web:\n      rul: x\n")
            missing = os.path.join(f.dir, "missing.yaml")
            for verb in ("apply", "diff"):
                g = ["--endpoints", ep, "--token-file", f.token, "config", verb]
                rc, out, err = ctl(*(g + ["-f", missing]))
                check(rc == 2 and "missing.yaml" in err and "No such file" in err,
                      "%s of a missing file: rc %d, %r" % (verb, rc, err))
                rc, out, err = ctl(*(g + ["-f", broken]))
                check(rc == 2 and "broken.yaml:3:1:" in err and "yaml" in err,
                      "%s of broken YAML: rc %d, %r" % (verb, rc, err))
                rc, out, err = ctl(*(g + ["-f", unknown]))
                check(rc == 2 and "unknown.yaml:4:7:" in err and "unknown key" in err,
                      "%s of an unknown key: rc %d, %r" % (verb, rc, err))
            try:
                lsock.accept()
                check(False, "a refused file was sent to the endpoint")
            except BlockingIOError:
                pass
        finally:
            lsock.close()


def test_cluster_unreachable_exit_3():
    with Files() as f:
        good = f.write("good.yaml", GOOD)
        snap = os.path.join(f.dir, "snap.bin")
        eps = "%s,%s" % (closed_port(), closed_port())
        g = ["--endpoints", eps, "--token-file", f.token]
        for args in (["status"], ["status", "--stale"], ["member", "list"],
                     ["member", "add", "n4", "127.0.0.1:7004", "127.0.0.1:9004"],
                     ["member", "remove", "n4"], ["member", "promote", "n4"],
                     ["member", "demote", "n4"], ["leader", "transfer"],
                     ["config", "get"], ["config", "apply", "-f", good, "--wait"],
                     ["config", "delete"], ["config", "diff", "-f", good],
                     ["snapshot", "save", snap]):
            rc, out, err = ctl(*(g + args))
            check(rc == 3 and "no endpoint answered" in err and out == "",
                  "%s: rc %d, stderr %r" % (" ".join(args), rc, err))
        check(not os.path.exists(snap) and not os.path.exists(snap + ".tmp"),
              "snapshot save left a file behind")
        # The environment variables name the endpoints and token file as the flags do.
        env = dict(os.environ, CONCORD_ENDPOINTS=eps, CONCORD_TOKEN_FILE=f.token)
        rc, out, err = ctl("status", env=env)
        check(rc == 3 and eps.split(",")[0] in err, "status from env: rc %d, %r" % (rc, err))
        rc, out, err = ctl("--endpoints", eps, "--token-file", os.path.join(f.dir, "nope"),
                           "status")
        check(rc == 2 and "token file" in err, "unreadable token file: rc %d, %r" % (rc, err))
