#!/usr/bin/env python
"""Argus vs the incumbents on the drift benchmark workload, in one run.

    .venv/bin/python bench/run_bench.py [--ns 100000,1000000,10000000] [--runs 1] [--warmup 1]
                                        [--only argus,scipy,alibi,evidently] [--data /tmp/benchdata]

For each N (sequentially, one process at a time): generates the data with
bench/workload.py if it is missing, then runs argus (this venv's python,
bench/bench_argus.py), the scipy loop, alibi-detect and Evidently (their
venvs from bench/setup_venvs.sh; scripts in bench/incumbents/, copied
verbatim from the anchors). Evidently runs only up to --evidently-max-n
(default 1M; too slow and too big at 10M): above that its row is a
projection from this run's 100k -> 1M scaling, marked as such: compute s
and peak RSS extrapolated log-log, whole-process wall = that compute + the
1M run's non-compute time with its Parquet loading scaled linearly.

argus runs from --argus-ref (default HEAD): that commit's src/ is exported
into the raw folder and put first on PYTHONPATH, so edits to the working
tree during a long run cannot change the engine between runs.

Every run is ``/usr/bin/time -v timeout LIMIT python -W ignore SCRIPT --n N
--data DATA`` with the libraries' telemetry off, exactly as the anchors'
run_all.sh, so whole-process wall and peak RSS are GNU time's. A watchdog
kills a run whose process tree's RSS exceeds --mem-limit-gb (this box is
shared); such a run is recorded as "killed: memory", one over --timeout as
"timeout". Each combination gets --warmup untimed runs, then --runs timed
ones (figures: their median).

Writes bench/results/raw/<stamp>/ (gitignored: every JSON line, GNU time
report, stderr, and results.json) and the summary table to stdout and to
bench/results/speed.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
INCUMBENTS = os.path.join(HERE, "incumbents")
ENV = {"DO_NOT_TRACK": "1", "WHYLOGS_NO_ANALYTICS": "1", "NML_DISABLE_USAGE_LOGGING": "1"}
SYSTEMS = ("argus", "scipy", "alibi", "evidently")
LABEL = {"argus": "argus", "scipy": "scipy KS + chi2 (p<0.05)", "alibi": "alibi-detect", "evidently": "evidently"}
ARROW_SIZE = "import sys, pyarrow.parquet as pq; print(sum(pq.read_table(p).nbytes for p in sys.argv[1:]))"


def command(system: str, n: int, a: argparse.Namespace) -> list[str]:
    if system == "argus":
        return [sys.executable, "-W", "ignore", os.path.join(HERE, "bench_argus.py"), "--n", str(n), "--data", a.data,
                "--no-arrow-size"]
    py = os.path.join(a.venvs, system, "bin", "python")
    return [py, "-W", "ignore", os.path.join(INCUMBENTS, f"bench_{system}.py"), "--n", str(n), "--data", a.data]


# -- helpers ---------------------------------------------------------------------------------------------------
def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def cpu_model() -> str:
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def mem_total_gb() -> float:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    return float("nan")


def mem_available_gb() -> float:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024**2
    return float("nan")


def process_tree(root: int) -> tuple[list[int], int]:
    """Descendants of a process (parents before children) and the RSS of the whole tree (scans /proc)."""
    parent: dict[int, int] = {}
    rss: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2:].split()
            parent[int(d)] = int(fields[1])
            rss[int(d)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    kids: dict[int, list[int]] = {}
    for p, pp in parent.items():
        kids.setdefault(pp, []).append(p)
    total, order, todo = 0, [], [root]
    while todo:
        p = todo.pop(0)
        total += rss.get(p, 0)
        order.append(p)
        todo.extend(kids.get(p, []))
    return order[1:], total


def other_runnable(exclude: set[int]) -> int:
    """Threads in state R (running or runnable) outside ``exclude`` and this process: the machine's other load."""
    me = os.getpid()
    count = 0
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in exclude or int(d) == me:
            continue
        try:
            tids = os.listdir(f"/proc/{d}/task")
        except OSError:
            continue
        for t in tids:
            try:
                with open(f"/proc/{d}/task/{t}/stat") as f:
                    stat = f.read()
                if stat[stat.rindex(")") + 2] == "R":
                    count += 1
            except (OSError, ValueError, IndexError):
                continue
    return count


def wait_quiet(limit: float, quiet: float) -> tuple[float, float]:
    """Wait (at most ``limit`` s) until other processes keep, on average over 3 s, fewer than ``quiet``
    threads runnable. Returns (seconds waited, the last 3-s average)."""
    t0 = time.perf_counter()
    while True:
        samples = []
        for _ in range(12):
            samples.append(other_runnable(set()))
            time.sleep(0.25)
        level = statistics.mean(samples)
        waited = time.perf_counter() - t0
        if level < quiet or waited >= limit:
            return waited, level
        time.sleep(2)


def git_state() -> dict:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""
    dirty = git("status", "--short", "--", "src")
    diff = git("diff", "HEAD", "--", "src")
    return {"commit": git("rev-parse", "HEAD"), "src_dirty": bool(dirty), "src_status": dirty.splitlines(),
            "src_diff_sha256": hashlib.sha256(diff.encode()).hexdigest()[:16] if diff else None}


def parse_gnu_time(path: str) -> dict:
    out: dict = {}
    try:
        text = open(path).read()
    except OSError:
        return out
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Elapsed (wall clock) time"):
            v = line.rsplit(": ", 1)[1]
            parts = [float(x) for x in v.split(":")]
            sec = 0.0
            for p in parts:
                sec = sec * 60 + p
            out["wall_s"] = sec
        elif line.startswith("Maximum resident set size"):
            out["peak_rss_mb"] = int(line.rsplit(": ", 1)[1]) / 1024.0
        elif line.startswith("User time"):
            out["user_s"] = float(line.rsplit(": ", 1)[1])
        elif line.startswith("System time"):
            out["sys_s"] = float(line.rsplit(": ", 1)[1])
        elif line.startswith("Exit status"):
            out["exit_status"] = int(line.rsplit(": ", 1)[1])
        elif line.startswith("Command terminated by signal"):
            out["signal"] = int(line.rsplit(" ", 1)[1])
    return out


def ensure_data(n: int, a: argparse.Namespace) -> None:
    d = os.path.join(a.data, f"n{n}")
    if all(os.path.exists(os.path.join(d, f)) for f in ("reference.parquet", "current.parquet", "manifest.json")):
        return
    print(f"== generating N={n:,} into {d} (bench/workload.py)", flush=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, os.path.join(HERE, "workload.py"), "--n", str(n), "--out", a.data], check=True)
    print(f"   done in {time.perf_counter() - t0:.0f} s", flush=True)


def arrow_bytes(n: int, a: argparse.Namespace) -> int:
    d = os.path.join(a.data, f"n{n}")
    out = subprocess.run([sys.executable, "-c", ARROW_SIZE, os.path.join(d, "reference.parquet"),
                          os.path.join(d, "current.parquet")], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def run_one(system: str, n: int, i: int, a: argparse.Namespace, raw: str) -> dict:
    tag = f"{system}_{n}.run{i}"
    paths = {k: os.path.join(raw, f"{tag}.{k}") for k in ("json", "time", "err")}
    cmd = ["/usr/bin/time", "-v", "-o", paths["time"], "timeout", str(a.timeout), *command(system, n, a)]
    env = {**os.environ, **ENV}
    if system == "argus" and a.argus_src:
        env["PYTHONPATH"] = a.argus_src  # ahead of the editable install's path entry
    waited, level = wait_quiet(a.quiet_wait, a.quiet) if a.quiet_wait > 0 else (0.0, None)
    rec: dict = {"system": system, "N": n, "run": i, "cmd": cmd, "load_before": loadavg(),
                 "quiet_wait_s": round(waited, 1), "other_runnable_before": level,
                 "mem_available_gb_before": round(mem_available_gb(), 2), "git": git_state()}
    killed_mem = False
    watch_peak = 0
    others: list[int] = []
    with open(paths["json"], "w") as fo, open(paths["err"], "w") as fe:
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe, env=env, cwd=ROOT)
        limit = a.mem_limit_gb * 1024**3
        while p.poll() is None:
            kids, rss = process_tree(p.pid)
            watch_peak = max(watch_peak, rss)
            others.append(other_runnable({p.pid, *kids}))
            if rss > limit:
                killed_mem = True
                for pid in reversed(kids):  # the processes this run started, by id; GNU time itself reports
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass  # already gone: nothing to kill
            time.sleep(0.5)
    rc = p.returncode
    rec.update({"rc": rc, "load_after": loadavg(), "watchdog_peak_tree_rss_mb": round(watch_peak / 1024**2, 1),
                "other_runnable_during": round(statistics.mean(others), 2) if others else None,
                **parse_gnu_time(paths["time"])})
    lines = [ln for ln in open(paths["json"]).read().splitlines() if ln.strip().startswith("{")]
    if rc == 0 and lines:
        rec["result"] = json.loads(lines[-1])
        rec["status"] = "ok"
    elif killed_mem:
        rec["status"] = f"killed: memory (process tree RSS > {a.mem_limit_gb:g} GB)"
    elif rc == 124 or rec.get("exit_status") == 124:
        rec["status"] = f"timeout (> {a.timeout} s)"
    elif rc in (137, -9) or rec.get("signal") == 9 or rec.get("exit_status") == 137:
        rec["status"] = "killed (signal 9: out of memory?)"
    else:
        tail = open(paths["err"]).read().strip().splitlines()[-1:] or [""]
        rec["status"] = f"failed (rc {rc}): {tail[0][:200]}"
    return rec


# -- summary ---------------------------------------------------------------------------------------------------
def median(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def combine(runs: list[dict]) -> dict:
    """Median figures of the timed runs of one combination."""
    ok = [r for r in runs if r.get("status") == "ok"]
    if not ok:
        return {"status": runs[-1]["status"] if runs else "not run", "runs": len(runs),
                "wall_s": runs[-1].get("wall_s") if runs else None,
                "peak_rss_mb": runs[-1].get("peak_rss_mb") if runs else None}
    res = [r["result"] for r in ok]
    last = res[-1]
    out = {
        "status": "ok", "runs": len(ok),
        "version": last["version"],
        "compute_s": median([x["compute_s"] for x in res]),
        "load_s": median([x.get("load_s") for x in res]),
        "wall_s": median([r.get("wall_s") for r in ok]),
        "cpu_s": median([r.get("user_s", 0) + r.get("sys_s", 0) for r in ok]),
        "peak_rss_mb": median([r.get("peak_rss_mb") for r in ok]),
        "caught": last["caught"], "caught_of": last["caught_of"],
        "false_flags": last["false_flags"], "false_flags_of": last["false_flags_of"],
        "missed": last["missed"], "false_flag_columns": last["false_flag_columns"],
        "model_cols_flagged": last["model_cols_flagged"],
        "phases_s": {k: median([x["phases_s"].get(k) for x in res]) for k in last.get("phases_s", {})},
        "counts_identical": len({(tuple(x["flagged"])) for x in res}) == 1,
        "compute_all": [x["compute_s"] for x in res],
        "wall_all": [r.get("wall_s") for r in ok],
        "other_runnable": median([r.get("other_runnable_during") for r in ok]),
    }
    if last["library"] == "argus":
        out["import_baseline_rss_mb"] = median([x["import_baseline_rss_mb"] for x in res])
        out["peak_above_baseline_mb"] = median([x["peak_above_baseline_mb"] for x in res])
        out["self_peak_rss_mb"] = median([x["self_peak_rss_mb"] for x in res])
    return out


def project(lo: dict, hi: dict, key: str, n_lo: int, n_hi: int, n: int) -> float | None:
    """Log-log extrapolation from (n_lo, lo[key]) and (n_hi, hi[key]) to n."""
    a, b = lo.get(key), hi.get(key)
    if not a or not b:
        return None
    k = math.log(b / a) / math.log(n_hi / n_lo)
    return b * (n / n_hi) ** k


def fmt(x: float | None, nd: int = 2) -> str:
    if x is None:
        return "—"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{nd}f}"


def summarize(summary: dict, meta: dict, ns: list[int], a: argparse.Namespace) -> str:
    lines = []
    hdr = ("| system | version | N | compute s | incumbent load s | whole-process wall s | cpu s (user+sys) | peak RSS MiB "
           "| argus peak above import baseline MiB | caught /7 | false flags /18 | compute / argus compute "
           "| (load + compute) / argus compute | other runnable threads | notes |")
    lines.append(hdr)
    lines.append("|" + "|".join(["---"] * (hdr.count("|") - 1)) + "|")
    for n in ns:
        base = summary.get(f"argus_{n}", {})
        bc = base.get("compute_s") if base.get("status") == "ok" else None
        for s in SYSTEMS:
            if s not in a.only:
                continue
            r = summary.get(f"{s}_{n}")
            if r is None:
                continue
            proj = r.get("projected")
            notes = []
            if r.get("status") != "ok" and not proj:
                lines.append(f"| {LABEL[s]} | | {n:,} | {r['status']} | | {fmt(r.get('wall_s'))} | | "
                             f"{fmt(r.get('peak_rss_mb'))} | | | | | | | did not finish |")
                continue
            if proj:
                notes.append(f"PROJECTED, not run (log-log from this run's {proj})")
            if r.get("missed"):
                notes.append("missed " + ", ".join(r["missed"]))
            if r.get("false_flag_columns"):
                notes.append("false flags " + ", ".join(r["false_flag_columns"]))
            if r.get("model_cols_flagged"):
                notes.append("also flags " + ", ".join(r["model_cols_flagged"]))
            if r.get("status") == "ok" and not r.get("counts_identical", True):
                notes.append("flags differ between runs")
            c = r.get("compute_s")
            ratio = f"{c / bc:.1f}x" if (bc and c and s != "argus") else ("1" if s == "argus" else "—")
            lc = (c or 0) + (r.get("load_s") or 0)
            ratio2 = f"{lc / bc:.1f}x" if (bc and c and s != "argus") else ("1" if s == "argus" else "—")
            pfx = "~" if proj else ""
            caught = f"{r['caught']}/{r['caught_of']}" if "caught" in r else "—"
            ff = f"{r['false_flags']}/{r['false_flags_of']}" if "false_flags" in r else "—"
            lines.append(
                f"| {LABEL[s]} | {r.get('version', '')} | {n:,} | {pfx}{fmt(c)} | {fmt(r.get('load_s'))} "
                f"| {pfx}{fmt(r.get('wall_s'))} | {fmt(r.get('cpu_s'))} | {pfx}{fmt(r.get('peak_rss_mb'))} "
                f"| {fmt(r.get('peak_above_baseline_mb'))} | {caught} | {ff} | {pfx}{ratio} | {pfx}{ratio2} "
                f"| {fmt(r.get('other_runnable'))} | {'; '.join(notes)} |")
    lines.append("")
    lines.append("| N | argus compute s | phases: reference / current / checks s | argus import baseline RSS MiB "
                 "| argus peak above baseline MiB | Arrow bytes of both frames (MiB) | peak above baseline / Arrow size |")
    lines.append("|---|---|---|---|---|---|---|")
    for n in ns:
        r = summary.get(f"argus_{n}")
        if not r or r.get("status") != "ok":
            continue
        ab = meta["arrow_bytes"].get(str(n))
        ph = r.get("phases_s", {})
        phs = " / ".join(fmt(ph.get(k)) for k in ("reference", "current", "checks")) if ph else "—"
        ratio = r["peak_above_baseline_mb"] * 1024**2 / ab if ab else None
        lines.append(f"| {n:,} | {fmt(r['compute_s'])} | {phs} | {fmt(r['import_baseline_rss_mb'])} "
                     f"| {fmt(r['peak_above_baseline_mb'])} | {fmt(ab / 1024**2 if ab else None)} | {fmt(ratio)} |")
    return "\n".join(lines)


def argus_source(meta: dict) -> str:
    src = meta["argus_source"]
    if src["ref"] != "worktree":
        return f"argus from commit {src['commit'][:10]} (src/ exported from git, fixed for the whole run)"
    text = f"argus from the working tree at {src['commit'][:10]}"
    if src.get("dirty"):
        text += " + uncommitted changes in src/"
    if meta.get("src_changed_during_run"):
        text += " (src/ CHANGED during the run: see results.json)"
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ns", default="100000,1000000,10000000", help="comma-separated row counts")
    ap.add_argument("--runs", type=int, default=1, help="timed runs per combination (median reported)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed warm-up runs per combination")
    ap.add_argument("--only", default=",".join(SYSTEMS), help="comma-separated subset of " + ",".join(SYSTEMS))
    ap.add_argument("--data", default="/tmp/benchdata")
    ap.add_argument("--venvs", default="/tmp/venvs")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per run")
    ap.add_argument("--mem-limit-gb", type=float, default=20.0, help="kill a run whose process tree RSS exceeds this")
    ap.add_argument("--evidently-max-n", type=int, default=1_000_000, help="above this, project Evidently instead")
    ap.add_argument("--raw", default=os.path.join(HERE, "results", "raw"))
    ap.add_argument("--out", default=os.path.join(HERE, "results", "speed.md"))
    ap.add_argument("--quiet", type=float, default=0.5,
                    help="before each run, wait until other processes average fewer runnable threads than this")
    ap.add_argument("--quiet-wait", type=float, default=120, help="longest wait for --quiet, s (0: do not wait)")
    ap.add_argument("--argus-ref", default="HEAD",
                    help="git commit whose src/ argus runs from (exported under the raw folder, so edits to the "
                         "working tree during the run do not change it); 'worktree' runs the working tree as it is")
    ap.add_argument("--no-generate", action="store_true", help="fail instead of generating missing data")
    a = ap.parse_args()
    a.only = [s.strip() for s in a.only.split(",") if s.strip()]
    bad = [s for s in a.only if s not in SYSTEMS]
    if bad:
        ap.error(f"unknown system(s) {bad}; choose from {SYSTEMS}")
    ns = [int(x) for x in a.ns.split(",")]

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    raw = os.path.join(a.raw, stamp)
    os.makedirs(raw, exist_ok=True)
    meta = {
        "started": dt.datetime.now().isoformat(timespec="seconds"), "uptime_before": loadavg(),
        "nproc": os.cpu_count(), "python": platform.python_version(), "argv": sys.argv,
        "runs": a.runs, "warmup": a.warmup, "timeout_s": a.timeout, "mem_limit_gb": a.mem_limit_gb,
        "arrow_bytes": {}, "git": git_state(), "cpu": cpu_model(), "mem_total_gb": round(mem_total_gb(), 1),
    }
    a.argus_src = None
    if a.argus_ref != "worktree" and "argus" in a.only:
        commit = subprocess.run(["git", "rev-parse", a.argus_ref], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        a.argus_src = os.path.join(raw, "argus-src")
        os.makedirs(a.argus_src, exist_ok=True)
        archive = subprocess.run(["git", "archive", commit, "src"], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "--strip-components=1", "-C", a.argus_src], input=archive, check=True)
        meta["argus_source"] = {"ref": a.argus_ref, "commit": commit, "exported_to": a.argus_src}
    else:
        meta["argus_source"] = {"ref": "worktree", "commit": meta["git"]["commit"], "dirty": meta["git"]["src_dirty"]}
    all_runs: list[dict] = []
    summary: dict[str, dict] = {}
    print(f"raw results: {raw}   load avg {loadavg()}", flush=True)
    for n in ns:
        if not a.no_generate:
            ensure_data(n, a)
        if "argus" in a.only:
            meta["arrow_bytes"][str(n)] = arrow_bytes(n, a)
        for s in a.only:
            if s == "evidently" and n > a.evidently_max_n:
                continue
            runs = []
            for i in range(a.warmup + a.runs):
                timed = i >= a.warmup
                rec = run_one(s, n, i, a, raw)
                rec["timed"] = timed
                all_runs.append(rec)
                r = rec.get("result", {})
                print(f"   {s:9s} N={n:>10,} run{i}{'' if timed else ' (warm-up)'}: {rec['status']}"
                      f"  compute {r.get('compute_s', '—')} s  wall {fmt(rec.get('wall_s'))} s"
                      f"  peak {fmt(rec.get('peak_rss_mb'))} MiB  caught {r.get('caught', '—')}/7"
                      f"  false {r.get('false_flags', '—')}/18  load {rec['load_before']} -> {rec['load_after']}"
                      f"  other runnable {rec['other_runnable_during']} (waited {rec['quiet_wait_s']} s)",
                      flush=True)
                if timed:
                    runs.append(rec)
                if rec["status"] != "ok":
                    if not timed:
                        runs.append(rec)
                    break
            summary[f"{s}_{n}"] = combine(runs)
            with open(os.path.join(raw, "results.json"), "w") as f:
                json.dump({"meta": meta, "summary": summary, "runs": all_runs}, f, indent=1, default=str)

    # Evidently above --evidently-max-n: a projection from this run's two largest measured N
    if "evidently" in a.only:
        measured = sorted(n for n in ns if n <= a.evidently_max_n and summary.get(f"evidently_{n}", {}).get("status") == "ok")
        for n in ns:
            if n <= a.evidently_max_n or len(measured) < 2:
                continue
            n_lo, n_hi = measured[-2], measured[-1]
            lo, hi = summary[f"evidently_{n_lo}"], summary[f"evidently_{n_hi}"]
            summary[f"evidently_{n}"] = {
                "status": "projected", "projected": f"{n_lo:,} -> {n_hi:,}", "version": hi["version"],
                "compute_s": project(lo, hi, "compute_s", n_lo, n_hi, n),
                # whole process = projected compute + the non-compute part at n_hi (start-up, imports),
                # with its Parquet loading scaled linearly in N
                "wall_s": (project(lo, hi, "compute_s", n_lo, n_hi, n) or 0) + hi["wall_s"] - hi["compute_s"]
                - (hi.get("load_s") or 0) + (hi.get("load_s") or 0) * n / n_hi,
                "peak_rss_mb": project(lo, hi, "peak_rss_mb", n_lo, n_hi, n),
            }

    meta["finished"] = dt.datetime.now().isoformat(timespec="seconds")
    states = {(r["git"]["commit"], r["git"]["src_diff_sha256"]) for r in all_runs}
    meta["src_changed_during_run"] = len(states) > 1
    meta["uptime_after"] = loadavg()
    with open(os.path.join(raw, "results.json"), "w") as f:
        json.dump({"meta": meta, "summary": summary, "runs": all_runs}, f, indent=1, default=str)

    table = summarize(summary, meta, ns, a)
    head = (f"Run {meta['started']} -> {meta['finished']}; {a.warmup} warm-up + {a.runs} timed run(s) per combination "
            f"(figures: median of the timed runs); load average (1/5/15 min) {meta['uptime_before']} before, "
            f"{meta['uptime_after']} after; {argus_source(meta)}; raw: {raw}\n")
    text = head + "\n" + table + "\n"
    print("\n" + text)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        f.write("# Drift benchmark: argus vs incumbents (generated by bench/run_bench.py)\n\n" + text)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
