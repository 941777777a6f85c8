#!/usr/bin/python3
"""Measuring side of tests/bench/cluster.sh (python3 stdlib only).

cluster.sh starts and stops the processes (3 proxyd nodes, 3 etcd members, the backend);
this file talks to them. Subcommands:

  backend --port P        loopback HTTP/1.1 backend, answers 200 with the request's Host
  ops                     config write latency and propagation, proxyd and etcd side by side
  kill-leader             kill -9 the proxyd (or etcd) leader, time until a write succeeds
  caught-up               wait until a restarted proxyd node has applied the leader's state
  transfer                graceful leader transfer under a writer loop: longest write gap
  report                  JSON lines -> table on stdout, raw numbers to --out

Every loop is bounded by a count or a deadline. Records are JSON lines appended to --rec.
"""
import argparse
import asyncio
import base64
import http.client
import itertools
import json
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import fmt_ratio, load_lines, med  # noqa: E402  (shared with bench.sh)

NS = "api"                  # namespace written by proxyctl and by the direct PUT
IO_TIMEOUT = 3.0            # any single HTTP exchange
PROPAGATE_TIMEOUT = 10.0    # one change must reach every node within this
RETRY_S = 0.010             # write retry interval during a failover
TRANSFER_RETRY_S = 0.001    # pause after a failed write in the transfer loop (the gap's resolution)


def now():
    return time.monotonic()


def ms(seconds):
    return None if seconds is None else round(seconds * 1000.0, 3)


def append(path, rec):
    with open(path, "a") as f:
        f.write(json.dumps(rec) + "\n")


# --- backend --------------------------------------------------------------------------

async def _serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            host = b""
            clen = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                k = k.strip().lower()
                if k == b"host":
                    host = v.strip()
                elif k == b"content-length":
                    clen = int(v.strip() or 0)
            if clen:
                await reader.readexactly(clen)
            body = host + b"\n"
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(body), body))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, ValueError):
        pass
    finally:
        writer.close()


def cmd_backend(a):
    async def main():
        srv = await asyncio.start_server(_serve, "127.0.0.1", a.port, backlog=1024)
        async with srv:
            await srv.serve_forever()
    asyncio.run(main())


# --- a small keep-alive HTTP/1.1 client on a raw socket (non-blocking reads possible) -----

class Conn:
    """One connection; reconnects when the peer closes. Responses need Content-Length."""

    def __init__(self, port):
        self.port = port
        self.sock = None
        self.buf = b""

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = None
        self.buf = b""

    def send(self, method, path, host="127.0.0.1", headers=None, body=b"", close=False):
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=IO_TIMEOUT)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        h = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
        if close:
            h.append("Connection: close")
        for k, v in (headers or {}).items():
            h.append(f"{k}: {v}")
        self.sock.sendall(("\r\n".join(h) + "\r\n\r\n").encode() + body)

    def _parse(self):
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        lines = self.buf[:end].split(b"\r\n")
        status = int(lines[0].split()[1])
        clen, close = 0, False
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            k = k.strip().lower()
            if k == b"content-length":
                clen = int(v)
            elif k == b"connection" and v.strip().lower() == b"close":
                close = True
        if len(self.buf) < end + 4 + clen:
            return None
        body = self.buf[end + 4:end + 4 + clen]
        self.buf = self.buf[end + 4 + clen:]
        if close:
            self.close()
        return status, body

    def try_read(self):
        """Non-blocking: (status, body) once complete, else None."""
        r, _, _ = select.select([self.sock], [], [], 0)
        if r:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before the answer was complete")
            self.buf += chunk
        return self._parse()

    def read(self):
        deadline = now() + IO_TIMEOUT
        while True:
            got = self._parse()
            if got is not None:
                return got
            left = deadline - now()
            if left <= 0:
                raise TimeoutError("no answer")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before the answer was complete")
            self.buf += chunk

    def request(self, method, path, **kw):
        try:
            self.send(method, path, **kw)
            return self.read()
        except (OSError, ValueError):
            self.close()
            raise


def admin_call(port, token, method, path, body=b"", timeout=IO_TIMEOUT):
    """One request on a fresh connection (http.client, no keep-alive). -> (status, json|None)"""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers={"Authorization": f"Bearer {token}"})
        r = c.getresponse()
        data = r.read()
    finally:
        c.close()
    try:
        return r.status, json.loads(data) if data else None
    except ValueError:
        return r.status, None


def dyn_yaml(host, backend):
    return (f"http:\n  routers:\n    bench:\n      rule: Host(`{host}`)\n      service: bench\n"
            f"  services:\n    bench:\n      loadBalancer:\n        servers:\n"
            f"          - url: http://127.0.0.1:{backend}\n").encode()


class Cluster:
    def __init__(self, spec, token):
        # spec: "n1=WEB:ADMIN,n2=...,n3=..."
        self.nodes = {}
        for part in spec.split(","):
            nid, _, ports = part.partition("=")
            web, admin = ports.split(":")
            self.nodes[nid] = {"web": int(web), "admin": int(admin)}
        self.token = token

    def status(self, nid, stale=False):
        st, doc = admin_call(self.nodes[nid]["admin"], self.token, "GET",
                             "/api/cluster/status" + ("?stale=true" if stale else ""))
        return doc if st == 200 else None

    def leader(self, among=None, timeout=15.0):
        deadline = now() + timeout
        while now() < deadline:
            for nid in among or self.nodes:
                try:
                    doc = self.status(nid)
                except OSError:
                    continue
                if doc and doc.get("leader") in self.nodes:
                    return doc["leader"]
            time.sleep(0.05)
        raise RuntimeError("no proxyd leader within %.0f s" % timeout)

    def put(self, nid, body, timeout=IO_TIMEOUT):
        return admin_call(self.nodes[nid]["admin"], self.token, "PUT",
                          f"/api/cluster/config/{NS}", body, timeout)


class Etcd:
    def __init__(self, spec):
        # spec: "e1=CLIENTPORT,e2=...,e3=..."
        self.members = {}
        for part in spec.split(","):
            mid, _, port = part.partition("=")
            self.members[mid] = int(port)

    @staticmethod
    def b64(s):
        return base64.b64encode(s.encode()).decode()

    def post(self, mid, path, obj, timeout=IO_TIMEOUT):
        c = http.client.HTTPConnection("127.0.0.1", self.members[mid], timeout=timeout)
        try:
            c.request("POST", path, body=json.dumps(obj).encode(),
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
        finally:
            c.close()
        return r.status, data

    def put(self, mid, key, value, timeout=IO_TIMEOUT):
        st, _ = self.post(mid, "/v3/kv/put", {"key": self.b64(key), "value": self.b64(value)}, timeout)
        return st

    def leader(self, among=None, timeout=15.0):
        deadline = now() + timeout
        while now() < deadline:
            for mid in among or self.members:
                try:
                    st, data = self.post(mid, "/v3/maintenance/status", {}, 1.0)
                    doc = json.loads(data)
                except (OSError, ValueError):
                    continue
                if st == 200 and doc.get("leader") and doc["leader"] == doc["header"]["member_id"]:
                    return mid
            time.sleep(0.05)
        raise RuntimeError("no etcd leader within %.0f s" % timeout)


# --- ops: write latency and propagation ---------------------------------------------------

class Prober:
    """Tight loop of GETs with the new Host on every node until each answers from the new route."""

    def __init__(self, cl):
        self.conns = {nid: Conn(n["web"]) for nid, n in cl.nodes.items()}

    def probe(self, nid, host):
        c = self.conns[nid]
        try:
            st, body = c.request("GET", "/", host=host)
        except (OSError, ValueError):
            return False
        return st == 200 and body.strip() == host.encode()

    def run(self, host, t0, step=None):
        """Polls until every node serves `host`; `step()` is called between probes (it checks the
        writer's progress). -> {nid: seconds since t0 or None}, requests sent"""
        seen = {nid: None for nid in self.conns}
        sent = 0
        deadline = t0 + PROPAGATE_TIMEOUT
        while any(v is None for v in seen.values()) and now() < deadline:
            for nid in [n for n, v in seen.items() if v is None]:
                if step:
                    step()
                sent += 1
                if self.probe(nid, host):
                    seen[nid] = now() - t0
        return seen, sent


def op_proxyctl(a, cl, entry, host, prober, wait, poll):
    cmd = [a.proxyctl, "--endpoints", f"127.0.0.1:{cl.nodes[entry]['admin']}",
           "--token-file", a.token_file, "config", "apply", "-f", host_file(a, host)]
    if wait:
        cmd += ["--wait", "--wait-timeout", "10s"]
    t0 = now()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ack = [None]

    def step():
        if ack[0] is None and p.poll() is not None:
            ack[0] = now() - t0
    rec = {}
    if poll:
        seen, sent = prober.run(host, t0, step)
        rec.update(per_node_s=seen, probes=sent)
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    if ack[0] is None:
        ack[0] = now() - t0
    err = p.stderr.read().decode(errors="replace").strip()
    p.stderr.close()
    rec.update(ack_s=ack[0], exit=p.returncode, ok=p.returncode == 0)
    if err:
        rec["stderr"] = err[:300]
    if wait and p.returncode == 0:
        # --wait promises every voter serves the new table: one probe per node, right away
        rec["not_serving_after_wait"] = [nid for nid in cl.nodes if not prober.probe(nid, host)]
    return rec


def host_file(a, host):
    path = os.path.join(a.tmp, "apply.yaml")
    with open(path, "wb") as f:
        f.write(dyn_yaml(host, a.backend))
    return path


def op_put(a, cl, entry, host, prober, poll):
    body = dyn_yaml(host, a.backend)
    c = Conn(cl.nodes[entry]["admin"])
    t0 = now()
    rec = {}
    # the PUT goes out on its own fresh connection; its answer is picked up between probes
    c.send("PUT", f"/api/cluster/config/{NS}", body=body, close=True,
           headers={"Authorization": f"Bearer {cl.token}"})
    got = [None, None]

    def step():
        if got[0] is None:
            r = c.try_read()
            if r is not None:
                got[0], got[1] = now() - t0, r[0]
    try:
        if poll:
            seen, sent = prober.run(host, t0, step)
            rec.update(per_node_s=seen, probes=sent)
        if got[0] is None:
            st, _ = c.read()
            got[0], got[1] = now() - t0, st
    except (OSError, ValueError) as e:
        rec["error"] = str(e)
    finally:
        c.close()
    rec.update(ack_s=got[0], status=got[1], ok=got[1] == 200)
    return rec


def op_etcdctl(a, et, entry, key, value):
    cmd = [a.etcdctl, f"--endpoints=127.0.0.1:{et.members[entry]}", "put", key, value]
    env = dict(os.environ, ETCDCTL_API="3")
    t0 = now()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, timeout=15)
    rec = {"ack_s": now() - t0, "exit": p.returncode, "ok": p.returncode == 0}
    if p.returncode:
        rec["stderr"] = p.stderr.decode(errors="replace")[:300]
    return rec


def op_etcd_gw(et, entry, key, value):
    t0 = now()
    try:
        st = et.put(entry, key, value)
    except OSError as e:
        return {"ack_s": now() - t0, "ok": False, "error": str(e)}
    return {"ack_s": now() - t0, "status": st, "ok": st == 200}


def cmd_ops(a):
    cl = Cluster(a.nodes, open(a.token_file).read().strip())
    et = Etcd(a.etcd) if a.etcd else None
    prober = Prober(cl)
    methods = ["proxyctl", "proxyctl+poll", "proxyctl --wait", "PUT", "PUT+poll"]
    if et:
        methods += ["etcdctl put", "etcd gateway put"]
    entries = a.entry.split(",")
    seq = 0
    for i in range(a.count):
        # the leader may have moved (it should not here): resolved every round, cheap
        pl = cl.leader()
        el = et.leader() if et else None
        order = methods[i % len(methods):] + methods[:i % len(methods)]
        for m in order:
            for role in entries:
                seq += 1
                host = f"c{seq}.{a.tag}.bench"
                if m.startswith("etcd"):
                    entry = el if role == "leader" else sorted(x for x in et.members if x != el)[0]
                    key, value = f"/bench/{a.tag}/{seq % 16}", dyn_yaml(host, a.backend).decode()
                    rec = (op_etcdctl(a, et, entry, key, value) if m == "etcdctl put"
                           else op_etcd_gw(et, entry, key, value))
                    system = "etcd"
                else:
                    entry = pl if role == "leader" else sorted(x for x in cl.nodes if x != pl)[0]
                    if m.startswith("proxyctl"):
                        rec = op_proxyctl(a, cl, entry, host, prober, wait="--wait" in m,
                                          poll=m.endswith("+poll"))
                    else:
                        rec = op_put(a, cl, entry, host, prober, poll=m.endswith("+poll"))
                    system = "proxyd"
                rec.update(kind="op", system=system, method=m, entry=role, node=entry, round=i)
                if rec.get("per_node_s") is not None:
                    vals = list(rec["per_node_s"].values())
                    rec["all_s"] = None if None in vals else max(vals)
                append(a.rec, rec)
        if (i + 1) % 20 == 0:
            print(f"[cluster.py] ops round {i + 1}/{a.count}", file=sys.stderr, flush=True)
    return 0


# --- failover -----------------------------------------------------------------------------

def write_until_ok(put, deadline_s):
    """Starts an attempt put() every RETRY_S, each on its own thread, without waiting for the
    earlier ones: an attempt that hangs (etcd holds a proposal sent to a dead leader until its
    own timeout) must not hide that a later one would already succeed. -> (seconds from the
    start until the first 200 answer, seconds from the start to the start of that attempt,
    attempts, last error)"""
    t0 = now()
    lock = threading.Lock()
    first = []          # (done_s, started_s) of successful attempts
    last = [None]
    threads = []

    def attempt(started):
        try:
            st = put()
            err = None if st == 200 else f"status {st}"
        except OSError as e:
            err = str(e) or type(e).__name__
        with lock:
            if err is None:
                first.append((now() - t0, started))
            else:
                last[0] = err
    while now() - t0 < deadline_s and len(threads) < 5000:
        with lock:
            if first:
                break
        th = threading.Thread(target=attempt, args=(now() - t0,), daemon=True)
        th.start()
        threads.append(th)
        time.sleep(RETRY_S)
    for th in threads:
        th.join(timeout=max(0.0, deadline_s + 5.0 - (now() - t0)))
    if not first:
        return None, None, len(threads), last[0]
    done, started = min(first)
    return done, started, len(threads), None


def cmd_kill_leader(a):
    pids = dict(p.split("=") for p in a.pids.split(","))
    if a.system == "proxyd":
        cl = Cluster(a.nodes, open(a.token_file).read().strip())
        lead = cl.leader()
        surv = sorted(n for n in cl.nodes if n != lead)[0]
        seq = itertools.count(1)

        def put():
            host = f"fo{a.trial}-{next(seq)}.{a.tag}.bench"
            return cl.put(surv, dyn_yaml(host, a.backend), timeout=5.0)[0]
    else:
        et = Etcd(a.etcd)
        lead = et.leader()
        surv = sorted(m for m in et.members if m != lead)[0]

        def put():
            return et.put(surv, f"/bench/{a.tag}/fo", str(a.trial), timeout=5.0)
    os.kill(int(pids[lead]), signal.SIGKILL)
    t, started, attempts, last = write_until_ok(put, 30.0)
    rec = {"kind": "failover", "system": a.system, "trial": a.trial, "killed": lead,
           "through": surv, "unavailable_s": t, "ok_attempt_started_s": started,
           "attempts": attempts, "ok": t is not None}
    if last:
        rec["last_error"] = last
    append(a.rec, rec)
    print(lead)        # cluster.sh restarts this one
    return 0 if t is not None else 1


def cmd_caught_up(a):
    """The restarted node answers, is reachable from the leader, and its applied index and table
    generation have reached the leader's commit index and generation read once at the start (a
    fresh status read on the leader runs a barrier, so its commit index moves on every read)."""
    cl = Cluster(a.nodes, open(a.token_file).read().strip())
    deadline = now() + a.timeout
    want = None
    while now() < deadline:
        try:
            if want is None:
                lead = cl.leader(timeout=2.0)
                ls = cl.status(lead)
                lm = {m["id"]: m for m in ls["members"]}
                want = (ls["commitIndex"], lm[lead]["tableGeneration"])
            me = cl.status(a.node, stale=True)
            mm = {m["id"]: m for m in me["members"]}[a.node]
            if me["appliedIndex"] >= want[0] and mm["tableGeneration"] >= want[1]:
                return 0
        except (OSError, RuntimeError, KeyError, TypeError):
            pass
        time.sleep(0.1)
    print(f"cluster.py: {a.node} did not catch up within {a.timeout:.0f} s (wanted {want})", file=sys.stderr)
    return 1


def cmd_transfer(a):
    cl = Cluster(a.nodes, open(a.token_file).read().strip())
    lead = cl.leader()
    via = sorted(n for n in cl.nodes if n != lead)[0]     # writes go through a follower
    oks, fails = [], []
    stop = threading.Event()

    def writer():
        k = 0
        while not stop.is_set() and k < 100000:
            k += 1
            try:
                st, doc = cl.put(via, dyn_yaml(f"tr{a.trial}-{k}.{a.tag}.bench", a.backend), 2.0)
            except OSError as e:
                st, doc = None, {"error": str(e) or type(e).__name__}
            if st == 200:
                oks.append(now())
            else:
                fails.append(f"{st}: {(doc or {}).get('error', '')}"[:120])
                time.sleep(TRANSFER_RETRY_S)
    th = threading.Thread(target=writer, daemon=True)
    th.start()
    time.sleep(a.settle)
    t0 = now()
    try:
        st, doc = admin_call(cl.nodes[lead]["admin"], cl.token, "POST", "/api/cluster/leader/transfer",
                             b"{}", timeout=10.0)
    except OSError as e:
        st, doc = None, {"error": str(e)}
    t1 = now()
    time.sleep(a.settle)
    stop.set()
    th.join(timeout=10)
    # the gap that spans the transfer: successes from the last one before t0 to the first after t1
    before = [t for t in oks if t < t0]
    inside = [t for t in oks if t0 <= t <= t1]
    after = [t for t in oks if t > t1]
    pts = before[-1:] + inside + after[:1]
    gaps = [y - x for x, y in zip(pts, pts[1:])]
    base = [y - x for x, y in zip(before, before[1:])]
    rec = {"kind": "transfer", "system": "proxyd", "trial": a.trial, "from": lead,
           "to": (doc or {}).get("leader"), "through": via, "status": st,
           "transfer_call_s": t1 - t0, "max_gap_s": max(gaps) if gaps else None,
           "baseline_gap_s": statistics.median(base) if base else None,
           "writes_ok": len(oks), "writes_failed": len(fails), "failures": fails[:5],
           "ok": st == 200 and bool(gaps)}
    append(a.rec, rec)
    return 0 if rec["ok"] else 1


# --- report ---------------------------------------------------------------------------------

def pct(values, q):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    k = min(len(values) - 1, max(0, int(round(q / 100.0 * len(values) + 0.5)) - 1))
    return values[k]


def dist(values):
    v = [x for x in values if x is not None]
    return {"n": len(v), "p50_ms": ms(pct(v, 50)), "p99_ms": ms(pct(v, 99)), "max_ms": ms(max(v) if v else None),
            "min_ms": ms(min(v) if v else None), "median_ms": ms(med(v))}


def f_ms(v):
    if v is None:
        return "–"
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def cmd_report(a):
    recs = load_lines(a.rec)
    meta = json.load(open(a.meta))
    ops = [r for r in recs if r["kind"] == "op"]
    summ = {}
    lines = []
    anchor = "3 etcd members" if not meta.get("skipped", {}).get("etcd") else "no etcd"
    lines.append(f"Cluster benchmark, one run: {meta.get('when', '')}; 3 proxyd nodes, {anchor}, "
                 f"loopback, data dirs on {meta.get('data_fs', '?')}; {meta.get('count')} ops per row.")
    lines.append("")
    lines.append("| system | method | entry | end of the measure | n | failed | p50 ms | p99 ms | max ms |")
    lines.append("|---|---|---|---|---:|---:|---:|---:|---:|")
    keys = []
    for r in ops:
        k = (r["system"], r["method"], r["entry"])
        if k not in keys:
            keys.append(k)
    keys.sort(key=lambda k: (k[0] != "proxyd", k[1], k[2] != "leader"))
    for k in keys:
        rs = [r for r in ops if (r["system"], r["method"], r["entry"]) == k]
        failed = sum(1 for r in rs if not r.get("ok"))
        name = " / ".join(k)
        poll = k[1].endswith("+poll")
        ack = dist([r["ack_s"] for r in rs if r.get("ok")])
        summ[name] = {"ack": ack, "failed": failed, "n": len(rs)}
        what = {"proxyctl": "proxyctl exit", "proxyctl+poll": "proxyctl exit",
                "proxyctl --wait": "proxyctl --wait exit", "PUT": "200 answer", "PUT+poll": "200 answer",
                "etcdctl put": "etcdctl exit", "etcd gateway put": "200 answer"}.get(k[1], "answer")
        lines.append(f"| {k[0]} | {k[1]} | {k[2]} | {what} | {ack['n']} | {failed} | {f_ms(ack['p50_ms'])} | "
                     f"{f_ms(ack['p99_ms'])} | {f_ms(ack['max_ms'])} |")
        if poll:
            al = [r.get("all_s") for r in rs if r.get("ok")]
            prop = dist(al)
            miss = sum(1 for v in al if v is None)
            summ[name]["all_nodes_serve"] = prop
            summ[name]["not_propagated_in_time"] = miss
            per = {}
            for nid in sorted({n for r in rs for n in (r.get("per_node_s") or {})}):
                per[nid] = dist([(r.get("per_node_s") or {}).get(nid) for r in rs if r.get("ok")])
            summ[name]["per_node"] = per
            lines.append(f"| {k[0]} | {k[1]} | {k[2]} | **all 3 nodes serve** | {prop['n']} | {miss} | "
                         f"{f_ms(prop['p50_ms'])} | {f_ms(prop['p99_ms'])} | {f_ms(prop['max_ms'])} |")
        if k[1] == "proxyctl --wait":
            late = sum(1 for r in rs if r.get("not_serving_after_wait"))
            summ[name]["not_serving_right_after_wait"] = late
    lines.append("")
    lines.append("Times from the start of the write (process spawn for proxyctl/etcdctl; connect for the HTTP "
                 "rows, a fresh connection per write). entry: the node the write was sent to (a follower "
                 "forwards to the leader). +poll rows: the poller (one process, keep-alive GETs with the new "
                 "Host to each node's entry point in turn) runs while the write is in flight, so it competes "
                 "for the 2 cores; plain rows do not poll.")
    late = [v.get("not_serving_right_after_wait") for v in summ.values() if "not_serving_right_after_wait" in v]
    if late:
        lines.append(f"proxyctl --wait: after its exit, one probe per node found a node not yet serving the new "
                     f"route in {sum(late)} of the writes.")
    # ratios proxyd / etcd, same entry
    rat = {}
    pairs = [("proxyctl", "etcdctl put"), ("PUT", "etcd gateway put")]
    ratio_at = len(lines)
    for pm, em in pairs:
        for role in ("leader", "follower"):
            p = summ.get(f"proxyd / {pm} / {role}")
            e = summ.get(f"etcd / {em} / {role}")
            if not p or not e:
                continue
            r50 = ratio(p["ack"]["p50_ms"], e["ack"]["p50_ms"])
            r99 = ratio(p["ack"]["p99_ms"], e["ack"]["p99_ms"])
            rat[f"{pm} / {em} / {role}"] = {"p50": r50, "p99": r99}
            lines.append(f"| proxyd {pm} / etcd {em} | {role} | {fmt_ratio(r50)} | {fmt_ratio(r99)} |")
        for role in ("leader", "follower"):
            p = summ.get(f"proxyd / {pm}+poll / {role}")
            e = summ.get(f"etcd / {em} / {role}")
            if not p or not e or "all_nodes_serve" not in p:
                continue
            r50 = ratio(p["all_nodes_serve"]["p50_ms"], e["ack"]["p50_ms"])
            r99 = ratio(p["all_nodes_serve"]["p99_ms"], e["ack"]["p99_ms"])
            rat[f"{pm}+poll all-serve / {em} / {role}"] = {"p50": r50, "p99": r99}
            lines.append(f"| proxyd {pm} → all 3 serve / etcd {em} | {role} | {fmt_ratio(r50)} | "
                         f"{fmt_ratio(r99)} |")
    if rat:
        lines[ratio_at:ratio_at] = ["", "| ratio (same entry role) | entry | p50 | p99 |", "|---|---|---:|---:|"]
        lines.append("ratio < 1: proxyd is faster. etcd's put is only committed (no routing table); "
                     "the \"all 3 serve\" rows include the table compile and swap on every node.")
    # failover
    fo = {}
    lines.append("")
    lines.append("| failover | system | trials | failed | median ms | min ms | max ms |")
    lines.append("|---|---|---:|---:|---:|---:|---:|")
    for system in ("proxyd", "etcd"):
        rs = [r for r in recs if r["kind"] == "failover" and r["system"] == system]
        if rs:
            d = dist([r["unavailable_s"] for r in rs if r.get("ok")])
            fo[f"kill -9 leader / {system}"] = dict(d, trials=len(rs), failed=sum(1 for r in rs if not r.get("ok")))
            lines.append(f"| kill -9 leader → first successful write | {system} | {len(rs)} | "
                         f"{fo[f'kill -9 leader / {system}']['failed']} | {f_ms(d['median_ms'])} | "
                         f"{f_ms(d['min_ms'])} | {f_ms(d['max_ms'])} |")
    rs = [r for r in recs if r["kind"] == "transfer"]
    if rs:
        good = [r for r in rs if r.get("ok")]
        d = dist([r["max_gap_s"] for r in good])
        c = dist([r["transfer_call_s"] for r in good])
        b = dist([r["baseline_gap_s"] for r in good])
        fo["leader transfer / proxyd"] = dict(d, trials=len(rs), failed=len(rs) - len(good),
                                              transfer_call=c, baseline_gap=b,
                                              failed_writes=sum(r["writes_failed"] for r in rs))
        lines.append(f"| leader transfer → longest gap between successful writes | proxyd | {len(rs)} | "
                     f"{len(rs) - len(good)} | {f_ms(d['median_ms'])} | {f_ms(d['min_ms'])} | {f_ms(d['max_ms'])} |")
        lines.append(f"| (transfer call itself) | proxyd | | | {f_ms(c['median_ms'])} | {f_ms(c['min_ms'])} | "
                     f"{f_ms(c['max_ms'])} |")
        lines.append(f"| (normal gap between writes, same loop) | proxyd | | | {f_ms(b['median_ms'])} | "
                     f"{f_ms(b['min_ms'])} | {f_ms(b['max_ms'])} |")
    ek, pk = fo.get("kill -9 leader / etcd"), fo.get("kill -9 leader / proxyd")
    if ek and pk:
        rat["failover median proxyd/etcd"] = ratio(pk["median_ms"], ek["median_ms"])
        lines.append(f"failover median ratio proxyd/etcd: {fmt_ratio(rat['failover median proxyd/etcd'])} "
                     f"(election timeouts: proxyd {meta.get('proxyd_election_ms', '?')} ms, "
                     f"etcd {meta.get('etcd_election_ms', '?')} ms)")
    if fo:
        lines.append("kill -9: from the kill to the first 200 answer to a write sent to a surviving member; "
                     "a new attempt (fresh connection, 5 s timeout) starts every 10 ms without waiting for "
                     "earlier ones. The killed member is restarted and caught up between trials. transfer: "
                     "one writer, sequential PUTs through a follower, 1 ms pause after a failed one.")
    for what, why in sorted(meta.get("skipped", {}).items()):
        lines.append(f"SKIPPED {what}: {why}")
    with open(a.out, "w") as f:
        json.dump({"meta": meta, "summary": summ, "failover": fo, "ratios": rat, "records": recs}, f, indent=1)
        f.write("\n")
    print("\n".join(lines))
    return 0 if recs else 1


def ratio(x, y):
    return None if x is None or not y else x / y


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("backend")
    p.add_argument("--port", type=int, required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--nodes", help="n1=WEBPORT:ADMINPORT,...")
    common.add_argument("--token-file")
    common.add_argument("--etcd", help="e1=CLIENTPORT,...")
    common.add_argument("--backend", type=int)
    common.add_argument("--rec", help="JSON lines to append to")
    common.add_argument("--tag", default="b")
    p = sub.add_parser("ops", parents=[common])
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--entry", default="leader,follower")
    p.add_argument("--proxyctl", required=True)
    p.add_argument("--etcdctl")
    p.add_argument("--tmp", required=True)
    p = sub.add_parser("kill-leader", parents=[common])
    p.add_argument("--system", choices=["proxyd", "etcd"], required=True)
    p.add_argument("--pids", required=True, help="id=PID,...")
    p.add_argument("--trial", type=int, default=0)
    p = sub.add_parser("caught-up", parents=[common])
    p.add_argument("--node", required=True)
    p.add_argument("--timeout", type=float, default=60.0)
    p = sub.add_parser("transfer", parents=[common])
    p.add_argument("--trial", type=int, default=0)
    p.add_argument("--settle", type=float, default=0.5, help="seconds of writes before and after")
    p = sub.add_parser("report")
    p.add_argument("--rec", required=True)
    p.add_argument("--meta", required=True)
    p.add_argument("--out", required=True)
    a = ap.parse_args()
    fn = {"backend": cmd_backend, "ops": cmd_ops, "kill-leader": cmd_kill_leader, "caught-up": cmd_caught_up,
          "transfer": cmd_transfer, "report": cmd_report}[a.cmd]
    return fn(a) or 0


if __name__ == "__main__":
    sys.exit(main())
