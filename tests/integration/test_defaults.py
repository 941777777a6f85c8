"""proxyd with no arguments (DESIGN.md "Defaults"): entry point web on :8080, admin on
127.0.0.1:9900, a token generated in ./concord-data, listener log lines, exit 0 on SIGTERM.
Fixed ports may be taken on a shared machine, so the run happens in a private network
namespace of its own (unshare -n, loopback only); it needs root and is skipped otherwise."""

import os
import shutil
import subprocess
import tempfile

from lib import util
from lib.proxyd import SANITIZER_RE
from lib.util import Skip, check

SCRIPT = r'''
set -u
ip link set lo up
"$PROXYD" >proxyd.log 2>&1 &
pid=$!
for i in $(seq 1 100); do
    curl -sf -o /dev/null http://127.0.0.1:9900/ping && break
    sleep 0.05
done
echo "ping $(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9900/ping)"
echo "web $(curl -s -o /dev/null -w '%{http_code}' -H 'Host: x' http://127.0.0.1:8080/)"
echo "version $(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9900/api/version)"
echo "authed $(curl -s -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $(head -n1 concord-data/admin.token)" \
    http://127.0.0.1:9900/api/version)"
kill -TERM $pid
wait $pid
echo "exit $?"
'''


def test_no_arguments_defaults():
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        raise Skip("needs root, unshare and ip for a private network namespace")
    d = tempfile.mkdtemp(prefix="concord-defaults-")
    try:
        env = dict(os.environ, PROXYD=os.path.abspath(util.proxyd_path()))
        p = subprocess.run(["unshare", "-n", "bash", "-c", SCRIPT], cwd=d, env=env,
                           capture_output=True, timeout=60, text=True)
        out = p.stdout
        log = open(os.path.join(d, "proxyd.log")).read()
        for want in ("ping 200", "web 404", "version 401", "authed 200", "exit 0"):
            check(want in out, "expected %r; got %r; log: %s" % (want, out, log[-800:]))
        check("listener entrypoint=web addr=[::]:8080" in log or
              "listener entrypoint=web addr=0.0.0.0:8080" in log,
              "no listener line for web on :8080: %s" % log[-800:])
        check("listener admin addr=127.0.0.1:9900" in log, "no admin listener line")
        check(os.stat(os.path.join(d, "concord-data", "admin.token")).st_mode & 0o777 == 0o600,
              "admin.token is not mode 0600")
        check(not SANITIZER_RE.search(log), "sanitizer report: %s" % log[-800:])
    finally:
        shutil.rmtree(d, ignore_errors=True)
