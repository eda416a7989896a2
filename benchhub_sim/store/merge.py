"""A snapshot table written in sorted runs as the run goes, merged by key at its end.

A long run streamed to a run directory would otherwise keep the ended jobs' snapshot
rows (jobs, stages, tasks, ...: about ten rows a job) in memory until its end, then sort
them whole. :class:`SortedRuns` takes them a batch of ended jobs at a time, sorts the
batch by the table's keys and writes it to ``RUN/_journal/runs/NAME-K.arrows`` (an Arrow
IPC stream, lz4: each block keeps its own dictionaries), then :meth:`SortedRuns.merged` gives the whole table sorted, a row group
at a time, reading one block of each run at a time (a k-way merge): memory for a block
per run and a row group, whatever the run's length.

The row groups are those :func:`~benchhub_sim.store.rows.sorted_groups` gives for the
rows held whole (sorted ascending by the keys, nulls last, ties in the order the rows were
handed over; each in canonical form), so the file written does not depend on how the
rows were split into runs. The run files are not part of the run directory's contract:
a killed run's snapshot tables are folded from its history, and the files are deleted
with the journal.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from benchhub_sim.store.packed import PackedTable
from benchhub_sim.store.rows import UnionRows, canonical, sort_order, sorted_groups

RUNS_DIR = "runs"
#: rows of a block of a run file: what the merge holds of each run at a time
BLOCK_ROWS = 16_384
_IPC_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")


class SortedRuns:
    """The sorted runs of one snapshot table, written to ``folder``.

    Parameters
    ----------
    folder : Path
        Where the run files go (created on the first run).
    name : str
        The table.
    schema : pyarrow.Schema
        The table's schema.
    keys : sequence of str
        The key columns the table is sorted by.
    """

    def __init__(self, folder: Path, name: str, schema: pa.Schema, keys: Sequence[str]) -> None:
        self.folder = folder
        self.name = name
        self.schema = schema
        self.keys = list(keys)
        self.files: list[Path] = []
        self.num_rows = 0

    def add(self, rows: pa.Table | PackedTable | UnionRows) -> None:
        """Sort ``rows`` by the keys and write them as one more run."""
        if not rows.num_rows:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.name}-{len(self.files):05d}.arrows"
        with (
            pa.OSFile(str(path), "wb") as f,
            pa.ipc.new_stream(f, self.schema, options=_IPC_OPTIONS) as out,
        ):
            for block in sorted_groups(rows, self.schema, self.keys, BLOCK_ROWS):
                out.write_table(block)
        self.files.append(path)
        self.num_rows += rows.num_rows

    def merged(self, size: int) -> Iterator[pa.Table]:
        """Every row of the runs, sorted by the keys, ``size`` rows at a time, each in
        canonical form; at least one (empty) table."""
        blocks = merge_sorted([_blocks(p) for p in self.files], self.keys)
        yield from regroup(blocks, self.schema, size)


def _blocks(path: Path) -> Iterator[pa.Table]:
    """The blocks of a run file, one at a time."""
    with pa.OSFile(str(path)) as f:
        for batch in pa.ipc.open_stream(f):
            yield pa.Table.from_batches([batch])


def merge_sorted(runs: Sequence[Iterator[pa.Table]], keys: list[str]) -> Iterator[pa.Table]:
    """Merge ``runs`` (each a sequence of tables, sorted by ``keys`` as
    :func:`~benchhub_sim.store.rows.sort_order` sorts) into pieces sorted by ``keys``.

    Each step takes, from every run, the rows below the smallest last key of the runs
    that have more to read (every row still to come is at least that key), sorts them
    and yields them; then reads the next block of the run that set that bound. Rows with
    equal keys are taken in one step, in run order, so ties keep the order of the runs.
    """
    held: list[pa.Table | None] = [next(run, None) for run in runs]
    more = [h is not None for h in held]
    while True:
        for i, run in enumerate(runs):  # a run with more to read holds a block
            while more[i] and (held[i] is None or not held[i].num_rows):  # type: ignore[union-attr]
                block = next(run, None)
                more[i] = block is not None
                if block is not None:
                    held[i] = block
        bound, arg = None, -1
        for i, table in enumerate(held):
            if more[i] and table is not None:
                last = _key(table, table.num_rows - 1, keys)
                if bound is None or last < bound:
                    bound, arg = last, i
        taken = []
        for i, table in enumerate(held):
            if table is None or not table.num_rows:
                continue
            n = table.num_rows if bound is None else _count_below(table, bound, keys)
            if n:
                taken.append(table.slice(0, n))
                held[i] = table.slice(n)
        if taken:
            piece = pa.concat_tables(taken) if len(taken) > 1 else taken[0]
            yield piece.take(sort_order(piece, keys)) if len(taken) > 1 else piece
        if bound is None:
            return
        block = next(runs[arg], None)  # the run that set the bound: read on
        more[arg] = block is not None
        if block is not None:
            rest = held[arg]
            held[arg] = pa.concat_tables([rest, block]) if rest is not None else block


def regroup(pieces: Iterator[pa.Table], schema: pa.Schema, size: int) -> Iterator[pa.Table]:
    """The rows of ``pieces``, in order, ``size`` at a time, each in canonical form; at
    least one (empty) table."""
    waiting: list[pa.Table] = []
    n = 0
    wrote = False
    for piece in pieces:
        waiting.append(piece)
        n += piece.num_rows
        while n >= size:
            rows = pa.concat_tables(waiting)
            yield canonical(rows.slice(0, size), schema)
            wrote = True
            rest = rows.slice(size)
            waiting, n = [rest], rest.num_rows
    if n or not wrote:
        rows = pa.concat_tables(waiting) if waiting else schema.empty_table()
        yield canonical(rows, schema)


def _key(table: pa.Table, i: int, keys: list[str]) -> tuple:
    """Row ``i``'s key, comparable as ``sort_order`` orders (nulls last)."""
    return tuple(_last_if_null(table.column(k)[i].as_py()) for k in keys)


def _last_if_null(value: Any) -> tuple:
    return (True, 0) if value is None else (False, value)


def _count_below(table: pa.Table, bound: tuple, keys: list[str]) -> int:
    """How many of ``table``'s first rows (sorted by ``keys``) have a key below ``bound``."""
    if not _key(table, 0, keys) < bound:
        return 0
    lo, hi = 1, table.num_rows  # rows [0, lo) are below; rows [hi, n) are not
    while lo < hi:
        mid = (lo + hi) // 2
        if _key(table, mid, keys) < bound:
            lo = mid + 1
        else:
            hi = mid
    return lo
