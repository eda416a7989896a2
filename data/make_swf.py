"""Generate ``data/traces/synthetic.swf``: a small synthetic SWF trace with a fixed seed.

A 32-node machine (``--nodes``); Poisson arrivals (exponential inter-arrival times); run
times lognormal; job sizes from powers of two up to 32; requested time at least the run
time (the run time times a factor in [1, 3), rounded up to a whole minute). The offered
load is about 0.8 of the machine (``--load``). Waits are left ``-1``: a replay computes them. Every field is an
integer (some SWF readers, AccaSim's among them, drop lines with a decimal point). Same
seed, same bytes::

    python data/make_swf.py [--seed 6] [--jobs 300] [--out data/traces/synthetic.swf]
    python data/make_swf.py --jobs 20000 --nodes 256 --load 0.9 --out big.swf  # the benchmark's
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import numpy as np

NODES = 32
SIZES = np.array([1, 2, 4, 8, 16, 32])
SIZE_P = np.array([0.30, 0.20, 0.20, 0.15, 0.10, 0.05])
RUN_MU, RUN_SIGMA = np.log(300.0), 1.2  # median 300 s, mean ~616 s
LOAD = 0.8
UNIX_START = 1_700_000_000
USERS = 12


def make_trace(seed: int = 6, n_jobs: int = 300, nodes: int = NODES, load: float = LOAD) -> str:
    """Return the text of a synthetic SWF trace (deterministic for a given seed).

    ``nodes`` and ``load`` set the machine size and the offered load (mean work arriving
    per second over the machine's capacity); job sizes stay 1..32 whatever ``nodes``.
    """
    return "".join(trace_chunks(seed, n_jobs, nodes, load))


def trace_chunks(
    seed: int = 6, n_jobs: int = 300, nodes: int = NODES, load: float = LOAD, chunk: int = 100_000
) -> Iterator[str]:
    """:func:`make_trace`'s text in pieces of ``chunk`` job lines (a 10M-job trace is
    written without holding its text)."""
    if nodes < int(SIZES.max()):
        raise ValueError(f"nodes: at least {int(SIZES.max())} (the largest job), got {nodes}")
    rng = np.random.default_rng(seed)
    mean_size = float(SIZES @ SIZE_P)
    mean_run = float(np.exp(RUN_MU + RUN_SIGMA**2 / 2))
    mean_gap = mean_size * mean_run / (load * nodes)
    submit = np.floor(np.cumsum(rng.exponential(mean_gap, n_jobs))).astype(np.int64)
    submit -= submit[0]
    run = np.clip(np.rint(rng.lognormal(RUN_MU, RUN_SIGMA, n_jobs)), 1, 24 * 3600).astype(np.int64)
    size = rng.choice(SIZES, size=n_jobs, p=SIZE_P)
    factor = rng.uniform(1.0, 3.0, n_jobs)
    requested = (np.ceil(run * factor / 60.0) * 60).astype(np.int64)
    requested = np.maximum(requested, run)
    user = rng.integers(1, USERS + 1, n_jobs)
    header = [
        "; Version: 2.2",
        f"; Computer: synthetic {nodes}-node cluster",
        "; Installation: benchhub_sim data/make_swf.py",
        f"; Note: generated with seed {seed}; Poisson arrivals, lognormal run times,",
        f";       offered load about {load:g}; waits are -1 (computed by a replay)",
        f"; MaxJobs: {n_jobs}",
        f"; MaxRecords: {n_jobs}",
        f"; UnixStartTime: {UNIX_START}",
        "; TimeZoneString: UTC",
        f"; MaxNodes: {nodes}",
        f"; MaxProcs: {nodes}",
        f"; MaxRuntime: {int(requested.max())}",
        "; MaxQueues: 1",
        "; MaxPartitions: 1",
    ]
    yield "\n".join(header) + "\n"
    missing = np.full(n_jobs, -1, dtype=np.int64)
    one = np.ones(n_jobs, dtype=np.int64)
    fields = [
        np.arange(1, n_jobs + 1),  # job number
        submit,
        missing,  # wait time
        run,
        size,  # allocated procs
        missing,  # average cpu time
        missing,  # used memory
        size,  # requested procs
        requested,
        missing,  # requested memory
        one,  # status: completed
        user,
        one,  # group
        missing,  # executable
        one,  # queue
        one,  # partition
        missing,  # preceding job
        missing,  # think time
    ]
    for lo in range(0, n_jobs, chunk):
        rows = np.column_stack([f[lo : lo + chunk] for f in fields]).astype(np.int64).tolist()
        yield "".join(" ".join(map(str, row)) + "\n" for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--nodes", type=int, default=NODES, help="machine size (default 32)")
    parser.add_argument("--load", type=float, default=LOAD, help="offered load (default 0.8)")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "traces" / "synthetic.swf"
    )
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="ascii", newline="\n") as fh:
        fh.writelines(trace_chunks(args.seed, args.jobs, args.nodes, args.load))
    print(args.out)


if __name__ == "__main__":
    main()
