"""``benchhub-sim demo``: run a mixed benchmark stream under three policies and report."""

from __future__ import annotations

import argparse

from benchhub_sim.cli.common import EXIT_OK, fmt, positive_int


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run a mixed benchmark stream under three policies and report")
    p.add_argument("--out", default="benchhub-demo", metavar="DIR", help="default: ./benchhub-demo")
    p.add_argument(
        "--jobs",
        type=positive_int,
        default=600,
        metavar="N",
        help="jobs in the stream (default 600)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run the demo; print where the runs and the report are, and the compare table."""
    import pandas as pd

    from benchhub_sim.demo import DEMO_POLICIES, run_demo
    from benchhub_sim.progress import job_progress, wants_progress

    total = args.jobs * len(DEMO_POLICIES)
    with job_progress(total, "demo", enabled=wants_progress(args.quiet)) as progress:
        result = run_demo(args.out, jobs=args.jobs, progress=progress)
    for policy, run in result.runs.items():
        print(f"{policy}: {run.path}")
    print(f"report: {result.report}")
    cols = ["jobs", "finished", "aborted", "makespan", "mean_wait", "p95_wait",
            "mean_bounded_slowdown", "utilization"]  # fmt: skip
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(result.table[cols].to_string(float_format=fmt))
    return EXIT_OK
