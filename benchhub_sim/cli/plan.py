"""``benchhub-sim plan``: bind a job to a cluster and print what runs where."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchhub_sim.cli.common import EXIT_OK


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="bind a job to a cluster and print what runs where")
    p.add_argument("spec", metavar="SPEC", help="job spec YAML file")
    p.add_argument("--cluster", required=True, metavar="CLUSTER", help="cluster YAML or Parquet")
    p.add_argument("--format", choices=("text", "json"), default="text")
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
