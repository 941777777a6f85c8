#!/usr/bin/python3
"""Provider propagation benchmark (tests/bench/providers.sh): how long a change at a provider's
source takes to be served by every node of a 3-node proxyd cluster, beside the source's own
notification time measured in the same run.

  etcd    one transaction (a router and its service) put into a real etcd 3.4 -> all 3 nodes
          answer the new Host from the backend. Anchor: the same etcd's watch notifying a
          client of a put (the floor for any proxy fed by an etcd watch, Traefik included).
  docker  a labelled container started on a real dockerd (its httpd answering) -> all 3 nodes
          serve its Host. Anchor: the Engine's /events stream delivering that container's
          "start" to a client; the Concord row is measured from that same event.

providersThrottleDuration is 0s here (Traefik's default is 2s, which would only add a constant
wait): the numbers are the provider and Raft path itself. Polling every 1 ms; every loop is
bounded by a count and a deadline. Reuses the integration harness (tests/integration/lib).
Prints one table; raw numbers go to --out (JSON)."""
import argparse
import base64
import http.client
import json
import os
import socket
import socketserver
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from lib.cluster import Cluster  # noqa: E402
from lib.dockerd import Dockerd, free_port  # noqa: E402
from lib.etcd import Etcd  # noqa: E402

DEADLINE = 10.0  # one change must be served within this


class EchoBackend:
    """A loopback HTTP/1.1 backend answering 200 with the request's Host, in one write per
    response (a backend that writes head and body apart meets Nagle and delayed ACKs, 40 ms
    that would belong to it, not to the path measured)."""

    def __init__(self):
        class H(socketserver.BaseRequestHandler):
            def handle(self):
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                buf = b""
                while True:
                    while b"\r\n\r\n" not in buf:
                        chunk = self.request.recv(65536)
                        if not chunk:
                            return
                        buf += chunk
                    head, buf = buf.split(b"\r\n\r\n", 1)
                    host = b""
                    for line in head.split(b"\r\n")[1:]:
                        k, _, v = line.partition(b":")
                        if k.strip().lower() == b"host":
                            host = v.strip()
                    self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                                         % (len(host), host))

        class S(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.srv = S(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def all_serve(c, host, want_body=None, backend=None):
    """Seconds until every node answers host (polled every 1 ms), or None past DEADLINE."""
    t0 = time.monotonic()
    pending = list(range(len(c.nodes)))
    while pending and time.monotonic() - t0 < DEADLINE:
        i = pending[0]
        nd = c.nodes[i]
        if backend is not None:
            st, body = nd.get(host, "/", timeout=1.0)
            ok = st == 200 and body == host.encode()
        else:
            st, body = nd.get(host, "/who.txt", timeout=1.0)
            ok = st == 200 and body == want_body
        if ok:
            pending.pop(0)
        else:
            time.sleep(0.001)
    return None if pending else time.monotonic()


class EtcdWatch:
    """A client of etcd's JSON gateway watch on a prefix: records when each key's put arrives."""

    def __init__(self, endpoint, prefix):
        self.seen = {}
        self.cond = threading.Condition()
        host, port = endpoint.split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)
        end = bytearray(prefix.encode())
        end[-1] += 1
        body = json.dumps({"create_request": {
            "key": base64.b64encode(prefix.encode()).decode(),
            "range_end": base64.b64encode(bytes(end)).decode()}})
        self.conn.request("POST", "/v3/watch", body=body,
                          headers={"Content-Type": "application/json"})
        self.resp = self.conn.getresponse()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        buf = b""
        try:
            while True:
                chunk = self.resp.read1(65536)
                if not chunk:
                    return
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    t = time.monotonic()
                    try:
                        events = json.loads(line).get("result", {}).get("events") or []
                    except ValueError:
                        continue
                    with self.cond:
                        for ev in events:
                            key = base64.b64decode(ev["kv"]["key"]).decode()
                            self.seen.setdefault(key, t)
                        self.cond.notify_all()
        except (OSError, http.client.HTTPException):
            return  # closed at the end

    def wait(self, key, timeout=DEADLINE):
        end = time.monotonic() + timeout
        with self.cond:
            while key not in self.seen and time.monotonic() < end:
                self.cond.wait(0.05)
            return self.seen.get(key)

    def close(self):
        try:
            self.conn.sock.shutdown(2)
        except (OSError, AttributeError):
            pass
        self.conn.close()


def bench_etcd(rounds):
    rows = {"concord": [], "anchor": []}
    with Etcd() as e:
        static = {"providers": {"providersThrottleDuration": "0s",
                                "etcd": {"endpoints": [e.endpoint]}}}
        a = EchoBackend()
        with Cluster(3, static_extra=static) as c:
            e.txn(puts={"traefik/http/services/s/loadBalancer/servers/0/url": a.url,
                        "traefik/http/routers/r/rule": "Host(`e0.bench`)",
                        "traefik/http/routers/r/service": "s"})
            if all_serve(c, "e0.bench", backend=True) is None:
                raise SystemExit("etcd: the first route was never served")
            w = EtcdWatch(e.endpoint, "anchor/")
            try:
                for n in range(1, rounds + 1):
                    # Concord: a new rule in one transaction -> every node serves it
                    t0 = time.monotonic()
                    e.txn(puts={"traefik/http/routers/r/rule": "Host(`e%d.bench`)" % n})
                    t1 = all_serve(c, "e%d.bench" % n, backend=True)
                    if t1 is None:
                        raise SystemExit("etcd round %d: not served within %ss" % (n, DEADLINE))
                    rows["concord"].append(t1 - t0)
                    # anchor: a put seen by a watching client
                    t0 = time.monotonic()
                    e.put("anchor/%d" % n, "x")
                    t1 = w.wait("anchor/%d" % n)
                    if t1 is None:
                        raise SystemExit("etcd round %d: the watch never saw the put" % n)
                    rows["anchor"].append(t1 - t0)
            finally:
                w.close()
        a.stop()
    return rows


class EventWatch:
    """A client of the Engine's /events stream: records when each container's start arrives."""

    def __init__(self, sock_path):
        import socket
        self.seen = {}
        self.cond = threading.Condition()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(sock_path)
        self.sock.sendall(b"GET /v1.41/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        buf = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            t = time.monotonic()
            buf += chunk
            # chunked framing around JSON lines: pick out every complete {...} object
            while True:
                i = buf.find(b'{"status"')
                if i < 0:
                    i = buf.find(b'{"Type"')
                j = buf.find(b"\n", i) if i >= 0 else -1
                if i < 0 or j < 0:
                    break
                try:
                    ev = json.loads(buf[i:j])
                except ValueError:
                    ev = {}
                buf = buf[j + 1:]
                if ev.get("Action") == "start":
                    name = (ev.get("Actor") or {}).get("Attributes", {}).get("name")
                    with self.cond:
                        self.seen.setdefault(name, t)
                        self.cond.notify_all()

    def wait(self, name, timeout=DEADLINE):
        end = time.monotonic() + timeout
        with self.cond:
            while name not in self.seen and time.monotonic() < end:
                self.cond.wait(0.05)
            return self.seen.get(name)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def bench_docker(rounds):
    rows = {"concord": []}
    with Dockerd() as dk:
        static = {"providers": {"providersThrottleDuration": "0s"}}
        node_static = {"n1": {"providers": {"docker": {"endpoint": dk.endpoint}}}}
        with Cluster(3, static_extra=static, node_static=node_static) as c:
            w = EventWatch(dk.sock)
            try:
                for n in range(rounds):
                    name = "b%d" % n
                    port = free_port()
                    dk.run_httpd(name, {
                        "traefik.http.routers.%s.rule" % name: "Host(`%s.bench`)" % name,
                        "traefik.http.services.%s.loadbalancer.server.port" % name: str(port)},
                        port=port, files={"who.txt": name + "\n"})
                    t_ev = w.wait(name)
                    t1 = all_serve(c, "%s.bench" % name, want_body=(name + "\n").encode())
                    if t_ev is None or t1 is None:
                        raise SystemExit("docker round %d: event %r, served %r" % (n, t_ev, t1))
                    rows["concord"].append(t1 - t_ev)
                    dk.remove(name)
            finally:
                w.close()
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=50, help="etcd rounds (docker: a fifth)")
    ap.add_argument("--only", choices=["etcd", "docker"])
    ap.add_argument("--out", default="/tmp/concord-providers-bench.json")
    args = ap.parse_args()
    res = {}
    if args.only in (None, "etcd"):
        res["etcd"] = bench_etcd(args.rounds)
    if args.only in (None, "docker"):
        res["docker"] = bench_docker(max(3, args.rounds // 5))
    with open(args.out, "w") as f:
        json.dump(res, f)
    print("%-58s %6s %9s %9s" % ("row", "n", "p50 ms", "p90 ms"))

    def row(label, v):
        print("%-58s %6d %9.2f %9.2f" % (label, len(v), 1000 * statistics.median(v),
                                          1000 * pct(v, 0.9)))
    if "etcd" in res:
        row("etcd txn -> served by all 3 nodes (Concord)", res["etcd"]["concord"])
        row("etcd put -> a watching client notified (etcd anchor)", res["etcd"]["anchor"])
        print("ratio (p50): %.1fx the etcd watch notification"
              % (statistics.median(res["etcd"]["concord"]) /
                 statistics.median(res["etcd"]["anchor"])))
    if "docker" in res:
        row("docker start event -> served by all 3 nodes (Concord)", res["docker"]["concord"])
    print("raw: %s" % args.out)


if __name__ == "__main__":
    main()
