"""``benchhub-sim plan``: bind a job to a cluster and print what runs where."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchhub_sim.cli.common import EXIT_OK, add_command


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "plan",
        description="""
        Bind one job's node assignments to the nodes of an idle cluster, as BenchHub's
        central does (an exact role before a node of role any; selectors and capacity
        honoured), then print each pipeline, stage, bound node and task with its
        command templates ({{.Nodes.srv.Ip}}, ...) rendered.
        """,
        examples=[
            "benchhub-sim plan specs/db-loaders.yml --cluster clusters/small.yml",
            "benchhub-sim plan specs/pingpong.yml --cluster clusters/64.yml --format json",
        ],
    )
    p.add_argument("spec", metavar="SPEC", help="job spec YAML file")
    p.add_argument("--cluster", required=True, metavar="CLUSTER", help="cluster YAML or Parquet")
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="an indented tree, or the plan as JSON",
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Print the plan of one job on an idle cluster, as text or JSON."""
    import json

    from benchhub_sim.cluster import load_cluster
    from benchhub_sim.plan import plan_job
    from benchhub_sim.spec.load import load_spec

    plan = plan_job(load_spec(Path(args.spec)), load_cluster(Path(args.cluster)))
    print(json.dumps(plan.to_dict(), indent=2) if args.format == "json" else plan.to_text())
    return EXIT_OK
