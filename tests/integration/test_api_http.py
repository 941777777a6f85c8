"""The Traefik-compatible reads of the admin API (node/admin/api_http.c) through a real proxyd:
/api/overview, /api/http/{routers,services,middlewares}[/{name}], /api/rawdata. Shapes and
statuses, disabled objects listed with their errors, unknown names 404, 401 without the token,
and a hot swap of the file provider reflected in the answers."""

import http.client
import json
import os
import re
import time

from lib.check import Env
from lib.proxyd import to_yaml
from lib.util import check, wait_until

FAST = {"providers": {"providersThrottleDuration": "10ms"}}

# Objects added to the dynamic configuration next to the generated r0 -> A (Host(`a`)).
EXTRA = {"http": {
    "routers": {
        "withmw": {"rule": "Host(`m`)", "service": "A", "middlewares": ["strip", "ch"],
                   "priority": 7},
        "badrule": {"rule": "Host(`x`", "service": "A"},
        "dangling": {"rule": "Host(`d`)", "service": "nope"},
    },
    "services": {
        "w": {"weighted": {"services": [{"name": "A", "weight": 3}]}},
    },
    "middlewares": {
        "strip": {"stripPrefix": {"prefixes": ["/api"]}},
        "ch": {"chain": {"middlewares": ["strip"]}},
        "brokenmw": {"ipAllowList": {"sourceRange": ["not-an-ip"]}},
    },
}}


def admin(px):
    m = re.search(r"listener admin addr=(\S+):(\d+)", px.stderr_text())
    check(m is not None, "no admin listener line in the log")
    token = open(os.path.join(px.tmpdir, "data", "admin.token")).read().strip()
    return (m.group(1), int(m.group(2))), token


def get(addr, path, token=None, method="GET"):
    """Returns (status, parsed JSON body or None)."""
    c = http.client.HTTPConnection(addr[0], addr[1], timeout=10)
    try:
        headers = {"Authorization": "Bearer " + token} if token else {}
        c.request(method, path, headers=headers)
        r = c.getresponse()
        raw = r.read()
        if r.status == 400 and not r.getheader("Content-Type", "").startswith("application/json"):
            return r.status, None  # refused by the HTTP parser before the API saw it
        check(r.getheader("Content-Type", "").startswith("application/json"),
              "%s %s: Content-Type %r" % (method, path, r.getheader("Content-Type")))
        return r.status, json.loads(raw) if raw else None
    finally:
        c.close()


def ok(addr, token, path):
    status, body = get(addr, path, token)
    check(status == 200, "GET %s: %s %r" % (path, status, body))
    return body


def by_name(items):
    return {o["name"]: o for o in items}


def test_api_shapes_statuses_and_disabled_objects():
    with Env(backends=["A"], dynamic_extra=EXTRA) as env:
        addr, token = admin(env.px)
        routers = ok(addr, token, "/api/http/routers")
        names = [o["name"] for o in routers]
        check(names == sorted(names), "routers not sorted by name: %s" % names)
        r = by_name(routers)
        for n in ("r0@file", "withmw@file", "badrule@file", "dangling@file", "probe@file"):
            check(n in r, "router %s missing from %s" % (n, names))
        r0 = r["r0@file"]
        check(r0["status"] == "enabled" and r0["provider"] == "file", "r0: %s" % r0)
        check(r0["rule"] == "Host(`a`)" and r0["service"] == "A@file", "r0: %s" % r0)
        check(r0["priority"] == len("Host(`a`)"), "default priority is len(rule): %s" % r0)
        check(r0["entryPoints"] == ["web"] and r0["using"] == ["web"], "r0 entry points: %s" % r0)
        check("error" not in r0, "an enabled router without diagnostics has no error: %s" % r0)
        wm = r["withmw@file"]
        check(wm["middlewares"] == ["strip@file", "ch@file"] and wm["priority"] == 7,
              "withmw: %s" % wm)
        for n, word in (("badrule@file", "rule"), ("dangling@file", "nope@file")):
            o = r[n]
            check(o["status"] == "disabled", "%s should be disabled: %s" % (n, o))
            check(o.get("error") and any(word in e for e in o["error"]),
                  "%s: errors should mention %r: %s" % (n, word, o.get("error")))
            check("using" not in o, "a disabled router is used by no entry point: %s" % o)

        services = by_name(ok(addr, token, "/api/http/services"))
        a = services["A@file"]
        check(a["type"] == "loadbalancer" and a["status"] == "enabled", "A: %s" % a)
        check(a["loadBalancer"]["servers"] == [{"url": env.A.url}], "A servers: %s" % a)
        check(a["loadBalancer"]["passHostHeader"] is True, "passHostHeader default: %s" % a)
        check(a["serverStatus"] == {env.A.url: "UP"}, "A serverStatus: %s" % a)
        for u in ("r0@file", "withmw@file", "w@file"):
            check(u in a["usedBy"], "A usedBy lacks %s: %s" % (u, a["usedBy"]))
        w = services["w@file"]
        check(w["type"] == "weighted" and w["weighted"]["services"] == [{"name": "A", "weight": 3}],
              "w: %s" % w)

        mws = by_name(ok(addr, token, "/api/http/middlewares"))
        s = mws["strip@file"]
        check(s["type"] == "stripprefix" and s["stripPrefix"] == {"prefixes": ["/api"]},
              "strip: %s" % s)
        check(s["usedBy"] == ["ch@file", "withmw@file"], "strip usedBy: %s" % s)
        check(mws["ch@file"]["chain"] == {"middlewares": ["strip"]}, "ch: %s" % mws["ch@file"])
        b = mws["brokenmw@file"]
        check(b["status"] == "disabled" and b["type"] == "ipallowlist"
              and any("not-an-ip" in e for e in b["error"]), "brokenmw: %s" % b)

        ov = ok(addr, token, "/api/overview")
        check(ov["http"]["routers"] == {"total": len(routers), "warnings": 0, "errors": 2},
              "overview routers: %s" % ov["http"]["routers"])
        check(ov["http"]["middlewares"] == {"total": 3, "warnings": 0, "errors": 1},
              "overview middlewares: %s" % ov["http"]["middlewares"])
        check(ov["http"]["services"]["total"] == len(services), "overview services: %s" % ov)
        check(ov["providers"] == ["File"] and ov["tableGeneration"] >= 1, "overview: %s" % ov)

        raw = ok(addr, token, "/api/rawdata")
        check(sorted(raw["routers"]) == names, "rawdata routers: %s" % sorted(raw["routers"]))
        check(sorted(raw["services"]) == sorted(services), "rawdata services")
        check(sorted(raw["middlewares"]) == sorted(mws), "rawdata middlewares")
        check(raw["routers"]["badrule@file"]["status"] == "disabled", "rawdata disabled router")
        check("name" not in raw["routers"]["r0@file"], "rawdata objects are keyed, not named")

        dis = ok(addr, token, "/api/http/routers?status=disabled")
        check(sorted(o["name"] for o in dis) == ["badrule@file", "dangling@file"],
              "?status=disabled: %s" % [o["name"] for o in dis])
        found = ok(addr, token, "/api/http/routers?search=WITH")
        check([o["name"] for o in found] == ["withmw@file"], "?search: %s" % found)
        found = ok(addr, token, "/api/http/routers?middlewareName=strip%40file")
        check([o["name"] for o in found] == ["withmw@file"], "?middlewareName: %s" % found)


def test_api_single_objects_and_unknown_names():
    with Env(backends=["A"], dynamic_extra=EXTRA) as env:
        addr, token = admin(env.px)
        for path in ("/api/http/routers/r0@file", "/api/http/routers/r0%40file"):
            o = ok(addr, token, path)
            check(o["name"] == "r0@file" and o["status"] == "enabled", "%s: %s" % (path, o))
        o = ok(addr, token, "/api/http/routers/badrule%40file")
        check(o["status"] == "disabled" and o["error"], "single disabled router: %s" % o)
        o = ok(addr, token, "/api/http/services/w%40file")
        check(o["type"] == "weighted", "single service: %s" % o)
        o = ok(addr, token, "/api/http/middlewares/strip@file")
        check(o["type"] == "stripprefix", "single middleware: %s" % o)
        for path in ("/api/http/routers/nope@file", "/api/http/routers/r0",
                     "/api/http/services/nope%40file", "/api/http/middlewares/x@file"):
            status, body = get(addr, path, token)
            check(status == 404 and "not found" in body.get("error", ""),
                  "%s: %s %r" % (path, status, body))
        for bad in ("/api/http/routers/bad%zz", "/api/http/routers/a%00b",
                    "/api/http/routers/a/b"):
            status, body = get(addr, bad, token)
            check(status == 400, "%s: %s %r" % (bad, status, body))


def test_api_requires_token_and_is_read_only():
    with Env(backends=["A"]) as env:
        addr, token = admin(env.px)
        for path in ("/api/overview", "/api/rawdata", "/api/http/routers",
                     "/api/http/services/A@file", "/api/http/middlewares"):
            status, body = get(addr, path)
            check(status == 401 and "error" in body, "%s without token: %s" % (path, status))
            status, _ = get(addr, path, "0" * 64)
            check(status == 401, "%s with a wrong token: %s" % (path, status))
        status, body = get(addr, "/api/http/routers", token, method="POST")
        check(status == 405, "POST on a read: %s %r" % (status, body))


def write_dynamic(px, extra):
    px.dynamic_extra = extra
    path = os.path.join(px.tmpdir, "dynamic.yaml")
    with open(path + ".tmp", "w") as f:
        f.write(to_yaml(px._dynamic()))
    os.rename(path + ".tmp", path)


def test_api_reflects_hot_swap():
    with Env(backends=["A"], static_extra=FAST) as env:
        addr, token = admin(env.px)
        gen0 = ok(addr, token, "/api/overview")["tableGeneration"]
        check("late@file" not in by_name(ok(addr, token, "/api/http/routers")), "late too early")
        write_dynamic(env.px, {"http": {"routers": {
            "late": {"rule": "Host(`late`)", "service": "A"},
            "latebad": {"rule": "Host(`late`)", "service": "missing"}}}})
        wait_until(lambda: "late@file" in by_name(ok(addr, token, "/api/http/routers")), 5, 0.02,
                   "the new router in the API")
        r = by_name(ok(addr, token, "/api/http/routers"))
        check(r["late@file"]["status"] == "enabled", "late: %s" % r["late@file"])
        check(r["latebad@file"]["status"] == "disabled" and r["latebad@file"]["error"],
              "latebad: %s" % r["latebad@file"])
        ov = ok(addr, token, "/api/overview")
        check(ov["tableGeneration"] > gen0, "generation did not move: %s -> %s"
              % (gen0, ov["tableGeneration"]))
        check(ov["http"]["routers"]["errors"] == 1, "overview after swap: %s" % ov["http"])
        # A file that does not parse keeps the running table, and so the API's answers.
        with open(os.path.join(env.px.tmpdir, "dynamic.yaml"), "w") as f:
            f.write("http:\n  routers: [unclosed\n")
        wait_until(lambda: "the running table stays" in env.px.stderr_text(), 5, 0.02,
                   "the unparsable file to be refused")
        again = ok(addr, token, "/api/overview")
        check(again["tableGeneration"] == ov["tableGeneration"], "generation moved on a bad file")
        check("late@file" in by_name(ok(addr, token, "/api/http/routers")),
              "the API lost the running table's routers")
