"""``benchhub-sim graph``: draw a job's stage graph."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchhub_sim.cli.common import EXIT_BAD_INPUT, EXIT_OK
from benchhub_sim.io import atomic_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("graph", help="draw a job's stage graph")
    p.add_argument("spec", metavar="SPEC", help="job spec YAML file")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="image file (.png, .svg)")
    p.add_argument("--tasks", action="store_true", help="expand stages into tasks")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Draw a spec's stage graph into an image file."""
    from matplotlib.figure import Figure

    from benchhub_sim.graph import plot_stage_graph, stage_graph
    from benchhub_sim.spec.load import load_spec

    graph = stage_graph(load_spec(Path(args.spec)), tasks=args.tasks)
    fig = Figure(figsize=(2.5 + 2 * len(graph.graph["pipelines"]), 4), layout="constrained")
    formats = fig.canvas.get_supported_filetypes()
    if Path(args.output).suffix.lstrip(".").lower() not in formats:
        print(f"error: {args.output}: expected one of .{', .'.join(formats)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    plot_stage_graph(graph, ax=fig.add_subplot())
    with atomic_path(args.output) as tmp:
        fig.savefig(tmp, format=Path(args.output).suffix.lstrip(".").lower())
    print(f"wrote {args.output}")
    return EXIT_OK
