#!/usr/bin/python3
"""Runs Concord's integration tests: every test_* function of every test_*.py in this folder,
each in its own Python process (so a hung or crashing test cannot take others down), at most
two at a time.

    /usr/bin/python3 tests/integration/run.py [--proxyd PATH] [-k SUBSTRING] [--big-body-bytes N]
                                              [-j 1|2] [--timeout SECS] [-v] [--list]

Prints `PASS name (secs)`, `FAIL name: reason` or `SKIP name: reason` per test, then
`N passed, N failed[, N skipped]`. Exit status 1 if any test failed.
"""

import argparse
import concurrent.futures
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
RESULT_TAG = "@@RESULT@@ "


def discover(ksubs):
    sys.path.insert(0, HERE)
    tests = []
    for fn in sorted(os.listdir(HERE)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        modname = fn[:-3]
        mod = importlib.import_module(modname)
        for name, obj in list(vars(mod).items()):
            if name.startswith("test_") and callable(obj):
                full = "%s.%s" % (modname, name)
                if ksubs and not any(k in full for k in ksubs):
                    continue
                tests.append((full, getattr(obj, "timeout", None), getattr(obj, "slow", False)))
    return tests


# ---- child mode: run one test ----------------------------------------------------------------
def run_one(full):
    sys.path.insert(0, HERE)
    from lib.util import Skip, TestFailure

    def on_term(signum, frame):
        raise TestFailure("test timed out (runner sent SIGTERM)")

    signal.signal(signal.SIGTERM, on_term)
    modname, func = full.split(".", 1)
    result = {"status": "pass", "reason": ""}
    try:
        mod = importlib.import_module(modname)
        getattr(mod, func)()
    except Skip as e:
        result = {"status": "skip", "reason": str(e)}
    except TestFailure as e:
        result = {"status": "fail", "reason": str(e)}
        traceback.print_exc()
    except BaseException as e:  # a bug in the test or harness: show where
        tb = traceback.extract_tb(e.__traceback__)
        where = "%s:%d" % (os.path.basename(tb[-1].filename), tb[-1].lineno) if tb else "?"
        result = {"status": "fail", "reason": "%s: %s (at %s)" % (type(e).__name__, e, where)}
        traceback.print_exc()
    sys.stdout.write("\n" + RESULT_TAG + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


# ---- parent mode -----------------------------------------------------------------------------
class Runner:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.passed = self.failed = self.skipped = 0
        self.procs = set()
        self.stopping = False

    def env(self, pidfile):
        e = dict(os.environ)
        e["PROXYD"] = self.args.proxyd
        if self.args.big_body_bytes is not None:
            e["CONCORD_BIG_BODY_BYTES"] = str(self.args.big_body_bytes)
        e["CONCORD_IT_PIDFILE"] = pidfile
        e["PYTHONDONTWRITEBYTECODE"] = "1"
        return e

    def _kill_leftovers(self, pidfile):
        """Stops proxyd processes a killed test left behind, by the PIDs it recorded."""
        try:
            with open(pidfile) as f:
                pids = [int(x) for x in f.read().split()]
        except (OSError, ValueError):
            return
        for pid in pids:
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    if b"proxyd" not in f.read():
                        continue
                os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass

    def run_test(self, item):
        full, tmo, _slow = item
        if self.stopping:
            return
        tmo = tmo or self.args.timeout
        fd, pidfile = tempfile.mkstemp(prefix="concord-it-pids-")
        os.close(fd)
        t0 = time.monotonic()
        p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--one", full],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=self.env(pidfile), start_new_session=True, cwd=HERE)
        with self.lock:
            self.procs.add(p)
        timed_out = False
        try:
            out, err = p.communicate(timeout=tmo)
        except subprocess.TimeoutExpired:
            timed_out = True
            p.send_signal(signal.SIGTERM)
            try:
                out, err = p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
        with self.lock:
            self.procs.discard(p)
        self._kill_leftovers(pidfile)
        try:
            os.unlink(pidfile)
        except OSError:
            pass
        dt = time.monotonic() - t0
        res = None
        for line in out.decode("utf-8", "replace").splitlines():
            if line.startswith(RESULT_TAG):
                res = json.loads(line[len(RESULT_TAG):])
        if res is None:
            tail = err.decode("utf-8", "replace").strip().splitlines()[-3:]
            res = {"status": "fail", "reason": ("timed out after %ds" % tmo if timed_out else
                                                "test process exited %s" % p.returncode)
                   + (": " + " / ".join(tail) if tail else "")}
        elif timed_out and res["status"] == "pass":
            res = {"status": "fail", "reason": "timed out after %ds" % tmo}
        with self.lock:
            if self.args.verbose:
                for line in out.decode("utf-8", "replace").splitlines():
                    if line.strip() and not line.startswith(RESULT_TAG):
                        print("    | " + line)
            if res["status"] == "pass":
                self.passed += 1
                print("PASS %s (%.2fs)" % (full, dt), flush=True)
            elif res["status"] == "skip":
                self.skipped += 1
                print("SKIP %s: %s" % (full, res["reason"]), flush=True)
            else:
                self.failed += 1
                reason = " ".join(res["reason"].split())
                print("FAIL %s: %s" % (full, reason), flush=True)
                if self.args.verbose:
                    sys.stdout.write(err.decode("utf-8", "replace"))
                    sys.stdout.flush()

    def run(self, tests):
        # Long tests first so two slots stay busy until the end.
        tests = sorted(tests, key=lambda t: not t[2])
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.args.jobs) as ex:
            futs = [ex.submit(self.run_test, t) for t in tests]
            try:
                for f in futs:
                    f.result()
            except KeyboardInterrupt:
                self.stopping = True
                with self.lock:
                    for p in list(self.procs):
                        p.send_signal(signal.SIGTERM)
                raise


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--proxyd", default=os.environ.get("PROXYD") or
                    os.path.join(REPO, "build-release", "node", "proxyd"))
    ap.add_argument("-k", action="append", default=[], help="run tests whose name contains this")
    ap.add_argument("--big-body-bytes", type=int, default=None,
                    help="size of the large streamed bodies (default: env "
                         "CONCORD_BIG_BODY_BYTES or 1 GiB)")
    ap.add_argument("-j", "--jobs", type=int, default=2, choices=(1, 2))
    ap.add_argument("--timeout", type=int, default=90, help="per-test timeout in seconds")
    ap.add_argument("-v", "--verbose", action="store_true", help="show tracebacks of failures")
    ap.add_argument("--list", action="store_true", help="list the tests and exit")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        return run_one(args.one)
    args.proxyd = os.path.abspath(args.proxyd)
    tests = discover(args.k)
    if args.list:
        for t in tests:
            print(t[0])
        return 0
    if not tests:
        print("no tests matched")
        print("0 passed, 0 failed")
        return 1
    if not os.access(args.proxyd, os.X_OK):
        print("# warning: no executable proxyd at %s (use --proxyd PATH); every test will fail"
              % args.proxyd)
    r = Runner(args)
    t0 = time.monotonic()
    r.run(tests)
    line = "%d passed, %d failed" % (r.passed, r.failed)
    if r.skipped:
        line += ", %d skipped" % r.skipped
    print("# %d tests in %.1fs with %s" % (len(tests), time.monotonic() - t0, args.proxyd))
    print(line)
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
