"""``benchhub-sim compare``: one row of headline numbers per run."""

from __future__ import annotations

import argparse

from benchhub_sim.cli.common import EXIT_OK, fmt, load_runs, run_labels


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="one row of headline numbers per run")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories")
    p.add_argument(
        "--by-job",
        action="store_true",
        help="also print per-job differences of each run against the first",
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Print one row per run (jobs, makespan, waits, bounded slowdown, utilization)."""
    import pandas as pd

    from benchhub_sim.analysis.metrics import compare_jobs, compare_runs

    runs = load_runs(args.runs)
    names = run_labels(args.runs)
    cols = [
        "jobs",
        "finished",
        "aborted",
        "makespan",
        "mean_wait",
        "median_wait",
        "p95_wait",
        "mean_bounded_slowdown",
        "utilization",
    ]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(compare_runs(runs, names)[cols].to_string(float_format=fmt))
        if args.by_job:
            for run, name in zip(runs[1:], names[1:], strict=True):
                print(f"\nper job: {name} - {names[0]} (diff = b - a)")
                print(compare_jobs(runs[0], run).to_string(float_format=fmt))
    return EXIT_OK
