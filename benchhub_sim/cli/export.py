"""``benchhub-sim export``: write a run as SWF or Batsim jobs.csv."""

from __future__ import annotations

import argparse
import sys

from benchhub_sim.cli.common import EXIT_BAD_INPUT, EXIT_OK, add_command, load_runs, output_problem


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "export",
        description="""
        Write the jobs of a run for other tools: an SWF trace (the Parallel Workloads
        Archive's Standard Workload Format, one line per job in submit order, jobs
        numbered from 1; replay reads it back) or Batsim's jobs.csv (which evalys
        reads). Prints the file written.
        """,
        examples=[
            "benchhub-sim export runs/easy --format swf -o easy.swf",
            "benchhub-sim export runs/easy --format batsim-csv -o jobs.csv",
        ],
    )
    p.add_argument("run", metavar="RUN", help="run directory")
    p.add_argument("--format", choices=("swf", "batsim-csv"), required=True, help="the file format")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="output file (.gz: gzip-compressed SWF)",
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Write a run as SWF or as Batsim's jobs.csv; print the path."""
    from benchhub_sim.analysis.export import to_batsim_csv
    from benchhub_sim.workload.swf import write_swf

    problem = output_problem(args.output)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    (run,) = load_runs([args.run])
    write = write_swf if args.format == "swf" else to_batsim_csv
    print(write(run, args.output))
    return EXIT_OK
