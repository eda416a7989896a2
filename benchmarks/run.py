"""The benchmark table of issue 16: every target, the peer and SimPy beside ours; JSON.

::

    python benchmarks/run.py --quick                        # small sizes (a few minutes)
    python benchmarks/run.py                                # every target at its size
    python benchmarks/run.py --huge                         # and the 10M-job replay
    python benchmarks/run.py --quick --baseline ../main     # before (../main) / after
    python benchmarks/run.py --cases mm8,cmd-replay --sizes 10000,20000

Each (case, size) runs in a fresh subprocess (``benchmarks/cases.py``), so its peak RSS
is its own and a case that fails or runs out of time is recorded as such while the
others go on. With ``--baseline PATH`` every case that runs our code runs twice, side by
side: first with ``PYTHONPATH=PATH`` (another checkout: before), then with this one
(after); the peer (AccaSim) runs once. Ratios come from one run on one machine, and
the machine's load average is recorded before and after each case.

Results are printed as a table, checked against the targets of issue 16 and written as
JSON (default ``benchmarks/results/latest.json``, a git-ignored folder).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_OUT = HERE / "results" / "latest.json"
POLICIES = ("fcfs", "easy", "conservative", "sjf", "priority", "benchhub")
#: cases that do not run our code: run once, not per checkout
PEER_CASES = frozenset({"accasim"})
#: seconds an overloaded replay may take before it is stopped (its target is 60 s)
OVERLOAD_TIMEOUT = 120.0

K, M = 1_000, 1_000_000
# (case, size) in the order they run: accasim before cmd-replay (which compares with
# it), swf-easy before summary (which reads its run)
QUICK = [
    *[("mm8", 10 * K), ("mix", 10 * K), ("store", 10 * K), ("mm8-memory", 10 * K)],
    *[(f"swf-{p}", 10 * K) for p in ("fcfs", "easy", "conservative")],
    ("summary", 10 * K),
    *[("accasim", 5 * K), ("cmd-replay", 5 * K), ("cmd-replay", 20), ("cmd-help", 1)],
    *[(f"overload-{p}", 2 * K) for p in POLICIES],
    ("write", 5 * K),
]
FULL = [
    *[("mm8", n) for n in (10 * K, 100 * K, M)],
    *[("mix", n) for n in (10 * K, 100 * K)],
    *[("store", n) for n in (10 * K, 100 * K, M)],
    ("mm8-memory", M),
    *[(f"swf-{p}", n) for n in (10 * K, 100 * K, M) for p in ("fcfs", "easy", "conservative")],
    ("summary", M),
    *[("accasim", 20 * K), ("cmd-replay", 20 * K), ("cmd-replay", 20), ("cmd-help", 1)],
    *[(f"overload-{p}", 20 * K) for p in POLICIES],
    ("write", 20 * K),
]
HUGE = [("swf-easy", 10 * M)]
CASES = sorted({c for c, _ in QUICK + FULL})


def run_case(
    case: str, size: int, *, pythonpath: Path, work: Path, peer: Path, timeout: float | None
) -> dict[str, Any]:
    """Run one case in a subprocess importing ``benchhub_sim`` from ``pythonpath``; a
    crash or timeout becomes a result with ``error``. Adds wall ``seconds`` if the case
    did not, ``cpu_seconds`` (of the case and the commands it ran) and the load."""
    cmd = [sys.executable, str(HERE / "cases.py"), case, str(size)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(pythonpath), os.environ.get("PYTHONPATH", "")]),
        "BENCH_WORK": str(work),
        "BENCH_PEER": str(peer),
        "MPLBACKEND": "Agg",
    }
    base: dict[str, Any] = {"case": case, "size": size, "load_before": os.getloadavg()[0]}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, check=False, env=env
        )
    except subprocess.TimeoutExpired:
        return {**base, "error": f"stopped after {timeout:g} s", "timed_out": timeout}
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    base["load_after"] = os.getloadavg()[0]
    base["case_cpu_seconds"] = (after.ru_utime - before.ru_utime) + (
        after.ru_stime - before.ru_stime
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        return {**base, "error": f"exit code {proc.returncode}: {tail}"}
    return {**base, **json.loads(lines[-1])}


# --- table --------------------------------------------------------------------------------


def _fmt(value: Any, spec: str = ",.0f") -> str:
    return "-" if value is None else format(value, spec)


def _note(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"ERROR {r['error']}"
    case = r["case"]
    if case == "mm8":
        return (
            f"engine/bare simpy {r['ratio_vs_simpy']:.2f}x, "
            f"engine/simpy recording {r['jobs_per_s'] / r['simpy_logged_jobs_per_s']:.2f}x "
            f"(checked {r['checked_ratio_vs_simpy']:.2f}x); wait {r['mean_wait']:.3f} s vs "
            f"Erlang C {r['erlang_c_wait']:.3f} s"
        )
    if case == "store":
        return (
            f"{r['bytes_per_history_row']:.1f} B/history row; finish() "
            f"{r.get('finish_seconds', float('nan')):.2f} s; RSS before loading "
            f"{r['simulate_peak_rss_mb']:,.0f} MB; load {r['load_seconds']:.2f} s, "
            f"summary() {r['summary_seconds']:.2f} s"
        )
    if case.startswith("swf"):
        return (
            f"mean wait {r['mean_wait']:,.0f} s; utilization {r['utilization']:.1%}; "
            f"RSS before reading back {r['simulate_peak_rss_mb']:,.0f} MB"
        )
    if case == "mix":
        return f"{r['finished']:,} finished; mean wait {r['mean_wait']:,.1f} s"
    if case == "accasim":
        return (
            f"fifo; loaded {r['loaded']:,} of {r['trace_jobs']:,} jobs, rejected "
            f"{r['rejected']}; its simulation time alone"
        )
    if case == "cmd-replay":
        same = (
            f"; same FCFS start times as AccaSim: {r['same_schedule_jobs']:,} jobs, "
            f"{r['differing_jobs']} differ"
            if "differing_jobs" in r
            else ""
        )
        return f"whole command, wall (cpu {r['cpu_seconds']:.2f} s){same}"
    if case == "cmd-help":
        return f"python -m benchhub_sim --help, best of 5 (cpu {r['cpu_seconds']:.2f} s)"
    if case == "summary":
        return f"summary() of the swf-easy run of {r['size']:,} jobs"
    if case == "write":
        return (
            f"writing {r['write_seconds']:.2f} s (finish {r['finish_seconds']:.2f} s); "
            f"event-table files opened {r['event_files_written']}, batches handed over "
            f"before the end {r.get('batches_handed_over', '?')}, Parquet reads while writing "
            f"{r['data_reads_while_writing']}"
        )
    if case.startswith("overload"):
        return f"400 nodes, offered load 2.5; mean wait {r['mean_wait']:,.0f} s"
    return ""


def _rows(r: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The table rows of one result: the SimPy models beside mm8."""
    rows = [(r["case"], r)]
    if r["case"] == "mm8" and "error" not in r:
        n = r["size"]
        for label, rate in (
            ("  simpy bare", r["simpy_jobs_per_s"]),
            ("  simpy recording", r["simpy_logged_jobs_per_s"]),
        ):
            rows.append(
                (label, {"case": label, "size": n, "seconds": n / rate, "jobs_per_s": rate})
            )
    return rows


def table(results: Sequence[dict[str, Any]]) -> str:
    """The results as a fixed-width text table."""
    head = (
        f"{'case':<22} {'jobs':>10} {'wall s':>8} {'cpu s':>7} {'jobs/s':>9} "
        f"{'RSS MB':>7} {'load':>5}  notes"
    )
    lines = [head, "-" * len(head)]
    for result in results:
        for label, r in _rows(result):
            cpu = r.get("cpu_seconds", r.get("case_cpu_seconds") if label == r["case"] else None)
            rss = (
                r.get("child_peak_rss_mb") if r["case"].startswith("cmd") else r.get("peak_rss_mb")
            )
            lines.append(
                f"{label:<22} {r['size']:>10,} {_fmt(r.get('seconds'), '.2f'):>8} "
                f"{_fmt(cpu, '.2f'):>7} {_fmt(r.get('jobs_per_s')):>9} {_fmt(rss):>7} "
                f"{_fmt(r.get('load_before'), '.1f'):>5}  {_note(r) if label == r['case'] else ''}"
            )
    return "\n".join(lines)


def compare_table(before: Sequence[dict[str, Any]], after: Sequence[dict[str, Any]]) -> str:
    """Before / after, case by case (wall seconds, peak RSS)."""
    old = {(r["case"], r["size"]): r for r in before}
    head = (
        f"{'case':<22} {'jobs':>10} {'before s':>9} {'after s':>8} {'after/before':>12} "
        f"{'RSS before':>10} {'RSS after':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in after:
        b = old.get((r["case"], r["size"]))
        if r["case"] in PEER_CASES or b is None:
            continue
        s0, s1 = b.get("seconds"), r.get("seconds")
        ratio = s1 / s0 if s0 and s1 else None
        rss = "child_peak_rss_mb" if r["case"].startswith("cmd") else "peak_rss_mb"
        lines.append(
            f"{r['case']:<22} {r['size']:>10,} "
            f"{_fmt(s0, '.2f') if 'error' not in b else 'ERROR':>9} "
            f"{_fmt(s1, '.2f') if 'error' not in r else 'ERROR':>8} "
            f"{_fmt(ratio, '.2f'):>12} {_fmt(b.get(rss)):>10} {_fmt(r.get(rss)):>9}"
        )
    return "\n".join(lines)


# --- targets ------------------------------------------------------------------------------


def targets(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target of issue 16 with the measured value and pass / FAIL / n/a."""
    ok = {(r["case"], r["size"]): r for r in results if "error" not in r}
    by_case: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_case.setdefault(r["case"], []).append(r)
    out: list[dict[str, Any]] = []

    def add(name: str, value: str, passed: bool | None) -> None:
        status = {True: "pass", False: "FAIL", None: "n/a"}[passed]
        out.append({"target": name, "measured": value, "status": status})

    def largest(case: str) -> dict[str, Any] | None:
        runs = [r for (c, _), r in ok.items() if c == case]
        return max(runs, key=lambda r: r["size"]) if runs else None

    # 1. the whole command against the peer
    peer, cmd = largest("accasim"), None
    if peer is not None:
        cmd = ok.get(("cmd-replay", peer["size"]))
    if peer and cmd:
        ratio = peer["seconds"] / cmd["seconds"]
        add(
            f"1. whole `replay --policy fcfs` >= 5x AccaSim fifo's simulation ({peer['size']:,} jobs)",
            f"{ratio:.2f}x (ours {cmd['seconds']:.2f} s whole command, AccaSim "
            f"{peer['seconds']:.2f} s); {cmd.get('differing_jobs', '?')} of "
            f"{peer['loaded']:,} start times differ",
            ratio >= 5 and cmd.get("differing_jobs") == 0,
        )
    else:
        add("1. whole `replay --policy fcfs` >= 5x AccaSim fifo's simulation", "not run", None)
    # 2. start-up
    help_ = ok.get(("cmd-help", 1))
    add(
        "2. `--help` < 0.15 s",
        f"{help_['seconds']:.3f} s" if help_ else "not run",
        help_["seconds"] < 0.15 if help_ else None,
    )
    small = ok.get(("cmd-replay", 20))
    add(
        "2. replaying a 20-job trace, whole command, < 0.4 s",
        f"{small['seconds']:.3f} s" if small else "not run",
        small["seconds"] < 0.4 if small else None,
    )
    # 3. long queues
    over = [r for p in POLICIES for r in by_case.get(f"overload-{p}", [])]
    if over:
        parts = [
            f"{r['case'].removeprefix('overload-')} "
            + (
                f"> {r['timed_out']:g} s"
                if "timed_out" in r
                else f"{_fmt(r.get('seconds'), '.1f')} s"
            )
            for r in over
        ]
        add(
            f"3. overloaded trace ({over[0]['size']:,} jobs, load 2.5, 400 nodes): every policy < 60 s",
            ", ".join(parts),
            all("error" not in r and r["seconds"] < 60 for r in over),
        )
    else:
        add("3. overloaded trace: every policy < 60 s", "not run", None)
    # 4. memory
    mem = largest("mm8-memory")
    add(
        "4. 1M-job M/M/8 in memory < 1 GB RSS",
        f"{mem['peak_rss_mb']:,.0f} MB at {mem['size']:,} jobs" if mem else "not run",
        mem["peak_rss_mb"] < 1024 if mem and mem["size"] >= M else None,
    )
    easy = ok.get(("swf-easy", M))
    add(
        "4. 1M-job SWF replay streamed under easy < 1 GB RSS",
        f"{easy['simulate_peak_rss_mb']:,.0f} MB" if easy else "needs swf-easy at 1M",
        easy["simulate_peak_rss_mb"] < 1024 if easy else None,
    )
    summ = ok.get(("summary", M))
    add(
        "4. summary() of that run < 1 GB and < 5 s",
        f"{summ['peak_rss_mb']:,.0f} MB, {summ['seconds']:.1f} s"
        if summ
        else "needs summary at 1M",
        summ["peak_rss_mb"] < 1024 and summ["seconds"] < 5 if summ else None,
    )
    huge, ref = ok.get(("swf-easy", 10 * M)), ok.get(("swf-easy", 100 * K))
    if huge and ref:
        # CPU seconds: the two cases run minutes apart, under whatever else the machine runs
        per = (huge["cpu_seconds"] / huge["size"]) / (ref["cpu_seconds"] / ref["size"])
        wall = (huge["seconds"] / huge["size"]) / (ref["seconds"] / ref["size"])
        add(
            "4. 10M-job SWF replay streamed < 2 GB, CPU per job <= 1.3x the 100k case",
            f"{huge['simulate_peak_rss_mb']:,.0f} MB, {per:.2f}x CPU per job ({wall:.2f}x wall)",
            huge["simulate_peak_rss_mb"] < 2048 and per <= 1.3,
        )
    else:
        add("4. 10M-job SWF replay streamed < 2 GB", "needs --huge and swf-easy at 100k", None)
    # 5. the BenchHub mix
    mix = largest("mix")
    add(
        "5. BenchHub mix >= 5.2k jobs/s (2x 2.6k) at 100k",
        f"{mix['jobs_per_s']:,.0f} jobs/s at {mix['size']:,}" if mix else "not run",
        mix["jobs_per_s"] >= 5200 if mix and mix["size"] >= 100 * K else None,
    )
    # 6. writing
    write = largest("write")
    add(
        "6. a short run writes each table once, nothing read back",
        (
            f"{write['event_files_written']} event-table files opened, "
            f"{write.get('batches_handed_over', '?')} batches journaled or parted, "
            f"{write['data_reads_while_writing']} Parquet reads, {write['write_seconds']:.2f} s "
            f"of {write['seconds']:.2f} s writing ({write['size']:,} jobs)"
        )
        if write
        else "not run",
        write["event_files_written"] == 2 and write["data_reads_while_writing"] == 0
        if write
        else None,
    )
    store = largest("store")
    add(
        "6. a long run pays no read-back at the end",
        (
            f"store at {store['size']:,} jobs ({store['history_rows']:,} rows): finish() "
            f"{store['finish_seconds']:.2f} s of {store['seconds']:.2f} s, "
            f"{store['data_reads_while_writing']} Parquet reads"
        )
        if store and "finish_seconds" in store
        else "not run",
        store["data_reads_while_writing"] == 0 if store and "finish_seconds" in store else None,
    )
    # SimPy
    mm = sorted((r for (c, _), r in ok.items() if c == "mm8"), key=lambda r: r["size"])
    add(
        "engine at least bare SimPy's jobs/s (M/M/8)",
        ", ".join(f"{r['size']:,}: {r['ratio_vs_simpy']:.2f}x" for r in mm) or "not run",
        all(r["ratio_vs_simpy"] >= 1 for r in mm) if mm else None,
    )
    add(
        "engine >= 4x SimPy recording the same rows (M/M/8)",
        ", ".join(
            f"{r['size']:,}: {r['jobs_per_s'] / r['simpy_logged_jobs_per_s']:.2f}x" for r in mm
        )
        or "not run",
        all(r["jobs_per_s"] / r["simpy_logged_jobs_per_s"] >= 4 for r in mm) if mm else None,
    )
    return out


# --- main ---------------------------------------------------------------------------------


def _commit(path: Path) -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=path,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        return ""


def _machine() -> dict[str, Any]:
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "commit": _commit(REPO),
    }


def _ints(text: str) -> list[int]:
    return [int(float(v)) for v in text.split(",") if v.strip()]


def _names(text: str) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown case {', '.join(unknown)}; choose from {', '.join(CASES)}"
        )
    return names


def _checkout(text: str) -> Path:
    path = Path(text).resolve()
    if not (path / "benchhub_sim" / "__init__.py").is_file():
        raise argparse.ArgumentTypeError(f"{text}: not a checkout (no benchhub_sim/__init__.py)")
    return path


def plan_of(args: argparse.Namespace) -> list[tuple[str, int]]:
    """The (case, size) pairs to run, in order."""
    plan = (QUICK if args.quick else FULL) + (HUGE if args.huge else [])
    skips = [s.partition("@") for s in args.skip]
    return [
        (case, n)
        for case, n in plan
        if (args.cases is None or case in args.cases)
        and (args.sizes is None or n in args.sizes or case == "cmd-help")
        and not any((not c or c == case) and (not s or int(float(s)) == n) for c, _, s in skips)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a few minutes)")
    parser.add_argument("--huge", action="store_true", help="add the 10M-job streamed replay")
    parser.add_argument("--sizes", type=_ints, help="only the plan's cases at these sizes")
    parser.add_argument("--cases", type=_names, help=f"only these, of {', '.join(CASES)}")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="CASE@SIZE",
        help="leave out one case at one size (CASE@SIZE), a case (CASE) or a size (@SIZE); repeatable",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help=f"seconds allowed per case (default: none; {OVERLOAD_TIMEOUT:g} for overload-*)",
    )
    parser.add_argument(
        "--baseline",
        type=_checkout,
        metavar="PATH",
        help="another checkout: run every case with it too (before) and print before/after",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"JSON file (default {DEFAULT_OUT.relative_to(REPO)})",
    )
    args = parser.parse_args(argv)

    plan = plan_of(args)
    checkouts = [("before", args.baseline), ("after", REPO)] if args.baseline else [("after", REPO)]
    load_before = os.getloadavg()
    results: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in checkouts}
    with tempfile.TemporaryDirectory(prefix="benchhub-bench-") as tmp:
        work = Path(tmp)
        for case, n in plan:
            timeout = args.timeout or (OVERLOAD_TIMEOUT if case.startswith("overload") else None)
            for label, path in checkouts[-1:] if case in PEER_CASES else checkouts:
                print(f"  {case} @ {n:,} ({label}) ...", file=sys.stderr, flush=True)
                result = run_case(
                    case, n, pythonpath=path, work=work / label, peer=work, timeout=timeout
                )
                results[label].append(result)
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()

    after = results["after"]
    checks = targets(after)
    report: dict[str, Any] = {
        "machine": _machine(),
        "load": {"before": load_before, "after": load_after},
        "results": after,
        "targets": checks,
    }
    show = print
    show(table(after))
    if args.baseline:
        before = [*results["before"], *(r for r in after if r["case"] in PEER_CASES)]
        report.update(
            baseline={"path": str(args.baseline), "commit": _commit(args.baseline)},
            baseline_results=results["before"],
            baseline_targets=targets(before),
        )
        show(
            f"\nbefore ({args.baseline}, {report['baseline']['commit']}) / after ({REPO.name}, {report['machine']['commit']}):"
        )
        show(compare_table(results["before"], after))
    show("\ntargets (issue 16):")
    for i, t in enumerate(checks):
        was = f"  [before: {report['baseline_targets'][i]['measured']}]" if args.baseline else ""
        show(f"  [{t['status']:>4}] {t['target']}: {t['measured']}{was}")
    show(
        f"\nload average (1, 5, 15 min): before {', '.join(f'{x:.2f}' for x in load_before)}; "
        f"after {', '.join(f'{x:.2f}' for x in load_after)} on {os.cpu_count()} cores"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.out.with_name(f".{args.out.name}.tmp")
    tmp_out.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(tmp_out, args.out)
    show(f"wrote {args.out}")
    return 1 if any("error" in r for rs in results.values() for r in rs) else 0


if __name__ == "__main__":
    sys.exit(main())
