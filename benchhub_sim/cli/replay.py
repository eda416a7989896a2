"""``benchhub-sim replay``: replay a recorded run or an SWF trace."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchhub_sim.cli.common import (
    add_command,
    nonnegative_float,
    policy_help,
    positive_float,
    positive_int,
    print_abort_reasons,
    print_skipped,
    report_stalled,
    seed_int,
    summary_line,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "replay",
        description="""
        "What if" on recorded history: replay the jobs of a run directory (same submit
        times, each task's observed duration) or of an SWF trace (.swf, .swf.gz; each
        job one task on its number of nodes) under another policy, on another cluster
        or number of nodes, faster, or from the recorded state at some time; write the
        new run directory and print its one-line summary.
        """,
        examples=[
            "benchhub-sim replay runs/easy --policy fcfs --nodes 16 --out runs/fcfs-16",
            "benchhub-sim replay traces/synthetic.swf --policy easy --out runs/swf-easy",
            "benchhub-sim replay runs/easy --warm-start 3600 --policy sjf --out runs/sjf-1h",
        ],
    )
    p.add_argument("source", metavar="SOURCE", help="run directory, or trace .swf / .swf.gz")
    p.add_argument(
        "--policy",
        default=None,
        help=policy_help() + " (default: the recorded run's, fcfs for a trace)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--nodes",
        type=positive_int,
        metavar="N",
        help="N nodes of role any, with a run's median node capacity (default: the recorded "
        "cluster; a trace's size)",
    )
    where.add_argument(
        "--cluster",
        metavar="CLUSTER",
        help="cluster YAML or Parquet, instead of --nodes (default: as --nodes)",
    )
    p.add_argument(
        "--speedup",
        type=positive_float,
        default=1.0,
        metavar="F",
        help="divide durations by F (default: 1)",
    )
    p.add_argument(
        "--warm-start",
        type=nonnegative_float,
        default=None,
        metavar="T",
        help="start from the recorded run's state at time T (s; default: from the start)",
    )
    p.add_argument(
        "--faults",
        choices=("recorded", "none"),
        default="auto",
        help="the recording's node failures: recorded (default on the recorded cluster) "
        "or none (default with --nodes/--cluster)",
    )
    p.add_argument(
        "--seed", type=seed_int, default=None, help="default: the recorded run's seed, else 0"
    )
    p.add_argument(
        "--out", required=True, metavar="RUN_DIR", help="write the replay's run directory here"
    )
    p.add_argument("--overwrite", action="store_true", help="replace a run already in RUN_DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Replay a run directory or an SWF trace; print the one-line summary."""
    from benchhub_sim.progress import job_progress, wants_progress
    from benchhub_sim.replay import replay
    from benchhub_sim.store.run import Run
    from benchhub_sim.workload.replay import open_source

    # a trace is read by replay() alone, so that it can let the trace go once its jobs are made
    source = open_source(args.source) if Path(args.source).is_dir() else args.source
    total = source.num_rows("jobs") if isinstance(source, Run) and args.warm_start is None else None
    with job_progress(total, "replay", enabled=wants_progress(args.quiet)) as progress:
        run = replay(
            source,
            policy=args.policy,
            cluster=args.cluster,
            nodes=args.nodes,
            speedup=args.speedup,
            warm_start=args.warm_start,
            faults=args.faults,
            seed=args.seed,
            out=args.out,
            overwrite=args.overwrite,
            progress=progress,
        )
    opts = (run.meta.get("inputs") or {}).get("replay", {})
    print(summary_line(run))
    print_skipped(run)
    if opts.get("faults_dropped"):
        print(
            f"  dropped {opts['faults_dropped']} recorded node failure(s) of nodes not in the "
            "replay cluster"
        )
    print_abort_reasons(run)
    print(f"run directory: {args.out}")
    return report_stalled(run)
