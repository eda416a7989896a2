"""``benchhub-sim graph``: draw a job's stage graph."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchhub_sim.cli.common import EXIT_BAD_INPUT, EXIT_OK, add_command, output_problem
from benchhub_sim.io import atomic_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "graph",
        description="""
        Draw a job's stage graph into an image file: one column per pipeline, left to
        right; circles are stages, squares background stages, a red border marks a
        stage that stops others; under each stage the roles it runs on. A solid edge
        waits for a stage to finish, a dashed one for a background stage to be ready.
        The format follows the file's suffix (.png, .svg, .pdf, ...).
        """,
        examples=[
            "benchhub-sim graph specs/db-loaders.yml -o graph.png",
            "benchhub-sim graph specs/task-pipelines.yml --tasks -o graph.svg",
        ],
    )
    p.add_argument("spec", metavar="SPEC", help="job spec YAML file")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="image file (.png, .svg)")
    p.add_argument("--tasks", action="store_true", help="expand stages into tasks")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Draw a spec's stage graph into an image file."""
    from matplotlib.figure import Figure

    from benchhub_sim.graph import plot_stage_graph, stage_graph, stage_graph_size
    from benchhub_sim.spec.load import load_spec

    out = Path(args.output)
    problem = output_problem(args.output)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    formats = Figure().canvas.get_supported_filetypes()
    if out.suffix.lstrip(".").lower() not in formats:
        print(f"error: {args.output}: expected one of .{', .'.join(formats)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    graph = stage_graph(load_spec(Path(args.spec)), tasks=args.tasks)
    fig = Figure(figsize=stage_graph_size(graph), layout="constrained")
    plot_stage_graph(graph, ax=fig.add_subplot())
    with atomic_path(args.output) as tmp:
        fig.savefig(tmp, format=Path(args.output).suffix.lstrip(".").lower())
    print(f"wrote {args.output}")
    return EXIT_OK
