"""Blocks: the rows of one bulk transition, kept compact and expanded to Arrow at flush.

A bulk transition of the store (submitting a job, binding its nodes, starting or ending
a simple job, releasing nodes; see :mod:`benchhub_sim.store.simple`) logs a fixed
pattern of rows: the same events, statuses, stage and task names for every job of one
spec, with only the time, the job id and the nodes changing. A :class:`Template` is
that pattern, built once per spec; a *block* is one use of it: ``(first seq, time,
job_id, node ids, per-node details)``. A :class:`BlockLog` keeps the blocks of one event
table, of every template, and expands them all at once with numpy and one Arrow
``take`` per column, so a row costs no Python work.

Row ``r`` of a block gets ``seq = first + r``, exactly the ``seq`` the single-event path
would give it; the history merges block rows with its other rows by ``seq``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from benchhub_sim.store.rows import canonical
from benchhub_sim.store.schema import JOB_EVENTS_SCHEMA, NODE_EVENTS_SCHEMA

#: in a template row's ``detail``: the detail the block gives for the row's unit
UNIT_DETAIL = "<unit detail>"
#: columns a block gives (the others are the template's constants); ``node_id`` comes
#: from the row's unit
_GIVEN = ("seq", "time", "job_id", "node_id", "detail")
#: where ``detail`` is among a template row's values, per table
_DETAIL = {
    "job": JOB_EVENTS_SCHEMA.names.index("detail") - 3,
    "node": NODE_EVENTS_SCHEMA.names.index("detail") - 2,
}


@dataclass(frozen=True)
class Template:
    """The rows of one kind of bulk transition, in ``seq`` order.

    Parameters
    ----------
    rows : tuple of (table, unit, values)
        ``table`` is ``"job"`` or ``"node"``; ``unit`` the index of the block's node the
        row is about, or -1; ``values`` the row's other columns, in the table's schema
        order after ``seq``, ``time`` and (job rows) ``job_id``, with ``node_id`` None
        (it comes from the unit) and ``detail`` None or :data:`UNIT_DETAIL` (the block
        gives one per unit). A node row's ``job_id`` is True for the block's job id,
        None for null.
    """

    rows: tuple[tuple[str, int, tuple], ...]

    def __post_init__(self) -> None:
        for table, unit, values in self.rows:
            width = len(JOB_EVENTS_SCHEMA) - 3 if table == "job" else len(NODE_EVENTS_SCHEMA) - 2
            if len(values) != width:
                raise ValueError(f"template {table} row has {len(values)} values, not {width}")
            detail = values[_DETAIL[table]]
            if detail is not None and detail != UNIT_DETAIL:
                raise ValueError("a template detail is None or per unit")
            if detail == UNIT_DETAIL and unit < 0:
                raise ValueError("a per-unit detail needs a unit")

    @cached_property
    def size(self) -> int:
        """Rows in one block (both tables)."""
        return len(self.rows)


class BlockLog:
    """The blocks of one event table (``"job"`` or ``"node"``) since the last flush.

    Every template's rows of this table are registered once, as *pattern rows*: their
    offset in the block, their unit, and their constant columns. A block is then one
    tuple; :meth:`batch` turns all blocks into rows with array arithmetic.
    """

    def __init__(self, table: str) -> None:
        self.table = table
        self.schema = JOB_EVENTS_SCHEMA if table == "job" else NODE_EVENTS_SCHEMA
        self._const = [f for f in self.schema if f.name not in _GIVEN]
        self._first_value = 3 if table == "job" else 2  # values start after these columns
        self._where: dict[
            int, tuple[int, int, bool]
        ] = {}  # id(template) -> (first row, rows, details)
        self._templates: list[Template] = []  # keeps the ids above valid
        self._offset: list[int] = []  # per pattern row: its row index in the block
        self._unit: list[int] = []
        self._unit_detail: list[bool] = []
        self._no_job: list[bool] = []  # node rows whose job_id is null
        self._values: list[list] = [[] for _ in self._const]
        self._patterns: list[pa.Array] | None = None  # the constants as Arrow, when current
        self.blocks: list[tuple[int, int, int, float, int, int, int]] = []
        self.nodes: list[str] = []
        self.details: list[str | None] = []
        self._chunks: list[_Chunk] = []  # blocks logged as arrays (see extend)
        self.rows = 0

    def _register(self, template: Template) -> tuple[int, int, bool]:
        start = len(self._offset)
        names = [f.name for f in self.schema][self._first_value :]
        for r, (table, unit, values) in enumerate(template.rows):
            if table != self.table:
                continue
            row = dict(zip(names, values, strict=True))
            self._offset.append(r)
            self._unit.append(unit)
            self._unit_detail.append(row["detail"] == UNIT_DETAIL)
            self._no_job.append(row.get("job_id") is None)
            for column, field in zip(self._values, self._const, strict=True):
                column.append(row[field.name])
        self._templates.append(template)
        self._patterns = None
        details = any(self._unit_detail[start:])
        where = self._where[id(template)] = (start, len(self._offset) - start, details)
        return where

    def append(
        self,
        template: Template,
        first: int,
        time: float,
        job_id: int,
        nodes: Sequence[str],
        details: Sequence[str | None] | None,
    ) -> int:
        """Log one block; returns how many rows of this table it holds."""
        where = self._where.get(id(template))
        if where is None:
            where = self._register(template)
        start, count, uses_details = where
        if count:
            self.blocks.append(
                (start, count, first, time, job_id, len(self.nodes), len(self.details))
            )
            self.nodes.extend(nodes)
            if uses_details:
                self.details.extend(details if details is not None else [None] * len(nodes))
            self.rows += count
        return count

    def extend(
        self,
        template: Template,
        first: np.ndarray,
        time: np.ndarray,
        job_id: np.ndarray,
        nodes: pa.Array,
        details: pa.Array | None = None,
    ) -> int:
        """Log ``len(first)`` blocks of ``template`` at once, given as arrays: what
        :meth:`append` does once per block. ``nodes`` (and ``details``) hold each block's
        units one block after the other, the same number per block. Returns the rows of
        this table they hold."""
        where = self._where.get(id(template))
        if where is None:
            where = self._register(template)
        start, count, uses_details = where
        n = len(first)
        if not count or not n:
            return 0
        width = len(nodes) // n
        at = np.arange(n, dtype=np.int64) * width
        self._chunks.append(
            _Chunk(
                np.full(n, start, np.int64), np.full(n, count, np.int64),
                np.asarray(first, np.int64), np.asarray(time, np.float64),
                np.asarray(job_id, np.int64), nodes, at,
                (details if details is not None else pa.nulls(len(nodes), pa.string()))
                if uses_details else None, at,
            )
        )  # fmt: skip
        self.rows += count * n
        return count * n

    def _tuple_chunk(self) -> _Chunk:
        """The blocks appended one by one, as a chunk."""
        b = self.blocks
        return _Chunk(
            np.fromiter((x[0] for x in b), np.int64, len(b)),
            np.fromiter((x[1] for x in b), np.int64, len(b)),
            np.fromiter((x[2] for x in b), np.int64, len(b)),
            np.fromiter((x[3] for x in b), np.float64, len(b)),
            np.fromiter((x[4] for x in b), np.int64, len(b)),
            pa.array(self.nodes, pa.string()),
            np.fromiter((x[5] for x in b), np.int64, len(b)),
            pa.array(self.details, pa.string()) if self.details else None,
            np.fromiter((x[6] for x in b), np.int64, len(b)),
        )

    def batch(self) -> pa.RecordBatch | None:
        """Every logged row in ``seq`` order, canonical (dictionaries in order of first
        appearance, as single appends give them); clears the log."""
        chunks = list(self._chunks)
        if self.blocks:
            chunks.append(self._tuple_chunk())
        if not chunks:
            return None
        c = _Chunk.join(chunks)
        count = c.count
        block = np.repeat(np.arange(len(c.first)), count)  # the block of each row
        in_block = np.arange(len(block)) - np.repeat(np.cumsum(count) - count, count)
        pattern = c.start[block] + in_block
        seq = c.first[block] + np.asarray(self._offset, dtype=np.int64)[pattern]
        if not np.all(seq[1:] > seq[:-1]):  # blocks of several templates interleave
            order = np.argsort(seq, kind="stable")
            block, pattern, seq = block[order], pattern[order], seq[order]
        unit = np.asarray(self._unit, dtype=np.int64)[pattern]
        no_unit = unit < 0
        columns: dict[str, pa.Array] = {
            "seq": pa.array(seq, pa.int64()),
            "time": pa.array(c.time[block], pa.float64()),
            "node_id": c.nodes.take(
                pa.array(np.where(no_unit, 0, c.node_at[block] + unit), mask=no_unit)
            ),
        }
        no_job = np.asarray(self._no_job, dtype=bool)[pattern] if self.table == "node" else None
        columns["job_id"] = pa.array(c.job_id[block], pa.int64(), mask=no_job)
        no_detail = ~np.asarray(self._unit_detail, dtype=bool)[pattern]
        index = np.where(no_detail, 0, c.detail_at[block] + unit)
        assert c.details is not None  # a joined chunk always has them
        columns["detail"] = c.details.take(pa.array(index, mask=no_detail))
        # patterns in order of first appearance give the dictionaries' order
        seen = np.asarray(pc.unique(pa.array(pattern)))
        take = pa.array(pattern)
        for field, const in zip(self._const, self._constants(), strict=True):
            if pa.types.is_dictionary(field.type):
                columns[field.name] = _first_appearance(const, seen, pattern, field.type)
            else:
                columns[field.name] = const.take(take)
        self.blocks, self.nodes, self.details, self.rows = [], [], [], 0
        self._chunks = []
        return pa.RecordBatch.from_arrays(
            [columns[f.name] for f in self.schema], schema=self.schema
        )

    def _constants(self) -> list[pa.Array]:
        if self._patterns is None:
            self._patterns = [
                pa.array(values, field.type)
                for values, field in zip(self._values, self._const, strict=True)
            ]
        return self._patterns


@dataclass
class _Chunk:
    """Blocks as arrays: per block its pattern rows (``start``, ``count``), first seq,
    time, job id, and where its units start in ``nodes`` and ``details``."""

    start: np.ndarray
    count: np.ndarray
    first: np.ndarray
    time: np.ndarray
    job_id: np.ndarray
    nodes: pa.Array
    node_at: np.ndarray
    details: pa.Array | None
    detail_at: np.ndarray

    @staticmethod
    def join(chunks: Sequence[_Chunk]) -> _Chunk:
        """One chunk of all blocks of ``chunks``, in order."""
        if len(chunks) == 1 and chunks[0].details is not None:
            return chunks[0]
        node_base = np.cumsum([0] + [len(c.nodes) for c in chunks[:-1]])
        detail_len = [0 if c.details is None else len(c.details) for c in chunks]
        detail_base = np.cumsum([0] + detail_len[:-1])
        details = [c.details for c in chunks if c.details is not None]

        def joined(name: str) -> np.ndarray:
            return np.concatenate([getattr(c, name) for c in chunks])

        return _Chunk(
            joined("start"), joined("count"), joined("first"), joined("time"), joined("job_id"),
            pa.concat_arrays([c.nodes for c in chunks]),
            np.concatenate([c.node_at + b for c, b in zip(chunks, node_base, strict=True)]),
            # one null when no block has details: their rows take it, masked
            pa.concat_arrays(details) if details else pa.nulls(1, pa.string()),
            np.concatenate([c.detail_at + b for c, b in zip(chunks, detail_base, strict=True)]),
        )  # fmt: skip


def _first_appearance(
    const: pa.DictionaryArray, seen: np.ndarray, pattern: np.ndarray, typ: pa.DataType
) -> pa.DictionaryArray:
    """Column ``const`` (one value per pattern row) at rows ``pattern``, its dictionary
    in order of first appearance; ``seen`` holds the patterns in that order."""
    codes = np.asarray(const.indices.fill_null(-1), dtype=np.int64)
    order: dict[int, int] = {}  # old code -> new code, by first appearance
    for code in codes[seen].tolist():
        if code >= 0 and code not in order:
            order[code] = len(order)
    remap = np.full(len(const.dictionary) + 1, -1, dtype=np.int32)  # [-1]: null
    remap[list(order)] = list(order.values())
    indices = remap[codes][pattern]
    return pa.DictionaryArray.from_arrays(
        pa.array(indices, pa.int32(), mask=indices < 0),
        const.dictionary.take(pa.array(list(order), pa.int64())),
    ).cast(typ)


def merge_by_seq(batches: Sequence[pa.RecordBatch], schema: pa.Schema) -> pa.RecordBatch:
    """One batch of all rows of ``batches`` in ``seq`` order, dictionaries in order of
    first appearance (as single appends give them)."""
    table = pa.Table.from_batches(batches, schema=schema)
    seq = table.column("seq").to_numpy()
    if not np.all(seq[1:] > seq[:-1]):
        table = table.take(pa.array(np.argsort(seq, kind="stable")))
    return canonical(table, schema).to_batches()[0]
