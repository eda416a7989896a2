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

from benchhub_sim.store.rows import canonical
from benchhub_sim.store.schema import JOB_EVENTS_SCHEMA, NODE_EVENTS_SCHEMA

#: in a template row's ``detail``: the detail the block gives for the row's unit
UNIT_DETAIL = "<unit detail>"
#: columns a block gives (the others are the template's constants); ``node_id`` comes
#: from the row's unit
_GIVEN = ("seq", "time", "job_id", "node_id", "detail")


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
            if values[-1] is not None and values[-1] != UNIT_DETAIL:
                raise ValueError("a template detail is None or per unit")
            if values[-1] == UNIT_DETAIL and unit < 0:
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

    def batch(self) -> pa.RecordBatch | None:
        """Every logged row, block after block (not merged by seq); clears the log."""
        if not self.blocks:
            return None
        b = self.blocks
        start = np.fromiter((x[0] for x in b), np.int64, len(b))
        count = np.fromiter((x[1] for x in b), np.int64, len(b))
        first = np.fromiter((x[2] for x in b), np.int64, len(b))
        times = np.fromiter((x[3] for x in b), np.float64, len(b))
        job_ids = np.fromiter((x[4] for x in b), np.int64, len(b))
        node_at = np.fromiter((x[5] for x in b), np.int64, len(b))
        detail_at = np.fromiter((x[6] for x in b), np.int64, len(b))
        block = np.repeat(np.arange(len(b)), count)  # the block of each row
        in_block = np.arange(len(block)) - np.repeat(np.cumsum(count) - count, count)
        pattern = start[block] + in_block
        offset = np.asarray(self._offset, dtype=np.int64)[pattern]
        unit = np.asarray(self._unit, dtype=np.int64)[pattern]
        no_unit = unit < 0
        columns: dict[str, pa.Array] = {
            "seq": pa.array(first[block] + offset, pa.int64()),
            "time": pa.array(times[block], pa.float64()),
            "node_id": pa.array(self.nodes, pa.string()).take(
                pa.array(np.where(no_unit, 0, node_at[block] + unit), mask=no_unit)
            ),
        }
        no_job = np.asarray(self._no_job, dtype=bool)[pattern] if self.table == "node" else None
        columns["job_id"] = pa.array(job_ids[block], pa.int64(), mask=no_job)
        no_detail = ~np.asarray(self._unit_detail, dtype=bool)[pattern]
        index = np.where(no_detail, 0, detail_at[block] + unit)
        details = pa.array(self.details or [None], pa.string())
        columns["detail"] = details.take(pa.array(index, mask=no_detail))
        take = pa.array(pattern)
        for field, const in zip(self._const, self._constants(), strict=True):
            columns[field.name] = const.take(take)
        self.blocks, self.nodes, self.details, self.rows = [], [], [], 0
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


def merge_by_seq(batches: Sequence[pa.RecordBatch], schema: pa.Schema) -> pa.RecordBatch:
    """One batch of all rows of ``batches`` in ``seq`` order, dictionaries in order of
    first appearance (as single appends give them)."""
    table = pa.Table.from_batches(batches, schema=schema)
    seq = table.column("seq").to_numpy()
    if not np.all(seq[1:] > seq[:-1]):
        table = table.take(pa.array(np.argsort(seq, kind="stable")))
    return canonical(table, schema).to_batches()[0]
