"""`proxyctl check FILE...`: offline validation of static and dynamic config files.

Each test writes its files into a fresh temporary folder and runs proxyctl from the same build
as proxyd (lib.util.proxyctl_path). Exit codes: 0 no error, 1 an error in a readable file,
2 usage error or a file that cannot be read.
"""

import json
import os
import subprocess
import tempfile

from lib.util import Skip, check, proxyctl_path

FIXTURES = "/work/shared/traefik-fixtures"

VALID = """\
http:
  routers:
    r:
      rule: "Host(`a.example`)"
      entryPoints: [web, websecure]
      service: s
  services:
    s:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:8081"
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


def lines(out):
    return [l for l in out.splitlines() if l]


def expect(rc, out, want_rc, what):
    check(rc == want_rc, "%s: exit %d, want %d; stdout: %r" % (what, rc, want_rc, out))


def test_valid_dynamic():
    rc, out, err = run("check", "d.yml", files={"d.yml": VALID})
    expect(rc, out, 0, "valid dynamic file")
    check(out == "", "valid file printed %r (entry points must not warn offline)" % out)


def test_unknown_key():
    text = VALID.replace("rule:", "rul:")
    rc, out, _ = run("check", "d.yml", files={"d.yml": text})
    expect(rc, out, 1, "unknown key")
    check("d.yml:4:7: http.routers.r.rul: unknown key" in lines(out), "got %r" % out)


def test_bad_rule():
    text = VALID.replace("Host(`a.example`)", "Host(`a.example`")
    rc, out, _ = run("check", "d.yml", files={"d.yml": text})
    expect(rc, out, 1, "bad rule")
    ls = lines(out)
    check(len(ls) == 1 and ls[0].startswith("d.yml:4:7: http.routers.r.rule: "),
          "want one error at the rule (4:7), got %r" % out)


def test_dangling_service():
    text = VALID.replace("service: s", "service: nope")
    rc, out, _ = run("check", "d.yml", files={"d.yml": text})
    expect(rc, out, 1, "dangling service")
    check(any(l.startswith("d.yml:6:7: http.routers.r.service: ") for l in lines(out)),
          "got %r" % out)


def test_static_typo():
    text = 'entryPoints:\n  web:\n    adress: ":8080"\n'
    rc, out, _ = run("check", "s.yml", files={"s.yml": text})
    expect(rc, out, 1, "static typo")
    check(any(l.startswith("s.yml:3:5: entryPoints.web.adress: ") for l in lines(out)),
          "got %r" % out)


def test_static_valid():
    text = 'entryPoints:\n  web:\n    address: ":8080"\nproviders:\n  file:\n' \
           '    filename: dyn.yml\n'
    rc, out, _ = run("check", "s.yml", files={"s.yml": text})
    expect(rc, out, 0, "valid static file")


def test_mixed_static_dynamic():
    text = 'entryPoints:\n  web:\n    address: ":8080"\n' + VALID
    rc, out, _ = run("check", "m.yml", files={"m.yml": text})
    expect(rc, out, 1, "mixed file")
    check(any(l.startswith("m.yml:4:1: http: ") and "mixed" in l for l in lines(out)),
          "got %r" % out)


def test_yaml_syntax_error():
    rc, out, _ = run("check", "y.yml", files={"y.yml": "http:\n  routers: [\n"})
    expect(rc, out, 1, "YAML syntax error (a readable file)")
    check(any(l.startswith("y.yml:") for l in lines(out)), "got %r" % out)


def test_several_files():
    files = {"a.yml": VALID.replace("rule:", "rul:"),
             "b.yml": 'entryPoints:\n  web:\n    adress: ":8080"\n',
             "c.yml": VALID}
    rc, out, _ = run("check", "a.yml", "b.yml", "c.yml", files=files)
    expect(rc, out, 1, "several files")
    ls = lines(out)
    check(any(l.startswith("a.yml:") for l in ls) and any(l.startswith("b.yml:") for l in ls),
          "want errors from a.yml and b.yml, got %r" % out)
    check(not any(l.startswith("c.yml:") for l in ls), "c.yml is valid, got %r" % out)


def test_missing_file():
    rc, out, _ = run("check", "d.yml", "nope.yml", files={"d.yml": VALID})
    expect(rc, out, 2, "missing file")
    check(any(l.startswith("nope.yml: ") for l in lines(out)), "got %r" % out)


def test_usage_errors():
    rc, out, err = run("check")
    expect(rc, out, 2, "no file argument")
    check("usage" in err, "want usage on stderr, got %r" % err)
    rc, out, err = run("frobnicate")
    expect(rc, out, 2, "unknown command")
    check("usage" in err, "want usage on stderr, got %r" % err)
    rc, out, err = run("check", "--bogus", "x.yml")
    expect(rc, out, 2, "unknown flag")
    rc, out, err = run("-o", "xml", "check", "x.yml")
    expect(rc, out, 2, "bad -o value")


def test_help():
    rc, out, _ = run("check", "--help")
    expect(rc, out, 0, "check --help")
    check("exit codes" in out and "cannot be read" in out, "help lacks exit codes: %r" % out)
    rc, out, _ = run("--help")
    expect(rc, out, 0, "--help")
    rc, out, _ = run("--version")
    expect(rc, out, 0, "--version")
    check(out.startswith("proxyctl "), "got %r" % out)


def test_warnings_only():
    text = VALID + "  middlewares:\n    m:\n      circuitBreaker: {expression: x}\n"
    rc, out, _ = run("check", "w.yml", files={"w.yml": text})
    expect(rc, out, 0, "warnings only")
    ls = lines(out)
    check(len(ls) == 1 and ls[0].startswith("w.yml:14:7: http.middlewares.m.circuitBreaker: ")
          and ls[0].endswith(" (warning)"), "got %r" % out)


def test_empty_file():
    rc, out, _ = run("check", "e.yml", files={"e.yml": ""})
    expect(rc, out, 0, "empty file")


def test_fixture_dynamic():
    path = os.path.join(FIXTURES, "simple_file_01.yml")
    if not os.path.exists(path):
        raise Skip("fixture %s missing" % path)
    rc, out, _ = run("-o", "json", "check", path)
    doc = json.loads(out)
    f = doc["files"][0]
    check(f["kind"] == "dynamic", "kind %r" % f["kind"])
    # Its routers have no rule: Traefik refuses those routers too ("empty rule").
    want = 1 if f["errors"] else 0
    expect(rc, out, want, "simple_file_01.yml")
    check(all(e["path"].endswith(".rule") for e in f["errors"]), "errors %r" % f["errors"])


def test_fixture_static():
    path = os.path.join(FIXTURES, "static-file-reference.yaml")
    if not os.path.exists(path):
        raise Skip("fixture %s missing" % path)
    rc, out, _ = run("check", path)
    expect(rc, out, 1, "static-file-reference.yaml (placeholder values are errors)")
    ls = lines(out)
    check(any(l.startswith(path + ":") and "invalid address" in l for l in ls), "got %r" % out)
    check(any(l.endswith(" (warning)") for l in ls), "want warnings too, got %r" % out)


def test_json_shape():
    files = {"a.yml": VALID.replace("rule:", "rul:") + "  middlewares:\n    m:\n      circuitBreaker: {expression: x}\n",
             "s.yml": 'entryPoints:\n  web:\n    address: ":8080"\n'}
    rc, out, _ = run("check", "-o", "json", "a.yml", "s.yml", "nope.yml", files=files)
    expect(rc, out, 2, "json with a missing file")
    doc = json.loads(out)
    check(list(doc) == ["files"] and len(doc["files"]) == 3, "got %r" % doc)
    a, s, n = doc["files"]
    check(set(a) == {"file", "kind", "errors", "warnings"}, "keys %r" % sorted(a))
    check(a["file"] == "a.yml" and a["kind"] == "dynamic", "got %r" % a)
    check(a["errors"] == [{"file": "a.yml", "line": 4, "col": 7, "path": "http.routers.r.rul",
                           "message": "unknown key"}], "errors %r" % a["errors"])
    check(len(a["warnings"]) == 1 and a["warnings"][0]["path"] == "http.middlewares.m.circuitBreaker",
          "warnings %r" % a["warnings"])
    check(s["kind"] == "static" and s["errors"] == [] and s["warnings"] == [], "got %r" % s)
    check(n["kind"] is None and len(n["errors"]) == 1, "got %r" % n)


def test_yaml_output():
    rc, out, _ = run("check", "-o", "yaml", "d.yml", files={"d.yml": VALID})
    expect(rc, out, 0, "-o yaml")
    check(out == 'files:\n  - file: "d.yml"\n    kind: dynamic\n    errors: []\n'
          '    warnings: []\n', "got %r" % out)
