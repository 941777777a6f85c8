"""The Docker provider (providers.docker) against a real Docker Engine started by the harness
(lib/dockerd.py): containers with labels become routers that every node of a 3-node cluster
serves, though only n1 runs the provider (its contribution goes through Raft); a removed
container's routes go; a daemon outage keeps the routes and shows the error, and changes flow
again once the daemon is back. The containers run busybox httpd on host networking, so their
server is n1's advertised host (127.0.0.1) and the port their label names."""

import http.server
import json
import os
import shutil
import socketserver
import subprocess
import tempfile
import threading

from lib import util
from lib.backend import HttpBackend
from lib.cluster import Cluster
from lib.dockerd import Dockerd, free_port
from lib.util import check, proxyctl_path

THROTTLE = {"providers": {"providersThrottleDuration": "200ms"}}


def docker_cluster(dk):
    return Cluster(3, static_extra=THROTTLE,
                   node_static={"n1": {"providers": {"docker": {"endpoint": dk.endpoint}}}})


def labels(router, host, port, **extra):
    out = {"traefik.http.routers.%s.rule" % router: "Host(`%s`)" % host,
           "traefik.http.services.%s.loadbalancer.server.port" % router: str(port)}
    out.update(extra)
    return out


def run(dk, name, router, host, **extra):
    port = free_port()
    return dk.run_httpd(name, labels(router, host, port, **extra), port=port,
                        files={"who.txt": "%s\n" % name})


def wait_file(c, host, want):
    """Every node answers `want` for host/who.txt through its entry point."""
    body = (want + "\n").encode()
    for nd in c.nodes:
        if not util.poll_until(lambda: nd.get(host, "/who.txt") == (200, body), c.t(15), 0.05):
            util.fail("%s does not serve %s from the container: %r; its docker routers: %r"
                      % (nd.id, host, nd.get(host, "/who.txt"), sorted(docker_routers(nd))))


def wait_gone(c, host):
    for nd in c.nodes:
        util.wait_until(lambda: nd.get(host, "/who.txt")[0] == 404, c.t(15), 0.05,
                        "%s to stop serving %s" % (nd.id, host))


def docker_routers(node):
    doc = node.get_config("docker") or {}
    names = set()
    for contrib in doc.get("contributions") or []:
        names.update((((contrib.get("config") or {}).get("http") or {}).get("routers") or {}))
    return names


def docker_field(node, field):
    """A field ("error", "skipped") of n1's docker provider in `node`'s cluster status."""
    st = node.status(stale=False) or {}
    for p in st.get("providers") or []:
        if p.get("name") == "docker":
            return p.get(field)
    return None


def docker_error(node):
    st = node.status(stale=False) or {}
    for p in st.get("providers") or []:
        if p.get("name") == "docker":
            return p.get("error")
    return None


def test_docker_containers_served_by_every_node():
    with Dockerd() as dk, docker_cluster(dk) as c:
        run(dk, "web-1", "web", "web.docker.test")
        wait_file(c, "web.docker.test", "web-1")
        # no router label: a router named after the container with the default rule
        port = free_port()
        dk.run_httpd("api-1", {"traefik.http.services.api.loadbalancer.server.port": str(port)},
                     port=port, files={"who.txt": "api-1\n"})
        # disabled: never a route
        run(dk, "off-1", "off", "off.docker.test", **{"traefik.enable": "false"})
        wait_file(c, "api-1", "api-1")
        for nd in c.nodes:
            names = docker_routers(nd)
            check({"web", "api-1"} <= names and "off" not in names,
                  "%s's docker routers: %r" % (nd.id, sorted(names)))
        # a label change is a new container: it shows up on every node
        run(dk, "web-2", "web2", "web2.docker.test")
        wait_file(c, "web2.docker.test", "web-2")
        # a removed container's routes go, the others stay
        dk.remove("web-1")
        wait_gone(c, "web.docker.test")
        wait_file(c, "web2.docker.test", "web-2")
        check(docker_error(c.nodes[0]) is None, "provider error: %r" % docker_error(c.nodes[0]))
        # a container whose labels do not decode is left out, the others stay, and status
        # (the API and proxyctl, asked on another node) says what was left out and why
        run(dk, "bad-1", "bad", "bad.docker.test",
            **{"traefik.http.routers.bad.priority": "high"})
        util.wait_until(lambda: "bad-1" in (docker_field(c.nodes[2], "skipped") or ""),
                        c.t(15), 0.05, "the left-out container in status")
        sk = docker_field(c.nodes[2], "skipped")
        check("1 error(s)" in sk and "priority" in sk, "skipped: %r" % sk)
        wait_file(c, "web2.docker.test", "web-2")
        check(c.nodes[1].get("bad.docker.test", "/who.txt")[0] == 404, "the bad container served")
        p = subprocess.run([proxyctl_path(), "--endpoints", c.nodes[2].admin, "--token-file",
                            c.token_file, "status"], capture_output=True, text=True,
                           timeout=c.t(30))
        check(p.returncode == 0 and "bad-1" in p.stdout and "left out" in p.stdout,
              "proxyctl status shows what was left out: %r" % p.stdout)
        st, ov = c.nodes[0].api("GET", "/api/overview")
        check(st == 200 and any(x["name"] == "docker" and "bad-1" in x["skipped"]
                                for x in ov["providerStatus"]), "overview: %r" % (ov,))
        dk.remove("bad-1")
        util.wait_until(lambda: docker_field(c.nodes[2], "skipped") is None, c.t(15), 0.05,
                        "the status to clear once the bad container is gone")


test_docker_containers_served_by_every_node.timeout = 150


def test_docker_outage_keeps_routes_and_recovers():
    with Dockerd() as dk, docker_cluster(dk) as c:
        run(dk, "out-1", "out", "out.docker.test")
        wait_file(c, "out.docker.test", "out-1")
        dk.stop_daemon()  # live-restore: the container keeps serving
        util.wait_until(lambda: docker_error(c.nodes[0]), c.t(15), 0.05,
                        "the docker provider's error in n1's status")
        err = docker_error(c.nodes[0])
        check("docker.sock" in err and "last configuration stays" in err, "error: %r" % err)
        wait_file(c, "out.docker.test", "out-1")  # the routes stay on every node
        exe = proxyctl_path()
        check(os.path.exists(exe), "proxyctl not built at %s" % exe)
        p = subprocess.run([exe, "--endpoints", c.nodes[1].admin, "--token-file", c.token_file,
                            "status"], capture_output=True, text=True, timeout=c.t(30))
        check(p.returncode == 0 and "docker" in p.stdout and "docker.sock" in p.stdout,
              "proxyctl status shows the provider's error: rc %d, %r, %r"
              % (p.returncode, p.stdout, p.stderr))
        dk.start_daemon()  # the same data dir
        util.wait_until(lambda: docker_error(c.nodes[0]) is None, c.t(40), 0.05,
                        "the provider to reconnect (error: %r)" % docker_error(c.nodes[0]))
        run(dk, "back-1", "back", "back.docker.test")
        wait_file(c, "back.docker.test", "back-1")
        dk.remove("out-1")
        wait_gone(c, "out.docker.test")
        # a frozen daemon (SIGSTOP: its sockets stay open, nothing answers) is noticed by the
        # provider's /_ping probe; the routes stay; once it thaws, the error clears
        dk.pause()
        try:
            util.wait_until(lambda: "stopped answering" in (docker_error(c.nodes[0]) or ""),
                            c.t(30), 0.05, "the frozen daemon noticed")
            wait_file(c, "back.docker.test", "back-1")
        finally:
            dk.resume()
        util.wait_until(lambda: docker_error(c.nodes[0]) is None, c.t(40), 0.05,
                        "the provider to reconnect after the thaw")


test_docker_outage_keeps_routes_and_recovers.timeout = 150


def test_docker_two_hosts_merge_their_servers():
    """Two real Docker Engines, one for n1 and one for n2 (two Docker hosts), each running a
    container of the service `multi`: the nodes' contributions merge, so every node (n3 runs no
    Docker at all) balances over both hosts' servers. A container that stops on one host leaves
    the other's server."""
    with Dockerd() as da, Dockerd() as db:
        node_static = {"n1": {"providers": {"docker": {"endpoint": da.endpoint}}},
                       "n2": {"providers": {"docker": {"endpoint": db.endpoint}}}}
        with Cluster(3, static_extra=THROTTLE, node_static=node_static) as c:
            run(da, "multi-a", "multi", "multi.test")
            run(db, "multi-b", "multi", "multi.test")
            for nd in c.nodes:
                seen = set()

                def both():
                    st, body = nd.get("multi.test", "/who.txt")
                    if st == 200:
                        seen.add(body.decode().strip())
                    return seen == {"multi-a", "multi-b"}
                if not util.poll_until(both, c.t(15), 0.01):
                    util.fail("%s does not balance over both Docker hosts: saw %r"
                              % (nd.id, seen))
            da.remove("multi-a")
            for nd in c.nodes:
                util.wait_until(lambda: all(nd.get("multi.test", "/who.txt") == (200, b"multi-b\n")
                                            for _ in range(4)),
                                c.t(15), 0.05, "%s to serve only host B's server" % nd.id)


test_docker_two_hosts_merge_their_servers.timeout = 150


# ---- a FAKE Engine: paths the real daemon cannot be made to take on demand ----------------


class FakeEngine:
    """A FAKE Docker Engine (not dockerd) on a unix socket: answers the three calls the provider
    makes with real-shaped documents, and streams the events it is told to. Used only where the
    real daemon cannot be steered: a container that vanishes between the list and its inspect,
    an events endpoint that refuses, and `watch: false` (no /events request at all)."""

    def __init__(self, tmpdir):
        self.sock = os.path.join(tmpdir, "fake-engine.sock")
        self.endpoint = "unix://" + self.sock
        self.docs = {}  # id -> inspect document
        self.vanished = set()  # ids listed but 404 on inspect
        self.paths = []
        self.events_status = 200
        self.streams = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                with outer.lock:
                    outer.paths.append(self.path)
                path = self.path.split("?")[0]
                if path == "/v1.41/events":
                    return outer._events(self)
                if path == "/_ping":
                    return self._json(200, "OK")
                if path == "/v1.41/containers/json":
                    with outer.lock:
                        ids = sorted(set(outer.docs) | outer.vanished)
                    return self._json(200, [{"Id": i} for i in ids])
                parts = path.split("/")
                if len(parts) == 5 and parts[2] == "containers" and parts[4] == "json":
                    with outer.lock:
                        doc = outer.docs.get(parts[3])
                    if doc is None:
                        return self._json(404, {"message": "No such container: " + parts[3]})
                    return self._json(200, doc)
                return self._json(404, {"message": "page not found"})

            def _json(self, status, obj):
                body = json.dumps(obj, separators=(",", ":")).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, *a):
                pass

            def address_string(self):
                return "unix"

        class S(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self.srv = S(self.sock, H)
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def _events(self, h):
        if self.events_status != 200:
            return h._json(self.events_status, {"message": "events refused"})
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        h.wfile.flush()
        with self.lock:
            self.streams.append(h.wfile)
        self.done.wait()
        h.close_connection = True

    def event(self, action, cid):
        line = json.dumps({"Type": "container", "Action": action, "id": cid,
                           "Actor": {"ID": cid, "Attributes": {}}}).encode() + b"\n"
        chunk = b"%x\r\n%s\r\n" % (len(line), line)
        with self.lock:
            for w in self.streams:
                try:
                    w.write(chunk)
                    w.flush()
                except OSError:
                    pass

    def add(self, cid, name, host, port):
        """A running host-network container whose router is Host(`host`) -> 127.0.0.1:port."""
        with self.lock:
            self.docs[cid] = {
                "Id": cid, "Name": "/" + name, "State": {"Status": "running", "Running": True},
                "HostConfig": {"NetworkMode": "host"},
                "Config": {"Labels": labels(name, host, port)},
                "NetworkSettings": {"Ports": {}, "Networks": {"host": {"IPAddress": ""}}}}

    def count(self, prefix):
        with self.lock:
            return sum(1 for p in self.paths if p.startswith(prefix))

    def stop(self):
        self.done.set()
        self.srv.shutdown()
        self.srv.server_close()


def test_docker_tcp_endpoint_with_tls():
    """The Engine on tcp:// with --tlsverify (mutual TLS): with tls.ca/cert/key the provider
    (endpoint by host name, checked against the daemon's certificate) lists and follows the
    containers; without a client certificate the daemon refuses it and status says so."""
    d = tempfile.mkdtemp(prefix="concord-docker-tls-")
    try:
        cert, key = util.make_cert(d, "docker")
        with Dockerd(tls=(cert, key)) as dk:
            ep = "tcp://localhost:%d" % dk.tcp_port
            ok = {"providers": {"providersThrottleDuration": "200ms",
                                "docker": {"endpoint": ep,
                                           "tls": {"ca": cert, "cert": cert, "key": key}}}}
            with Cluster(1, static_extra=ok) as c:
                run(dk, "tls-web", "tlsweb", "tlsweb.test")
                wait_file(c, "tlsweb.test", "tls-web")
                check(docker_error(c.nodes[0]) in ("", None),
                      "error over TLS: %r" % docker_error(c.nodes[0]))
            no_cert = {"providers": {"docker": {"endpoint": ep, "tls": {"ca": cert}}}}
            with Cluster(1, static_extra=no_cert) as c:
                util.wait_until(lambda: "TLS" in (docker_error(c.nodes[0]) or ""), c.t(15),
                                0.05, "the refused TLS connection in status")
                check("fetch: TLS with localhost: " in c.nodes[0].log_text(),
                      "the log gives OpenSSL's reason: %s" % c.nodes[0].tail())
                check(c.nodes[0].get("tlsweb.test", "/who.txt")[0] == 404,
                      "nothing served without the client certificate")
    finally:
        shutil.rmtree(d, ignore_errors=True)


test_docker_tcp_endpoint_with_tls.timeout = 120


def test_docker_fake_engine_vanished_container_refused_events_and_no_watch():
    """FAKE Engine (see FakeEngine): a container gone between the list and its inspect is
    skipped; with watch the events stream is followed and an event makes a new list; an events
    endpoint that refuses is an error in status; with watch: false there is no /events call."""
    tmp = tempfile.mkdtemp(prefix="concord-fake-engine-")
    fe = FakeEngine(tmp)
    backend = None
    try:
        with Cluster(1, static_extra={"providers": {
                "providersThrottleDuration": "100ms",
                "docker": {"endpoint": fe.endpoint}}}) as c:
            a, b = c.backend("A"), c.backend("B")
            fe.vanished.add("0" * 64)
            fe.add("a" * 64, "fa", "fa.docker.test", a.addr[1])
            # the provider subscribes to events before it lists: either the event or the list
            # sees the new container
            fe.event("start", "a" * 64)
            c.wait_served(0, "fa.docker.test", "A")
            check(fe.count("/v1.41/containers/" + "0" * 64) >= 1, "the vanished one inspected")
            fe.add("b" * 64, "fb", "fb.docker.test", b.addr[1])
            lists = fe.count("/v1.41/containers/json")
            fe.event("start", "b" * 64)
            c.wait_served(0, "fb.docker.test", "B")
            check(fe.count("/v1.41/containers/json") > lists, "a new list after the event")
            # the events endpoint refuses: an error in status, the routes stay
            fe.events_status = 500
            fe.done.set()  # ends the open stream: the provider reconnects and is refused
            util.wait_until(lambda: "answered 500" in (docker_error(c.nodes[0]) or ""),
                            c.t(15), 0.05, "the refused events in status")
            c.wait_served(0, "fb.docker.test", "B")
        fe.paths.clear()
        backend = HttpBackend("C").start()  # before the node: it lists once, at start
        fe.add("c" * 64, "fc", "fc.docker.test", backend.addr[1])
        with Cluster(1, static_extra={"providers": {
                "providersThrottleDuration": "100ms",
                "docker": {"endpoint": fe.endpoint, "watch": False}}}) as c:
            c.wait_served(0, "fc.docker.test", "C")
            check(fe.count("/v1.41/events") == 0 and fe.count("/v1.41/containers/json") == 1,
                  "watch: false lists once and follows no events: %r" % fe.paths)
    finally:
        if backend is not None:
            backend.stop()
        fe.stop()
        shutil.rmtree(tmp, ignore_errors=True)


test_docker_fake_engine_vanished_container_refused_events_and_no_watch.timeout = 120
