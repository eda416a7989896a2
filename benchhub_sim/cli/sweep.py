"""``benchhub-sim sweep``: one replay per grid cell."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchhub_sim.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    add_command,
    csv_of,
    policy_help,
    positive_float,
    positive_int,
    print_table,
    seed_int,
)

#: the columns of the table printed at the end
COLUMNS = ("cell", "status", "jobs", "makespan_s", "mean_wait_s", "p95_wait_s",
           "mean_bounded_slowdown", "utilization", "stalled", "elapsed", "skipped")  # fmt: skip


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "sweep",
        description="""
        Run one replay of a trace or a recorded run (or, for a jobs file, one
        simulation) per cell of the grid policies x nodes x seeds x speedups x
        clusters, on a local process pool or on Dask. Writes each cell's run directory
        under DIR and DIR/summary.parquet (one row per cell), and prints that table. A
        rerun skips the cells already done. Exits 1 if a cell failed or stalled.
        """,
        examples=[
            "benchhub-sim sweep --workload traces/synthetic.swf --policies fcfs,easy,sjf \\\n"
            "      --nodes 24,32 --seeds 0,1 --out sweep",
            "benchhub-sim sweep --workload runs/easy --speedups 1,2 --dask local --out sweep2",
        ],
    )
    p.add_argument(
        "--workload",
        required=True,
        metavar="WORKLOAD",
        help="SWF trace, run directory, or jobs file (YAML)",
    )
    p.add_argument(
        "--policies",
        type=csv_of(str),
        metavar="P,..",
        help=policy_help().replace("queue policy", "queue policies") + " (default: fcfs)",
    )
    p.add_argument(
        "--nodes",
        type=csv_of(positive_int),
        metavar="N,..",
        help="cluster sizes (default: the trace's or the recorded run's)",
    )
    p.add_argument(
        "--seeds",
        type=csv_of(seed_int),
        metavar="S,..",
        help="seeds (default: a recorded run's, else 0)",
    )
    p.add_argument(
        "--speedups",
        type=csv_of(positive_float),
        metavar="X,..",
        help="machines X times faster: task durations divided by X (default: 1)",
    )
    p.add_argument(
        "--clusters",
        type=csv_of(str),
        metavar="FILE,..",
        help="cluster files (default: the trace's size, or the recorded run's cluster)",
    )
    p.add_argument(
        "--dask",
        metavar="local|tcp://HOST:PORT",
        help="run the cells on a Dask LocalCluster or on the scheduler at that address "
        "(default: a local process pool)",
    )
    p.add_argument(
        "--workers", type=positive_int, metavar="N", help="local workers (default: CPU count)"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="sweep directory")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run the grid, print one row per cell; exit 1 if a cell failed or stalled."""
    from benchhub_sim.sweep import SUMMARY_FILE, sweep

    grid: dict[str, list] = {"policy": args.policies or ["fcfs"]}
    if args.nodes:
        grid["nodes"] = args.nodes
    if args.seeds:
        grid["seed"] = args.seeds
    if args.speedups:
        grid["speedup"] = args.speedups
    if args.clusters:
        grid["cluster"] = args.clusters
    executor = None if args.dask is None else ("dask" if args.dask == "local" else args.dask)
    df = sweep(
        args.workload,
        grid,
        out=args.out,
        executor=executor,
        max_workers=args.workers,
        progress=False if args.quiet else None,
    )
    table = df.set_index("cell")
    if "skipped" in table:  # a cell that left jobs of the workload out is flagged
        table["skipped"] = [_flag(n) for n in table["skipped"]]
    print_table(table, COLUMNS[1:])
    for row in df[df["skipped"].fillna(0) > 0].itertuples():
        print(f"  {row.cell}: skipped {row.skipped} job(s) of the workload: {row.skipped_reasons}")
    failed = df[df["status"] != "ok"]
    for row in failed.itertuples():
        print(f"  {row.cell}: {row.error}", file=sys.stderr)
    stalled = df[df["stalled"].fillna(0) > 0] if "stalled" in df else df.iloc[:0]
    for row in stalled.itertuples():
        print(f"  {row.cell}: stalled: {row.stalled} job(s) never ended", file=sys.stderr)
    print(
        f"{len(df)} cells: {len(df) - len(failed)} ok, {len(failed)} failed, "
        f"{len(stalled)} stalled ({df.attrs.get('skipped', 0)} already done, not run again)"
    )
    print(f"summary: {Path(args.out) / SUMMARY_FILE}")
    return EXIT_FAILED if len(failed) or len(stalled) else EXIT_OK


def _flag(skipped: object) -> str:
    """The printed ``skipped`` cell: ``-`` for none, ``12 !`` when jobs were left out."""
    import pandas as pd

    if skipped is None or pd.isna(skipped):  # type: ignore[call-overload]
        return ""
    return f"{int(skipped)} !" if int(skipped) else "-"  # type: ignore[call-overload]
