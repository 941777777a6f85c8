"""`proxyctl route explain`: offline routing of one request against dynamic config files.

Each test writes its files into a fresh temporary folder and runs proxyctl from the same build
as proxyd (lib.util.proxyctl_path). The output is always JSON: {router, service, candidates}.
Exit codes: 0 done (matched or not), 2 usage error or a file that cannot be read or decoded.
"""

import json
import os
import subprocess
import tempfile

from lib.util import Skip, check, proxyctl_path

CONFIG = """\
http:
  routers:
    api:
      rule: "Host(`a.example`) && PathPrefix(`/api`)"
      entryPoints: [web]
      service: api-svc
    site:
      rule: "Host(`a.example`)"
      entryPoints: [web, websecure]
      service: site-svc
    admin:
      rule: "Host(`a.example`) && Path(`/admin`)"
      priority: 1000
      entryPoints: [websecure]
      service: site-svc
    posts:
      rule: "Method(`POST`) && Header(`X-Env`, `prod`)"
      priority: 500
      service: api-svc
    search:
      rule: "Query(`q`, `concord`) && ClientIP(`10.0.0.0/8`)"
      priority: 400
      service: api-svc
    broken:
      rule: "Host(`x"
      service: site-svc
  services:
    api-svc:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:8081"
    site-svc:
      loadBalancer:
        servers:
          - url: "http://backend.example.invalid:8082"
"""


def run(*args, files=None):
    """Runs proxyctl with `args` in a temporary folder holding `files` (name -> text).
    Returns (exit code, stdout, stderr)."""
    exe = proxyctl_path()
    if not os.path.exists(exe):
        raise Skip("proxyctl not built at %s" % exe)
    with tempfile.TemporaryDirectory() as d:
        for name, text in (files or {}).items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        p = subprocess.run([exe] + list(args), cwd=d, capture_output=True, text=True,
                           timeout=30)
    return p.returncode, p.stdout, p.stderr


def explain(*args, files=None):
    """Runs `route explain --config c.yml ARGS` on CONFIG; returns the decoded JSON."""
    rc, out, err = run("route", "explain", "--config", "c.yml", *args,
                       files=files or {"c.yml": CONFIG})
    check(rc == 0, "route explain %s: exit %d, stderr %r" % (args, rc, err))
    try:
        return json.loads(out)
    except ValueError:
        raise AssertionError("route explain %s: not JSON: %r" % (args, out))


def names(res):
    return [c["router"] for c in res["candidates"]]


def test_match_by_host_and_path():
    res = explain("GET", "http://a.example/api/users")
    check(res["router"] == "api@file" and res["service"] == "api-svc@file", res)
    # admin (1000), posts (500), search (400) come first and are explained; the match is last.
    check(names(res) == ["admin@file", "posts@file", "search@file", "api@file"], names(res))
    want = ['Path(`/admin`) does not match path "/api/users"',
            'Method(`POST`) does not match method "GET"',
            'Query(`q`, `concord`) does not match: no query', None]
    check([c["reason"] for c in res["candidates"]] == want, res["candidates"])
    check([c["matched"] for c in res["candidates"]] == [False, False, False, True], res)
    check(res["candidates"][0]["priority"] == 1000, res["candidates"][0])
    check(res["candidates"][3]["rule"] == "Host(`a.example`) && PathPrefix(`/api`)", res)


def test_no_match_lists_every_candidate():
    res = explain("GET", "http://nope.example/")
    check(res["router"] is None and res["service"] is None, res)
    check(names(res) == ["admin@file", "posts@file", "search@file", "api@file", "site@file"],
          names(res))
    for c in res["candidates"]:
        check(c["matched"] is False and c["reason"], c)
    check(res["candidates"][4]["reason"] == 'Host(`a.example`) does not match host "nope.example"',
          res["candidates"][4])


def test_disabled_router_is_not_a_candidate():
    rc, out, err = run("route", "explain", "--config", "c.yml", "GET", "http://x/",
                       files={"c.yml": CONFIG})
    check(rc == 0, "exit %d" % rc)
    check("broken@file" not in names(json.loads(out)), out)
    check("broken" in err and "unterminated string" in err, err)


def test_entrypoint_filtering():
    res = explain("--entrypoint", "web", "GET", "http://a.example/admin")
    # admin is only on websecure; posts and search have no entry points (all of them).
    check(names(res) == ["posts@file", "search@file", "api@file", "site@file"], names(res))
    check(res["router"] == "site@file", res)
    res = explain("--entrypoint", "websecure", "GET", "http://a.example/admin")
    check(res["router"] == "admin@file" and names(res) == ["admin@file"], res)
    res = explain("--entrypoint", "other", "GET", "http://a.example/api")
    check(names(res) == ["posts@file", "search@file"] and res["router"] is None, res)


def test_absolute_url_host_wins_over_host_header():
    res = explain("--header", "Host: b.example", "GET", "http://A.Example:8443/x/../api/v1")
    check(res["router"] == "api@file", res)


def test_origin_form_takes_the_host_header():
    res = explain("--header", "Host: A.EXAMPLE:80", "GET", "/api/v1?x=1")
    check(res["router"] == "api@file", res)
    res = explain("GET", "/api/v1")  # no Host: no host matcher matches
    check(res["router"] is None, res)
    check(res["candidates"][-1]["reason"] == 'Host(`a.example`) does not match host ""', res)


def test_method_and_header_matchers():
    res = explain("--header", "X-Env: prod", "POST", "http://c.example/")
    check(res["router"] == "posts@file", res)
    res = explain("--header", "X-Env: dev", "POST", "http://c.example/")
    check(res["router"] is None, res)
    reason = res["candidates"][1]["reason"]
    check(reason == 'Header(`X-Env`, `prod`) does not match header "X-Env" = "dev"', reason)


def test_query_and_client_ip_matchers():
    res = explain("--client-ip", "10.1.2.3", "GET", "http://c.example/?q=concord")
    check(res["router"] == "search@file", res)
    res = explain("GET", "http://c.example/?q=concord")  # default client 127.0.0.1
    check(res["router"] is None, res)
    reason = res["candidates"][2]["reason"]
    check(reason == 'ClientIP(`10.0.0.0/8`) does not match client IP "127.0.0.1"', reason)
    res = explain("--client-ip", "::1", "GET", "http://c.example/?q=other")
    reason = res["candidates"][2]["reason"]
    check(reason == 'Query(`q`, `concord`) does not match query "q=other"', reason)


def test_priority_order_then_name():
    cfg = """\
http:
  routers:
    b:
      rule: "PathPrefix(`/`)"
      priority: 5
      service: s
    a:
      rule: "PathPrefix(`/`)"
      priority: 5
      service: s
    c:
      rule: "Path(`/nope`)"
      priority: 9
      service: s
  services:
    s:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:8081"
"""
    res = explain("GET", "/x", files={"c.yml": cfg})
    check(names(res) == ["c@file", "a@file"] and res["router"] == "a@file", res)


def test_several_files_form_one_namespace():
    routers = "http:\n  routers:\n    r:\n      rule: \"Path(`/`)\"\n      service: s\n"
    services = ("http:\n  services:\n    s:\n      loadBalancer:\n        servers:\n"
                "          - url: \"http://127.0.0.1:1\"\n")
    rc, out, err = run("route", "explain", "--config", "r.yml", "--config", "s.yml", "GET", "/",
                       files={"r.yml": routers, "s.yml": services})
    check(rc == 0, "exit %d: %s" % (rc, err))
    res = json.loads(out)
    check(res["router"] == "r@file" and res["service"] == "s@file", res)


def test_unreadable_or_bad_input_exits_2():
    rc, out, err = run("route", "explain", "--config", "missing.yml", "GET", "/")
    check(rc == 2 and out == "", "missing file: exit %d, stdout %r" % (rc, out))
    rc, out, err = run("route", "explain", "--config", "c.yml", "GET", "/",
                       files={"c.yml": "http: [unclosed\n"})
    check(rc == 2 and out == "", "bad YAML: exit %d" % rc)
    for args in (["GET", "/%zz"], ["GET", "nota-url"], ["--client-ip", "x", "GET", "/"],
                 ["GET"], ["--header", "no colon", "GET", "/"], ["--bogus", "GET", "/"]):
        rc, out, err = run("route", "explain", "--config", "c.yml", *args,
                           files={"c.yml": CONFIG})
        check(rc == 2 and out == "", "%s: exit %d, stdout %r" % (args, rc, out))
    # without --config it asks the cluster: nothing listens there, so exit 3
    rc, out, err = run("route", "explain", "--endpoints", "127.0.0.1:1", "--token-file",
                       "tok", "GET", "/", files={"tok": "t\n"})
    check(rc == 3 and out == "", "no --config, no cluster: exit %d %r" % (rc, err))


def test_middlewares_of_the_matched_router():
    text = CONFIG.replace('      entryPoints: [web]\n      service: api-svc\n',
                          '      entryPoints: [web]\n      service: api-svc\n'
                          '      middlewares: [both, tail]\n', 1)
    text += ("  middlewares:\n"
             "    a: {addPrefix: {prefix: /a}}\n"
             "    b: {addPrefix: {prefix: /b}}\n"
             "    tail: {addPrefix: {prefix: /t}}\n"
             "    both: {chain: {middlewares: [a, b]}}\n")
    res = explain("GET", "http://a.example/api/x", files={"c.yml": text})
    check(res["router"] == "api@file", res)
    check(res["middlewares"] == ["a@file", "b@file", "tail@file"], res)
    res = explain("GET", "http://a.example/other", files={"c.yml": text})
    check(res["router"] == "site@file" and res["middlewares"] == [], res)


def test_escapes_decoded_as_the_proxy_does():
    text = ("http:\n  routers:\n    sp:\n      rule: \"PathPrefix(`/foo bar`)\"\n      service: s\n"
            "  services:\n    s:\n      loadBalancer:\n        servers:\n"
            "          - url: \"http://127.0.0.1:8081\"\n")
    res = explain("GET", "http://a.example/foo%20bar/x", files={"c.yml": text})
    check(res["router"] == "sp@file", res)
    res = explain("GET", "http://a.example/foo%2Fbar", files={"c.yml": text})
    check(res["router"] is None, res)
