"""``benchhub-sim agents``: the cluster the workers of a Dask scheduler make."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchhub_sim.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    add_command,
    add_dask_options,
    dask_security,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "agents",
        description="""
        List the workers connected to a Dask scheduler as the nodes of a cluster, with
        what a BenchHub agent registers: id (the worker's name), role (a worker
        resource named database, loader or central: dask worker --resources
        database=1), host name, address, cores, memory and disk. With -o, also write
        them as a cluster file for benchhub-sim run --cluster ... --dask. Exits 1 when
        no worker is connected.
        """,
        examples=[
            "benchhub-sim agents --dask tcp://head:8786",
            "benchhub-sim agents --dask tcp://head:8786 -o cluster.yml",
            "benchhub-sim agents --dask tls://head:8786 --tls-ca-file ca.pem --tls-cert c.pem "
            "--tls-key k.pem",
        ],
    )
    add_dask_options(p, required=True)
    p.add_argument(
        "-o",
        "--output",
        metavar="CLUSTER",
        help="also write the cluster as YAML, for run --cluster CLUSTER --dask "
        "(default: print only)",
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Print one line per worker; exit 1 when no worker is connected."""
    import yaml

    from benchhub_sim.engine.dask_agents import connect, dask_workers
    from benchhub_sim.io import write_text_atomic

    client = connect(args.dask, dask_security(args))
    try:
        workers = dask_workers(client)
    finally:
        client.close()
    if not workers:
        print(f"no Dask worker is connected to {args.dask}", file=sys.stderr)
        return EXIT_FAILED
    rows = [
        (w.name, w.role.value, w.hostname, w.address, f"{w.cores:g}", f"{w.mem_mb:,.0f}",
         f"{w.disk_mb:,.0f}")
        for w in workers
    ]  # fmt: skip
    head = ("id", "role", "host", "address", "cores", "mem_mb", "disk_mb")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for row in [head, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    if args.output:
        nodes = []
        for w in workers:
            node = w.node()
            nodes.append(
                {"id": node.node_id, "role": node.role.value, "host": node.host, "ip": node.ip,
                 "cores": node.cores, "mem_mb": node.mem_mb, "disk_mb": node.disk_mb}
            )  # fmt: skip
        text = yaml.safe_dump({"name": "dask", "nodes": nodes}, sort_keys=False)
        header = f"# the workers of {args.dask}, as listed by benchhub-sim agents\n"
        write_text_atomic(Path(args.output), header + text)
        print(f"cluster: {args.output}")
    return EXIT_OK
