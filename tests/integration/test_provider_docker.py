"""The Docker provider (providers.docker) against a real Docker Engine started by the harness
(lib/dockerd.py): containers with labels become routers that every node of a 3-node cluster
serves, though only n1 runs the provider (its contribution goes through Raft); a removed
container's routes go; a daemon outage keeps the routes and shows the error, and changes flow
again once the daemon is back. The containers run busybox httpd on host networking, so their
server is n1's advertised host (127.0.0.1) and the port their label names."""

import os
import subprocess

from lib import util
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


test_docker_outage_keeps_routes_and_recovers.timeout = 150
