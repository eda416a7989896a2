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

from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc


def rows_to_batch(rows: list[tuple], schema: pa.Schema) -> pa.RecordBatch:
    """Transpose row tuples into one record batch of ``schema``."""
    if not rows:
        return pa.RecordBatch.from_pylist([], schema=schema)
    # one list per column: ~3x faster than zip(*rows) on buffers of 65k rows, and
    # building dictionary arrays directly is ~15x faster than encoding string arrays
    arrays = [pa.array([r[i] for r in rows], field.type) for i, field in enumerate(schema)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


class RowBuffer:
    """Append-only rows of one schema, kept as record batches of ``flush_rows`` rows."""

    __slots__ = ("schema", "flush_rows", "rows", "batches", "n")

    def __init__(self, schema: pa.Schema, flush_rows: int = 65_536) -> None:
        self.schema = schema
        self.flush_rows = flush_rows
        self.rows: list[tuple] = []
        self.batches: list[pa.RecordBatch] = []
        self.n = 0

    def append(self, row: tuple) -> None:
        self.rows.append(row)
        self.n += 1
        if len(self.rows) >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.batches.append(rows_to_batch(self.rows, self.schema))
            self.rows = []

    def table(self, extra_rows: list[tuple] = ()) -> pa.Table:  # type: ignore[assignment]
        """Every row appended so far, then ``extra_rows``, as one table."""
        self.flush()
        batches = list(self.batches)
        if extra_rows:
            batches.append(rows_to_batch(list(extra_rows), self.schema))
        if not batches:
            return self.schema.empty_table()
        return pa.Table.from_batches(batches, schema=self.schema)


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
        if col.num_chunks != 1:
            col = pa.table({"c": col}).unify_dictionaries().column("c")
        arr = col.combine_chunks()
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
    indices = pc.index_in(arr.indices, value_set=seen).cast(pa.int32())
    return pa.DictionaryArray.from_arrays(indices, arr.dictionary.take(seen))


def sort_canonical(table: pa.Table, schema: pa.Schema, keys: list[str]) -> pa.Table:
    """Sort ``table`` ascending by ``keys`` (nulls last, stable) and make it canonical."""
    if keys and table.num_rows:
        idx = pc.sort_indices(
            table.select(keys).cast(
                pa.schema([pa.field(k, _plain(table.schema.field(k).type)) for k in keys])
            ),
            sort_keys=[(k, "ascending", "at_end") for k in keys],
        )
        table = table.take(idx)
    return canonical(table, schema)


def _plain(typ: pa.DataType) -> pa.DataType:
    return typ.value_type if pa.types.is_dictionary(typ) else typ


#: sort keys of each snapshot table (nodes keep their registration order instead);
#: ``node_name`` orders the slots of one job on one node (loader packing), and changes
#: nothing without packing, where a job holds one slot per node
SORT_KEYS: dict[str, list[str]] = {
    "jobs": ["job_id"],
    "stages": ["job_id", "stage", "node_id", "node_name"],
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
        raise TypeError(f"expected a Run, a Store or a dict of tables, got {type(obj).__name__}")
    return tables
