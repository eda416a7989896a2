"""``benchhub-sim run``: execute jobs for real as local processes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchhub_sim.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    add_command,
    add_dask_options,
    dask_security,
    nonnegative_float,
    policy_help,
    report_stalled,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "run",
        description="""
        Execute a job (SPEC) or a jobs file for real, in wall-clock time: each task a
        process (sh -c, an argv, or the docker CLI) with its templates rendered and
        quoted, its stdout and stderr under RUN_DIR/logs. Every node is this machine,
        or with --dask each node is the Dask worker named like it, its agent on it:
        workers execute the spec's commands. The run directory has the same tables as a
        simulated run, plus what the agents measured (metrics.parquet) and the results
        tasks reported (results.parquet). No process is left behind. Exits 1 if a job
        aborted.
        """,
        examples=[
            "benchhub-sim run specs/pingpong-local.yml --out runs/real",
            "benchhub-sim run specs/pingpong-local.yml --dry-run",
            "benchhub-sim run spec.yml --cluster cluster.yml --dask tcp://head:8786 --out runs/real",
        ],
    )
    p.add_argument("spec", nargs="?", metavar="SPEC", help="job spec YAML file")
    p.add_argument(
        "--jobs", metavar="JOBS", help="jobs file, instead of SPEC (default: SPEC, run once)"
    )
    p.add_argument(
        "--cluster",
        metavar="CLUSTER",
        help="cluster YAML or Parquet (default: one local node per node assignment)",
    )
    p.add_argument(
        "--out", metavar="RUN_DIR", help="run directory (required unless --dry-run; no default)"
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print every command per node; run nothing"
    )
    p.add_argument("--policy", default="fcfs", help=policy_help())
    p.add_argument(
        "--grace",
        type=nonnegative_float,
        default=3.0,
        help="seconds from SIGTERM to SIGKILL (default: 3)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a run already in RUN_DIR")
    p.add_argument(
        "--metrics-interval",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds between samples of CPU, memory and I/O; 0: no metrics (default: 1)",
    )
    add_dask_options(p)
    p.add_argument(
        "--work-dir",
        metavar="DIR",
        help="with --dask: where tasks run on every worker (default: each worker's own "
        "local directory); a directory the workers share gives a job's nodes a shared "
        "$BENCHHUB_JOB_DIR",
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Execute the jobs (or list their commands); exit 1 if a job aborted."""
    from benchhub_sim.execute import dry_run, execute

    if (args.spec is None) == (args.jobs is None):
        print("error: give a SPEC or --jobs JOBS.yml (one of them)", file=sys.stderr)
        return EXIT_BAD_INPUT
    workload = Path(args.jobs or args.spec)
    if args.dry_run:
        print(dry_run(args.cluster, workload))
        return EXIT_OK
    if args.out is None:
        print("error: --out RUN_DIR is required (or --dry-run)", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not args.dask and (args.tls_ca_file or args.tls_cert or args.tls_key):
        print(
            "error: --tls-* options are for runs on Dask workers (--dask ADDRESS)", file=sys.stderr
        )
        return EXIT_BAD_INPUT
    if args.work_dir and not args.dask:
        print("error: --work-dir is for runs on Dask workers (--dask ADDRESS)", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.metrics_interval < 0:
        print("error: --metrics-interval must be 0 (none) or more", file=sys.stderr)
        return EXIT_BAD_INPUT
    run = execute(
        args.cluster,
        workload,
        out=args.out,
        policy=args.policy,
        grace=args.grace,
        overwrite=args.overwrite,
        metrics_interval=args.metrics_interval or None,
        dask=args.dask,
        security=dask_security(args) if args.dask else None,
        work_dir=args.work_dir,
    )
    jobs = run.jobs
    aborted = jobs[jobs["status"] == "aborted"]
    for row in aborted.itertuples():
        print(f"job {row.job_id} {row.name}: aborted: {row.reason}", file=sys.stderr)
    n_aborted = len(aborted)
    print(f"{len(jobs)} jobs: {len(jobs) - n_aborted} finished, {n_aborted} aborted")
    print(f"run directory: {args.out}")
    stalled = report_stalled(run)
    return EXIT_FAILED if n_aborted else stalled
