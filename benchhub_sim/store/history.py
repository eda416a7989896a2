"""The append-only history log: every transition of every node and job, in order.

Rows are buffered as tuples (one append per event: the hot path of the engine) and
turned into Arrow record batches column by column every ``flush_rows`` rows, never by
growing a DataFrame. A *sink* (the run directory) receives those batches on wall time
and size: when ``flush_seconds`` passed since it last got any, or when ``flush_bytes``
of them wait. A run shorter than that hands nothing over until its end; a killed one
loses at most what waited. Without a sink, batches are kept in memory, compressed once
``flush_bytes`` of a table are kept (:class:`~benchhub_sim.store.packed.PackedTable`:
about 6 bytes a row instead of 90).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa

from benchhub_sim.clock import monotonic
from benchhub_sim.errors import UsageError
from benchhub_sim.store.blocks import BlockLog, Template, merge_by_seq
from benchhub_sim.store.packed import PackedTable, concat_batches
from benchhub_sim.store.rows import row_columns, rows_to_batch
from benchhub_sim.store.schema import JOB_EVENTS_SCHEMA, NODE_EVENTS_SCHEMA

#: buffered rows (per table) between two looks at the wall clock (flush_seconds)
_CLOCK_EVERY = 1024
#: ``sink(table_name, batch)`` with table_name ``"job_events"`` or ``"node_events"``
Sink = Callable[[str, pa.RecordBatch], None]


def _events_batch(seqs: list[int], rows: list[tuple], schema: pa.Schema) -> pa.RecordBatch:
    """A batch of ``schema`` from its ``seq`` column and row tuples of the other columns."""
    fields = list(schema)
    arrays = [pa.array(seqs, fields[0].type), *row_columns(rows, fields[1:])]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


class History:
    """Buffered, append-only node and job event log with one global ``seq``.

    Parameters
    ----------
    sink : callable, optional
        Receives the record batches of each flush, in ``seq`` order per table. When
        given, flushed rows are not kept; without one, every batch is kept, compressed
        once a table's take ``flush_bytes`` (:meth:`packed`).
    flush_rows : int
        Turn the buffered rows into Arrow when this many are buffered (per table): the
        tuples cost several times the memory of their Arrow form.
    flush_seconds : float
        Flush (hand the Arrow rows to the sink) when this much wall time passed since
        the last flush (checked every 1024 appended rows and by :meth:`maybe_flush`),
        so a killed process loses at most that much history.
    flush_bytes : int
        Also flush when this many bytes of Arrow rows wait for the sink (both tables),
        which bounds the memory they take (without a sink: keep a table's rows
        compressed once they take this much). The default, 96 MiB, is about 1.4M history
        rows: a 20k-job trace's replay (1.06M rows, 73 MB) goes to disk once, and the
        peak RSS of a long streamed replay stays where it was with a flush every
        65,536 rows (a 300k-job replay under easy: 678 MB then; 660 MB with 64 MiB
        here, 706 MB with 128 MiB).
    """

    def __init__(
        self,
        sink: Sink | None = None,
        *,
        flush_rows: int = 65_536,
        flush_seconds: float = 5.0,
        flush_bytes: int = 96 << 20,
    ) -> None:
        self.sink = sink
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.flush_bytes = flush_bytes
        self.seq = 0
        self._job_seqs: list[int] = []
        self._job_rows: list[tuple] = []  # job_events columns after seq
        self._node_rows: list[tuple] = []
        self._job_blocks = BlockLog("job")
        self._node_blocks = BlockLog("node")
        self._block_rows = 0  # rows in blocks (both tables) not yet turned into Arrow
        self._logs_of: dict[int, tuple[BlockLog, ...]] = {}  # id(template) -> its logs
        self._templates: list[Template] = []
        # with a sink, Arrow rows not handed to it yet, per table
        self._job_batches: list[pa.RecordBatch] = []
        self._node_batches: list[pa.RecordBatch] = []
        self._waiting_bytes = 0  # of those
        # without a sink, every row; compressed past flush_bytes (per table)
        self._packed = {
            "job_events": PackedTable(JOB_EVENTS_SCHEMA, plain_bytes=flush_bytes),
            "node_events": PackedTable(NODE_EVENTS_SCHEMA, plain_bytes=flush_bytes),
        }
        self._last_flush = monotonic()
        self.n_job_events = 0
        self.n_node_events = 0

    # -- appending (hot path) ---------------------------------------------------------

    def job(
        self,
        time: float,
        job_id: int,
        event: str,
        status: str | None,
        pipeline: int | None = None,
        stage: int | None = None,
        stage_name: str | None = None,
        node_id: str | None = None,
        node_name: str | None = None,
        task: int | None = None,
        task_name: str | None = None,
        driver: str | None = None,
        background: bool | None = None,
        attempt: int | None = None,
        exit_code: int | None = None,
        detail: str | None = None,
        role: str | None = None,
        task_pipeline: int | None = None,
        command: str | None = None,
    ) -> int:
        """Append one job event; returns its ``seq``."""
        return self.job_row(
            (time, job_id, event, status, pipeline, stage, stage_name, node_id, node_name,
             task, task_name, driver, background, attempt, exit_code, detail, role,
             task_pipeline, command)
        )  # fmt: skip

    def job_row(self, ev: tuple) -> int:
        """Append one job event given as a tuple of :meth:`job`'s arguments; returns its ``seq``.

        The store's hot path: the tuple is kept as it is, its ``seq`` beside it.
        """
        seq = self.seq
        self.seq = seq + 1
        self._job_seqs.append(seq)
        rows = self._job_rows
        rows.append(ev)
        n = len(rows)
        if n >= self.flush_rows:
            self.collect()
        elif not n % _CLOCK_EVERY:
            self.maybe_flush()
        return seq

    def block(
        self,
        template: Template,
        time: float,
        job_id: int,
        nodes: Sequence[str] = (),
        details: Sequence[str | None] | None = None,
    ) -> None:
        """Append the rows of one use of ``template`` (see :mod:`~benchhub_sim.store.blocks`).

        They take the next ``template.size`` values of ``seq``, like that many single
        appends, and are expanded to Arrow when the history is flushed.

        Parameters
        ----------
        template : Template
        time, job_id : float, int
        nodes : sequence of str
            The node of each unit the template's rows refer to.
        details : sequence of str or None, optional
            Each unit's detail, where the template takes one per unit.
        """
        first = self.seq
        logs = self._logs_of.get(id(template))
        if logs is None:
            logs = self._logs(template)
        for log in logs:
            log.append(template, first, time, job_id, nodes, details)
        size = template.size
        self.seq = first + size
        self._block_rows += size
        if self._block_rows + len(self._job_rows) + len(self._node_rows) >= self.flush_rows:
            self.collect()
        elif self._block_rows // _CLOCK_EVERY != (self._block_rows - size) // _CLOCK_EVERY:
            self.maybe_flush()

    def blocks(
        self,
        template: Template,
        first: np.ndarray,
        time: np.ndarray,
        job_id: np.ndarray,
        nodes: pa.Array,
        details: pa.Array | None = None,
    ) -> None:
        """Append many uses of ``template`` at once, given as arrays (see
        :meth:`BlockLog.extend <benchhub_sim.store.blocks.BlockLog.extend>`).

        Unlike :meth:`block`, each block's first ``seq`` is given: the caller numbers
        the rows it logs (from :attr:`seq` on), and calls :meth:`close_blocks` once its
        rows are in. Nothing is flushed here.
        """
        for log in self._logs(template):
            self._block_rows += log.extend(template, first, time, job_id, nodes, details)

    def close_blocks(self, seq: int) -> None:
        """The rows given to :meth:`blocks` since the last call are in: :attr:`seq` moves
        to ``seq`` (past the last of them), and the history flushes if it is due."""
        self.seq = seq
        self.maybe_flush()

    def _logs(self, template: Template) -> tuple[BlockLog, ...]:
        """The block logs of the tables ``template`` has rows in."""
        logs = self._logs_of.get(id(template))
        if logs is None:
            tables = {table for table, _, _ in template.rows}
            both = (("job", self._job_blocks), ("node", self._node_blocks))
            logs = self._logs_of[id(template)] = tuple(log for t, log in both if t in tables)
            self._templates.append(template)  # keeps the id valid
        return logs

    def node(
        self,
        time: float,
        node_id: str,
        event: str,
        state: str | None,
        job_id: int | None = None,
        detail: str | None = None,
        job_state: str | None = None,
    ) -> int:
        """Append one node event; returns its ``seq``."""
        seq = self.seq
        self.seq = seq + 1
        rows = self._node_rows
        rows.append((seq, time, node_id, event, state, job_state, job_id, detail))
        n = len(rows)
        if n >= self.flush_rows:
            self.collect()
        elif not n % _CLOCK_EVERY:
            self.maybe_flush()
        return seq

    def maybe_flush(self) -> None:
        """Flush if ``flush_seconds`` of wall time passed since the last flush and rows
        wait; else turn the buffered rows into Arrow if ``flush_rows`` of them wait."""
        waiting = self._job_rows or self._node_rows or self._block_rows or self._waiting_bytes
        if waiting and monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()
        elif self._block_rows + len(self._job_rows) + len(self._node_rows) >= self.flush_rows:
            self.collect()

    # -- flushing and reading ---------------------------------------------------------

    def collect(self) -> None:
        """Turn the buffered rows into record batches; flush if ``flush_bytes`` of them
        wait for the sink."""
        self._convert()
        if self._waiting_bytes >= self.flush_bytes:
            self.flush()

    def _convert(self) -> None:
        if self._job_rows or self._job_blocks.rows:
            batch = _events_batch(self._job_seqs, self._job_rows, JOB_EVENTS_SCHEMA)
            self._job_seqs = []
            self._job_rows = []
            self._keep("job_events", _with_blocks(batch, self._job_blocks), self._job_batches)
        if self._node_rows or self._node_blocks.rows:
            batch = rows_to_batch(self._node_rows, NODE_EVENTS_SCHEMA)
            self._node_rows = []
            self._keep("node_events", _with_blocks(batch, self._node_blocks), self._node_batches)
        self._block_rows = 0

    def _keep(self, name: str, batch: pa.RecordBatch, kept: list[pa.RecordBatch]) -> None:
        if name == "job_events":
            self.n_job_events += batch.num_rows
        else:
            self.n_node_events += batch.num_rows
        if self.sink is None:
            self._packed[name].append(batch)
        else:
            kept.append(batch)
            self._waiting_bytes += batch.nbytes

    def flush(self) -> None:
        """Turn buffered rows into record batches and hand them to the sink."""
        self._convert()
        if self.sink is not None:
            tables = (("job_events", self._job_batches), ("node_events", self._node_batches))
            for name, kept in tables:
                for batch in kept:
                    self.sink(name, batch)
                kept.clear()
            self._waiting_bytes = 0
        self._last_flush = monotonic()

    def job_events(self) -> pa.Table:
        """Every job event not handed to a sink, as one table.

        With a sink, these are the rows it has not been given yet, and it never will
        be: they are the caller's (e.g. for :meth:`RunWriter.finish
        <benchhub_sim.store.run.RunWriter.finish>`, at the end of a run).
        """
        return self._take("job_events", self._job_batches, JOB_EVENTS_SCHEMA)

    def node_events(self) -> pa.Table:
        """Every node event not handed to a sink, as one table (see :meth:`job_events`)."""
        return self._take("node_events", self._node_batches, NODE_EVENTS_SCHEMA)

    def packed(self, name: str) -> PackedTable:
        """Every event of table ``name`` (``job_events`` or ``node_events``) of a history
        without a sink, compressed: what :meth:`job_events` and :meth:`node_events`
        decode.

        Raises
        ------
        UsageError
            The history has a sink (it keeps only the rows not handed over yet).
        """
        if self.sink is not None:
            raise UsageError("History.packed: this history hands its rows to a sink")
        self._convert()
        return self._packed[name]

    def _take(self, name: str, kept: list[pa.RecordBatch], schema: pa.Schema) -> pa.Table:
        self._convert()
        if self.sink is None:
            return self._packed[name].table()
        table = concat_batches(kept, schema)
        self._waiting_bytes -= sum(b.nbytes for b in kept)
        kept.clear()
        return table


def _with_blocks(rows: pa.RecordBatch, blocks: BlockLog) -> pa.RecordBatch:
    """The single-append rows of a flush merged with the rows of its blocks, by seq."""
    expanded = blocks.batch()
    if expanded is None:
        return rows
    if not rows.num_rows:
        return expanded  # in seq order and canonical already
    return merge_by_seq([rows, expanded], rows.schema)
