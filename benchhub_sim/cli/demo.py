"""``benchhub-sim demo``: run a mixed benchmark stream under four policies and report."""

from __future__ import annotations

import argparse

from benchhub_sim.cli.common import EXIT_OK, add_command, positive_int, print_table

#: the columns of the table printed at the end
COLUMNS = ("jobs", "finished", "aborted", "unfinished", "makespan_s", "mean_wait_s",
           "p95_wait_s", "mean_bounded_slowdown", "utilization")  # fmt: skip


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "demo",
        description="""
        The first thing to run. Simulates one stream of benchmark jobs (a ping-pong, a
        database with three loaders, an OLTP-like job; Poisson arrivals) on the shipped
        64-node cluster under BenchHub's own central (benchhub), fcfs, easy and sjf, on
        the same jobs; writes one run directory per policy and report.html comparing
        them into DIR, and prints the comparison. Takes a few seconds.
        """,
        examples=[
            "benchhub-sim demo",
            "benchhub-sim demo --jobs 2000 --out /tmp/demo --quiet",
        ],
    )
    p.add_argument(
        "--out", default="benchhub-demo", metavar="DIR", help="where to write the runs and report"
    )
    p.add_argument("--jobs", type=positive_int, default=600, metavar="N", help="jobs in the stream")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run the demo; print where the runs and the report are, and the compare table."""
    from benchhub_sim.demo import DEMO_POLICIES, run_demo
    from benchhub_sim.progress import job_progress, wants_progress

    total = args.jobs * len(DEMO_POLICIES)
    with job_progress(total, "demo", enabled=wants_progress(args.quiet)) as progress:
        result = run_demo(args.out, jobs=args.jobs, progress=progress)
    for policy, run in result.runs.items():
        print(f"{policy}: {run.path}")
    print(f"report: {result.report}")
    print_table(result.table, COLUMNS)
    for note in result.notes:
        print(note)
    return EXIT_OK
