"""``benchhub-sim simulate``: run a workload on a cluster in virtual time."""

from __future__ import annotations

import argparse

from benchhub_sim.cli.common import (
    add_command,
    nonnegative_float,
    policy_help,
    positive_int,
    print_abort_reasons,
    report_stalled,
    seed_int,
    summary_line,
)
from benchhub_sim.errors import WorkloadError
from benchhub_sim.workload.base import Workload
from benchhub_sim.workload.jobsfile import JOBS_FILE_FORMAT


def add_parser(sub: argparse._SubParsersAction) -> None:
    jobs_file = "jobs file (--jobs), one entry per spec submitted:\n" + "\n".join(
        f"  {line}" for line in JOBS_FILE_FORMAT.splitlines()
    )
    p = add_command(
        sub,
        "simulate",
        description="""
        Run a workload on a cluster in virtual time: simulated task durations (from the
        specs' duration fields), thousands of jobs per second; print a one-line
        summary. With --out, write the run directory (Parquet tables and run.json) that
        compare, report, replay and export read. The workload is a jobs file (--jobs)
        or specs (--spec, repeatable) with an arrival process. The same inputs and seed
        give identical tables.
        """,
        examples=[
            "benchhub-sim simulate --cluster clusters/64.yml --jobs jobs/mix.yml --out runs/mix",
            "benchhub-sim simulate --cluster clusters/64.yml --spec specs/pingpong.yml \\\n"
            "      --spec specs/db-loaders.yml --arrivals poisson:0.05 --count 500 --policy easy \\\n"
            "      --seed 1 --out runs/easy",
            "benchhub-sim simulate --nodes 8 --spec specs/exp-task.yml --arrivals poisson:6 "
            "--count 10000",
        ],
        more=jobs_file,
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--cluster", metavar="CLUSTER", help="cluster YAML or Parquet")
    where.add_argument("--nodes", type=positive_int, metavar="N", help="N nodes of role any")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--jobs", metavar="JOBS", help="jobs file (spec, submit, count, ...)")
    what.add_argument("--spec", action="append", metavar="SPEC", help="job spec (repeatable)")
    p.add_argument(
        "--arrivals",
        metavar="PROCESS",
        help="with --spec: poisson:RATE (jobs/s, needs --count) or fixed:EVERY (s) "
        "(default: all at t=0)",
    )
    p.add_argument(
        "--count",
        type=positive_int,
        default=None,
        metavar="N",
        help="with --spec: number of jobs, specs taken in turn (default: one per --spec)",
    )
    p.add_argument("--policy", default="fcfs", help=policy_help())
    p.add_argument(
        "--seed", type=seed_int, default=0, help="seeds arrivals, durations and failures"
    )
    p.add_argument(
        "--out", metavar="RUN_DIR", help="write the run directory here (default: write nothing)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace a run already in RUN_DIR")
    p.add_argument(
        "--default-duration",
        type=nonnegative_float,
        default=1.0,
        metavar="S",
        help="seconds a task takes when its spec gives no duration (default 1)",
    )
    p.add_argument(
        "--max-loader-pack",
        type=positive_int,
        default=1,
        metavar="K",
        help="loader slots of one job allowed on one node (default 1)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from benchhub_sim.progress import job_progress, wants_progress
    from benchhub_sim.simulate import as_cluster, simulate
    from benchhub_sim.workload.arrivals import parse_arrivals

    cluster = as_cluster(args.nodes if args.nodes is not None else args.cluster)
    if args.jobs:
        from benchhub_sim.workload.jobsfile import load_jobs

        if args.arrivals or args.count:
            raise WorkloadError(["--arrivals and --count go with --spec, not --jobs"])
        workload: Workload = load_jobs(args.jobs)
        inputs = {"jobs": args.jobs}
    else:
        from benchhub_sim.spec.load import load_spec

        specs = [load_spec(s) for s in args.spec]
        workload = parse_arrivals(args.arrivals, specs, count=args.count, seed=args.seed)
        inputs = {
            "specs": args.spec,
            "arrivals": args.arrivals or "all at 0",
            "count": len(workload),
        }
    with job_progress(len(workload), "simulate", enabled=wants_progress(args.quiet)) as progress:
        run = simulate(
            cluster,
            workload,
            policy=args.policy,
            seed=args.seed,
            out=args.out,
            overwrite=args.overwrite,
            default_duration=args.default_duration,
            max_loader_pack=args.max_loader_pack,
            progress=progress,
            inputs=inputs,
        )
    print(summary_line(run))
    print_abort_reasons(run)
    if args.out:
        print(f"run directory: {args.out}")
    return report_stalled(run)
