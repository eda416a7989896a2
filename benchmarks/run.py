"""The benchmark suite: every case at every size, each in its own process; a table and JSON.

::

    python benchmarks/run.py --quick                  # 10k jobs only (about a minute)
    python benchmarks/run.py                          # 10k, 100k and 1M jobs
    python benchmarks/run.py --sizes 10000,100000 --cases mm8,swf-easy
    python benchmarks/run.py --skip swf-conservative@1000000 --timeout 1800

Cases (see ``benchmarks/cases.py``): ``mm8`` (the full engine against a bare SimPy
M/M/8, and mean wait against Erlang C), ``mix`` (BenchHub specs on a 64-node cluster),
``swf-fcfs``, ``swf-easy``, ``swf-conservative`` (a synthetic trace on 256 nodes) and
``store`` (Parquet bytes per history row, time to load a run and compute its summary).
Each (case, size) runs in a fresh subprocess, so its peak RSS is its own and a case that
runs out of memory or time is recorded as such while the others go on.

Results are printed as a table, checked against the targets of issue 7, and written as
JSON (default ``benchmarks/results/latest.json``, a git-ignored folder).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CASES = ("mm8", "mix", "swf-fcfs", "swf-easy", "swf-conservative", "store")
SIZES = (10_000, 100_000, 1_000_000)
DEFAULT_OUT = HERE / "results" / "latest.json"


def run_case(case: str, size: int, timeout: float | None) -> dict[str, Any]:
    """Run one case in a subprocess; a crash or timeout becomes a result with ``error``."""
    cmd = [sys.executable, str(HERE / "cases.py"), case, str(size)]
    base: dict[str, Any] = {"case": case, "size": size}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {**base, "error": f"timeout after {timeout:g} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        return {**base, "error": f"exit code {proc.returncode}: {tail}"}
    return json.loads(lines[-1])


# --- table --------------------------------------------------------------------------------


def _fmt(value: Any, spec: str = ",.0f") -> str:
    if value is None:
        return "-"
    return format(value, spec)


def _note(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"ERROR {r['error']}"
    if r["case"] == "mm8":
        return (
            f"simpy {r['simpy_jobs_per_s']:,.0f} jobs/s (recording the same rows: "
            f"{r['simpy_logged_jobs_per_s']:,.0f}); engine/simpy {r['ratio_vs_simpy']:.2f}x "
            f"(checked {r['checked_jobs_per_s']:,.0f} jobs/s, {r['checked_ratio_vs_simpy']:.2f}x); "
            f"wait {r['mean_wait']:.3f} s vs Erlang C {r['erlang_c_wait']:.3f} s "
            f"(simpy {r['simpy_mean_wait']:.3f})"
        )
    if r["case"] == "store":
        return (
            f"{r['bytes_per_history_row']:.1f} B/history row on disk "
            f"({r['event_bytes_per_row']:.1f} in event files); peak RSS before loading "
            f"{r['simulate_peak_rss_mb']:,.0f} MB; load {r['load_seconds']:.2f} s, "
            f"summary() {r['summary_seconds']:.2f} s"
        )
    if r["case"].startswith("swf"):
        return (
            f"mean wait {r['mean_wait']:,.0f} s; utilization {r['utilization']:.1%}; "
            f"peak RSS before reading back {r['simulate_peak_rss_mb']:,.0f} MB"
        )
    return f"{r['finished']:,} finished; mean wait {r['mean_wait']:,.1f} s"


def table(results: Sequence[dict[str, Any]]) -> str:
    """The results as a fixed-width text table."""
    head = f"{'case':<17} {'jobs':>9} {'seconds':>8} {'jobs/s':>8} {'rows/s':>9} {'us/job':>7} {'RSS MB':>7}  notes"
    lines = [head, "-" * len(head)]
    for r in results:
        s = r.get("seconds")
        lines.append(
            f"{r['case']:<17} {r['size']:>9,} {_fmt(s, '.2f'):>8} {_fmt(r.get('jobs_per_s')):>8} "
            f"{_fmt(r.get('rows_per_s')):>9} {_fmt(None if s is None else 1e6 * s / r['size'], '.0f'):>7} "
            f"{_fmt(r.get('peak_rss_mb')):>7}  {_note(r)}"
        )
    return "\n".join(lines)


# --- targets ------------------------------------------------------------------------------


def _sim_rss(r: dict[str, Any]) -> float:
    """Peak RSS of the run itself (the store case also loads the run back afterwards)."""
    return r.get("simulate_peak_rss_mb", r["peak_rss_mb"])


def targets(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target of issue 7 with the measured value and pass / FAIL / n/a."""
    ok = {(r["case"], r["size"]): r for r in results if "error" not in r}
    out: list[dict[str, Any]] = []

    def add(name: str, value: str, passed: bool | None) -> None:
        out.append(
            {
                "target": name,
                "measured": value,
                "status": {True: "pass", False: "FAIL", None: "n/a"}[passed],
            }
        )

    mm = [ok[k] for k in sorted(ok) if k[0] == "mm8"]
    if mm:
        worst = min(mm, key=lambda r: r["ratio_vs_simpy"])
        add(
            "engine (full history) >= 2x bare SimPy M/M/8 jobs/s",
            ", ".join(
                f"{r['size']:,}: {r['ratio_vs_simpy']:.2f}x (checked {r['checked_ratio_vs_simpy']:.2f}x)"
                for r in mm
            ),
            worst["ratio_vs_simpy"] >= 2.0,
        )
    else:
        add("engine (full history) >= 2x bare SimPy M/M/8 jobs/s", "not run", None)
    flat = []
    for case in CASES:
        a, b = ok.get((case, 100_000)), ok.get((case, 1_000_000))
        if a and b:
            flat.append((case, (b["seconds"] / b["size"]) / (a["seconds"] / a["size"])))
    add(
        "time per job at 1M <= 1.5x time per job at 100k",
        ", ".join(f"{c}: {x:.2f}x" for c, x in flat) or "needs 100k and 1M",
        all(x <= 1.5 for _, x in flat) if flat else None,
    )
    # runs that stream their history to a run directory (the others keep it in memory
    # on purpose: mm8 compares with SimPy, mix returns an in-memory Run)
    big = [r for (c, n), r in ok.items() if n == 1_000_000 and "simulate_peak_rss_mb" in r]
    add(
        "1M jobs under 2 GB peak RSS (history streamed to a run directory)",
        ", ".join(f"{r['case']}: {_sim_rss(r):,.0f} MB" for r in big) or "needs 1M",
        all(_sim_rss(r) < 2048 for r in big) if big else None,
    )
    backfill = []
    for n in sorted({n for _, n in ok}):
        f, e, c = (ok.get((f"swf-{p}", n)) for p in ("fcfs", "easy", "conservative"))
        if f and e and c:
            backfill.append(
                f"{n:,}: easy {e['jobs_per_s'] / f['jobs_per_s']:.2f}x, "
                f"conservative {c['jobs_per_s'] / f['jobs_per_s']:.2f}x of fcfs jobs/s"
            )
    add(
        "backfilling costs about what fcfs costs (no full rescans)",
        "; ".join(backfill) or "not run",
        None,
    )
    easy = ok.get(("swf-easy", 100_000))
    add(
        "100k-job SWF trace on 256 nodes under easy well under 60 s",
        f"{easy['seconds']:.1f} s" if easy else "needs swf-easy at 100k",
        easy["seconds"] < 60 if easy else None,
    )
    return out


# --- main ---------------------------------------------------------------------------------


def _machine() -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=HERE,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "commit": commit,
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k jobs only (about a minute)")
    parser.add_argument(
        "--sizes", type=_ints, help="comma-separated job counts (default 10000,100000,1000000)"
    )
    parser.add_argument(
        "--cases", type=_names, default=list(CASES), help=f"comma-separated, of {', '.join(CASES)}"
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="CASE@SIZE",
        help="leave out one case at one size (CASE@SIZE), a case (CASE) or a size (@SIZE); repeatable",
    )
    parser.add_argument(
        "--timeout", type=float, default=None, metavar="S", help="seconds allowed per case"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"JSON file (default {DEFAULT_OUT.relative_to(HERE.parent)})",
    )
    args = parser.parse_args(argv)

    sizes = args.sizes or ([10_000] if args.quick else list(SIZES))
    skips = [s.partition("@") for s in args.skip]
    plan = [
        (case, n)
        for n in sizes
        for case in args.cases
        if not any((not c or c == case) and (not s or int(float(s)) == n) for c, _, s in skips)
    ]
    results = []
    for case, n in plan:
        print(f"  {case} @ {n:,} ...", file=sys.stderr, flush=True)
        results.append(run_case(case, n, args.timeout))
    print(table(results))
    checks = targets(results)
    print("\ntargets (issue 7):")
    for t in checks:
        print(f"  [{t['status']:>4}] {t['target']}: {t['measured']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"machine": _machine(), "results": results, "targets": checks}
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(tmp, args.out)
    print(f"\nwrote {args.out}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
