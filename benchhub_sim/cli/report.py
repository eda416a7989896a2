"""``benchhub-sim report``: write an HTML (or Markdown) report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchhub_sim.cli.common import EXIT_BAD_INPUT, EXIT_OK, load_runs, run_labels


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write an HTML (or Markdown) report of one or more runs")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="report file")
    p.add_argument(
        "--format",
        choices=("html", "md"),
        default=None,
        help="default: from the output's suffix (.md), else html",
    )
    p.add_argument("--names", nargs="+", metavar="NAME", help="one label per run")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Write one report of the given runs; print its path."""
    from benchhub_sim.analysis.report import write_report

    fmt = args.format or ("md" if Path(args.output).suffix.lower() == ".md" else "html")
    names = args.names or run_labels(args.runs)
    if len(names) != len(args.runs):
        print(f"error: {len(names)} names for {len(args.runs)} runs", file=sys.stderr)
        return EXIT_BAD_INPUT
    out = write_report(load_runs(args.runs), args.output, names=names, format=fmt)
    print(out)
    return EXIT_OK
