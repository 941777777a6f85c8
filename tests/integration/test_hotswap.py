"""Hot swap of the routing table from the file provider (watch: true): a changed file compiles
into a new generation that new requests use, in-flight requests finish on the generation they
started with, and a file that does not parse keeps the running table."""

import os
import threading
import time

from lib.backend import FakeBackend, simple_response
from lib.check import Env
from lib.client import Client, Closed
from lib.proxyd import to_yaml
from lib.util import check, wait_until

FAST = {"providers": {"providersThrottleDuration": "10ms"}}


def _write_dynamic(px, routers, services):
    """Replaces dynamic.yaml atomically (write + rename), as config tools do."""
    px.routers = routers
    px.services = services
    path = os.path.join(px.tmpdir, "dynamic.yaml")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(to_yaml(px._dynamic()))
    os.rename(tmp, path)


def _body(env, host, target=b"/"):
    c = Client(env.addr, timeout=5)
    try:
        c.send(b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
        r = c.read_response()
        return r.status, r.body
    finally:
        c.close()


def _named(name):
    return lambda req: simple_response(b"%s %s" % (name.encode(), req.target))


def test_file_change_swaps_table_and_bad_file_keeps_it():
    a, b = FakeBackend("A", responder=_named("A")), FakeBackend("B", responder=_named("B"))
    with Env(backends={"A": a, "B": b}, routers=[("Host(`x`)", "A")], static_extra=FAST) as env:
        check(_body(env, b"x")[1].startswith(b"A "), "initial route should go to A")
        _write_dynamic(env.px, [("Host(`x`)", "B")], {"A": [a.url], "B": [b.url]})
        wait_until(lambda: _body(env, b"x")[1].startswith(b"B "), 5, 0.02,
                   "the changed file to route x to B")
        with open(os.path.join(env.px.tmpdir, "dynamic.yaml"), "w") as f:
            f.write("http:\n  routers: [unclosed\n")
        time.sleep(0.5)
        check(env.px.alive(), "proxyd died on an unparsable file")
        status, body = _body(env, b"x")
        check(status == 200 and body.startswith(b"B "),
              "an unparsable file must keep the running table: %s %r" % (status, body))
        check("the running table stays" in env.px.stderr_text(),
              "no log line saying the running table stays")


def test_inflight_request_finishes_on_its_generation():
    def slow(req):
        r = simple_response(b"A slow")
        r.delay = 1.5
        return r
    a = FakeBackend("A", responder=slow)
    with Env(backends={"A": a}, routers=[("Host(`x`)", "A")], static_extra=FAST) as env:
        c = env.client(timeout=10)
        c.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_until(lambda: a.requests(), 3, what="the slow request to reach the backend")
        _write_dynamic(env.px, [], {})  # the router and its service are gone
        wait_until(lambda: _body(env, b"x")[0] == 404, 5, 0.02, "the new table (no routers)")
        r = c.read_response(timeout=8)
        check(r.status == 200 and r.body == b"A slow",
              "the in-flight request must finish on its own generation: %s" % r)


def test_hot_swap_under_load():
    """50 config changes per second for 10 s under constant keep-alive load: 0 failed
    requests, and every answer is one that some generation gives (x: A or B; t: A or 404)."""
    a, b = FakeBackend("A", responder=_named("A")), FakeBackend("B", responder=_named("B"))
    even = [("Host(`x`)", "A"), ("Host(`t`)", "A")]
    odd = [("Host(`x`)", "B")]
    stats = {"ok": 0, "bad": [], "t404": 0}
    lock = threading.Lock()
    stop = threading.Event()

    def load(env, host):
        c = Client(env.addr, timeout=5)
        i = 0
        while not stop.is_set():
            i += 1
            try:
                c.send(b"GET /%d HTTP/1.1\r\nHost: %s\r\n\r\n" % (i, host))
                r = c.read_response()
            except (Closed, OSError) as e:
                with lock:
                    stats["bad"].append("%s: connection error %s" % (host.decode(), e))
                c.close()
                c = Client(env.addr, timeout=5)
                continue
            good = (r.status == 200 and r.body[:2] in (b"A ", b"B ")) if host == b"x" else \
                (r.status == 200 and r.body.startswith(b"A ")) or r.status == 404
            with lock:
                if not good:
                    stats["bad"].append("%s: %s %r" % (host.decode(), r.status, r.body[:40]))
                else:
                    stats["ok"] += 1
                    stats["t404"] += r.status == 404
        c.close()

    with Env(backends={"A": a, "B": b}, routers=even, static_extra=FAST) as env:
        services = {"A": [a.url], "B": [b.url]}
        threads = [threading.Thread(target=load, args=(env, h), daemon=True)
                   for h in (b"x", b"x", b"t")]
        for t in threads:
            t.start()
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < 10:
            _write_dynamic(env.px, odd if n % 2 else even, services)
            n += 1
            time.sleep(max(0, t0 + n * 0.02 - time.monotonic()))
        stop.set()
        for t in threads:
            t.join(10)
        gens = env.px.stderr_text().count("routing table generation")
        print("%d changes written, %d generations compiled, %d requests ok (%d 404 on t), "
              "%d bad" % (n, gens, stats["ok"], stats["t404"], len(stats["bad"])))
        check(not stats["bad"], "%d failed requests, e.g. %s" % (len(stats["bad"]),
                                                                 stats["bad"][:3]))
        check(gens > 50, "only %d generations were compiled from %d changes" % (gens, n))
        check(stats["ok"] > 1000, "too few requests under load: %d" % stats["ok"])
