#!/usr/bin/python3
"""Summarise the runs of tests/bench/bench.sh: markdown table on stdout, raw JSON to --out.

Standard library only. Input: --meta (JSON object), --runs and --redos (JSON lines, one per
wrk run; --redos holds the noisy attempts that were redone and are not counted).
"""
import argparse
import json
import statistics
import sys

CASE_LABEL = {
    "keepalive": "keep-alive c=50",
    "close": "Connection: close c=50",
    "64k": "64 KiB body c=50",
    "c1000": "c=1000 keep-alive",
    "idle1000": "1000 idle + c=50 keep-alive",
}
TARGET_ORDER = ["direct", "nginx", "haproxy", "proxyd"]


def load_lines(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except ValueError as e:
                print(f"report: skipping unparsable record in {path} ({e}): {line}", file=sys.stderr)
    return out


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarise(runs):
    """Per case and target: medians over rounds of every figure."""
    groups = {}
    for r in runs:
        groups.setdefault((r["case"], r["target"]), []).append(r)
    summary = {}
    for (case, target), rs in groups.items():
        ok = [r for r in rs if r.get("rps") is not None and r.get("wrk_exit") == 0]

        def per_req(r, key):
            if not r.get("requests"):
                return None
            return r[key] * 1e6 / r["clk_tck"] / r["requests"]

        # CPU per request: the proxy's process tree; for "direct" the backend is the server.
        cpu_key = "backend_cpu_ticks" if target == "direct" else "proxy_cpu_ticks"
        rss_key = "backend_peak_rss_kib" if target == "direct" else "proxy_peak_rss_kib"
        rps = [r["rps"] for r in ok]
        # idle1000: RSS growth of the server side (backend for direct) per held idle connection,
        # from before opening them to after the wrk run with them still open; only runs in
        # which every idle connection was opened and stayed open count
        idle = [r for r in rs if r.get("idle_conns")]
        idle_ok = [r for r in idle if r.get("idle_ok") and r.get("rss_after_kib") is not None
                   and r.get("rss_before_kib") is not None]

        def per_idle(r, key):
            return (r[key] - r["rss_before_kib"]) * 1024.0 / r["idle_conns"]
        s = {
            "runs": len(rs),
            "ok_runs": len(ok),
            "noisy_kept": sum(1 for r in rs if r.get("noisy")),
            "wrk_bound": sum(1 for r in ok if r.get("wrk_bound")),
            "rps": med(rps),
            "rps_min": min(rps) if rps else None,
            "rps_max": max(rps) if rps else None,
            "bytes_per_s": med([r.get("bytes_per_s") for r in ok]),
            "p50_us": med([r.get("p50_us") for r in ok]),
            "p99_us": med([r.get("p99_us") for r in ok]),
            "cpu_us_per_req": med([per_req(r, cpu_key) for r in ok]),
            "backend_cpu_us_per_req": med([per_req(r, "backend_cpu_ticks") for r in ok]),
            "peak_rss_kib": med([r.get(rss_key) for r in ok]),
            "errors": sum((r.get("socket_errors") or 0) + (r.get("non_2xx") or 0) for r in rs),
        }
        if idle:
            s["idle_conns"] = idle[0]["idle_conns"]
            s["idle_failed"] = len(idle) - len(idle_ok)
            s["idle_bytes_per_conn"] = med([per_idle(r, "rss_after_kib") for r in idle_ok])
            # the same before the wrk run, right after the idle connections were set up
            s["idle_bytes_per_conn_before_load"] = med([per_idle(r, "rss_idle_kib") for r in idle_ok
                                                        if r.get("rss_idle_kib") is not None])
            s["rss_before_kib"] = med([r["rss_before_kib"] for r in idle_ok])
            s["rss_after_kib"] = med([r["rss_after_kib"] for r in idle_ok])
        if s["rps"]:
            s["spread_pct"] = 100.0 * (s["rps_max"] - s["rps_min"]) / s["rps"]
        summary.setdefault(case, {})[target] = s
    return summary


def ratio(a, b):
    if a is None or b in (None, 0):
        return None
    return a / b


def pos_ratio(a, b):
    """Ratio of two growths; none when either did not grow (RSS noise, not a figure)."""
    if a is None or b is None or a <= 0 or b <= 0:
        return None
    return a / b


def ratios(summary):
    out = {}
    for case, ts in summary.items():
        d = ts.get("direct", {})
        out[case] = {}
        for t, s in ts.items():
            if t != "direct":
                out[case][f"{t}/direct"] = {"rps": ratio(s["rps"], d.get("rps"))}
        p = ts.get("proxyd")
        for peer in ("nginx", "haproxy"):
            q = ts.get(peer)
            if not p or not q:
                continue
            out[case][f"proxyd/{peer}"] = {
                k: ratio(p[k], q[k])
                for k in ("rps", "bytes_per_s", "p50_us", "p99_us", "cpu_us_per_req", "peak_rss_kib")
            }
            if "idle_bytes_per_conn" in p and "idle_bytes_per_conn" in q:
                out[case][f"proxyd/{peer}"]["idle_bytes_per_conn"] = pos_ratio(
                    p["idle_bytes_per_conn"], q["idle_bytes_per_conn"])
    return out


def fmt_num(v, nd=0):
    if v is None:
        return "–"
    return f"{v:,.{nd}f}"


def fmt_lat(us):
    if us is None:
        return "–"
    if us >= 1000:
        return f"{us / 1000:.2f} ms"
    return f"{us:.0f} µs"


def fmt_rss(kib):
    if not kib:
        return "–"
    return f"{kib / 1024:.1f} MiB"


def fmt_ratio(v):
    return "–" if v is None else f"{v:.2f}"


def table(meta, summary, rat):
    cases = [c for c in meta["cases"] if c in summary]
    lines = []
    lines.append(
        f"Concord bench: layout {meta['layout']}, {meta['workers']} worker(s), "
        f"{meta['rounds']} round(s) x {meta['duration_s']} s, wrk -t{meta.get('wrk_threads', 1)}, "
        f"medians over rounds; "
        f"{meta['nginx']}; {meta['haproxy'].split(' - ')[0]}; rev {meta['repo_rev']}"
    )
    lines.append("")
    lines.append("| case | target | req/s | spread | MB/s | p50 | p99 | CPU µs/req | peak RSS | "
                 "bytes/idle conn | vs direct |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in cases:
        ts = summary[c]
        for t in TARGET_ORDER:
            s = ts.get(t)
            if not s:
                continue
            flag = ""
            if s["errors"]:
                flag += f" ({s['errors']} errors)"
            if s["noisy_kept"]:
                flag += f" ({s['noisy_kept']} noisy)"
            if s["wrk_bound"] and s["wrk_bound"] * 2 >= s["ok_runs"]:
                flag += " (wrk-bound)"
            if s["ok_runs"] < s["runs"]:
                flag += f" ({s['runs'] - s['ok_runs']} failed)"
            if s.get("idle_failed"):
                flag += f" ({s['idle_failed']} idle failed)"
            vs = "1.00" if t == "direct" else fmt_ratio(rat[c].get(f"{t}/direct", {}).get("rps"))
            spread = "–" if s.get("spread_pct") is None or s["ok_runs"] < 2 else f"{s['spread_pct']:.0f}%"
            mbs = None if s["bytes_per_s"] is None else s["bytes_per_s"] / 1e6
            lines.append(
                f"| {CASE_LABEL.get(c, c)} | {t}{flag} | {fmt_num(s['rps'])} | {spread} | "
                f"{fmt_num(mbs, 1)} | {fmt_lat(s['p50_us'])} | {fmt_lat(s['p99_us'])} | "
                f"{fmt_num(s['cpu_us_per_req'], 1)} | {fmt_rss(s['peak_rss_kib'])} | "
                f"{fmt_num(s.get('idle_bytes_per_conn'))} | {vs} |"
            )
    lines.append("")
    lines.append("CPU µs/req, peak RSS and bytes/idle conn are the proxy's process tree; on the direct rows, "
                 "the backend's.")
    if any("idle_conns" in s for ts in summary.values() for s in ts.values()):
        lines.append("bytes/idle conn: (VmRSS with the idle connections open, after the wrk run - VmRSS "
                     "before opening them) / idle connections; user-space memory only, kernel socket "
                     "buffers are not in it.")
    if any(s["wrk_bound"] for ts in summary.values() for s in ts.values()):
        lines.append("(wrk-bound): wrk used > 90% of its core, so req/s there is the load generator's "
                     "limit; compare CPU µs/req on those rows.")
    lines.append("")
    lines.append("| case | proxyd/nginx req/s | proxyd/haproxy req/s | proxyd/nginx CPU/req | "
                 "proxyd/haproxy CPU/req | proxyd/nginx p99 | proxyd/haproxy p99 | "
                 "proxyd/nginx RSS | proxyd/haproxy RSS | proxyd/nginx bytes/idle | "
                 "proxyd/haproxy bytes/idle |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in cases:
        r = rat.get(c, {})
        n, h = r.get("proxyd/nginx", {}), r.get("proxyd/haproxy", {})
        lines.append(
            f"| {CASE_LABEL.get(c, c)} | {fmt_ratio(n.get('rps'))} | {fmt_ratio(h.get('rps'))} | "
            f"{fmt_ratio(n.get('cpu_us_per_req'))} | {fmt_ratio(h.get('cpu_us_per_req'))} | "
            f"{fmt_ratio(n.get('p99_us'))} | {fmt_ratio(h.get('p99_us'))} | "
            f"{fmt_ratio(n.get('peak_rss_kib'))} | {fmt_ratio(h.get('peak_rss_kib'))} | "
            f"{fmt_ratio(n.get('idle_bytes_per_conn'))} | {fmt_ratio(h.get('idle_bytes_per_conn'))} |"
        )
    lines.append("")
    lines.append("req/s ratio > 1: proxyd is faster; CPU/req, p99, RSS and bytes/idle ratios < 1: proxyd "
                 "is cheaper.")
    for t, why in sorted(meta.get("skipped", {}).items()):
        lines.append(f"SKIPPED {t}: {why}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meta", required=True)
    ap.add_argument("--runs", required=True)
    ap.add_argument("--redos", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(a.meta) as f:
        meta = json.load(f)
    runs = load_lines(a.runs)
    redos = load_lines(a.redos)
    summary = summarise(runs)
    rat = ratios(summary)
    meta["redone_runs"] = len(redos)
    with open(a.out, "w") as f:
        json.dump({"meta": meta, "summary": summary, "ratios": rat, "runs": runs,
                   "redone": redos}, f, indent=1)
        f.write("\n")
    print(table(meta, summary, rat))
    if redos:
        print(f"\n{len(redos)} noisy run(s) were redone; see \"redone\" in {a.out}.")
    if not runs:
        print("no runs were recorded", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
