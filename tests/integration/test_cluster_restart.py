"""A node restarts from a data dir that holds a Raft snapshot: it must come back, compile the
restored state and serve it. (libraft restores the snapshot inside raft_start, before the store
is handed back to node/sync.c; proxyd used to crash there: tests/bench/cluster.sh found it.)"""

import glob
import os
import shutil
import tempfile

from lib.backend import HttpBackend
from lib.check import Env
from lib.util import check, free_port
from test_proxyctl_cluster import Ctl, api_config, get

WRITES = 24         # above the snapshot threshold set below, so a snapshot is on disk


def node_env(data, raft_port):
    static = {"cluster": {"raftAddress": "127.0.0.1:%d" % raft_port, "dataDir": data}}
    return Env(backends={"A": HttpBackend("A")}, static_extra=static)


def test_cluster_restart_from_snapshot():
    data = tempfile.mkdtemp(prefix="concord-it-restart-")
    old = os.environ.get("CONCORD_TEST_SNAPSHOT_THRESHOLD")
    os.environ["CONCORD_TEST_SNAPSHOT_THRESHOLD"] = "8"     # inherited by proxyd
    try:
        raft_port = free_port()
        with node_env(data, raft_port) as env:
            ctl = Ctl(env)
            ctl.token = os.path.join(data, "admin.token")
            for i in range(WRITES):
                f = ctl.file("api.yaml", api_config("snap%d.test" % i, env.A.url))
                rc, out, err = ctl("config", "apply", "-f", f, "--wait")
                check(rc == 0, "apply %d: rc %d, %r" % (i, rc, err))
            check(get(env, "snap%d.test" % (WRITES - 1)).status == 200, "last write not served")
        check(glob.glob(os.path.join(data, "snapshot-*")), "no snapshot in %s: %r"
              % (data, os.listdir(data)))
        # Env's start waits until the file provider's probe route is served: that needs the
        # restored state compiled into a table.
        with node_env(data, raft_port) as env:
            # the restored route points at the first run's backend, gone now: 502, not 404
            r = get(env, "snap%d.test" % (WRITES - 1))
            check(r.status == 502, "the restored api namespace is not routed: %r" % r)
            check(get(env, "snap0.test").status == 404, "an overwritten route came back")
            st = Ctl(env)
            st.token = os.path.join(data, "admin.token")
            doc = st.json("config", "get")
            check("snap%d.test" % (WRITES - 1) in str(doc), "config get after restart: %r" % doc)
    finally:
        if old is None:
            os.environ.pop("CONCORD_TEST_SNAPSHOT_THRESHOLD", None)
        else:
            os.environ["CONCORD_TEST_SNAPSHOT_THRESHOLD"] = old
        shutil.rmtree(data, ignore_errors=True)
