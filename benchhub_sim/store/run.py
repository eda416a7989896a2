"""The run directory: ``run.json`` plus one Parquet file per table (DESIGN.md "Run directory").

While a run goes on, :class:`RunWriter` writes each event table the history flushes to it
(and each optional table an executor streams) into its one Parquet file, and journals it,
so a killed process leaves a directory :func:`load_run` can read up to the last flush (see
:mod:`~benchhub_sim.store.journal`). :meth:`RunWriter.finish` writes the snapshot tables,
closes the event files (nothing is read back) and marks ``run.json`` complete. Every file
carries ``benchhub_sim.schema_version`` in its Parquet metadata and is checked against
:mod:`~benchhub_sim.store.schema` when written and when read. Runs written before the
journal kept their flushes as part files (``RUN/_parts/NAME/part-*.parquet``); a killed
one still loads. A run of schema version 1 is read whole and mapped to the current schema
(:mod:`~benchhub_sim.store.legacy`).
"""

from __future__ import annotations

import html
import json
import os
import shutil
import warnings
from collections.abc import (
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
    Sequence,
)
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from benchhub_sim._version import __version__
from benchhub_sim.display import counts_text, html_table, plural
from benchhub_sim.errors import RunFormatError, stalled_message
from benchhub_sim.io import RUN_WRITERS, write_text_atomic
from benchhub_sim.store.journal import JOURNAL_DIR, JOURNAL_SUFFIX, EventFile, read_journal
from benchhub_sim.store.legacy import V1_TABLES, upgrade_v1
from benchhub_sim.store.merge import RUNS_DIR, SortedRuns
from benchhub_sim.store.packed import PackedTable, concat_batches, unify_dictionaries
from benchhub_sim.store.rows import SORT_KEYS, UnionRows, canonical, sorted_groups
from benchhub_sim.store.schema import (
    OPTIONAL_TABLES,
    READABLE_SCHEMA_VERSIONS,
    SCHEMA_VERSION,
    TABLES,
)
from benchhub_sim.store.setup import setup_rows

if TYPE_CHECKING:
    import pandas as pd

VERSION_KEY = b"benchhub_sim.schema_version"
META_FILE = "run.json"
PARTS_DIR = "_parts"
EVENT_TABLES = ("node_events", "job_events")
#: the snapshot tables, written (and handed over by Store.final_tables) in this order
SNAPSHOT_TABLES = tuple(name for name in TABLES if name not in EVENT_TABLES)
#: the snapshot tables a run simulated in memory keeps compressed until used: all but
#: ``nodes`` (metrics read a few columns of ``jobs``, see :meth:`Run.rows`)
PACKED_SNAPSHOTS = ("jobs", "assignments", "stage_pipelines", "stages", "task_pipelines", "tasks")
#: the tables of each schema version read
_SCHEMAS = {SCHEMA_VERSION: TABLES, 1: V1_TABLES}
_ROW_GROUP = 131_072
_DICT_TYPE = pa.dictionary(pa.int32(), pa.string())
_VERSIONS = f"{min(READABLE_SCHEMA_VERSIONS)}..{max(READABLE_SCHEMA_VERSIONS)}"


def _schema(name: str, version: int = SCHEMA_VERSION) -> pa.Schema:
    """The schema of table ``name`` in a run of schema ``version``: one of :data:`TABLES`
    or of :data:`OPTIONAL_TABLES` (schema 1: of :data:`~benchhub_sim.store.legacy.V1_TABLES`)."""
    schema = (TABLES if version == SCHEMA_VERSION else V1_TABLES).get(name)
    schema = schema or OPTIONAL_TABLES.get(name)
    if schema is None:
        raise RunFormatError(f"{name}: not a table of a run directory")
    return schema


# -- files --------------------------------------------------------------------------------


def _file_schema(schema: pa.Schema) -> pa.Schema:
    return schema.with_metadata(
        {**(schema.metadata or {}), VERSION_KEY: str(SCHEMA_VERSION).encode()}
    )


def check_schema(where: str, found: pa.Schema, expected: pa.Schema) -> None:
    """Raise :class:`RunFormatError` naming ``where`` unless ``found`` has the expected columns.

    A dictionary column may also be stored as plain strings (it is re-encoded on read).
    """
    problems = []
    names = set(found.names)
    missing = [n for n in expected.names if n not in names]
    extra = [n for n in found.names if n not in set(expected.names)]
    if missing:
        problems.append(f"missing columns {', '.join(missing)}")
    if extra:
        problems.append(f"unexpected columns {', '.join(extra)}")
    for field in expected:
        if field.name in names and not _compatible(found.field(field.name).type, field.type):
            problems.append(
                f"column {field.name}: expected {field.type}, found {found.field(field.name).type}"
            )
    if problems:
        raise RunFormatError(f"{where}: schema does not match: {'; '.join(problems)}")


def _compatible(found: pa.DataType, expected: pa.DataType) -> bool:
    if found == expected:
        return True
    if pa.types.is_dictionary(expected):
        value = found.value_type if pa.types.is_dictionary(found) else found
        return bool(pa.types.is_string(value) or pa.types.is_large_string(value))
    return False


def _parquet_writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """A writer of a file of ``schema`` (a table's), as every file is written.

    Parquet dictionary pages for the dictionary columns only (trying them on times and
    ids costs time and gains nothing), statistics for the numeric columns only (readers
    prune row groups by time and id; string statistics cost as much again), zstd (the
    speed of snappy here, files 2.5 times smaller). Measured in
    ``benchmarks/bench_writing.py``.
    """
    fields = list(schema)
    return pq.ParquetWriter(
        path,
        _file_schema(schema),
        compression="zstd",
        use_dictionary=[f.name for f in fields if pa.types.is_dictionary(f.type)],
        write_statistics=[
            f.name for f in fields if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)
        ],
    )


def _write_parquet(path: Path, table: pa.Table, name: str, sort: list[str] | None = None) -> None:
    """Validate ``table`` against table ``name`` and write it atomically.

    Written one row group at a time (each in canonical form), so writing a big table
    needs memory for one row group beyond the table. With ``sort`` (key columns) the rows
    are written in that order, gathered row group by row group.
    """
    schema = _schema(name)
    check_schema(path.name, table.schema, schema)
    _write_groups(path, sorted_groups(table, schema, sort, _ROW_GROUP), schema)


def _write_groups(path: Path, groups: Iterable[pa.Table], schema: pa.Schema) -> None:
    """Write ``groups`` (canonical tables of ``schema``), a row group each, atomically."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with _parquet_writer(tmp, schema) as out:
            for rows in groups:
                out.write_table(rows, row_group_size=_ROW_GROUP)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _open_parquet(
    path: Path, name: str, shown: str | None = None, version: int = SCHEMA_VERSION
) -> pq.ParquetFile:
    """Open a file of table ``name`` of a run of schema ``version`` and check its footer,
    version and schema (no data read).

    Errors name the file. The caller closes the returned file.
    """
    shown = shown or path.name
    if not path.is_file():
        raise RunFormatError(f"{shown}: missing (in {path.parent})")
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise RunFormatError(f"{shown}: not a Parquet file (truncated?): {exc}") from None
    try:
        meta = pf.schema_arrow.metadata or {}
        file_version = meta.get(VERSION_KEY)
        if file_version is None:
            raise RunFormatError(
                f"{shown}: no {VERSION_KEY.decode()} in its metadata (not a benchhub_sim file?)"
            )
        found = int(file_version)
        if found not in READABLE_SCHEMA_VERSIONS:
            raise RunFormatError(
                f"{shown}: written with schema {found}, this version reads {_VERSIONS}"
            )
        if found != version:
            raise RunFormatError(
                f"{shown}: written with schema {found}, the run ({META_FILE}) with schema {version}"
            )
        tag = meta.get(b"table")
        if tag is not None and tag.decode() != name:
            raise RunFormatError(f"{shown}: holds table {tag.decode()!r}, expected {name!r}")
        check_schema(shown, pf.schema_arrow, _schema(name, version))
    except BaseException:
        pf.close()
        raise
    return pf


def _read_parquet(
    path: Path,
    name: str,
    shown: str | None = None,
    columns: list[str] | None = None,
    version: int = SCHEMA_VERSION,
) -> pa.Table:
    """Read and validate a file of table ``name`` (of a run of schema ``version``);
    errors name the file.

    With ``columns``, only those columns are read and returned as stored (not canonical).
    """
    shown = shown or path.name
    with _open_parquet(path, name, shown, version) as pf:
        try:
            table = pf.read(columns=columns)
        except (pa.ArrowException, OSError) as exc:
            raise RunFormatError(f"{shown}: damaged: {exc}") from None
    return table if columns is not None else canonical(table, _schema(name, version))


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


def _read_meta(path: Path) -> dict[str, Any]:
    file = path / META_FILE
    if not path.is_dir():
        raise RunFormatError(f"{path}: not a run directory (no such directory)")
    if not file.is_file():
        raise RunFormatError(f"{META_FILE}: missing (in {path})")
    try:
        meta = json.loads(file.read_text())
    except (ValueError, OSError) as exc:
        raise RunFormatError(f"{META_FILE}: not valid JSON (truncated?): {exc}") from None
    if not isinstance(meta, dict) or "schema_version" not in meta:
        raise RunFormatError(f"{META_FILE}: no schema_version (not a benchhub_sim run?)")
    version = meta["schema_version"]
    if version not in READABLE_SCHEMA_VERSIONS:
        raise RunFormatError(
            f"{META_FILE}: written with schema {version}, this version reads {_VERSIONS}"
        )
    return meta


def read_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``run.json`` of run directory ``path``, checked as :func:`load_run` checks it.

    Raises
    ------
    RunFormatError
        No such directory, no ``run.json``, or one that is damaged or of another schema.
    """
    return _read_meta(Path(path))


def unfinished(meta: Mapping[str, Any]) -> str | None:
    """Why a run with this ``run.json`` is not a finished run, or None when it is.

    A run is finished when its directory was fully written (``complete``) and it did not
    raise (no ``error``: a policy that raised, an interrupt).

    Examples
    --------
    >>> unfinished({"complete": False, "error": "KeyboardInterrupt"})
    'it raised KeyboardInterrupt'
    >>> unfinished({"complete": True}) is None
    True
    """
    if meta.get("error"):
        return f"it raised {meta['error']}"
    if not meta.get("complete", True):
        return "it did not finish: it was killed, or is still running"
    return None


def _is_run_dir(path: Path) -> bool:
    """Whether ``path`` holds a run of this package (a ``run.json`` with a schema version)."""
    try:
        meta = json.loads((path / META_FILE).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and "schema_version" in meta


def check_out_dir(path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
    """Refuse an output directory where writing a run would lose or mix up files.

    ``path`` may be missing, an empty directory, or a run directory (replaced only with
    ``overwrite``, and then only its run files). A file, or a directory holding other
    files, is refused: a run is never written among a user's files.

    Raises
    ------
    RunFormatError
        Naming the path and what to do instead.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RunFormatError(
            f"{path}: is a file, not a directory; give a new or empty directory for the run"
        )
    if not path.is_dir():
        return
    if _is_run_dir(path):
        if not overwrite:
            meta = json.loads((path / META_FILE).read_text())
            why = unfinished(meta)
            raise RunFormatError(
                f"{path}: already holds a run{f' (not a finished one: {why})' if why else ''}; "
                "pass overwrite=True (--overwrite) to replace it"
            )
    elif any(path.iterdir()):
        raise RunFormatError(
            f"{path}: not empty and not a run directory; give a new or empty directory "
            "(overwrite replaces a run, never other files)"
        )


def _base_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "clock": "virtual",
        "epoch": None,
        "policy": None,
        "seed": None,
        "cluster": None,
        "inputs": [],
    }
    out.update(meta)
    if out["clock"] not in ("virtual", "wall"):
        raise RunFormatError(
            f"{META_FILE}: clock must be 'virtual' or 'wall', got {out['clock']!r}"
        )
    out["package_version"] = __version__
    out["schema_version"] = SCHEMA_VERSION
    out.setdefault("complete", False)
    return out


def _part_files(path: Path, name: str) -> list[Path]:
    return sorted((path / PARTS_DIR / name).glob("part-*.parquet"))


# -- writing a run as it goes -----------------------------------------------------------


class RunWriter:
    """Write a run directory while the run goes on.

    Parameters
    ----------
    path : str or Path
        The run directory (created with its parents).
    meta : dict
        ``run.json`` content: clock (``virtual`` | ``wall``), epoch, policy, seed,
        cluster, inputs, anything JSON-able. ``schema_version``, ``package_version`` and
        ``complete`` are set here.
    overwrite : bool
        Replace a run already in ``path`` (its files only). Otherwise that is an error,
        and so is a ``path`` that is a file or a directory holding other files (see
        :func:`check_out_dir`).
    optional : collection of str
        Tables of :data:`~benchhub_sim.store.schema.OPTIONAL_TABLES` this run has (a real
        run: ``metrics``, ``results``). Their rows stream through :meth:`sink` like the
        history's, and :meth:`finish` writes each, empty if no row came.

    Examples
    --------
    >>> import tempfile
    >>> from benchhub_sim.store import History, Store
    >>> writer = RunWriter(tempfile.mkdtemp() + "/run", {"policy": "fcfs"})
    >>> store = Store(History(sink=writer.sink))
    >>> store.add_job(0.0, 1, "demo", n_nodes=1, walltime=60.0)
    >>> writer.finish(store.tables())
    >>> load_run(writer.path).jobs["status"].tolist()
    ['queued']
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        meta: Mapping[str, Any],
        *,
        overwrite: bool = False,
        optional: Collection[str] = (),
    ) -> None:
        unknown = [n for n in optional if n not in OPTIONAL_TABLES]
        if unknown:
            raise RunFormatError(
                f"{', '.join(unknown)}: not optional tables ({', '.join(OPTIONAL_TABLES)})"
            )
        self.path = Path(path)
        check_out_dir(self.path, overwrite=overwrite)
        if (self.path / META_FILE).exists():
            _clear(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.meta = _base_meta(meta)
        self.meta["complete"] = False
        self.optional = tuple(n for n in OPTIONAL_TABLES if n in optional)
        self._runs: dict[str, SortedRuns] = {}
        self._events = {
            name: EventFile(
                self.path / JOURNAL_DIR, name, _schema(name), _writer_of(name), _ROW_GROUP
            )
            for name in (*EVENT_TABLES, *self.optional)
        }
        _write_json(self.path / META_FILE, self.meta)

    def fail(self, error: BaseException) -> None:
        """Mark the run as one that raised: ``run.json`` gets ``error`` (the exception's
        type and message) and stays ``complete: false``; what was flushed stays readable."""
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        self.meta.update(complete=False, error=text)
        _write_json(self.path / META_FILE, self.meta)

    def sink(self, name: str, batch: pa.RecordBatch) -> None:
        """Journal ``batch`` of table ``name`` and write it into the table's file (in row
        groups, as they fill).

        ``name`` is an event table, or an optional table given to the constructor.
        """
        if name not in self._events:
            streamed = ", ".join(self._events)
            raise RunFormatError(f"{name}: not a table streamed to this run ({streamed})")
        schema = _schema(name)
        rows: pa.RecordBatch | pa.Table = batch
        if not batch.schema.equals(schema):
            check_schema(f"{name}.parquet", batch.schema, schema)
            rows = canonical(pa.Table.from_batches([batch]), schema)
        self._events[name].append(rows)

    def spill(self, name: str, rows: pa.Table | PackedTable | UnionRows) -> None:
        """Hand over rows of snapshot table ``name`` before the end of the run (ended
        jobs' rows, which no later event changes): they are sorted by the table's
        :data:`~benchhub_sim.store.rows.SORT_KEYS` and kept on disk as one more sorted
        run (:class:`~benchhub_sim.store.merge.SortedRuns`), and :meth:`finish` merges
        them with the rest of the table. The file written is the one :meth:`finish`
        writes from all the rows at once with ``sort=SORT_KEYS``.
        """
        if name not in SORT_KEYS:
            raise RunFormatError(f"{name}: not a job table ({', '.join(SORT_KEYS)})")
        check_schema(f"{name}.parquet", rows.schema, _schema(name))
        runs = self._runs.get(name)
        if runs is None:
            folder = self.path / JOURNAL_DIR / RUNS_DIR
            runs = self._runs[name] = SortedRuns(folder, name, _schema(name), SORT_KEYS[name])
        runs.add(rows)

    def finish(
        self, tables: Mapping[str, pa.Table], *, sort: Mapping[str, list[str]] | None = None
    ) -> None:
        """Write the final tables, close the event tables' files and mark the run complete.

        Parameters
        ----------
        tables : mapping of str to pyarrow.Table
            At least ``nodes``, ``jobs``, ``stages``, ``tasks`` (e.g. ``Store.tables()``,
            which flushes the history into the sink first, or ``Store.final_tables()``).
            Each is looked up once and dropped once written. Event tables given here are
            appended after what the sink got (events the sink never saw), unjournaled;
            so are rows of the writer's optional tables.
        sort : mapping of str to list of str, optional
            Key columns to sort a snapshot table by as it is written (e.g.
            :data:`~benchhub_sim.store.rows.SORT_KEYS` for ``Store.final_tables()``).
            A table some of whose rows were handed to :meth:`spill` is sorted by its
            ``SORT_KEYS`` whatever ``sort`` says: ``tables`` gives the rest of its rows.
        """
        counts = {}
        try:
            for name in SNAPSHOT_TABLES:
                table = tables[name]
                runs = self._runs.pop(name, None)
                if runs is None:
                    keys = (sort or {}).get(name)
                    _write_parquet(self.path / f"{name}.parquet", table, name, keys)
                    counts[name] = table.num_rows
                else:
                    check_schema(f"{name}.parquet", table.schema, _schema(name))
                    runs.add(table)
                    counts[name] = runs.num_rows
                    groups = runs.merged(_ROW_GROUP)
                    _write_groups(self.path / f"{name}.parquet", groups, _schema(name))
                del table
            for name in (*EVENT_TABLES, *self.optional):
                events = self._events[name]
                extra = tables.get(name)
                if extra is not None and extra.num_rows:
                    check_schema(f"{name}.parquet", extra.schema, _schema(name))
                    events.extend(extra)
                del extra
                counts[name] = events.close(self.path / f"{name}.parquet")
        except BaseException:
            for events in self._events.values():
                events.abandon()  # the directory stays what a killed run leaves
            raise
        shutil.rmtree(self.path / JOURNAL_DIR, ignore_errors=True)
        self.meta.update(complete=True, counts=counts)
        _write_json(self.path / META_FILE, self.meta)


def _writer_of(name: str) -> Callable[[Path], pq.ParquetWriter]:
    return lambda path: _parquet_writer(path, _schema(name))


def _clear(path: Path) -> None:
    for name in (*TABLES, *OPTIONAL_TABLES):
        (path / f"{name}.parquet").unlink(missing_ok=True)
    shutil.rmtree(path / PARTS_DIR, ignore_errors=True)
    shutil.rmtree(path / JOURNAL_DIR, ignore_errors=True)
    (path / META_FILE).unlink(missing_ok=True)


# -- tables read on first access ---------------------------------------------------------


class LazyTables(MutableMapping[str, pa.Table]):
    """The tables of a run, each read on first access: from its file in a complete run
    directory, or decoded from its compressed form in memory.

    :func:`load_run` has already checked every file's footer, schema version, schema and
    row count; ``tables[name]`` reads ``name.parquet`` once (checked again, in canonical
    form) and keeps it. A packed table (the history of a run simulated in memory) is
    decoded once and kept. Iteration, ``len``, ``in``, :meth:`num_rows` and
    :meth:`loaded` read no table data; :meth:`pieces` reads some columns, a row group or
    a batch at a time. Assigning or deleting a table changes this mapping only, as with
    a dict (:meth:`Run.save` writes it).

    Parameters
    ----------
    path : Path or None
        The run directory (None when no table is on disk).
    num_rows : mapping of str to int
        The tables still on disk and their row counts (from the Parquet footers).
    packed : mapping of str to PackedTable, optional
        Tables kept compressed in memory, in canonical form once decoded (e.g.
        :meth:`History.packed <benchhub_sim.store.history.History.packed>`).

    Examples
    --------
    >>> import tempfile
    >>> from benchhub_sim.store import Store
    >>> store = Store()
    >>> store.add_job(0.0, 1, "demo", n_nodes=1, walltime=60.0)
    >>> run = load_run(Run(store.tables()).save(tempfile.mkdtemp() + "/run"))
    >>> sorted(run.tables.loaded()), run.tables.num_rows("job_events")
    ([], 1)
    >>> run.tables["jobs"].num_rows, sorted(run.tables.loaded())
    (1, ['jobs'])
    """

    def __init__(
        self,
        path: Path | None,
        num_rows: Mapping[str, int],
        packed: Mapping[str, PackedTable] | None = None,
    ) -> None:
        self.path = None if path is None else Path(path)
        self._on_disk: dict[str, int] = dict(num_rows)
        self._packed: dict[str, PackedTable] = dict(packed or {})
        self._cache: dict[str, pa.Table] = {}
        self._names: list[str] = [*self._on_disk, *self._packed]

    def file(self, name: str) -> Path:
        """The Parquet file of table ``name``."""
        if self.path is None:
            raise KeyError(f"{name}: no run directory")
        return self.path / f"{name}.parquet"

    def __getitem__(self, name: str) -> pa.Table:
        if name in self._cache:
            return self._cache[name]
        if name in self._packed:
            table = self._cache[name] = self._packed.pop(name).table()
            return table
        if name not in self._on_disk:
            raise KeyError(name)
        table = _read_parquet(self.file(name), name)
        if table.num_rows != self._on_disk[name]:
            raise RunFormatError(
                f"{name}.parquet: changed since the run was loaded "
                f"({table.num_rows} rows, had {self._on_disk[name]})"
            )
        self._cache[name] = table
        return table

    def __setitem__(self, name: str, table: pa.Table) -> None:
        self._cache[name] = table
        self._on_disk.pop(name, None)
        self._packed.pop(name, None)
        if name not in self._names:
            self._names.append(name)

    def set_packed(self, name: str, table: PackedTable) -> None:
        """Set table ``name`` to ``table``, kept compressed until first used."""
        self._cache.pop(name, None)
        self._on_disk.pop(name, None)
        self._packed[name] = table
        if name not in self._names:
            self._names.append(name)

    def __delitem__(self, name: str) -> None:
        if name not in self._names:
            raise KeyError(name)
        self._names.remove(name)
        self._cache.pop(name, None)
        self._on_disk.pop(name, None)
        self._packed.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __repr__(self) -> str:
        return f"<LazyTables {self.path} loaded={sorted(self._cache)} of {self._names}>"

    def reorder(self, names: Sequence[str]) -> None:
        """List the tables in the order of ``names`` (the same names, in another order)."""
        if sorted(names) != sorted(self._names):
            raise KeyError(f"not the tables held: {sorted(names)} for {sorted(self._names)}")
        self._names = list(names)

    def loaded(self) -> frozenset[str]:
        """Names of the tables held in memory (read or assigned)."""
        return frozenset(self._cache)

    def assigned(self) -> frozenset[str]:
        """Names of the tables assigned (not read from the directory or decoded)."""
        return frozenset(n for n in self._cache if n not in self._on_disk)

    def on_disk(self, name: str) -> bool:
        """Whether table ``name`` is its file's content and has not been read yet."""
        return name in self._on_disk and name not in self._cache

    def num_rows(self, name: str) -> int:
        """Rows of table ``name``, from the Parquet footer if it was not read."""
        if name in self._cache:
            return int(self._cache[name].num_rows)
        if name in self._packed:
            return self._packed[name].num_rows
        if name not in self._on_disk:
            raise KeyError(name)
        return self._on_disk[name]

    def pieces(self, name: str, columns: Sequence[str]) -> Iterator[pa.Table] | None:
        """Columns ``columns`` of table ``name`` in pieces, if it was not read: row group
        by row group from its file, batch by batch from its packed form (only those
        columns are read or decoded); None when the table is in memory.

        Raises
        ------
        RunFormatError
            The file is damaged.
        """
        if name in self._packed:
            packed = self._packed[name]
            return (pa.Table.from_batches([b]) for b in packed.batches(columns))
        if not self.on_disk(name):
            return None
        return _row_groups(self.file(name), name, columns)

    def column(self, name: str, column: str) -> pa.ChunkedArray:
        """One column of table ``name``; reads only that column if the table was not read."""
        if name in self._packed:
            packed = self._packed[name]
            field = packed.schema.field(column)
            return concat_batches(list(packed.batches([column])), pa.schema([field]))[column]
        if not self.on_disk(name):
            return self[name][column]
        return _read_parquet(self.file(name), name, columns=[column])[column]

    def min_max(self, name: str, column: str) -> tuple[Any, Any]:
        """Smallest and largest non-null value of a numeric column, ``(None, None)`` if none.

        From the Parquet row group statistics when the table was not read (the column
        itself is read only if a row group has no statistics).
        """
        if not self.on_disk(name):
            return _min_max(self.column(name, column))
        lo = hi = None
        with _open_parquet(self.file(name), name) as pf:
            md = pf.metadata
            for i in range(md.num_row_groups):
                group = md.row_group(i)
                stats = next(
                    group.column(j).statistics
                    for j in range(group.num_columns)
                    if group.column(j).path_in_schema == column
                )
                if stats is None or not stats.has_min_max:
                    if group.num_rows and (stats is None or stats.null_count != group.num_rows):
                        return _min_max(self.column(name, column))
                    continue
                # Parquet writes a zero minimum as -0.0; adding 0 gives +0.0
                lo = stats.min + 0 if lo is None else min(lo, stats.min + 0)
                hi = stats.max + 0 if hi is None else max(hi, stats.max + 0)
        return lo, hi

    def copy(self) -> LazyTables:
        """A new mapping over the same files, sharing the tables read so far."""
        new = LazyTables(self.path, self._on_disk, self._packed)
        new._cache = dict(self._cache)
        new._names = list(self._names)
        return new


def _is_in(values: pa.ChunkedArray, kinds: pa.Array) -> pa.ChunkedArray:
    """Whether each value is one of ``kinds`` (null for a null value). A dictionary
    column is looked up entry by entry, not cast to strings row by row."""
    if not pa.types.is_dictionary(values.type):
        return pc.is_in(values.cast(pa.string()), value_set=kinds)
    return pa.chunked_array(
        [
            pc.is_in(chunk.dictionary.cast(pa.string()), value_set=kinds).take(chunk.indices)
            for chunk in values.chunks
        ],
        pa.bool_(),
    )


def _row_groups(file: Path, name: str, columns: Sequence[str]) -> Iterator[pa.Table]:
    """Columns ``columns`` of table ``name``'s file, one row group at a time."""
    shown = f"{name}.parquet"
    with _open_parquet(file, name, shown) as pf:
        try:
            for i in range(pf.metadata.num_row_groups):
                yield pf.read_row_group(i, columns=list(columns))
        except (pa.ArrowException, OSError) as exc:
            raise RunFormatError(f"{shown}: damaged: {exc}") from None


def _min_max(values: pa.ChunkedArray) -> tuple[Any, Any]:
    mm = pa.compute.min_max(values)
    return mm["min"].as_py(), mm["max"].as_py()


def _num_rows(tables: Mapping[str, pa.Table], name: str) -> int:
    if isinstance(tables, LazyTables):
        return tables.num_rows(name)
    return int(tables[name].num_rows)


def _column(tables: Mapping[str, pa.Table], name: str, column: str) -> pa.ChunkedArray:
    if isinstance(tables, LazyTables):
        return tables.column(name, column)
    return tables[name][column]


def _copy_parquet(src: Path, dst: Path, name: str, num_rows: int) -> None:
    """Rewrite file ``src`` of table ``name`` as ``dst`` atomically, one row group at a time.

    Fails unless ``src`` still has the ``num_rows`` rows it had when the run was loaded.
    """
    schema = _schema(name)
    tmp = dst.with_name(f".{dst.name}.tmp{os.getpid()}")
    try:
        with (
            _open_parquet(src, name) as pf,
            _parquet_writer(tmp, schema) as out,
        ):
            if pf.metadata.num_rows != num_rows:
                raise RunFormatError(
                    f"{src.name}: changed since the run was loaded "
                    f"({pf.metadata.num_rows} rows, had {num_rows})"
                )
            for i in range(pf.num_row_groups):
                try:
                    group = pf.read_row_group(i)
                except (pa.ArrowException, OSError) as exc:
                    raise RunFormatError(f"{src.name}: damaged: {exc}") from None
                out.write_table(canonical(group, schema), row_group_size=_ROW_GROUP)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


# -- a run in memory ----------------------------------------------------------------------


class Run:
    """The tables and metadata of one run.

    Parameters
    ----------
    tables : mapping of str to pyarrow.Table
        Any of the six tables of :data:`~benchhub_sim.store.schema.TABLES` (missing ones
        are empty), e.g. ``Store.tables()``, and the optional ``metrics`` and ``results``
        of a real run (kept only when given: :meth:`has_table`). Kept in canonical form in :attr:`tables`, a
        dict. A :class:`LazyTables` (what :func:`load_run` gives a complete run) is kept
        lazy: its tables are read from the run directory when first accessed.
    meta : mapping, optional
        ``run.json`` content.
    complete : bool, optional
        Whether the run ended normally; by default ``meta["complete"]`` (True if absent).
    path : Path, optional
        Where it was read from.
    """

    def __init__(
        self,
        tables: Mapping[str, pa.Table],
        meta: Mapping[str, Any] | None = None,
        *,
        complete: bool | None = None,
        path: Path | None = None,
    ) -> None:
        self.tables: MutableMapping[str, pa.Table]
        if isinstance(tables, LazyTables):
            # tables still on disk or read from it are valid; assigned ones are checked
            self.tables = lazy = tables.copy()
            for name in [n for n in lazy if n not in TABLES and n not in OPTIONAL_TABLES]:
                del lazy[name]
            for name, schema in TABLES.items():
                if name not in lazy:
                    lazy[name] = schema.empty_table()
            for name in lazy.assigned():
                schema = _schema(name)
                check_schema(f"{name} table", lazy[name].schema, schema)
                lazy[name] = canonical(lazy[name], schema)
            # in the order of a dict of tables
            lazy.reorder([*TABLES, *(n for n in OPTIONAL_TABLES if n in lazy)])
        else:
            self.tables = {}
            for name, schema in TABLES.items():
                table = tables.get(name)
                if table is not None:
                    check_schema(f"{name} table", table.schema, schema)
                self.tables[name] = (
                    schema.empty_table() if table is None else canonical(table, schema)
                )
            for name, schema in OPTIONAL_TABLES.items():
                table = tables.get(name)
                if table is not None:
                    check_schema(f"{name} table", table.schema, schema)
                    self.tables[name] = canonical(table, schema)
        self.meta: dict[str, Any] = dict(meta or {})
        self.complete = bool(self.meta.get("complete", True)) if complete is None else complete
        self.path = path
        self._frames: dict[str, pd.DataFrame] = {}

    @classmethod
    def of_store(
        cls,
        tables: Mapping[str, pa.Table],
        meta: Mapping[str, Any] | None = None,
        *,
        packed: Mapping[str, PackedTable] | None = None,
        pack: Collection[str] = (),
        sort: Mapping[str, list[str]] | None = None,
    ) -> Run:
        """A run of the tables :meth:`Store.tables <benchhub_sim.store.store.Store.tables>`
        gives, kept as they are: they are canonical already but for the event tables'
        chunks (one per flush), which only :meth:`save` and ``to_pandas`` see, and
        neither minds. Saves checking a million-job history once more.

        Parameters
        ----------
        tables : mapping of str to pyarrow.Table
            Looked up once each, in the order of :data:`~benchhub_sim.store.schema.TABLES`
            (so a mapping that builds each table on lookup, :meth:`Store.final_tables
            <benchhub_sim.store.store.Store.final_tables>`, never holds them all).
        meta : mapping, optional
        packed : mapping of str to PackedTable, optional
            Tables kept compressed (the history of a store without a sink,
            :meth:`History.packed <benchhub_sim.store.history.History.packed>`), in
            place of those of ``tables``; decoded on first use (:class:`LazyTables`).
        pack : collection of str
            Tables of ``tables`` to keep compressed too, as they are looked up: packed a
            row group at a time, in canonical form, so that the table is never copied
            whole (decoded, it is in as many chunks).
        sort : mapping of str to list of str, optional
            Key columns to sort a table of ``pack`` by as it is packed (e.g.
            :data:`~benchhub_sim.store.rows.SORT_KEYS` for the unsorted tables of
            :meth:`Store.final_tables <benchhub_sim.store.store.Store.final_tables>`).
        """
        run = cls({}, meta)
        packed = dict(packed or {})
        if packed or pack:
            lazy = LazyTables(None, {}, packed)
            for name, empty in run.tables.items():
                if name not in packed:
                    lazy[name] = empty
            run.tables = lazy
        for name, schema in TABLES.items():
            table = tables.get(name) if name not in packed else None
            if table is None:
                continue
            if name in pack and isinstance(run.tables, LazyTables):
                check_schema(f"{name} table", table.schema, schema)
                groups = sorted_groups(table, schema, (sort or {}).get(name), _ROW_GROUP)
                run.tables.set_packed(name, PackedTable.of(groups, schema))
            else:
                # (anything but the store's own schema is made canonical)
                same = table.schema.equals(schema, check_metadata=True)
                run.tables[name] = table if same else canonical(table, schema)
            del table
        if isinstance(run.tables, LazyTables):
            run.tables.reorder(list(TABLES))
        return run

    @property
    def stalled(self) -> dict[str, Any] | None:
        """The jobs left queued or running when the run could not go on, and why
        (``count``, ``queued``, ``running``, the first ``job_ids``, ``reason``); None when
        every job ended. See :meth:`Engine.run <benchhub_sim.engine.engine.Engine.run>`."""
        return self.meta.get("stalled")

    def frame(self, name: str) -> pd.DataFrame:
        """Table ``name`` as a pandas DataFrame (converted once, then cached).

        An optional table the run does not have (:meth:`has_table`) is an empty frame
        with its columns.
        """
        if name not in self._frames:
            if name in OPTIONAL_TABLES and name not in self.tables:
                self._frames[name] = OPTIONAL_TABLES[name].empty_table().to_pandas()
            else:
                self._frames[name] = self.tables[name].to_pandas()
        return self._frames[name]

    def has_table(self, name: str) -> bool:
        """Whether the run has table ``name``: always for the six tables of every run;
        ``metrics`` and ``results`` only for real runs (what their agents observed)."""
        return name in self.tables

    nodes = property(lambda self: self.frame("nodes"), doc="node store: one row per node")
    jobs = property(lambda self: self.frame("jobs"), doc="job store: one row per job")
    assignments = property(
        lambda self: self.frame("assignments"), doc="one row per node assignment bound to a node"
    )
    stage_pipelines = property(
        lambda self: self.frame("stage_pipelines"), doc="one row per (job, stage pipeline)"
    )
    task_pipelines = property(
        lambda self: self.frame("task_pipelines"),
        doc="one row per (job, stage, slot, task pipeline)",
    )
    stages = property(
        lambda self: self.frame("stages"),
        doc="one row per (job, stage, slot): per node without loader packing",
    )
    tasks = property(lambda self: self.frame("tasks"), doc="one row per task attempt")
    node_events = property(lambda self: self.frame("node_events"), doc="node history")
    job_events = property(lambda self: self.frame("job_events"), doc="job history")
    metrics = property(
        lambda self: self.frame("metrics"),
        doc="agent metrics of a real run, long format (empty for a simulated run)",
    )
    results = property(
        lambda self: self.frame("results"),
        doc="benchmark results the tasks of a real run reported (empty for a simulated run)",
    )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the run directory ``path`` (replacing the run files there); returns it.

        A table not yet read from the directory this run was loaded from is copied one
        row group at a time, not read whole. ``path`` must be new, empty or a run
        directory (see :func:`check_out_dir`).
        """
        path = Path(path)
        check_out_dir(path, overwrite=True)
        path.mkdir(parents=True, exist_ok=True)
        tables = self.tables
        for name in tables:
            target = path / f"{name}.parquet"
            if isinstance(tables, LazyTables) and tables.on_disk(name):
                _copy_parquet(tables.file(name), target, name, tables.num_rows(name))
            else:
                _write_parquet(target, tables[name], name)
        for name in OPTIONAL_TABLES:
            if name not in tables:  # not this run's: an earlier run's file would be read
                (path / f"{name}.parquet").unlink(missing_ok=True)
        shutil.rmtree(path / PARTS_DIR, ignore_errors=True)
        shutil.rmtree(path / JOURNAL_DIR, ignore_errors=True)
        meta = _base_meta(self.meta)
        meta["complete"] = self.complete
        meta["counts"] = {name: _num_rows(tables, name) for name in tables}
        _write_json(path / META_FILE, meta)
        return path

    def to_swf(self, path: str | os.PathLike[str]) -> Path:
        """Write the jobs as an SWF trace (see :func:`benchhub_sim.workload.swf.write_swf`)."""
        return RUN_WRITERS["swf"](self, path)

    def to_batsim_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write Batsim's ``jobs.csv`` (see :func:`benchhub_sim.analysis.export.to_batsim_csv`)."""
        return RUN_WRITERS["batsim-csv"](self, path)

    def rows(
        self,
        name: str,
        columns: Sequence[str],
        *,
        events: Collection[str] | None = None,
        categorical: Collection[str] = (),
    ) -> pd.DataFrame:
        """:meth:`rows_table` as a pandas DataFrame: dictionary columns come back as
        categoricals."""
        return self.rows_table(name, columns, events=events, categorical=categorical).to_pandas()

    def rows_table(
        self,
        name: str,
        columns: Sequence[str],
        *,
        events: Collection[str] | None = None,
        categorical: Collection[str] = (),
    ) -> pa.Table:
        """Some columns of table ``name``, optionally only rows of some ``event`` kinds.

        A table still on disk is not loaded: only these columns (and ``event``) are read,
        so a metric that needs the ``assign`` rows of 13M job events reads four columns
        instead of building a DataFrame of the whole history.

        Parameters
        ----------
        name : str
            A table of :data:`~benchhub_sim.store.schema.TABLES`.
        columns : sequence of str
            Columns to return, in this order.
        events : collection of str, optional
            Keep only rows whose ``event`` is one of these.
        categorical : collection of str, optional
            String columns to return dictionary-encoded too (a node id repeated over ten
            million rows then costs four bytes a row, not a Python string).

        Returns
        -------
        pyarrow.Table
        """
        want = list(columns)
        need = want + (["event"] if events is not None and "event" not in want else [])
        kinds = None if events is None else pa.array(sorted(events), pa.string())

        def keep(table: pa.Table) -> pa.Table:
            if kinds is not None:
                table = table.filter(_is_in(table["event"], kinds))
            table = table.select(want)
            for column in categorical:
                i = table.schema.get_field_index(column)
                if i >= 0 and pa.types.is_string(table.schema.field(i).type):
                    table = table.set_column(
                        i, column, pc.dictionary_encode(table.column(i)).cast(_DICT_TYPE)
                    )
            return table

        tables = self.tables
        pieces = tables.pieces(name, need) if isinstance(tables, LazyTables) else None
        if pieces is not None:
            # piece by piece: memory for one piece and what is kept
            parts = [keep(piece) for piece in pieces]
            table = pa.concat_tables(parts) if parts else TABLES[name].empty_table().select(want)
        else:
            table = keep(tables[name].select(need))
        return table

    def row_pieces(self, name: str, columns: Sequence[str]) -> Iterator[pa.Table]:
        """Columns ``columns`` of table ``name`` in pieces (row group by row group from
        its file, batch by batch from its compressed form; the whole table when it is in
        memory): a metric that folds a table piece by piece holds one piece at a time."""
        tables = self.tables
        pieces = tables.pieces(name, list(columns)) if isinstance(tables, LazyTables) else None
        if pieces is None:
            yield self.rows_table(name, columns)
        else:
            yield from pieces

    def num_rows(self, name: str) -> int:
        """Rows of table ``name``; from the Parquet footer when it is still on disk."""
        return _num_rows(self.tables, name)

    def time_span(self, name: str) -> tuple[float | None, float | None]:
        """First and last ``time`` of an event table (None, None when it is empty).

        From the Parquet footers when the table is still on disk.
        """
        tables = self.tables
        if not _num_rows(tables, name):
            return None, None
        if isinstance(tables, LazyTables):
            return tables.min_max(name, "time")
        return _min_max(tables[name]["time"])

    def status_counts(self) -> dict[str, Any]:
        """Jobs by status, nodes by state, number of events and time span.

        Reads no event table that is still on disk (counts and span come from the
        Parquet footers) and only the ``status`` / ``state`` columns of jobs and nodes.
        (The run's metrics are :func:`benchhub_sim.analysis.metrics.summary`.)
        """
        tables = self.tables
        ranges = [
            (lo, hi)
            for lo, hi in (self.time_span(name) for name in EVENT_TABLES)
            if lo is not None and hi is not None
        ]
        span = (
            (min(lo for lo, _ in ranges), max(hi for _, hi in ranges)) if ranges else (None, None)
        )
        return {
            "jobs": _counts(_column(tables, "jobs", "status")),
            "nodes": _counts(_column(tables, "nodes", "state")),
            "events": sum(_num_rows(tables, name) for name in ("job_events", "node_events")),
            "span": span,
        }

    def _flags(self) -> list[str]:
        """What did not go as it should: incomplete, stalled jobs, an error."""
        flags = [] if self.complete else ["INCOMPLETE"]
        if self.stalled:
            flags.append(f"STALLED: {stalled_message(self.stalled)}")
        if self.meta.get("error"):
            flags.append(f"ERROR: {self.meta['error']}")
        return flags

    def __repr__(self) -> str:
        s = self.status_counts()
        where = f" {self.path}" if self.path else ""
        policy = self.meta.get("policy") or "?"
        cluster = self.meta.get("cluster") or "?"
        jobs = sum(s["jobs"].values())
        lo, hi = s["span"]
        span = "no events" if lo is None else f"t = {lo:,.6g} .. {hi:,.6g} s"
        flags = "".join(f" [{f}]" for f in self._flags())
        nodes = plural(sum(s["nodes"].values()), "node")
        return (
            f"<Run{where}:{flags} {policy} on {cluster} ({nodes}), "
            f"{plural(jobs, 'job')} ({counts_text(s['jobs']) or 'none'}), {span}>"
        )

    def _repr_html_(self) -> str:
        s = self.status_counts()
        lo, hi = s["span"]
        clock = self.meta.get("clock") or "virtual"
        span = "no events" if lo is None else f"t = {lo:,.6g} .. {hi:,.6g} s ({clock} clock)"
        rows = setup_rows(self.meta, sum(s["nodes"].values()))
        rows += [
            ("jobs", f"{sum(s['jobs'].values()):,} ({counts_text(s['jobs']) or 'none'})"),
            ("nodes at the end", counts_text(s["nodes"]) or "none"),
            ("events", f"{s['events']:,}, {span}"),
        ]
        title = html.escape(str(self.path)) if self.path else "Run"
        warn = "".join(f"<br><b style='color:#b00'>{html.escape(f)}</b>" for f in self._flags())
        hint = (
            "<p><code>bh.summary(run)</code>: waits, slowdown, utilization; "
            "<code>run.jobs</code>: the job store; <code>bh.plot_gantt(run)</code></p>"
        )
        return f"<b>{title}</b>{warn}" + html_table([], rows, caption="") + hint


def _counts(values: pa.ChunkedArray) -> dict[str, int]:
    if not len(values):
        return {}
    vc = pa.compute.value_counts(values.cast(pa.string()))
    return {str(v["values"]): int(v["counts"]) for v in vc.to_pylist()}


# -- reading ------------------------------------------------------------------------------


def load_run(path: str | os.PathLike[str]) -> Run:
    """Read a run directory, complete or not.

    A complete run is read lazily: every file's footer, schema version, schema and row
    count (against ``run.json``) is checked here, but a table's data is read only when
    first used (``run.jobs``, ``run.tables["jobs"]``; see :class:`LazyTables`).

    A run that did not finish (``run.json`` says ``complete: false``) is read from its
    files, else from its journal (or the part files of older versions), with the
    snapshot tables folded from the history (static job and node columns null), and a
    warning says it is incomplete. A run that
    raised (``run.json`` holds an ``error``: a policy that raised, an interrupt) is read
    likewise, and the warning says it is not a finished run and what it raised.

    A run of schema version 1 is read whole and mapped to the current schema (see
    :mod:`~benchhub_sim.store.legacy` for what each old column becomes); its ``meta``
    still says ``schema_version: 1``, and :meth:`Run.save` writes the current version.

    Raises
    ------
    RunFormatError
        A missing, truncated or damaged file, a schema that does not match, or another
        schema version; the message names the file.
    """
    path = Path(path)
    meta = _read_meta(path)
    complete = bool(meta.get("complete"))
    if complete and meta.get("error"):
        warnings.warn(f"{path}: not a finished run: {unfinished(meta)}", stacklevel=2)
    version = int(meta["schema_version"])
    schemas = _SCHEMAS[version]
    if complete:
        rows: dict[str, int] = {}
        listed = meta.get("counts") or {}
        optional = [n for n in OPTIONAL_TABLES if n in listed or (path / f"{n}.parquet").exists()]
        for name in (*schemas, *optional):
            with _open_parquet(path / f"{name}.parquet", name, version=version) as pf:
                rows[name] = pf.metadata.num_rows
        for name, n in (meta.get("counts") or {}).items():
            if name in rows and rows[name] != n:
                raise RunFormatError(f"{name}.parquet: {rows[name]} rows, {META_FILE} says {n}")
        if version == SCHEMA_VERSION:
            return Run(LazyTables(path, rows), meta, complete=True, path=path)

    tables: dict[str, pa.Table] = {}
    for name in (*EVENT_TABLES, *OPTIONAL_TABLES):
        file = path / f"{name}.parquet"
        journal = path / JOURNAL_DIR / f"{name}{JOURNAL_SUFFIX}"
        if file.exists():
            tables[name] = _read_parquet(file, name, version=version)
        elif journal.exists():
            tables[name] = _read_journal(journal, name)
        elif name in EVENT_TABLES or (path / PARTS_DIR / name).is_dir():
            parts = [
                _read_parquet(p, name, f"{PARTS_DIR}/{name}/{p.name}", version=version)
                for p in _part_files(path, name)
            ]
            tables[name] = unify_dictionaries(
                pa.concat_tables([_schema(name, version).empty_table(), *parts])
            )
    snapshots = [n for n in schemas if n not in EVENT_TABLES]
    have = {n: path / f"{n}.parquet" for n in snapshots if (path / f"{n}.parquet").exists()}
    if len(have) == len(snapshots):
        tables.update({n: _read_parquet(f, n, version=version) for n, f in have.items()})
    if version == 1:  # (metrics and results are the same in both versions)
        tables = {**upgrade_v1(tables), **{n: tables[n] for n in OPTIONAL_TABLES if n in tables}}
    elif len(have) != len(snapshots):
        from benchhub_sim.store.fold import fold_history  # pandas: only for a killed run

        tables.update(fold_history(tables["job_events"], tables["node_events"]))
    if not complete:
        state = (
            f"not a finished run: {unfinished(meta)}"
            if meta.get("error")
            else ("the run is incomplete (it did not finish)")
        )
        warnings.warn(
            f"{path}: {state}; read what was flushed: "
            f"{tables['job_events'].num_rows} job events, "
            f"{tables['node_events'].num_rows} node events",
            stacklevel=2,
        )
    return Run(tables, meta, complete=complete, path=path)


def _read_journal(path: Path, name: str) -> pa.Table:
    """The rows of the journal of table ``name``; errors name the file."""
    shown = f"{JOURNAL_DIR}/{path.name}"
    try:
        batches = read_journal(path)
    except OSError as exc:
        raise RunFormatError(f"{shown}: cannot be read: {exc}") from None
    schema = _schema(name)
    for batch in batches[:1]:
        check_schema(shown, batch.schema, schema)
    table = pa.Table.from_batches(batches, schema=schema) if batches else schema.empty_table()
    return canonical(table, schema)
