"""A multi-process Concord cluster for the integration tests: N real proxyd nodes forming one
Raft cluster (issue 4), sharing a cluster secret and an admin token file in one temp dir.

    with Cluster(3) as c:          # starts every node and waits for each /ping to be 200
        i = c.wait_leader()
        st, body = c.put_config(0, api_config("a.test", backend.url))
        c.wait_served(2, "a.test", "A")
        c.kill9(i); c.restart(i)

Every process is stopped by PID in teardown (and written to CONCORD_IT_PIDFILE so the runner can
stop it if the test itself dies). Timing is never slept for: everything polls with deadlines,
which are multiplied by `slow` under ASan.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

from . import util
from .client import request as raw_request
from .proxyd import SANITIZER_RE, binary_has_sanitizer, deep_merge, to_yaml
from .util import TestFailure

ADMIN_RE = re.compile(r"listener admin addr=(\S+)")
WEB_RE = re.compile(r"listener entrypoint=web addr=(\S+)")
SECRET = "concord-it-cluster-secret-0123456789abcdef"
TOKEN = "concord-it-admin-token"


def api_config(host, url, router="viaapi", service="backend"):
    """A Traefik dynamic config (YAML) with one router Host(`host`) -> one server `url`."""
    return ("http:\n"
            "  routers:\n"
            "    %s:\n"
            "      rule: \"Host(`%s`)\"\n"
            "      service: %s\n"
            "      entryPoints: [web]\n"
            "  services:\n"
            "    %s:\n"
            "      loadBalancer:\n"
            "        servers:\n"
            "          - url: \"%s\"\n" % (router, host, service, service, url))


def config_rule(doc, router="viaapi"):
    """The rule of `router` in a GET /api/cluster/config/{ns} answer (None when absent)."""
    for c in doc.get("contributions") or []:
        r = ((c.get("config") or {}).get("http") or {}).get("routers") or {}
        if router in r:
            return r[router].get("rule")
    return None


class Node:
    """One proxyd of the cluster. `bootstrap` (list of "id=addr") or `join` (admin address)."""

    def __init__(self, cluster, node_id, raft_port, bootstrap=None, join=None, secret_file=None,
                 env=None, provider=None):
        self.cluster = cluster
        self.id = node_id
        self.raft_address = "127.0.0.1:%d" % raft_port
        self.bootstrap = bootstrap
        self.join = join
        self.secret_file = secret_file or cluster.secret_file
        self.env = dict(env or {})
        self.provider = provider  # dynamic YAML text for a file provider, or None
        self.dir = os.path.join(cluster.tmpdir, node_id)
        self.data_dir = os.path.join(self.dir, "data")
        os.makedirs(self.dir, exist_ok=True)
        self.proc = None
        self.admin = None  # "127.0.0.1:PORT"
        self.web = None  # (host, port)
        self.starts = 0
        self.logs = []
        self.exits = []  # (how, rc) per finished process
        self.killed = False  # last process ended by SIGKILL on purpose

    # ---- configuration / lifecycle -------------------------------------------------------
    def _write_static(self):
        cl = {"nodeId": self.id, "dataDir": self.data_dir, "raftAddress": self.raft_address,
              "secretFile": self.secret_file}
        if self.join:
            cl["join"] = self.join
        elif self.bootstrap:
            cl["bootstrap"] = list(self.bootstrap)
        st = {"entryPoints": {"web": {"address": "127.0.0.1:0"}},
              "cluster": cl,
              "admin": {"address": "127.0.0.1:0", "tokenFile": self.cluster.token_file}}
        if self.provider is not None:
            dyn = os.path.join(self.dir, "dynamic.yaml")
            with open(dyn, "w") as f:
                f.write(self.provider)
            st["providers"] = {"file": {"filename": dyn}}
        st = deep_merge(st, getattr(self.cluster, "static_extra", {}))
        st = deep_merge(st, getattr(self.cluster, "node_static", {}).get(self.id, {}))
        path = os.path.join(self.dir, "static.yaml")
        with open(path, "w") as f:
            f.write(to_yaml(st) + "\n")
        return path

    def start(self, wait=True, args=()):
        if self.alive():
            raise TestFailure("%s is already running" % self.id)
        static = self._write_static()
        self.starts += 1
        log = os.path.join(self.dir, "stderr.%d.log" % self.starts)
        self.logs.append(log)
        env = dict(os.environ)
        env.update(self.env)
        with open(log, "wb") as errf, open(os.path.join(self.dir, "stdout.log"), "ab") as outf:
            self.proc = subprocess.Popen([self.cluster.binary, "--config", static] + list(args),
                                         stdin=subprocess.DEVNULL, stdout=outf, stderr=errf,
                                         cwd=self.dir, env=env, start_new_session=True)
        self.killed = False
        self.admin = self.web = None
        pidfile = os.environ.get("CONCORD_IT_PIDFILE")
        if pidfile:
            with open(pidfile, "a") as f:
                f.write("%d\n" % self.proc.pid)
        self._wait_listeners()
        if wait:
            self.wait_ready()
        return self

    def _wait_listeners(self):
        def found():
            text = self.last_log()
            a, w = ADMIN_RE.search(text), WEB_RE.search(text)
            if a and w:
                host, _, port = w.group(1).rpartition(":")
                self.admin, self.web = a.group(1), (host.strip("[]"), int(port))
                return True
            if self.proc.poll() is not None:
                raise TestFailure("%s exited (rc=%s) before logging its listeners: %s"
                                  % (self.id, self.proc.returncode, self.tail()))
            return False
        util.wait_until(found, self.cluster.t(15), 0.01, "%s's listener lines" % self.id)

    def wait_ready(self, timeout=None):
        """Until /ping answers 200 (a leader is known and a committed table is served)."""
        def ready():
            if self.proc.poll() is not None:
                raise TestFailure("%s exited (rc=%s) while starting: %s"
                                  % (self.id, self.proc.returncode, self.tail()))
            return self.ping() == 200
        util.wait_until(ready, timeout or self.cluster.t(20), 0.02, "%s /ping 200" % self.id)

    def ping(self):
        try:
            with urllib.request.urlopen("http://%s/ping" % self.admin, timeout=2) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except (OSError, ValueError):
            return None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        if self.alive():
            self.killed = True
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.exits.append(("kill9", self.proc.returncode))

    def stop(self, timeout=None):
        """SIGTERM and wait; returns the exit code (SIGKILL after the timeout: returns None)."""
        if not self.alive():
            return self.proc.returncode if self.proc else None
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout or self.cluster.t(15))
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.exits.append(("term-timeout", None))
            return None
        self.exits.append(("term", rc))
        return rc

    def wipe(self):
        """Empties the data dir (the node must be stopped)."""
        shutil.rmtree(self.data_dir, ignore_errors=True)

    # ---- logs ----------------------------------------------------------------------------
    @staticmethod
    def _read(path):
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def last_log(self):
        return self._read(self.logs[-1]) if self.logs else ""

    def log_text(self):
        return "".join(self._read(p) for p in self.logs)

    def tail(self, n=10):
        return " // ".join(self.last_log().splitlines()[-n:])

    # ---- admin API -----------------------------------------------------------------------
    def api(self, method, path, body=None, timeout=None, token=True, ctype=None):
        """(status, parsed JSON or text); status None when the node cannot be reached."""
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request("http://%s%s" % (self.admin, path), data=data, method=method)
        if token:
            req.add_header("Authorization", "Bearer " + TOKEN)
        if data is not None:
            req.add_header("Content-Type", ctype or "application/yaml")
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.cluster.t(10)) as r:
                return r.status, _decode(r.read())
        except urllib.error.HTTPError as e:
            return e.code, _decode(e.read())
        except (OSError, ValueError) as e:
            return None, str(e)

    def status(self, stale=False):
        st, body = self.api("GET", "/api/cluster/status" + ("?stale=true" if stale else ""))
        return body if st == 200 and isinstance(body, dict) else None

    def put_config(self, text, ns="api", timeout=None, query=""):
        return self.api("PUT", "/api/cluster/config/%s%s" % (ns, query), text, timeout=timeout)

    def get_config(self, ns="api", stale=True):
        st, body = self.api("GET", "/api/cluster/config/%s%s"
                            % (ns, "?stale=true" if stale else ""))
        return body if st == 200 else None

    # ---- data plane ----------------------------------------------------------------------
    def get(self, host, path="/", timeout=5.0):
        """A GET on the node's web entrypoint: (status, body bytes); (None, error) on failure."""
        raw = "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host)
        try:
            r, c = raw_request(self.web, raw.encode(), timeout=timeout)
            c.close()
            return r.status, bytes(r.body)
        except (OSError, TestFailure) as e:
            return None, str(e)

    def serves(self, host, backend_name):
        st, body = self.get(host)
        if st != 200:
            return False
        try:
            return json.loads(body).get("backend") == backend_name
        except ValueError:
            return False


def _decode(b):
    try:
        return json.loads(b)
    except ValueError:
        return b.decode("utf-8", "replace")


class Cluster:
    """N nodes n1..nN bootstrapped together. `providers`: {index: dynamic YAML} for nodes that
    also run a file provider. `env`: extra environment for every node."""

    def __init__(self, n=3, binary=None, env=None, providers=None, static_extra=None,
                 node_static=None):
        self.static_extra = dict(static_extra or {})  # merged into every node's static YAML
        self.node_static = dict(node_static or {})  # {"n1": {...}}: merged into one node's
        self.binary = os.path.abspath(binary or util.proxyd_path())
        self.n = n
        self.env = dict(env or {})
        self.providers = dict(providers or {})
        self.slow = 4.0 if binary_has_sanitizer(self.binary) else 1.0
        self.nodes = []
        self.tmpdir = None
        self.backends = {}

    def t(self, seconds):
        """A deadline scaled for the build (ASan is several times slower)."""
        return seconds * self.slow

    @property
    def sanitized(self):
        return self.slow > 1.0

    # ---- lifecycle -----------------------------------------------------------------------
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.teardown(keep=True)
            raise
        return self

    def __exit__(self, et, ev, tb):
        problems = self.teardown(keep=et is not None)
        if et is not None and issubclass(et, TestFailure) and not problems:
            raise TestFailure("%s (logs kept in %s)" % (ev, self.tmpdir)) from None
        if problems:
            if et is None:
                raise TestFailure("; ".join(problems))
            if issubclass(et, TestFailure):
                raise TestFailure("%s; also: %s" % (ev, "; ".join(problems))) from None
        return False

    def start(self):
        if not os.path.isfile(self.binary):
            raise TestFailure("proxyd binary not found: %s" % self.binary)
        self.tmpdir = tempfile.mkdtemp(prefix="concord-cluster-")
        self.secret_file = self.write_file("cluster.secret", SECRET + "\n")
        self.token_file = self.write_file("admin.token", TOKEN + "\n")
        ports = self._ports(self.n)
        boot = ["n%d=127.0.0.1:%d" % (i + 1, p) for i, p in enumerate(ports)]
        for i, p in enumerate(ports):
            self.nodes.append(Node(self, "n%d" % (i + 1), p, bootstrap=boot, env=self.env,
                                   provider=self.providers.get(i)))
        # Start every process first, then wait: a node is ready only once a quorum runs.
        for nd in self.nodes:
            nd.start(wait=False)
        for nd in self.nodes:
            nd.wait_ready()
        self.wait_formed()
        return self

    def wait_formed(self, timeout=None):
        """Until every live node sees one leader and a member record with an admin address for
        every live node. /ping 200 alone is not enough for writes: right after a bootstrap the
        members' records (which followers need to forward a write) are still being committed."""
        def formed():
            live = self.live()
            want = set(self.nodes[i].id for i in live)
            for i in live:
                st = self.status(i)
                if not st or not st.get("leader"):
                    return False
                have = set(m["id"] for m in st["members"] if m.get("adminAddress"))
                if not want <= have:
                    return False
            return True
        util.wait_until(formed, timeout or self.t(15), 0.02, "the cluster to form")

    def _ports(self, n):
        taken = set(int(nd.raft_address.rsplit(":", 1)[1]) for nd in self.nodes)
        out = []
        while len(out) < n:
            p = util.free_port()
            if p not in taken and p not in out:
                out.append(p)
        return out

    def write_file(self, name, text):
        path = os.path.join(self.tmpdir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        return path

    def backend(self, name):
        """A started HttpBackend named `name` (stopped in teardown)."""
        from .backend import HttpBackend
        if name not in self.backends:
            self.backends[name] = HttpBackend(name).start()
        return self.backends[name]

    def teardown(self, keep=False):
        """Stops every node (SIGTERM, then SIGKILL) and backend; returns the problems found: a
        node that died unexpectedly, a bad exit code, a sanitizer report."""
        problems = []
        for nd in self.nodes:
            if nd.proc is None:
                continue
            if nd.proc.poll() is not None and not nd.killed and not nd.exits:
                problems.append("%s died during the test (rc=%s): %s"
                                % (nd.id, nd.proc.returncode, nd.tail()))
            elif nd.alive():
                rc = nd.stop()
                if rc != 0:
                    problems.append("%s exit code %s after SIGTERM: %s" % (nd.id, rc, nd.tail()))
            san = [l for l in nd.log_text().splitlines() if SANITIZER_RE.search(l)]
            if san:
                problems.append("sanitizer report in %s's stderr: %s"
                                % (nd.id, " // ".join(san[:3])))
        for b in self.backends.values():
            try:
                b.stop()
            except Exception:
                pass
        if self.tmpdir and not os.environ.get("CONCORD_KEEP_TMP") and not problems and not keep:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        elif self.tmpdir and problems:
            problems.append("logs kept in %s" % self.tmpdir)
        return problems

    def kill9(self, i):
        self.nodes[i].kill9()

    def stop(self, i):
        return self.nodes[i].stop()

    def restart(self, i, wait=True, args=()):
        nd = self.nodes[i]
        if nd.alive():
            nd.stop()
        return nd.start(wait=wait, args=args)

    def add_node(self, via=None, secret_file=None, start=True, wait=True, env=None,
                 node_id=None):
        """A new node that joins through member `via` (an index, default the first live one)."""
        if via is None:
            via = self.live()[0]
        nd = Node(self, node_id or "n%d" % (len(self.nodes) + 1), self._ports(1)[0],
                  join=self.nodes[via].admin, secret_file=secret_file,
                  env=dict(self.env, **(env or {})))
        self.nodes.append(nd)
        if start:
            nd.start(wait=wait)
        return nd

    def member(self, i, node_id):
        """Node `node_id`'s record in node i's GET /api/cluster/members, or None."""
        st, body = self.nodes[i].api("GET", "/api/cluster/members")
        if st != 200:
            return None
        mine = [m for m in body["members"] if m["id"] == node_id]
        return mine[0] if mine else None

    def wait_voter(self, node_id, timeout=None):
        """Until every live node lists `node_id` as a voter (a joining node answers /ping
        before its promotion: it is a spare while it catches up)."""
        def voter():
            for i in self.live():
                m = self.member(i, node_id)
                if not m or m["role"] != "voter":
                    return False
            return True
        util.wait_until(voter, timeout or self.t(20), 0.05, "%s to be a voter" % node_id)

    def live(self):
        return [i for i, nd in enumerate(self.nodes) if nd.alive()]

    def index(self, node_id):
        for i, nd in enumerate(self.nodes):
            if nd.id == node_id:
                return i
        return None

    # ---- cluster state -------------------------------------------------------------------
    def status(self, i, stale=True):
        return self.nodes[i].status(stale=stale)

    def leader(self, among=None):
        """The index of the node that says it is the leader (its own status answers leader ==
        itself), or None."""
        for i in (among if among is not None else self.live()):
            st = self.status(i)
            if st and st.get("leader") == self.nodes[i].id:
                return i
        return None

    def wait_leader(self, timeout=None, exclude=()):
        """Until a live node not in `exclude` leads and every live node agrees on it."""
        def agreed():
            live = [i for i in self.live()]
            li = self.leader([i for i in live if i not in exclude])
            if li is None:
                return None
            for i in live:
                st = self.status(i)
                if not st or st.get("leader") != self.nodes[li].id:
                    return None
            return li + 1  # 0 is a valid index: keep the value true
        return util.wait_until(agreed, timeout or self.t(15), 0.02, "an agreed leader") - 1

    def put_config(self, i, text, ns="api", timeout=None, query=""):
        return self.nodes[i].put_config(text, ns=ns, timeout=timeout, query=query)

    def put_until_ok(self, text, timeout=None, via=None):
        """PUTs through live nodes in turn until one answers 200 (a new leader may still be
        settling). Returns the answer body."""
        last = []

        def attempt():
            for i in ([via] if via is not None else self.live()):
                st, body = self.put_config(i, text)
                if st == 200:
                    return body
                last[:] = [i, st, body]
            return None
        return util.wait_until(attempt, timeout or self.t(15), 0.05,
                               "a config write to succeed (last: %r)" % (last,))

    def wait_served(self, i, host, backend_name, timeout=None):
        util.wait_until(lambda: self.nodes[i].serves(host, backend_name), timeout or self.t(10),
                        0.02, "%s to serve %s from %s" % (self.nodes[i].id, host, backend_name))

    def wait_caught_up(self, i, timeout=None):
        """Until node i's tableGeneration and appliedIndex reach the leader's commit index."""
        def done():
            li = self.leader()
            if li is None:
                return False
            lst, st = self.status(li), self.status(i)
            if not lst or not st:
                return False
            mine = [m for m in st["members"] if m["id"] == self.nodes[i].id]
            return (st["appliedIndex"] >= lst["commitIndex"] and mine
                    and mine[0]["tableGeneration"] >= _table_gen(lst, self.nodes[li].id))
        util.wait_until(done, timeout or self.t(20), 0.05, "%s to catch up" % self.nodes[i].id)


def _table_gen(st, node_id):
    for m in st.get("members") or []:
        if m["id"] == node_id:
            return m.get("tableGeneration") or 0
    return 0


class Hammer:
    """A client thread sending GETs for `host` to the given nodes' data planes in a loop until
    stop(); records every (node id, status) that was not a 200 served by `backend_name`."""

    def __init__(self, nodes, host, backend_name):
        self.nodes = list(nodes)
        self.host = host
        self.backend_name = backend_name
        self.count = 0
        self.bad = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _run(self):
        while not self._stop.is_set() and self.count < 1000000:
            for nd in self.nodes:
                st, body = nd.get(self.host)
                self.count += 1
                ok = False
                if st == 200:
                    try:
                        ok = json.loads(body).get("backend") == self.backend_name
                    except ValueError:
                        pass
                if not ok:
                    self.bad.append((nd.id, st, body[:120] if body else body))

    def stop(self):
        self._stop.set()
        self.thread.join(timeout=30)
        return self


def snapshot_indexes(data_dir):
    """The indexes of the libraft snapshots in a data dir (files snapshot-TERM-INDEX-STAMP)."""
    out = []
    try:
        names = os.listdir(data_dir)
    except OSError:
        return out
    for n in names:
        m = re.match(r"snapshot-(\d+)-(\d+)-(\d+)$", n)
        if m:
            out.append(int(m.group(2)))
    return sorted(out)


class Writer:
    """A thread PUTting distinct configs (router host w<k>.test) through random live nodes of
    `cluster` until stop(); `acked` lists (k, index) for every write answered 200."""

    def __init__(self, cluster, url, rng, lock):
        self.cluster = cluster
        self.url = url
        self.rng = rng
        self.lock = lock  # held by the chaos loop while it kills or starts a node
        self.acked = []
        self.failed = 0
        self.k = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _run(self):
        while not self._stop.is_set() and self.k < 100000:
            with self.lock:
                live = [nd for nd in self.cluster.nodes if nd.alive() and nd.admin]
                nd = self.rng.choice(live) if live else None
            if nd is None:
                self._stop.wait(0.01)
                continue
            self.k += 1
            k = self.k
            st, body = nd.put_config(api_config("w%d.test" % k, self.url),
                                     timeout=self.cluster.t(5))
            if st == 200 and isinstance(body, dict):
                self.acked.append((k, body["index"]))
            else:
                self.failed += 1
                self._stop.wait(0.01)  # pacing only: no election is waited for here

    def stop(self):
        self._stop.set()
        self.thread.join(timeout=self.cluster.t(30))
        return self


def chaos(cluster, rounds, rng, log=None):
    """`rounds` of kill -9 + restart of a random node (every third round the leader) while a
    Writer runs; then checks that no acknowledged write was lost. Returns a summary dict;
    raises TestFailure on a violation."""
    be = cluster.backend("A")
    lock = threading.Lock()
    w = Writer(cluster, be.url, rng, lock).start()
    leader_kills = 0
    try:
        for rnd in range(rounds):
            li = cluster.leader()
            if rnd % 3 == 0 and li is not None:
                victim = li
                leader_kills += 1
            else:
                victim = rng.randrange(len(cluster.nodes))
            with lock:
                cluster.kill9(victim)
            # Let some writes land (or fail) while the node is down, then bring it back.
            n0 = len(w.acked)
            util.poll_until(lambda: len(w.acked) >= n0 + 2, cluster.t(3), 0.01)
            with lock:
                cluster.nodes[victim].start(wait=False)
            cluster.nodes[victim].wait_ready(cluster.t(30))
            if log:
                log("round %d: killed %s%s, acked %d, failed %d"
                    % (rnd + 1, cluster.nodes[victim].id, " (leader)" if victim == li else "",
                       len(w.acked), w.failed))
    finally:
        w.stop()
    # Final state. The writer is sequential, so the stored config must be the last
    # acknowledged write or a LATER one (an unacknowledged write may still have committed),
    # never an earlier one; every node must have applied every acknowledged index.
    li = cluster.wait_leader(cluster.t(30))
    for i in range(len(cluster.nodes)):
        cluster.wait_caught_up(i, cluster.t(30))
    util.check(w.acked, "no write was acknowledged in %d rounds" % rounds)
    top = max(ix for _, ix in w.acked)
    last_k = w.acked[-1][0]
    for i, nd in enumerate(cluster.nodes):
        st = nd.status(stale=True)
        util.check(st and st["appliedIndex"] >= top,
                   "%s applied %s < acknowledged index %d" % (nd.id, st and st["appliedIndex"],
                                                              top))
        doc = nd.get_config(stale=True)
        rule = doc and config_rule(doc)
        m = re.match(r"Host\(`w(\d+)\.test`\)$", rule or "")
        util.check(m and last_k <= int(m.group(1)) <= w.k,
                   "%s's config is %r; the last acknowledged write is w%d.test (last sent w%d)"
                   % (nd.id, rule, last_k, w.k))
        if w.k == last_k:
            util.check(int(m.group(1)) == last_k, "%s: final config %r" % (nd.id, rule))
    idx = [ix for _, ix in w.acked]
    util.check(len(set(idx)) == len(idx), "two acknowledged writes share an index: %r"
               % sorted(ix for ix in idx if idx.count(ix) > 1)[:6])
    util.check(idx == sorted(idx), "acknowledged indexes go backwards: %r" % idx[-10:])
    final = cluster.put_until_ok(api_config("final.test", be.url))
    for i in range(len(cluster.nodes)):
        cluster.wait_served(i, "final.test", "A", cluster.t(10))
    return {"rounds": rounds, "leader_kills": leader_kills, "acked": len(w.acked),
            "failed": w.failed, "top_index": top, "final_index": final["index"],
            "last_acked_k": last_k, "last_k": w.k, "leader": cluster.nodes[li].id}
