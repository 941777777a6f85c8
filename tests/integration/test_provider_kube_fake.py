"""The Kubernetes providers (kubernetesCRD, kubernetesIngress) against a FAKE API server
(lib/fake_kube.py: real-shaped lists and watch streams; no real API server can run here), on a
3-node cluster: the leader lists and watches, every node serves what the objects say. Watch
restarts resume from the resourceVersion; 410 Gone (an ERROR event, or HTTP 410) relists; an API
outage keeps the routes and shows the error; changes flow again once it is back. Endpoints are
loopback backends (127.0.0.1) only."""

from lib import util
from lib.cluster import Cluster
from lib.fake_kube import (FakeKube, endpoint_slice, ingress, ingress_class, ingress_route,
                           service)
from lib.util import check

TOKEN = "fake-kube-token"


def _gone(c, i, host):
    util.wait_until(lambda: c.nodes[i].get(host)[0] == 404, c.t(10), 0.02,
                    "%s to stop serving %s" % (c.nodes[i].id, host))


def _all_served(c, host, backend):
    for i in range(3):
        c.wait_served(i, host, backend)


def _provider_error(c, i, name):
    st = c.nodes[i].status(stale=False) or {}
    return [p["error"] for p in st.get("providers") or [] if p["name"] == name and p["error"]]


def test_kube_crd_fake_watch_relist_outage():
    fk = FakeKube(token=TOKEN).start()
    try:
        static = {"providers": {"providersThrottleDuration": "50ms",
                                "kubernetesCRD": {"endpoint": fk.url, "token": TOKEN,
                                                  "labelSelector": "app=web"}}}
        with Cluster(3, static_extra=static) as c:
            a, b = c.backend("A"), c.backend("B")
            fk.apply(service("whoami"))
            fk.apply(endpoint_slice("whoami", [a.url]))
            fk.apply(ingress_route("web", "Host(`k1.test`)", "whoami", labels={"app": "web"}))
            # not selected by labelSelector: never served
            fk.apply(ingress_route("other", "Host(`k0.test`)", "whoami", labels={"app": "x"}))
            _all_served(c, "k1.test", "A")
            check(c.nodes[0].get("k0.test")[0] == 404, "labelSelector filters IngressRoutes")
            check(all(q.get("labelSelector") == "app=web"
                      for k, p, q in fk.seen if p == "ingressroutes"),
                  "the selector is sent with every IngressRoute list and watch")
            check(all("labelSelector" not in q for k, p, q in fk.seen if p == "services"),
                  "not with Services")

            # modify: a new match, and the slice moves to another backend
            fk.apply(ingress_route("web", "Host(`k2.test`)", "whoami", labels={"app": "web"}))
            fk.apply(endpoint_slice("whoami", [b.url]))
            _all_served(c, "k2.test", "B")
            _gone(c, 0, "k1.test")

            # a watch restart resumes from the resourceVersion: the change held while the
            # watches were closed arrives without a relist
            lists = fk.requests("list", "ingressroutes")
            fk.freeze()
            fk.apply(ingress_route("web", "Host(`k3.test`)", "whoami", labels={"app": "web"}))
            fk.close_watches()
            fk.thaw()
            _all_served(c, "k3.test", "B")
            check(fk.requests("list", "ingressroutes") == lists,
                  "a watch restart must not relist")

            # 410 Gone as an ERROR event in an open watch: relist, state correct
            fk.freeze()
            fk.apply(ingress_route("web", "Host(`k4.test`)", "whoami", labels={"app": "web"}))
            fk.compact()
            fk.send_gone()
            util.wait_until(lambda: fk.requests("list", "ingressroutes") > lists, c.t(10), 0.02,
                            "a relist after the 410 event")
            fk.thaw()
            _all_served(c, "k4.test", "B")
            _gone(c, 1, "k3.test")

            # 410 Gone as HTTP 410 on a stale watch resourceVersion: relist
            lists = fk.requests("list", "services")
            fk.gone_mode = "http"
            fk.freeze()
            fk.apply(ingress_route("web", "Host(`k5.test`)", "whoami", labels={"app": "web"}))
            fk.compact()
            fk.close_watches()
            util.wait_until(lambda: fk.requests("list", "services") > lists, c.t(10), 0.02,
                            "a relist after HTTP 410")
            fk.thaw()
            _all_served(c, "k5.test", "B")

            # the API goes down: the routes stay, the leader shows the error
            li = c.wait_leader()
            fk.down()
            util.wait_until(lambda: _provider_error(c, li, "kubernetescrd"), c.t(10), 0.05,
                            "the provider's error in status")
            _all_served(c, "k5.test", "B")
            # a new leader that cannot list proposes nothing: the routes stay
            c.kill9(li)
            nl = c.wait_leader(exclude=(li,))
            util.wait_until(lambda: _provider_error(c, nl, "kubernetescrd"), c.t(10), 0.05,
                            "the new leader's provider error in status")
            c.restart(li)
            _all_served(c, "k5.test", "B")
            # back: the error clears and changes flow
            fk.apply(ingress_route("web", "Host(`k6.test`)", "whoami", labels={"app": "web"}))
            fk.up()
            _all_served(c, "k6.test", "B")
            util.wait_until(lambda: not _provider_error(c, nl, "kubernetescrd"), c.t(15), 0.05,
                            "the error to clear")

            # delete: gone everywhere (a healthy source with no routes is a real state)
            fk.delete("IngressRoute", "default", "web")
            for i in range(3):
                _gone(c, i, "k6.test")
    finally:
        fk.stop()


test_kube_crd_fake_watch_relist_outage.timeout = 150


def test_kube_crd_fake_api_errors_keep_routes():
    """401 (wrong token) and 5xx answers are errors: nothing is emitted before every resource
    is listed, and a failing API never withdraws routes."""
    fk = FakeKube(token=TOKEN).start()
    try:
        static = {"providers": {"providersThrottleDuration": "50ms",
                                "kubernetesCRD": {"endpoint": fk.url, "token": "wrong"}}}
        with Cluster(1, static_extra=static) as c:
            util.wait_until(lambda: any("401" in e for e in _provider_error(c, 0, "kubernetescrd")),
                            c.t(10), 0.05, "a 401 error in status")
            fk.token = "wrong"  # now accepted
            a = c.backend("A")
            fk.apply(service("whoami"))
            fk.apply(endpoint_slice("whoami", [a.url]))
            fk.apply(ingress_route("web", "Host(`e1.test`)", "whoami"))
            c.wait_served(0, "e1.test", "A", timeout=c.t(15))
            fk.fail_status = 503
            fk.close_watches()
            util.wait_until(lambda: any("503" in e for e in _provider_error(c, 0, "kubernetescrd")),
                            c.t(10), 0.05, "a 503 error in status")
            c.wait_served(0, "e1.test", "A")
    finally:
        fk.stop()


test_kube_crd_fake_api_errors_keep_routes.timeout = 90


def test_kube_ingress_fake_ingress_class_namespaces_new_leader():
    fk = FakeKube().start()
    try:
        static = {"providers": {"providersThrottleDuration": "50ms",
                                "kubernetesIngress": {"endpoint": fk.url, "namespaces": ["apps"],
                                                      "ingressClass": "concord"}}}
        with Cluster(3, static_extra=static) as c:
            a = c.backend("A")
            fk.apply(ingress_class("concord"))
            for ns in ("apps", "other"):
                fk.apply(service("whoami", ns=ns))
                fk.apply(endpoint_slice("whoami", [a.url], ns=ns))
            fk.apply(ingress("web", "i1.test", "whoami", ns="apps", cls="concord"))
            fk.apply(ingress("nginx", "i0.test", "whoami", ns="apps", cls="nginx"))
            fk.apply(ingress("elsewhere", "o1.test", "whoami", ns="other", cls="concord"))
            _all_served(c, "i1.test", "A")
            check(c.nodes[1].get("i0.test")[0] == 404, "another class's Ingress is not served")
            check(c.nodes[1].get("o1.test")[0] == 404, "a namespace not listed is not watched")
            paths = {q["_path"] for _, p, q in fk.seen}
            check(paths == {"/apis/networking.k8s.io/v1/namespaces/apps/ingresses",
                            "/apis/networking.k8s.io/v1/ingressclasses",
                            "/api/v1/namespaces/apps/services",
                            "/apis/discovery.k8s.io/v1/namespaces/apps/endpointslices"},
                  "the API paths: %r" % sorted(paths))
            fk.apply(ingress("web", "i2.test", "whoami", ns="apps", cls="concord"))
            _all_served(c, "i2.test", "A")
            # the leader dies: the next one lists and watches, and changes flow
            li = c.wait_leader()
            c.kill9(li)
            c.wait_leader(exclude=(li,))
            fk.apply(ingress("web", "i3.test", "whoami", ns="apps", cls="concord"))
            for i in range(3):
                if i != li:
                    c.wait_served(i, "i3.test", "A")
            fk.delete("Ingress", "apps", "web")
            for i in range(3):
                if i != li:
                    _gone(c, i, "i3.test")
    finally:
        fk.stop()


test_kube_ingress_fake_ingress_class_namespaces_new_leader.timeout = 120


def test_kube_crd_fake_https_api_server():
    """A FAKE API server on https (a real TLS server on loopback): reached through a kubeconfig
    (certificate-authority-data inline, a bearer token) and through endpoint + certAuthFilePath;
    a CA that does not match is refused with the reason in status, and nothing is served."""
    import base64
    import os
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix="concord-kube-tls-")
    fk = None
    try:
        cert, key = util.make_cert(d, "apiserver")
        other, _ = util.make_cert(d, "other")
        fk = FakeKube(token=TOKEN, tls=(cert, key)).start()
        with open(cert, "rb") as f:
            ca_data = base64.b64encode(f.read()).decode()
        kubeconfig = os.path.join(d, "kubeconfig")
        with open(kubeconfig, "w") as f:
            f.write("apiVersion: v1\nkind: Config\ncurrent-context: fake\n"
                    "clusters:\n- name: fake\n  cluster:\n    server: %s\n"
                    "    certificate-authority-data: %s\n"
                    "users:\n- name: u\n  user: {token: %s}\n"
                    "contexts:\n- name: fake\n  context: {cluster: fake, user: u}\n"
                    % (fk.url, ca_data, TOKEN))
        static = {"providers": {"providersThrottleDuration": "50ms",
                                "kubernetesCRD": {"kubeconfig": kubeconfig}}}
        with Cluster(1, static_extra=static) as c:
            a = c.backend("A")
            fk.apply(service("whoami"))
            fk.apply(endpoint_slice("whoami", [a.url]))
            fk.apply(ingress_route("web", "Host(`tls.k.test`)", "whoami"))
            c.wait_served(0, "tls.k.test", "A")
            check(not _provider_error(c, 0, "kubernetescrd"),
                  "errors: %r" % _provider_error(c, 0, "kubernetescrd"))
        static = {"providers": {"kubernetesCRD": {"endpoint": fk.url, "token": TOKEN,
                                                  "certAuthFilePath": cert}}}
        with Cluster(1, static_extra=static) as c:
            b = c.backend("B")
            fk.apply(endpoint_slice("whoami", [b.url]))
            c.wait_served(0, "tls.k.test", "B")
        static = {"providers": {"kubernetesCRD": {"endpoint": fk.url, "token": TOKEN,
                                                  "certAuthFilePath": other}}}
        with Cluster(1, static_extra=static) as c:
            util.wait_until(lambda: any("certificate" in e
                                        for e in _provider_error(c, 0, "kubernetescrd")),
                            c.t(10), 0.05, "the certificate error in status")
            check(c.nodes[0].get("tls.k.test")[0] == 404, "nothing served from an unverified API")
    finally:
        if fk is not None:
            fk.stop()
        shutil.rmtree(d, ignore_errors=True)


test_kube_crd_fake_https_api_server.timeout = 90
