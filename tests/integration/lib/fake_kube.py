"""A FAKE Kubernetes API server for the Kubernetes provider tests (no real API server can run on
these machines). Python stdlib only, threaded, bound to 127.0.0.1:0.

It serves the shapes of the Kubernetes API reference for the resources the providers read:
  GET /api/v1[/namespaces/NS]/services               -> ServiceList
  GET /apis/GROUP/VERSION[/namespaces/NS]/PLURAL     -> <Kind>List
      {"apiVersion", "kind": "<Kind>List", "metadata": {"resourceVersion"}, "items": [...]}
      (items of built-in kinds carry no apiVersion/kind, as the real server's lists; CRD items do)
  ...?watch=1&resourceVersion=RV[&timeoutSeconds=N]  -> 200, chunked, one JSON event per line:
      {"type": "ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK"|"ERROR", "object": {...}}
  labelSelector (equality terms "k=v,k2=v2") filters lists and watches.
One resourceVersion counter for everything (as etcd's revision). The test drives it:
  apply(obj) / delete(kind, ns, name)   an object changes; open watches get the event
  close_watches()                       every open watch ends normally (a restart from RV)
  send_gone()                           every open watch gets an ERROR event (Status code 410)
  compact()                             watches from an older RV get 410: an ERROR event
                                        (gone_mode "event") or HTTP 410 (gone_mode "http")
  freeze() / thaw()                     watches hold their events (to change state unseen)
  down() / up()                         the listener goes away / comes back on the same port
  requests(kind="list"|"watch", plural) the requests seen, to tell a relist from a resume
Endpoints the tests put in EndpointSlices are 127.0.0.x loopback backends only.
"""

import json
import socket
import threading
import time
import http.server
import urllib.parse

# kind -> (group, version, plural, namespaced)
KINDS = {
    "IngressRoute": ("traefik.io", "v1alpha1", "ingressroutes", True),
    "Middleware": ("traefik.io", "v1alpha1", "middlewares", True),
    "TraefikService": ("traefik.io", "v1alpha1", "traefikservices", True),
    "ServersTransport": ("traefik.io", "v1alpha1", "serverstransports", True),
    "Service": ("", "v1", "services", True),
    "EndpointSlice": ("discovery.k8s.io", "v1", "endpointslices", True),
    "Ingress": ("networking.k8s.io", "v1", "ingresses", True),
    "IngressClass": ("networking.k8s.io", "v1", "ingressclasses", False),
}
BY_PLURAL = {v[2]: k for k, v in KINDS.items()}


def api_version(kind):
    g, v = KINDS[kind][0], KINDS[kind][1]
    return "%s/%s" % (g, v) if g else v


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def reserve_port(port):
    """A socket bound to 127.0.0.1:port with SO_REUSEADDR and not listening: it holds the port
    (binds to port 0 skip it, connections are refused) while letting a listener that also sets
    SO_REUSEADDR bind it."""
    r = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    r.bind(("127.0.0.1", port))
    return r


class FakeKube:
    def __init__(self, token=None, tls=None):
        """tls: (cert, key) PEM paths: serve https (url names "localhost")."""
        self.token = token
        self.tls = tls
        self.lock = threading.Condition()
        self.rv = 1000
        self.objs = {}  # (kind, ns, name) -> obj (with apiVersion/kind)
        self.log = []  # (rv, type, kind, obj)
        self.compacted = 0
        self.gone_mode = "event"
        self.frozen = False
        self.close_gen = 0
        self.gone_gen = 0
        self.fail_status = None  # answer every request with this HTTP status
        self.seen = []  # ("list"|"watch", plural, query)
        self.httpd = None
        self.port = 0
        self.uid = 0
        self._open = 0

    # ---- lifecycle ----------------------------------------------------------------------
    def start(self):
        self._listen()
        return self

    def _listen(self):
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                outer._serve(self)

            def log_message(self, *a):
                pass

        class S(http.server.ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.httpd = S(("127.0.0.1", self.port), H)
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        if self.tls:
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.tls[0], self.tls[1])
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            self.url = "https://localhost:%d" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def down(self):
        """Stops listening and ends every open watch. The port stays reserved (a socket bound
        with SO_REUSEADDR, not listening: connections are refused, and no other test's bind
        to port 0 can take it) until up() listens on it again."""
        if self.httpd is None:
            return
        self.httpd.shutdown()
        self.httpd.server_close()
        self.httpd = None
        self._reserve = reserve_port(self.port)
        self.close_watches()

    def up(self):
        if self.httpd is None:
            self._listen()
        if getattr(self, "_reserve", None) is not None:
            self._reserve.close()
            self._reserve = None

    def stop(self):
        self.down()
        if getattr(self, "_reserve", None) is not None:
            self._reserve.close()
            self._reserve = None

    # ---- state --------------------------------------------------------------------------
    def apply(self, obj):
        """Adds or replaces an object (a dict with apiVersion/kind/metadata); returns its RV."""
        obj = json.loads(json.dumps(obj))
        kind = obj["kind"]
        obj.setdefault("apiVersion", api_version(kind))
        md = obj.setdefault("metadata", {})
        if KINDS[kind][3]:
            md.setdefault("namespace", "default")
        key = (kind, md.get("namespace"), md["name"])
        with self.lock:
            self.rv += 1
            old = self.objs.get(key)
            if old is not None:
                md["uid"] = old["metadata"]["uid"]
            else:
                self.uid += 1
                md["uid"] = "00000000-0000-4000-8000-%012d" % self.uid
            md["resourceVersion"] = str(self.rv)
            md.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
            self.objs[key] = obj
            self.log.append((self.rv, "MODIFIED" if old else "ADDED", kind, obj))
            self.lock.notify_all()
            return self.rv

    def delete(self, kind, ns, name):
        with self.lock:
            obj = self.objs.pop((kind, ns if KINDS[kind][3] else None, name))
            self.rv += 1
            obj = json.loads(json.dumps(obj))
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self.log.append((self.rv, "DELETED", kind, obj))
            self.lock.notify_all()

    def close_watches(self):
        with self.lock:
            self.close_gen += 1
            self.lock.notify_all()

    def send_gone(self):
        with self.lock:
            self.gone_gen += 1
            self.lock.notify_all()

    def compact(self):
        with self.lock:
            self.compacted = self.rv

    def freeze(self):
        with self.lock:
            self.frozen = True

    def thaw(self):
        with self.lock:
            self.frozen = False
            self.lock.notify_all()

    def requests(self, kind, plural):
        with self.lock:
            return sum(1 for k, p, _ in self.seen if k == kind and p == plural)

    def open_watches(self):
        with self.lock:
            return self._open

    # ---- serving ------------------------------------------------------------------------
    def _send_json(self, h, code, doc):
        body = json.dumps(doc).encode()
        h.send_response(code)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    @staticmethod
    def _route(path):
        """(plural, namespace or None) or None."""
        p = path.strip("/").split("/")
        if len(p) >= 3 and p[0] == "api" and p[1] == "v1":
            rest = p[2:]
        elif len(p) >= 4 and p[0] == "apis":
            rest = p[3:]
        else:
            return None
        if len(rest) == 3 and rest[0] == "namespaces":
            return rest[2], rest[1]
        if len(rest) == 1:
            return rest[0], None
        return None

    @staticmethod
    def _selected(obj, sel):
        labels = obj.get("metadata", {}).get("labels") or {}
        for term in filter(None, (sel or "").split(",")):
            k, _, v = term.partition("=")
            if labels.get(k) != v.lstrip("="):
                return False
        return True

    def _serve(self, h):
        u = urllib.parse.urlsplit(h.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        route = self._route(u.path)
        if self.fail_status is not None:
            self._send_json(h, self.fail_status, status(self.fail_status, "InternalError", "down"))
            return
        if self.token is not None and h.headers.get("Authorization") != "Bearer " + self.token:
            self._send_json(h, 401, status(401, "Unauthorized", "Unauthorized"))
            return
        if route is None or route[0] not in BY_PLURAL:
            self._send_json(h, 404, status(404, "NotFound", "the server could not find it"))
            return
        plural, ns = route
        kind = BY_PLURAL[plural]
        watch = q.get("watch") in ("1", "true")
        q["_path"] = u.path
        with self.lock:
            self.seen.append(("watch" if watch else "list", plural, q))
        if watch:
            self._watch(h, kind, ns, q)
        else:
            self._list(h, kind, ns, q)

    def _list(self, h, kind, ns, q):
        rv = q.get("resourceVersion") or "0"
        if rv.isdigit() and 0 < int(rv) < self.compacted:
            self._send_json(h, 410, status(410, "Expired", "too old resource version"))
            return
        with self.lock:
            items = []
            for (k, ons, _), obj in sorted(self.objs.items(), key=lambda kv: str(kv[0])):
                if k == kind and (ns is None or ons == ns) and \
                        self._selected(obj, q.get("labelSelector")):
                    o = json.loads(json.dumps(obj))
                    if KINDS[kind][0] != "traefik.io":  # built-in lists omit them
                        o.pop("apiVersion", None)
                        o.pop("kind", None)
                    items.append(o)
            rv = self.rv
        self._send_json(h, 200, {"apiVersion": api_version(kind), "kind": kind + "List",
                                 "metadata": {"resourceVersion": str(rv)}, "items": items})

    def _write(self, h, docs):
        """Events as newline-delimited JSON; the bytes are cut into two chunks in the middle, so
        a client sees several lines in one piece and a line across two pieces."""
        data = b"".join((json.dumps(d) + "\n").encode() for d in docs)
        cut = max(1, len(data) // 2)
        for part in (data[:cut], data[cut:]):
            if part:
                h.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                h.wfile.flush()

    @staticmethod
    def _bookmark(kind, rv):
        """Everything up to rv was sent (a held event is after it)."""
        return {"type": "BOOKMARK", "object": {"apiVersion": api_version(kind), "kind": kind,
                                               "metadata": {"resourceVersion": str(rv)}}}

    def _watch(self, h, kind, ns, q):
        try:
            since = int(q.get("resourceVersion") or "0")
        except ValueError:
            since = 0
        timeout = min(int(q.get("timeoutSeconds") or "60"), 60)
        gone = status(410, "Expired", "too old resource version: %d (%d)" % (since,
                                                                              self.compacted))
        with self.lock:
            stale = since < self.compacted
            mode = self.gone_mode
            close_gen, gone_gen = self.close_gen, self.gone_gen
        if stale and mode == "http":
            self._send_json(h, 410, gone)
            return
        with self.lock:
            self._open += 1
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        h.wfile.flush()
        deadline = time.monotonic() + timeout
        try:
            if stale:
                self._write(h, [{"type": "ERROR", "object": gone}])
                return
            while True:
                with self.lock:
                    while True:
                        if self.gone_gen != gone_gen:
                            out, end = [{"type": "ERROR", "object": status(
                                410, "Expired", "too old resource version")}], True
                            break
                        if self.close_gen != close_gen or time.monotonic() >= deadline:
                            out, end = [], True
                            break
                        out = [] if self.frozen else [
                            {"type": t, "object": o} for rv, t, k, o in self.log
                            if rv > since and k == kind and
                            (ns is None or o["metadata"].get("namespace") == ns) and
                            self._selected(o, q.get("labelSelector"))]
                        if out:
                            since = max(rv for rv, _, _, _ in self.log)
                            end = False
                            break
                        self.lock.wait(0.2)
                if end and not out and q.get("allowWatchBookmarks") == "true":
                    out = [self._bookmark(kind, since)]  # a normal end: where to resume from
                if out:
                    self._write(h, out)
                if end:
                    return
        except OSError:
            pass
        finally:
            with self.lock:
                self._open -= 1
            try:
                h.wfile.write(b"0\r\n\r\n")
                h.wfile.flush()
            except OSError:
                pass
            h.close_connection = True


# The objects of a test: a Service with one named port, its EndpointSlice on loopback backends.
def service(name, port=80, ns="default"):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"ports": [{"name": "http", "port": port, "protocol": "TCP",
                                "targetPort": port}]}}


def endpoint_slice(svc, backend_urls, ns="default"):
    eps, port = [], None
    for url in backend_urls:
        hostport = url.split("://", 1)[1].rstrip("/")
        host, p = hostport.rsplit(":", 1)
        assert host.startswith("127.0.0."), "fake endpoints are loopback only: %s" % host
        eps.append({"addresses": [host], "conditions": {"ready": True}})
        port = int(p)
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": svc + "-abc12", "namespace": ns,
                         "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4", "endpoints": eps,
            "ports": [{"name": "http", "port": port, "protocol": "TCP"}]}


def ingress_route(name, match, svc, port=80, ns="default", labels=None):
    md = {"name": name, "namespace": ns}
    if labels:
        md["labels"] = labels
    return {"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute", "metadata": md,
            "spec": {"entryPoints": ["web"], "routes": [
                {"match": match, "kind": "Rule", "services": [{"name": svc, "port": port}]}]}}


def ingress(name, host, svc, port=80, ns="default", cls=None):
    spec = {"rules": [{"host": host, "http": {"paths": [
        {"path": "/", "pathType": "Prefix",
         "backend": {"service": {"name": svc, "port": {"number": port}}}}]}}]}
    if cls:
        spec["ingressClassName"] = cls
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def ingress_class(name, controller="traefik.io/ingress-controller"):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": name}, "spec": {"controller": controller}}
