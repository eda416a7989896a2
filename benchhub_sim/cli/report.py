"""``benchhub-sim report``: write an HTML (or Markdown) report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchhub_sim.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    add_command,
    load_runs,
    output_problem,
    run_labels,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "report",
        description="""
        Write one report of one or more runs: the summary table and wait-time CDF of
        all of them, then per run its setup, Gantt chart, utilization, queue length,
        node states, slowest and longest-waiting jobs, failures and stage durations.
        HTML is one self-contained file (figures embedded, no network: it opens
        offline and can be mailed); Markdown writes its PNGs in a folder beside it.
        """,
        examples=[
            "benchhub-sim report runs/fcfs runs/easy -o report.html",
            "benchhub-sim report runs/easy -o notes/easy.md --names EASY",
        ],
    )
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="report file")
    p.add_argument(
        "--format",
        choices=("html", "md"),
        default=None,
        help="default: from the output's suffix (.md), else html",
    )
    p.add_argument(
        "--names", nargs="+", metavar="NAME", help="one label per run (default: directory names)"
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Write one report of the given runs; print its path."""
    from benchhub_sim.analysis.report import write_report

    fmt = args.format or ("md" if Path(args.output).suffix.lower() == ".md" else "html")
    names = args.names or run_labels(args.runs)
    if len(names) != len(args.runs):
        print(f"error: {len(names)} names for {len(args.runs)} runs", file=sys.stderr)
        return EXIT_BAD_INPUT
    problem = output_problem(args.output)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    out = write_report(load_runs(args.runs), args.output, names=names, format=fmt)
    print(out)
    return EXIT_OK
