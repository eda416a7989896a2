"""``benchhub-sim export``: write a run as SWF or Batsim jobs.csv."""

from __future__ import annotations

import argparse

from benchhub_sim.cli.common import EXIT_OK, load_runs


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write a run as an SWF trace or a Batsim jobs.csv")
    p.add_argument("run", metavar="RUN", help="run directory")
    p.add_argument("--format", choices=("swf", "batsim-csv"), required=True)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="output file")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Write a run as SWF or as Batsim's jobs.csv; print the path."""
    from benchhub_sim.analysis.export import to_batsim_csv
    from benchhub_sim.workload.swf import write_swf

    (run,) = load_runs([args.run])
    write = write_swf if args.format == "swf" else to_batsim_csv
    print(write(run, args.output))
    return EXIT_OK
