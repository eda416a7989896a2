"""A table kept compressed in memory: record batches as zstd-compressed Arrow IPC.

The history of a run simulated in memory (no run directory) is most of its size: about
fifteen event rows per job, 90 bytes a row as Arrow arrays, 1.3 GB for a million jobs.
Compressed, a row of those tables takes about 6 bytes (``benchmarks/run.py``'s
``mm8-memory`` case), and compressing or decompressing them costs about as much as
building them from the engine's tuples took. So :class:`History` packs each batch it
builds when it has no sink, and :class:`~benchhub_sim.store.run.Run` decodes a packed
table on its first use, or reads only the columns a metric asks for, batch by batch.

Each batch is its own IPC stream (schema, dictionaries, batch), so batches with
different dictionaries decode independently and exactly as they were appended.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import pyarrow as pa

#: zstd at its default level: as fast as lz4 on these tables and a third of the size
_WRITE = pa.ipc.IpcWriteOptions(compression="zstd")
#: what a table's batches may take before they are compressed, where no other bound is
#: given (see :class:`PackedTable`): a table of a 100k-job run stays as it is
PLAIN_BYTES = 32 << 20
#: decoded batches :meth:`PackedTable.take` keeps (a row group of 131,072 rows spans
#: three of 65,536 when its rows are in order)
_KEEP_DECODED = 4


class PackedTable:
    """Record batches of one schema, each kept as a compressed Arrow IPC stream.

    Parameters
    ----------
    schema : pyarrow.Schema
        The schema of every batch appended.
    plain_bytes : int
        Keep batches as they are while they take no more than this; past it, compress
        them all, and every later one. A short run then pays nothing for compression
        (about a quarter of the time it took to build the rows).

    Examples
    --------
    >>> t = PackedTable(pa.schema([("x", pa.int64())]))
    >>> t.append(pa.record_batch([pa.array([1, 2, 3])], names=["x"]))
    >>> t.num_rows, t.table()["x"].to_pylist()
    (3, [1, 2, 3])
    """

    def __init__(self, schema: pa.Schema, plain_bytes: int = PLAIN_BYTES) -> None:
        self.schema = schema
        self.num_rows = 0
        self.plain_bytes = plain_bytes
        self._plain = 0  # bytes of the batches kept as they are
        self._buffers: list[pa.Buffer | pa.RecordBatch] = []  # compressed or as they are
        self._ends: list[int] = []  # rows up to the end of each batch
        self._decoded: dict[int, pa.RecordBatch] = {}  # the last batches take decoded

    @classmethod
    def of(
        cls, tables: Iterable[pa.Table], schema: pa.Schema, plain_bytes: int = PLAIN_BYTES
    ) -> PackedTable:
        """The rows of ``tables`` (of ``schema``), packed one chunk at a time as they come
        (they decode in the same chunks)."""
        packed = cls(schema, plain_bytes)
        for table in tables:
            for batch in table.to_batches():
                packed.append(batch)
        return packed

    @property
    def nbytes(self) -> int:
        """Bytes of the batches kept (compressed or not)."""
        return sum(b.size if isinstance(b, pa.Buffer) else b.nbytes for b in self._buffers)

    def append(self, batch: pa.RecordBatch) -> None:
        """Keep ``batch`` (of this table's schema), compressed past ``plain_bytes``."""
        if not batch.num_rows:
            return
        self._plain += batch.nbytes
        if self._plain > self.plain_bytes:
            self._buffers = [_pack(b, self.schema) for b in self._buffers]
            self._buffers.append(_pack(batch, self.schema))
            self._plain = 0
            self.plain_bytes = -1  # compress every later batch
        else:
            self._buffers.append(batch)
        self.num_rows += batch.num_rows
        self._ends.append(self.num_rows)

    def batches(self, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]:
        """The batches in the order appended, decoded one at a time.

        Parameters
        ----------
        columns : sequence of str, optional
            Decode only these columns (in the schema's order); all by default.
        """
        options = None
        if columns is not None:
            fields = [self.schema.get_field_index(c) for c in columns]
            options = pa.ipc.IpcReadOptions(included_fields=sorted(fields))
        for buffer in self._buffers:
            if isinstance(buffer, pa.RecordBatch):
                yield buffer if columns is None else buffer.select(sorted(fields))
                continue
            with pa.ipc.open_stream(buffer, options=options) as reader:
                yield reader.read_next_batch()

    def table(self) -> pa.Table:
        """Every row, as one table (each dictionary column of one dictionary)."""
        return concat_batches(list(self.batches()), self.schema)

    # -- read by index, as RunWriter.finish writes a table sorted (see UnionRows) ------

    def select(self, columns: Sequence[str]) -> pa.Table:
        """Columns ``columns`` of every row (only those are decoded)."""
        plain = self._plain_table()
        if plain is not None:
            return plain.select(list(columns))
        fields = [self.schema.field(c) for c in columns]
        table = concat_batches(list(self.batches(columns)), pa.schema(fields))
        return table.select(list(columns))

    def slice(self, start: int, length: int) -> pa.Table:
        """Rows ``start`` to ``start + length``."""
        stop = min(start + length, self.num_rows)
        return self.take(pa.array(range(start, stop), pa.int64()))

    def take(self, indices: pa.Array) -> pa.Table:
        """The rows at ``indices``, in that order. Only the batches that hold them are
        decoded, and the last few decoded are kept: rows that are nearly in order (a
        table's rows gathered row group by row group in sorted order) cost one decoding
        of each batch or little more."""
        plain = self._plain_table()
        if plain is not None:
            return plain.take(indices)
        idx = np.asarray(indices, dtype=np.int64)
        if not len(idx):
            return self.schema.empty_table()
        ends = np.asarray(self._ends, dtype=np.int64)
        which = np.searchsorted(ends, idx, side="right")  # the batch of each row
        order = np.argsort(which, kind="stable")  # batch by batch, as asked within one
        parts = []
        for rows in np.split(order, np.flatnonzero(np.diff(which[order])) + 1):
            b = int(which[rows[0]])
            first = int(ends[b - 1]) if b else 0
            parts.append(self._batch(b).take(pa.array(idx[rows] - first)))
        table = pa.Table.from_batches(parts, schema=self.schema)
        if np.all(order[1:] > order[:-1]):
            return table
        return table.take(pa.array(np.argsort(order, kind="stable")))

    def _plain_table(self) -> pa.Table | None:
        """The rows as one table (chunk per batch) when no batch is compressed."""
        if not all(isinstance(b, pa.RecordBatch) for b in self._buffers):
            return None
        return pa.Table.from_batches(self._buffers, schema=self.schema)

    def _batch(self, i: int) -> pa.RecordBatch:
        kept = self._buffers[i]
        if isinstance(kept, pa.RecordBatch):
            return kept
        batch = self._decoded.get(i)
        if batch is None:
            if len(self._decoded) >= _KEEP_DECODED:
                del self._decoded[next(iter(self._decoded))]
            with pa.ipc.open_stream(kept) as reader:
                batch = self._decoded[i] = reader.read_next_batch()
        return batch


def _pack(batch: pa.RecordBatch | pa.Buffer, schema: pa.Schema) -> pa.Buffer:
    """``batch`` as a compressed IPC stream (a buffer is one already)."""
    if isinstance(batch, pa.Buffer):
        return batch
    out = pa.BufferOutputStream()
    with pa.ipc.new_stream(out, schema, options=_WRITE) as writer:
        writer.write_batch(batch)
    return out.getvalue()


def concat_batches(batches: Sequence[pa.RecordBatch], schema: pa.Schema) -> pa.Table:
    """One table of ``batches`` (of ``schema``), each dictionary column of one dictionary."""
    if not batches:
        return schema.empty_table()
    return unify_dictionaries(pa.Table.from_batches(batches, schema=schema))


def unify_dictionaries(table: pa.Table) -> pa.Table:
    """``table`` with each dictionary column in one chunk, of one dictionary.

    What ``Table.unify_dictionaries`` is for, without it: pyarrow's (26) reads the index
    under every null, a value Arrow leaves undefined, and crashes when that is out of
    range (apache/arrow#44827; it killed a 1M-job replay). Concatenating the chunks
    unifies their dictionaries and skips the nulls.
    """
    for i, field in enumerate(table.schema):
        col = table.column(i)
        if pa.types.is_dictionary(field.type) and col.num_chunks > 1:
            table = table.set_column(i, field, pa.chunked_array([col.combine_chunks()]))
    return table
