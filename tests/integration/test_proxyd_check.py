"""`proxyd --config FILE --check`: validates the static file and the dynamic configuration it
names, offline (no socket is bound), exit 0 when nothing has an error, 1 otherwise."""

import os
import socket
import subprocess
import tempfile

from lib import util
from lib.util import check

DYN_OK = 'http:\n  routers:\n    r:\n      rule: "Host(`a`)"\n      service: s\n' \
         '  services:\n    s:\n      loadBalancer:\n        servers:\n' \
         '          - url: "http://127.0.0.1:1"\n'
DYN_BAD_RULE = DYN_OK.replace('Host(`a`)', 'Host(`a`')


def _run(static, dynamic):
    d = tempfile.mkdtemp(prefix="concord-check-")
    try:
        with open(os.path.join(d, "dynamic.yaml"), "w") as f:
            f.write(dynamic)
        with open(os.path.join(d, "static.yaml"), "w") as f:
            f.write(static)
        p = subprocess.run([util.proxyd_path(), "--config", os.path.join(d, "static.yaml"),
                            "--check"], capture_output=True, text=True, timeout=30, cwd=d)
        return p.returncode, p.stdout + p.stderr
    finally:
        for n in os.listdir(d):
            os.unlink(os.path.join(d, n))
        os.rmdir(d)


def test_proxyd_check_offline():
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    static = ('entryPoints:\n  web:\n    address: "127.0.0.1:%d"\n'
              'providers:\n  file:\n    filename: dynamic.yaml\n' % port)
    try:
        rc, out = _run(static, DYN_OK)
        check(rc == 0 and "configuration OK" in out,
              "a valid config on a busy port (nothing may be bound): rc %d, %s" % (rc, out))
        rc, out = _run(static, DYN_BAD_RULE)
        check(rc == 1, "a bad rule must fail the check: rc %d, %s" % (rc, out))
        check("dynamic.yaml:" in out and "http.routers.r" in out,
              "the error must name the file and the key path: %s" % out)
        rc, out = _run(static.replace("entryPoints", "entryPoint"), DYN_OK)
        check(rc == 1 and "entryPoint" in out, "a static typo must fail the check: %s" % out)
    finally:
        busy.close()
