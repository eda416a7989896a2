"""Blocks: the rows of one bulk transition, kept compact and expanded to Arrow at flush.

A bulk transition of the store (binding a job's nodes, starting or ending a simple job,
releasing nodes; see :mod:`benchhub_sim.store.simple`) logs a fixed pattern of rows:
the same events, statuses, stage and task names for every job of one spec, with only
the time, the job id and the nodes changing. A :class:`Template` is that pattern, built
once per spec; a block is one use of it: ``(first seq, time, job_id, node ids,
per-node details)``. :class:`Blocks` buffers the blocks of one template and expands
them into record batches with numpy and Arrow kernels, so a row costs no Python work.

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

#: in a template row, the node of the block's unit ``u`` / the detail given for it
UNIT_DETAIL = "<unit detail>"


@dataclass(frozen=True)
class Template:
    """The rows of one kind of bulk transition, in ``seq`` order.

    Parameters
    ----------
    rows : tuple of (table, unit, values)
        ``table`` is ``"job"`` or ``"node"``; ``unit`` the index of the block's node the
        row is about, or -1; ``values`` the row's other columns, in the table's schema
        order after ``seq``, ``time`` and (job rows) ``job_id``, with ``node_id`` None
        (it comes from the unit) and ``detail`` :data:`UNIT_DETAIL` where the block
        gives one per unit. A node row's ``job_id`` is True for the block's job id,
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


class Blocks:
    """Buffered blocks of one :class:`Template`.

    Parameters
    ----------
    template : Template
    width : int
        Nodes per block (the units the template's rows refer to).
    """

    __slots__ = ("template", "width", "uses_details", "first", "times", "job_ids", "nodes",
                 "details", "count")  # fmt: skip

    def __init__(self, template: Template, width: int) -> None:
        self.template = template
        self.width = width
        self.uses_details = any(values[-1] == UNIT_DETAIL for _, _, values in template.rows)
        self.first: list[int] = []
        self.times: list[float] = []
        self.job_ids: list[int] = []
        self.nodes: list[str] = []  # width per block
        self.details: list[str | None] = []  # width per block, when the template uses them
        self.count = 0

    def append(
        self,
        first: int,
        time: float,
        job_id: int,
        nodes: Sequence[str],
        details: Sequence[str | None] | None,
    ) -> None:
        self.first.append(first)
        self.times.append(time)
        self.job_ids.append(job_id)
        self.nodes.extend(nodes)
        if self.uses_details:
            self.details.extend(details if details is not None else [None] * self.width)
        self.count += 1

    def batch(self, table: str) -> pa.RecordBatch | None:
        """The rows of ``table`` of every buffered block, in block order (not by seq)."""
        rows = [
            (r, unit, values)
            for r, (t, unit, values) in enumerate(self.template.rows)
            if t == table
        ]
        if not rows or not self.count:
            return None
        schema = JOB_EVENTS_SCHEMA if table == "job" else NODE_EVENTS_SCHEMA
        n, per = self.count, len(rows)
        offsets = np.array([r for r, _, _ in rows], dtype=np.int64)
        seq = (np.asarray(self.first, dtype=np.int64)[:, None] + offsets[None, :]).ravel()
        time = np.repeat(np.asarray(self.times, dtype=np.float64), per)
        units = np.array([u for _, u, _ in rows], dtype=np.int64)
        # index of each row's node in self.nodes, masked where the row names no node
        where = (np.arange(n, dtype=np.int64)[:, None] * self.width + units[None, :]).ravel()
        no_unit = np.tile(units < 0, n)
        unit_index = pa.array(np.where(no_unit, 0, where), mask=no_unit)
        pattern = pa.array(np.tile(np.arange(per, dtype=np.int64), n))
        fields = list(schema)
        arrays: list[pa.Array] = [pa.array(seq, pa.int64()), pa.array(time, fields[1].type)]
        first_value = 2
        if table == "job":
            arrays.append(pa.array(np.repeat(np.asarray(self.job_ids, dtype=np.int64), per)))
            first_value = 3
        for i, field in enumerate(fields[first_value:]):
            column = [values[i] for _, _, values in rows]
            if field.name == "node_id":
                arrays.append(pa.array(self.nodes, field.type).take(unit_index))
            elif field.name == "detail" and UNIT_DETAIL in column:
                per_unit = np.array([v == UNIT_DETAIL for v in column])
                mask = no_unit | ~np.tile(per_unit, n)
                index = pa.array(np.where(mask, 0, where), mask=mask)
                arrays.append(pa.array(self.details, field.type).take(index))
            elif field.name == "job_id":  # node rows: True is the block's job
                ids = np.repeat(np.asarray(self.job_ids, dtype=np.int64), per)
                null = np.tile(np.array([v is None for v in column]), n)
                arrays.append(pa.array(ids, field.type, mask=null))
            else:
                arrays.append(pa.array(column, field.type).take(pattern))
        return pa.RecordBatch.from_arrays(arrays, schema=schema)


def merge_by_seq(batches: Sequence[pa.RecordBatch], schema: pa.Schema) -> pa.RecordBatch:
    """One batch of all rows of ``batches`` in ``seq`` order (each batch is in order)."""
    if len(batches) == 1:
        return batches[0]
    table = pa.Table.from_batches(batches, schema=schema)
    order = np.argsort(table.column("seq").to_numpy(), kind="stable")
    # canonical: dictionaries in order of first appearance, as single appends give them
    return canonical(table.take(pa.array(order)), schema).to_batches()[0]
