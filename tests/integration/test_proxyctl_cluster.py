"""proxyctl's cluster commands end to end against ONE real proxyd (a one-node cluster):
status, member list, config apply/get/diff/delete through the admin cluster API with the
routes then served by the data plane, compare-and-set and config errors, snapshot save."""

import json
import os
import re
import socket
import subprocess

from lib.backend import HttpBackend
from lib.check import Env
from lib.client import Client
from lib.util import Skip, check, proxyctl_path

ADMIN_RES = (re.compile(r"listener admin addr=(\S+)"), re.compile(r"admin listening on (\S+)"))


def need_cluster_api():
    pass  # the API exists from issue 4 on


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cluster_env(**kw):
    """One backend A (an HttpBackend) and a one-node cluster whose raft address is a free port
    (a fixed raft port would collide between tests running side by side)."""
    static = {"cluster": {"raftAddress": "127.0.0.1:%d" % free_port()}}
    return Env(backends={"A": HttpBackend("A")}, static_extra=static, **kw)


class Ctl:
    """proxyctl against the env's admin endpoint with its generated token."""

    def __init__(self, env):
        text = env.px.stderr_text()
        m = None
        for r in ADMIN_RES:
            m = m or r.search(text)
        check(m is not None, "no admin listener line in the log")
        self.endpoint = m.group(1)
        self.token = os.path.join(env.px.tmpdir, "data", "admin.token")
        self.tmp = env.px.tmpdir  # removed when proxyd stops

    def __call__(self, *args):
        exe = proxyctl_path()
        if not os.path.exists(exe):
            raise Skip("proxyctl not built at %s" % exe)
        p = subprocess.run([exe, "--endpoints", self.endpoint, "--token-file", self.token]
                           + list(args), capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def json(self, *args):
        rc, out, err = self("-o", "json", *args)
        check(rc == 0, "%s: rc %d, stderr %r" % (" ".join(args), rc, err))
        return json.loads(out)

    def file(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path


def api_config(host, url, rule=None):
    return ("http:\n"
            "  routers:\n"
            "    viaapi:\n"
            "      rule: \"%s\"\n"
            "      service: backend\n"
            "      entryPoints: [web]\n"
            "  services:\n"
            "    backend:\n"
            "      loadBalancer:\n"
            "        servers:\n"
            "          - url: \"%s\"\n" % (rule or "Host(`%s`)" % host, url))


def get(env, host, path="/"):
    with Client(env.addr) as c:
        c.send(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, host)).encode())
        return c.read_response(method=b"GET")


def test_cluster_status_and_members():
    need_cluster_api()
    with cluster_env() as env:
        ctl = Ctl(env)
        st = ctl.json("status")
        ms = st["members"]
        check(len(ms) == 1 and ms[0]["role"] == "voter" and ms[0]["state"] == "leader",
              "members: %r" % ms)
        check(st["leader"] == ms[0]["id"] and st["node"] == ms[0]["id"], "leader: %r" % st)
        check(ms[0]["reachable"] is True and ms[0]["tableGeneration"] > 0,
              "member: %r" % ms[0])
        rc, out, err = ctl("status")
        lines = out.splitlines()
        check(rc == 0 and lines[0].startswith("leader: %s  term: " % ms[0]["id"]),
              "status table: rc %d, %r, %r" % (rc, out, err))
        check(lines[1].split() == ["ID", "ROLE", "STATE", "REACHABLE", "APPLIED", "COMMIT",
                                   "TABLE-GEN", "RAFT", "ADMIN"], "header: %r" % lines[1])
        check(lines[2].split()[:4] == [ms[0]["id"], "voter", "leader", "true"],
              "row: %r" % lines[2])
        rc, out, err = ctl("member", "list")
        rows = [l.split() for l in out.splitlines() if l.strip()]
        check(rc == 0 and rows[0] == ["ID", "ROLE", "RAFT", "ADMIN", "VERSION"]
              and len(rows) == 2 and rows[1][:2] == [ms[0]["id"], "voter"],
              "member list: rc %d, %r" % (rc, out))
        check(len(ctl.json("member", "list")["members"]) == 1, "member list -o json")


def test_cluster_config_apply_get_serves_and_deletes():
    need_cluster_api()
    with cluster_env() as env:
        ctl = Ctl(env)
        check(get(env, "viaapi.test").status == 404, "route exists before apply")
        f = ctl.file("api.yaml", api_config("viaapi.test", env.A.url))
        rc, out, err = ctl("config", "apply", "-f", f, "--revision", "0", "--wait")
        m = re.match(r"applied namespace api at revision (\d+)\n$", out)
        check(rc == 0 and m, "apply: rc %d, %r, %r" % (rc, out, err))
        rev = int(m.group(1))
        r = get(env, "viaapi.test", "/hello")
        check(r.status == 200 and json.loads(r.body)["backend"] == "A",
              "the applied route is not served: %r" % r)
        doc = ctl.json("config", "get")
        check(doc["namespace"] == "api" and doc["revision"] == rev
              and len(doc["contributions"]) == 1, "config get -o json: %r" % doc)
        cfg = doc["contributions"][0]["config"]
        check(cfg["http"]["routers"]["viaapi"]["rule"] == "Host(`viaapi.test`)",
              "stored config: %r" % cfg)
        rc, out, err = ctl("config", "get")
        check(rc == 0 and "Host(`viaapi.test`)" in out, "config get: rc %d, %r" % (rc, out))
        # What `config get` prints is YAML that `config apply` takes back unchanged.
        back = ctl.file("back.yaml", out)
        rc, out, err = ctl("config", "diff", "-f", back)
        check(rc == 0 and out == "", "get output differs from the cluster: rc %d, %r" % (rc, out))
        rc, out, err = ctl("config", "delete", "--wait")
        check(rc == 0 and out.startswith("deleted namespace api"),
              "delete: rc %d, %r, %r" % (rc, out, err))
        doc = ctl.json("config", "get")
        check(doc["revision"] == 0 and doc["contributions"] == [], "after delete: %r" % doc)
        check(get(env, "viaapi.test").status == 404, "route still served after delete --wait")


def test_cluster_config_revision_conflict():
    need_cluster_api()
    with cluster_env() as env:
        ctl = Ctl(env)
        f = ctl.file("api.yaml", api_config("cas.test", env.A.url))
        rc, out, err = ctl("config", "apply", "-f", f)
        check(rc == 0, "first apply: rc %d, %r" % (rc, err))
        rev = int(out.split()[-1])
        rc, out, err = ctl("config", "apply", "-f", f, "--revision", str(rev + 1000))
        check(rc == 1 and "409" in err and ("current revision is %d" % rev) in err,
              "wrong revision: rc %d, %r" % (rc, err))
        rc, out, err = ctl("config", "apply", "-f", f, "--revision", "0")
        check(rc == 1 and "409" in err, "revision 0 on an existing namespace: rc %d, %r"
              % (rc, err))
        rc, out, err = ctl("config", "delete", "--revision", str(rev + 1000))
        check(rc == 1 and "409" in err, "delete with a wrong revision: rc %d, %r" % (rc, err))
        rc, out, err = ctl("config", "apply", "-f", f, "--revision", str(rev))
        check(rc == 0, "apply at the current revision: rc %d, %r" % (rc, err))


def test_cluster_config_invalid_rule_refused_unless_forced():
    need_cluster_api()
    with cluster_env() as env:
        ctl = Ctl(env)
        f = ctl.file("bad.yaml", api_config("bad.test", env.A.url, rule="Host(`bad.test`"))
        before = ctl.json("status")["members"][0]["tableGeneration"]
        rc, out, err = ctl("config", "apply", "-f", f)
        check(rc == 1 and "422" in err and "rule" in err,
              "an invalid rule: rc %d, %r" % (rc, err))
        check(ctl.json("config", "get")["revision"] == 0, "a refused config was stored")
        # refused on the leader before the append: no configuration entry was applied (reads
        # add barrier entries to the log, so its length is not the measure)
        after = ctl.json("status")["members"][0]["tableGeneration"]
        check(after == before, "a refused proposal changed the state: %d -> %d" % (before, after))
        rc, out, err = ctl("config", "apply", "-f", f, "--force", "--wait")
        check(rc == 0 and out.startswith("applied namespace api"),
              "--force: rc %d, %r, %r" % (rc, out, err))
        check(ctl.json("config", "get")["revision"] > 0, "a forced config was not stored")


def test_cluster_config_diff():
    need_cluster_api()
    with cluster_env() as env:
        ctl = Ctl(env)
        text = api_config("diff.test", env.A.url)
        f = ctl.file("api.yaml", text)
        rc, out, err = ctl("config", "diff", "-f", f)
        check(rc == 1 and "+ http.routers.viaapi.rule: \"Host(`diff.test`)\"" in out
              and "-" not in [l[:1] for l in out.splitlines()],
              "diff against an empty namespace: rc %d, %r" % (rc, out))
        rc, out, err = ctl("config", "apply", "-f", f)
        check(rc == 0, "apply: rc %d, %r" % (rc, err))
        rc, out, err = ctl("config", "diff", "-f", f)
        check(rc == 0 and out == "", "diff of the applied file: rc %d, %r, %r" % (rc, out, err))
        g = ctl.file("other.yaml", text.replace("diff.test", "other.test"))
        rc, out, err = ctl("config", "diff", "-f", g)
        check(rc == 1 and out.splitlines() == [
            "- http.routers.viaapi.rule: \"Host(`diff.test`)\"",
            "+ http.routers.viaapi.rule: \"Host(`other.test`)\""],
            "diff of a changed rule: rc %d, %r" % (rc, out))


def test_cluster_snapshot_save():
    need_cluster_api()
    with cluster_env() as env:
        ctl = Ctl(env)
        path = os.path.join(ctl.tmp, "state.snap")
        rc, out, err = ctl("snapshot", "save", path)
        size = os.path.getsize(path) if os.path.exists(path) else -1
        check(rc == 0 and size > 0 and out == "saved snapshot (%d bytes) to %s\n" % (size, path),
              "snapshot save: rc %d, %r, %r, size %d" % (rc, out, err, size))
        check(not os.path.exists(path + ".tmp"), "snapshot save left its .tmp file")


def test_cluster_route_explain_live():
    """Without --config, route explain asks the node: its live table decides, also for
    config applied through the API (which no file on disk holds)."""
    with cluster_env() as env:
        ctl = Ctl(env)
        path = ctl.file("api.yaml", api_config("live.test", env.be["A"].url))
        rc, out, err = ctl("config", "apply", "-f", path)
        check(rc == 0, "apply: %d %r" % (rc, err))
        rc, out, err = ctl("route", "explain", "GET", "http://live.test/x")
        check(rc == 0, "explain: %d %r" % (rc, err))
        doc = json.loads(out)
        check(doc["router"] == "viaapi@api" and doc["service"] == "backend@api",
              "explain: %r" % doc)
        check(doc["tableGeneration"] > 0 and doc["candidates"][-1]["matched"] is True,
              "explain: %r" % doc)
        rc, out, err = ctl("route", "explain", "--header", "Host: other.test", "GET", "/")
        doc = json.loads(out)
        check(rc == 0 and doc["router"] is None, "no match: %d %r" % (rc, out))
        rc, out, err = ctl("route", "explain", "--entrypoint", "nope", "GET", "http://a/")
        check(rc == 1 and "entry point" in err, "bad entry point: %d %r" % (rc, err))


def test_cluster_users_file_travels_in_the_proposal():
    """basicAuth.usersFile is read by the proposing node and its content is carried in the
    entry: once applied, the route keeps authenticating after the file is gone from disk and
    the table has been rebuilt (DESIGN.md "Files referenced from config")."""
    with cluster_env() as env:
        ctl = Ctl(env)
        users = ctl.file("users.htpasswd",
                         "# one user\nu:$2b$04$abcdefghijklmnopqrstuuzHQ8m4CjsGQzbsANLXy/iqXJ57cNNAW\n")
        cfg = api_config("auth.test", env.be["A"].url).replace(
            "      entryPoints: [web]\n",
            "      entryPoints: [web]\n      middlewares: [auth]\n") + (
            "  middlewares:\n"
            "    auth:\n"
            "      basicAuth:\n"
            "        usersFile: \"%s\"\n" % users)
        rc, out, err = ctl("config", "apply", "-f", ctl.file("auth.yaml", cfg))
        check(rc == 0, "apply: %d %r" % (rc, err))
        os.unlink(users)
        # another namespace's write rebuilds the table from the state
        rc, out, err = ctl("config", "apply", "--namespace", "other", "-f",
                           ctl.file("other.yaml", api_config("other.test", env.be["A"].url)))
        check(rc == 0, "apply other: %d %r" % (rc, err))

        def req(auth):
            with Client(env.addr) as c:
                c.send(("GET / HTTP/1.1\r\nHost: auth.test\r\n%s\r\n" % auth).encode())
                return c.read_response(method=b"GET")
        check(req("").status == 401, "no credentials: 401")
        r = req("Authorization: Basic dTpmYXN0\r\n")
        check(r.status == 200, "the carried users file still authenticates: %s" % r.status)



def test_cluster_put_never_reads_the_nodes_files():
    """A config written through the API names a usersFile: the node must not read that path on
    its own disk (it would put any readable file, the admin token here, into the replicated
    state and the snapshot). Without the file in the request, the middleware is an error."""
    import urllib.error
    import urllib.request
    with cluster_env() as env:
        ctl = Ctl(env)
        token = open(ctl.token).read().strip()
        cfg = api_config("leak.test", env.be["A"].url).replace(
            "      entryPoints: [web]\n",
            "      entryPoints: [web]\n      middlewares: [auth]\n") + (
            "  middlewares:\n    auth:\n      basicAuth:\n        usersFile: \"%s\"\n" % ctl.token)

        def put(query):
            req = urllib.request.Request(
                "http://%s/api/cluster/config/api%s" % (ctl.endpoint, query), method="PUT",
                data=cfg.encode(), headers={"Authorization": "Bearer " + token})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    return r.status, r.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode()
        st, body = put("")
        check(st == 422 and "did not carry" in body, "strict: %d %s" % (st, body))
        st, body = put("?force=true")
        check(st == 200, "forced: %d %s" % (st, body))
        snap = ctl.file("state.snap", "")
        rc, out, err = ctl("snapshot", "save", snap)
        check(rc == 0, "snapshot save: %d %r" % (rc, err))
        check(token.encode() not in open(snap, "rb").read(), "the node's token is in the state")
