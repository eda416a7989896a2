"""Row buffers and the canonical form of a table.

Completed rows (a finished job's row, its stages and tasks) are buffered as tuples and
turned into record batches every ``flush_rows`` rows, like the history log does, so a
long run keeps compact Arrow batches instead of Python objects.

The *canonical form* of a table (:func:`canonical`) is what :class:`~benchhub_sim.store.run.Run`
holds and writes: exactly the schema of :mod:`~benchhub_sim.store.schema`, one chunk per
column, dictionaries re-encoded in order of first appearance with no unused entries. Two
tables with the same rows have equal canonical forms, whatever their dictionaries were,
so ``pyarrow.Table.equals`` compares contents.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from benchhub_sim.errors import UsageError
from benchhub_sim.store.packed import PackedTable
from benchhub_sim.store.schema import (
    STAGE_PIPELINES_SCHEMA,
    STAGES_SCHEMA,
    TASK_PIPELINES_SCHEMA,
    TASKS_SCHEMA,
)


def rows_to_batch(rows: list[tuple], schema: pa.Schema) -> pa.RecordBatch:
    """Transpose row tuples into one record batch of ``schema``."""
    return pa.RecordBatch.from_arrays(row_columns(rows, list(schema)), schema=schema)


def row_columns(rows: list[tuple], fields: Sequence[pa.Field]) -> list[pa.Array]:
    """The columns of row tuples (one value per field, in order), as arrays of ``fields``.

    Arrow reads the rows as one struct array and hands its children over: the
    transposition runs in C++, half the time of gathering one Python list per column
    (``[r[i] for r in rows]``, or ``zip(*rows)``) and converting each. Dictionary fields
    are built directly (about 15 times faster than encoding string arrays).
    """
    if not rows:
        return [pa.array([], f.type) for f in fields]
    return pa.array(rows, type=pa.struct(fields)).flatten()  # type: ignore[no-any-return]


def columns(schema: pa.Schema, skip: int = 0) -> SimpleNamespace:
    """The position of each field of ``schema`` in a row list of its values, by name
    (its first ``skip`` fields left out of the rows).

    >>> columns(pa.schema([("seq", pa.int64()), ("time", pa.float64())]), skip=1).time
    0
    """
    return SimpleNamespace(**{name: i - skip for i, name in enumerate(schema.names) if i >= skip})


def repeat(value: Any, typ: pa.DataType, n: int) -> pa.Array:
    """``value`` ``n`` times, as an array of ``typ`` (a dictionary type included)."""
    return pa.array([value], typ).take(pa.array(np.zeros(n, np.int64)))


class RowBuffer:
    """Append-only rows of one schema, kept as record batches of ``flush_rows`` rows,
    compressed once they take :data:`~benchhub_sim.store.packed.PLAIN_BYTES`
    (:class:`~benchhub_sim.store.packed.PackedTable`: the ended rows of a million jobs
    then take tens of megabytes instead of hundreds)."""

    __slots__ = ("schema", "flush_rows", "rows", "packed", "n")

    def __init__(self, schema: pa.Schema, flush_rows: int = 65_536) -> None:
        self.schema = schema
        self.flush_rows = flush_rows
        self.rows: list[tuple] = []
        self.packed = PackedTable(schema)
        self.n = 0

    def append(self, row: tuple) -> None:
        self.rows.append(row)
        self.n += 1
        if len(self.rows) >= self.flush_rows:
            self.flush()

    def extend(self, rows: Iterable[tuple]) -> None:
        """:meth:`append` each of ``rows``, in order (the same batches)."""
        buffer = self.rows
        before = len(buffer)
        buffer.extend(rows)
        self.n += len(buffer) - before
        while len(buffer) >= self.flush_rows:
            head, self.rows = buffer[: self.flush_rows], buffer[self.flush_rows :]
            self.packed.append(rows_to_batch(head, self.schema))
            buffer = self.rows

    def flush(self) -> None:
        if self.rows:
            self.packed.append(rows_to_batch(self.rows, self.schema))
            self.rows = []

    def add_batch(self, batch: pa.RecordBatch) -> None:
        """Append the rows of ``batch`` (of this buffer's schema) after those so far."""
        self.flush()
        self.packed.append(batch)
        self.n += batch.num_rows

    def release(self, extra_rows: list[tuple] = ()) -> PackedTable:  # type: ignore[assignment]
        """Every row appended so far, then ``extra_rows``, still packed; the buffer is
        empty afterwards."""
        self.flush()
        packed, self.packed = self.packed, PackedTable(self.schema)
        if extra_rows:
            packed.append(rows_to_batch(list(extra_rows), self.schema))
        return packed

    def table(self, extra_rows: list[tuple] = (), *, release: bool = False) -> pa.Table:  # type: ignore[assignment]
        """Every row appended so far, then ``extra_rows``, as one table.

        With ``release`` the buffer hands its batches over and is empty afterwards.
        """
        self.flush()
        batches = list(self.packed.batches())
        if release:
            self.packed = PackedTable(self.schema)
        if extra_rows:
            batches.append(rows_to_batch(list(extra_rows), self.schema))
        if not batches:
            return self.schema.empty_table()
        return pa.Table.from_batches(batches, schema=self.schema)


class SimpleRows:
    """Pipeline, stage and task rows of simple jobs that finished in bulk, kept compact.

    A simple job (:mod:`benchhub_sim.store.simple`) that ended in bulk has one stage
    pipeline row, and per slot one stage row, one task pipeline row and one task row, all
    ``finished`` at the job's stop time, the task with exit code 0: a block ``(shape,
    job_id, start, stop, slots)`` says it all. Blocks are kept as a few Arrow and numpy
    arrays (about 30 bytes a slot, against about 300 for the full rows), and expanded to
    full rows only when a table is asked for (:meth:`rows`), possibly a few rows at a
    time (a run directory's final write gathers them row group by row group, see
    :class:`UnionRows`).
    """

    #: the tables it holds rows of, in the order they are handed over
    TABLES = ("stage_pipelines", "stages", "task_pipelines", "tasks")

    def __init__(self, flush_rows: int = 65_536) -> None:
        self.flush_rows = flush_rows
        self.shapes: list[Any] = []
        self._index: dict[int, int] = {}  # id(shape) -> index in shapes
        self.blocks: list[tuple[int, int, float, float, int]] = []  # since the last flush
        self.nodes: list[str] = []
        self.slots: list[str] = []
        self.logs: list[str | None] = []
        self.n_units = 0
        # flushed: per block (shape, job_id, start, stop), per unit (block, node, slot,
        # log); a block's index is an int32 (4 bytes of a unit's ~25)
        self._block_parts: list[tuple[np.ndarray, ...]] = []
        self._unit_parts: list[tuple[np.ndarray, pa.Array, pa.Array, pa.Array]] = []
        self._n_blocks = 0
        self._joined: tuple | None = None

    def append(
        self,
        shape: Any,
        job_id: int,
        start: float,
        stop: float,
        units: Sequence[tuple[str, str]],
        logs: Sequence[str | None] | None,
    ) -> None:
        """One ended job of ``shape`` (a SimpleShape) on ``units`` ((node_id, slot) pairs)."""
        i = self._index.get(id(shape))
        if i is None:
            i = self._index[id(shape)] = len(self.shapes)
            self.shapes.append(shape)
        self.blocks.append((i, job_id, start, stop, len(units)))
        self.nodes.extend([u[0] for u in units])
        self.slots.extend([u[1] for u in units])
        self.logs.extend(logs if logs is not None else [None] * len(units))
        self.n_units += len(units)
        if len(self.nodes) >= self.flush_rows:
            self.flush()

    def extend(
        self,
        shapes: Sequence[Any],
        job_id: np.ndarray,
        start: np.ndarray,
        stop: np.ndarray,
        units: np.ndarray,
        nodes: pa.Array,
        slots: pa.Array,
    ) -> None:
        """Many ended jobs at once, as arrays: what :meth:`append` does once per job, for
        jobs that keep no logs. Job ``i`` ran a stage of ``shapes[i]`` on ``units[i]``
        slots; ``nodes`` and ``slots`` (a dictionary array) give them, job after job."""
        self.flush()  # blocks appended one by one come first
        index = self._index
        for shape in {id(s): s for s in shapes}.values():
            if id(shape) not in index:
                index[id(shape)] = len(self.shapes)
                self.shapes.append(shape)
        n = len(job_id)
        self._block_parts.append(
            (np.array([index[id(s)] for s in shapes], np.int32), np.asarray(job_id, np.int64),
             np.asarray(start, np.float64), np.asarray(stop, np.float64))
        )  # fmt: skip
        count = int(np.sum(units))
        self._unit_parts.append(
            (
                np.repeat(np.arange(self._n_blocks, self._n_blocks + n, dtype=np.int32), units),
                nodes,
                slots,
                pa.nulls(count, pa.string()),
            )
        )
        self._n_blocks += n
        self.n_units += count
        self._joined = None

    def flush(self) -> None:
        """Turn the buffered blocks into compact arrays."""
        b = self.blocks
        if not b:
            return
        count = np.fromiter((x[4] for x in b), np.int64, len(b))
        self._block_parts.append(
            (
                np.fromiter((x[0] for x in b), np.int32, len(b)),
                np.fromiter((x[1] for x in b), np.int64, len(b)),
                np.fromiter((x[2] for x in b), np.float64, len(b)),
                np.fromiter((x[3] for x in b), np.float64, len(b)),
            )
        )
        self._unit_parts.append(
            (
                np.repeat(
                    np.arange(self._n_blocks, self._n_blocks + len(b), dtype=np.int32), count
                ),
                pa.array(self.nodes, pa.string()),
                pa.array(self.slots, pa.dictionary(pa.int32(), pa.string())),
                pa.array(self.logs, pa.string()),
            )
        )
        self._n_blocks += len(b)
        self.blocks, self.nodes, self.slots, self.logs = [], [], [], []
        self._joined = None

    def _all(self) -> tuple:
        """Per block (shape, job_id, start, stop) and per unit (block, node, slot, log)."""
        self.flush()
        if self._joined is None:
            bp, up = self._block_parts, self._unit_parts
            blocks = tuple(
                np.concatenate([p[k] for p in bp]) if bp else np.zeros(0, t)
                for k, t in enumerate((np.int32, np.int64, np.float64, np.float64))
            )
            slots = pa.chunked_array([p[2] for p in up], pa.dictionary(pa.int32(), pa.string()))
            units = (
                np.concatenate([p[0] for p in up]) if up else np.zeros(0, np.int32),
                pa.chunked_array([p[1] for p in up], pa.string()).combine_chunks(),
                slots.combine_chunks(),  # one dictionary (see unify_dictionaries)
                pa.chunked_array([p[3] for p in up], pa.string()).combine_chunks(),
            )
            # one copy of each column, the parts go
            self._block_parts = [blocks]
            self._unit_parts = [units]
            self._joined = (blocks, units)
        return self._joined

    def _shape_column(self, attr: str, typ: pa.DataType, shape: np.ndarray) -> pa.Array:
        return pa.array([getattr(s, attr) for s in self.shapes], typ).take(pa.array(shape))

    def num_rows(self, name: str) -> int:
        """Rows of table ``name``: one per job for ``stage_pipelines``, else one per unit."""
        if name == "stage_pipelines":
            self.flush()
            return self._n_blocks
        return self.n_units

    def keys(self, name: str, keys: Sequence[str]) -> pa.Table:
        """The key columns (of ``SORT_KEYS``) of every row of table ``name``, in order."""
        (shape, job_id, _, _), (block, node, slot, _) = self._all()
        if name == "stage_pipelines":
            block = np.arange(len(job_id))
        n = len(block)
        column = {
            "job_id": lambda: pa.array(job_id[block], pa.int64()),
            "pipeline": lambda: self._shape_column("pipeline", pa.int32(), shape[block]),
            "stage": lambda: self._shape_column("stage", pa.int32(), shape[block]),
            "task": lambda: self._shape_column("task", pa.int32(), shape[block]),
            "node_id": lambda: node,
            "node_name": lambda: slot,
            "attempt": lambda: pa.array(np.zeros(n, np.int32)),
            "task_pipeline": lambda: pa.array(np.zeros(n, np.int32)),
        }
        return pa.table({k: column[k]() for k in keys})

    def rows(self, name: str, index: np.ndarray | None = None) -> pa.Table:
        """Full rows of table ``name`` (one of :attr:`TABLES`): all of them, or those at
        ``index`` (jobs for ``stage_pipelines``, units for the others)."""
        (shape, job_id, start, stop), (block, node, slot, log) = self._all()
        per_job = name == "stage_pipelines"
        if index is None:
            index = np.arange(len(job_id) if per_job else len(block))
        at = pa.array(index, pa.int64())
        b = index if per_job else block[index]
        n = len(index)
        s = shape[b]
        dict_type = pa.dictionary(pa.int32(), pa.string())

        def const(value: Any, typ: pa.DataType) -> pa.Array:
            return repeat(value, typ, n)

        c = {
            "job_id": pa.array(job_id[b], pa.int64()),
            "start_time": pa.array(start[b], pa.float64()),
            "stop_time": pa.array(stop[b], pa.float64()),
            "ready_time": pa.nulls(n, pa.float64()),
            "status": const("finished", dict_type),
            "pipeline": self._shape_column("pipeline", pa.int32(), s),
        }
        if not per_job:
            c.update(
                node_id=node.take(at),
                node_name=slot.take(at),
                log_path=log.take(at),
                background=const(False, pa.bool_()),
                reason=pa.nulls(n, pa.string()),
                attempt=const(0, pa.int32()),
                exit_code=const(0, pa.int32()),
                task_pipeline=const(0, pa.int32()),  # a simple stage has one task pipeline
                command=self._shape_column("command", pa.string(), s),
            )
            for attr in ("stage", "task"):
                c[attr] = self._shape_column(attr, pa.int32(), s)
            for attr in ("stage_name", "task_name", "driver"):
                c[attr] = self._shape_column(attr, dict_type, s)
        schema = _SIMPLE_SCHEMAS[name]
        return pa.table([c[f.name] for f in schema], schema=schema)


_SIMPLE_SCHEMAS = {
    "stage_pipelines": STAGE_PIPELINES_SCHEMA,
    "stages": STAGES_SCHEMA,
    "task_pipelines": TASK_PIPELINES_SCHEMA,
    "tasks": TASKS_SCHEMA,
}


class UnionRows:
    """Rows of a table in two parts, a table and :class:`SimpleRows`, read by index.

    What :func:`~benchhub_sim.store.run.RunWriter.finish` needs to write a big table
    sorted, one row group at a time, without building it whole: ``num_rows``,
    ``schema``, ``select(keys)`` (the key columns, to sort by) and ``take(indices)`` /
    ``slice(start, length)`` (the full rows of a row group).
    """

    def __init__(self, table: pa.Table | PackedTable, simple: SimpleRows, name: str) -> None:
        self.table = table
        self.simple = simple
        self.name = name
        self.schema = table.schema
        self.num_rows = table.num_rows + simple.num_rows(name)

    def select(self, keys: Sequence[str]) -> pa.Table:
        mine = self.table.select(keys)
        return pa.concat_tables([mine, self.simple.keys(self.name, keys).cast(mine.schema)])

    def slice(self, start: int, length: int) -> pa.Table:
        return self.take(pa.array(np.arange(start, min(start + length, self.num_rows))))

    def take(self, indices: pa.Array) -> pa.Table:
        idx = np.asarray(indices, dtype=np.int64)
        first = idx < self.table.num_rows
        parts = [self.table.take(pa.array(idx[first]))]
        parts.append(self.simple.rows(self.name, idx[~first] - self.table.num_rows))
        table = pa.concat_tables(parts)
        if first.any() and not first.all():  # back into the order asked for
            where = np.concatenate([np.flatnonzero(first), np.flatnonzero(~first)])
            table = table.take(pa.array(np.argsort(where)))
        return table


def canonical(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` in ``schema``, one chunk per column, dictionaries re-encoded.

    Parameters
    ----------
    table : pyarrow.Table
        Rows with the columns of ``schema`` (any column order, dictionary or plain
        string columns for the dictionary fields).
    schema : pyarrow.Schema
        The target schema (one of :data:`benchhub_sim.store.schema.TABLES`).

    Returns
    -------
    pyarrow.Table
        Same rows; field metadata and schema metadata of ``schema``.
    """
    arrays = []
    for field in schema:
        col = table.column(field.name)
        if pa.types.is_dictionary(field.type):
            col = _dictionary_column(col, field.type)
        else:
            col = col.cast(field.type).combine_chunks()
        arrays.append(col)
    return pa.Table.from_arrays(arrays, schema=schema)


def _dictionary_column(col: pa.ChunkedArray, typ: pa.DictionaryType) -> pa.Array:
    """``col`` as one dictionary array of ``typ``, entries in order of first appearance."""
    if pa.types.is_dictionary(col.type) and pa.types.is_string(col.type.value_type):
        arr = col.combine_chunks()  # unifies the chunks' dictionaries (unify_dictionaries)
        if len(pc.unique(arr.dictionary)) == len(arr.dictionary):
            return first_appearance(arr).cast(typ)
    plain = col.cast(pa.string()) if pa.types.is_dictionary(col.type) else col
    return pc.cast(plain, pa.string()).combine_chunks().dictionary_encode().cast(typ)


def first_appearance(arr: pa.DictionaryArray) -> pa.DictionaryArray:
    """``arr`` re-encoded: dictionary entries in order of first appearance, none unused.

    The same array ``dictionary_encode()`` gives for its values, from the indices
    alone (a hash pass over them) instead of over the strings. The dictionary must hold
    no value twice.
    """
    seen = pc.unique(arr.indices).drop_null()
    if len(seen) == len(arr.dictionary) and np.array_equal(seen, np.arange(len(seen))):
        return arr  # already so (canonical chunks joined by unify_dictionaries are)
    indices = pc.index_in(arr.indices, value_set=seen).cast(pa.int32())
    return pa.DictionaryArray.from_arrays(indices, arr.dictionary.take(seen))


def sort_canonical(table: pa.Table, schema: pa.Schema, keys: list[str]) -> pa.Table:
    """Sort ``table`` ascending by ``keys`` (nulls last, stable) and make it canonical."""
    if keys and table.num_rows:
        table = table.take(sort_order(table, keys))
    return canonical(table, schema)


def sorted_groups(
    table: pa.Table | PackedTable | UnionRows,
    schema: pa.Schema,
    keys: Sequence[str] | None,
    size: int,
) -> Iterator[pa.Table]:
    """The rows of ``table`` sorted by ``keys`` (as :func:`sort_canonical`; unsorted
    without keys), ``size`` rows at a time, each in canonical form: gathered group by
    group, so memory for one group beyond the table and its sort order. At least one
    group, empty when the table is."""
    order = sort_order(table, list(keys)) if keys and table.num_rows else None
    for start in range(0, max(table.num_rows, 1), size):
        rows = table.slice(start, size) if order is None else table.take(order.slice(start, size))
        yield canonical(rows, schema)


def sort_order(table: pa.Table | PackedTable | UnionRows, keys: list[str]) -> pa.Array:
    """Indices that sort ``table`` ascending by ``keys`` (nulls last, stable); reads only
    the key columns."""
    plain = pa.schema([pa.field(k, _plain(table.schema.field(k).type)) for k in keys])
    return pc.sort_indices(
        table.select(keys).cast(plain), sort_keys=[(k, "ascending", "at_end") for k in keys]
    )


def _plain(typ: pa.DataType) -> pa.DataType:
    return typ.value_type if pa.types.is_dictionary(typ) else typ


#: sort keys of each snapshot table (nodes keep their registration order instead);
#: ``node_name`` orders the slots of one job on one node (loader packing), and changes
#: nothing without packing, where a job holds one slot per node
SORT_KEYS: dict[str, list[str]] = {
    "jobs": ["job_id"],
    "assignments": ["job_id", "position"],
    "stage_pipelines": ["job_id", "pipeline"],
    "stages": ["job_id", "stage", "node_id", "node_name"],
    "task_pipelines": ["job_id", "stage", "node_id", "node_name", "task_pipeline"],
    "tasks": ["job_id", "stage", "node_id", "node_name", "task", "attempt"],
}


def tables_of(obj: object) -> Mapping[str, pa.Table]:
    """The tables of a Run (``.tables``), a Store (``.tables()``) or a mapping of tables.

    The mapping itself is returned, not a copy: a loaded run reads only the tables a
    caller looks up.
    """
    tables = getattr(obj, "tables", None)
    if callable(tables):
        tables = tables()
    if tables is None:
        tables = obj
    if not isinstance(tables, Mapping):
        raise UsageError(f"expected a Run, a Store or a dict of tables, found {type(obj).__name__}")
    return tables
