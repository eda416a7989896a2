"""An event table written while the run goes on: one Parquet file, written once, and a
journal that keeps what was handed over readable if the process dies.

A Parquet file can be read only once its footer is written, at the end. So
:class:`EventFile` writes the table's rows into ``RUN/_journal/NAME.parquet`` with one
``ParquetWriter`` (a row group of ``row_group`` rows as soon as one is full), and also
appends every batch it is handed to ``RUN/_journal/NAME.arrows``, an Arrow IPC stream
(lz4-compressed: about a quarter of the cost of encoding the same rows as Parquet, see
``benchmarks/bench_writing.py``), which :func:`read_journal` reads up to its last whole
batch. :meth:`EventFile.close` writes the
last row group and the footer and moves the file to ``RUN/NAME.parquet``; nothing is
read back or written twice. Rows given at the end of the run (:meth:`EventFile.extend`)
skip the journal: a run that hands nothing over before its end writes each table once.

Row groups hold rows ``[k * row_group, (k + 1) * row_group)`` in canonical form
(:func:`~benchhub_sim.store.rows.canonical`), so the file does not depend on when or in
what pieces the rows arrived.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from benchhub_sim.store.rows import canonical

JOURNAL_DIR = "_journal"
JOURNAL_SUFFIX = ".arrows"
_IPC_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")


class EventFile:
    """The Parquet file of one event table, written as rows come, with its journal.

    Parameters
    ----------
    folder : Path
        Where the file and its journal are kept until :meth:`close` (``RUN/_journal``).
    name : str
        The table (``job_events`` or ``node_events``).
    schema : pyarrow.Schema
        The table's schema; rows are written in its canonical form.
    open_writer : callable
        ``open_writer(path)`` opens the ``ParquetWriter`` of the file (its schema, its
        options).
    row_group : int
        Rows per row group.
    """

    def __init__(
        self,
        folder: Path,
        name: str,
        schema: pa.Schema,
        open_writer: Callable[[Path], pq.ParquetWriter],
        row_group: int,
    ) -> None:
        self.folder = folder
        self.name = name
        self.schema = schema
        self.row_group = row_group
        self.num_rows = 0  # written to the file or waiting for a full row group
        self._open_writer = open_writer
        self._writer: pq.ParquetWriter | None = None
        self._journal: pa.ipc.RecordBatchStreamWriter | None = None
        self._journal_file: pa.NativeFile | None = None
        self._waiting: list[pa.Table] = []  # rows of the next row group(s)
        self._n_waiting = 0

    @property
    def partial(self) -> Path:
        """The file being written (no footer until :meth:`close`)."""
        return self.folder / f"{self.name}.parquet"

    @property
    def journal(self) -> Path:
        """The journal: every batch handed to :meth:`append`, readable after a kill."""
        return self.folder / f"{self.name}{JOURNAL_SUFFIX}"

    def append(self, rows: pa.RecordBatch | pa.Table) -> None:
        """Journal ``rows`` (in the table's schema), then queue them for the file."""
        if self._journal is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._journal_file = pa.OSFile(str(self.journal), "wb")  # unbuffered: a
            self._journal = pa.ipc.new_stream(  # kill loses no whole batch written
                self._journal_file, self.schema, options=_IPC_OPTIONS
            )
        self._journal.write(rows)
        self.extend(pa.Table.from_batches([rows]) if isinstance(rows, pa.RecordBatch) else rows)

    def extend(self, table: pa.Table) -> None:
        """Queue ``table``'s rows for the file (not journaled); write full row groups."""
        if not table.num_rows:
            return
        self._waiting.append(table)
        self._n_waiting += table.num_rows
        self.num_rows += table.num_rows
        if self._n_waiting >= self.row_group:
            self._write(whole_groups_only=True)

    def close(self, target: Path) -> int:
        """Write what waits and the footer, move the file to ``target``; rows written."""
        self._write(whole_groups_only=False)
        if self._writer is None:  # no rows at all: an empty file of the schema
            self._writer = self._open()
        self._writer.close()
        self._writer = None
        os.replace(self.partial, target)
        self._close_journal()
        return self.num_rows

    def abandon(self) -> None:
        """Close the open files after a failure; the run directory is left as a killed
        run's (its journal is what a reader reads). Does nothing after :meth:`close`."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._close_journal()

    def _close_journal(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        if self._journal_file is not None:
            self._journal_file.close()
            self._journal_file = None

    def _open(self) -> pq.ParquetWriter:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self._open_writer(self.partial)

    def _write(self, *, whole_groups_only: bool) -> None:
        if not self._n_waiting:
            return
        rows = pa.concat_tables(self._waiting) if len(self._waiting) > 1 else self._waiting[0]
        size = self.row_group
        end = rows.num_rows - rows.num_rows % size if whole_groups_only else rows.num_rows
        if end:
            writer = self._writer = self._writer or self._open()
            for start in range(0, end, size):
                group = canonical(rows.slice(start, size), self.schema)
                writer.write_table(group, row_group_size=size)
        rest = rows.slice(end)
        self._waiting = [rest] if rest.num_rows else []
        self._n_waiting = rest.num_rows


def read_journal(path: Path) -> list[pa.RecordBatch]:
    """The whole batches of a journal, in order; a batch cut short by a kill is left out.

    Raises
    ------
    OSError
        The file cannot be opened.
    """
    batches: list[pa.RecordBatch] = []
    with pa.OSFile(str(path)) as f:
        try:
            reader = pa.ipc.open_stream(f)
        except (pa.ArrowInvalid, EOFError):
            return batches  # killed before the schema was written
        while True:
            try:
                batches.append(reader.read_next_batch())
            except StopIteration:
                break
            except (pa.ArrowInvalid, EOFError, OSError):
                break  # the last batch was being written
    return batches
