"""How to write a run's event tables: the ways measured before choosing the run writer's.

Captures the history batches of one replay (what the history hands its sink), then
writes them each way, twice, and prints the best CPU and wall seconds, files and bytes::

    python benchmarks/bench_writing.py                     # 20k-job trace, 256 nodes
    python benchmarks/bench_writing.py --jobs 100000

Ways
----
parts + consolidate
    What the run writer did before: one Parquet part file per flush, then at the end
    every part read back and written again as one file (default Parquet options; then
    again with the options every file is now written with).
dataset of parts
    One Parquet file per flush, kept as a dataset directory: nothing rewritten, but the
    table is a folder of files (and its files depend on when flushes happened).
one open writer (no journal)
    One ParquetWriter kept open, a row group as each fills: the least work, but a
    killed process leaves a file without footer, which nothing can read.
run writer (journal)
    ``RunWriter``: one open writer as above, plus every flushed batch appended to an
    lz4 Arrow IPC journal that a killed run is read from.
run writer, one hand-over
    The same when the run ends before its first flush (a short run): no journal.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]


def _make_swf() -> object:
    spec = importlib.util.spec_from_file_location("make_swf", REPO / "data" / "make_swf.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def capture(n_jobs: int, tmp: Path) -> dict[str, list[pa.RecordBatch]]:
    """The batches of a replay's history as it turns rows into Arrow (every 65,536 rows):
    an in-memory run keeps them as the chunks of its event tables."""
    from benchhub_sim.replay import replay

    trace = tmp / "trace.swf"
    trace.write_text(_make_swf().make_trace(6, n_jobs, 256, 0.9))  # type: ignore[attr-defined]
    run = replay(str(trace), policy="fcfs")
    return {name: run.tables[name].to_batches() for name in ("node_events", "job_events")}


def parts_and_consolidate(
    batches: dict[str, list[pa.RecordBatch]], out: Path, *, tuned: bool = False
) -> None:
    from benchhub_sim.store.rows import canonical
    from benchhub_sim.store.run import _file_schema, _parquet_writer
    from benchhub_sim.store.schema import TABLES

    def open_writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
        return (
            _parquet_writer(path, schema) if tuned else pq.ParquetWriter(path, _file_schema(schema))
        )

    for name, parts in batches.items():
        folder = out / "_parts" / name
        folder.mkdir(parents=True)
        schema = TABLES[name]
        for i, batch in enumerate(parts):
            with open_writer(folder / f"part-{i:06d}.parquet", schema) as writer:
                writer.write_table(canonical(pa.Table.from_batches([batch]), schema))
        pending: list[pa.Table] = []
        with open_writer(out / f"{name}.parquet", schema) as writer:
            for part in sorted(folder.glob("part-*.parquet")):
                pending.append(canonical(pq.read_table(part), schema))
                if sum(t.num_rows for t in pending) >= 131_072:
                    merged = pa.concat_tables(pending)
                    writer.write_table(canonical(merged, schema), row_group_size=131_072)
                    pending.clear()
            if pending:
                merged = pa.concat_tables(pending)
                writer.write_table(canonical(merged, schema), row_group_size=131_072)
    shutil.rmtree(out / "_parts")


def dataset_of_parts(batches: dict[str, list[pa.RecordBatch]], out: Path) -> None:
    from benchhub_sim.store.rows import canonical
    from benchhub_sim.store.run import _parquet_writer
    from benchhub_sim.store.schema import TABLES

    for name, parts in batches.items():
        folder = out / name
        folder.mkdir(parents=True)
        for i, batch in enumerate(parts):
            with _parquet_writer(folder / f"part-{i:06d}.parquet", TABLES[name]) as writer:
                writer.write_table(canonical(pa.Table.from_batches([batch]), TABLES[name]))


def one_open_writer(batches: dict[str, list[pa.RecordBatch]], out: Path) -> None:
    from benchhub_sim.store.journal import EventFile
    from benchhub_sim.store.run import _parquet_writer
    from benchhub_sim.store.schema import TABLES

    for name, parts in batches.items():
        schema = TABLES[name]
        file = EventFile(
            out / "_w", name, schema, lambda p, s=schema: _parquet_writer(p, s), 131_072
        )
        for batch in parts:
            file.extend(pa.Table.from_batches([batch]))
        file.close(out / f"{name}.parquet")


def run_writer(batches: dict[str, list[pa.RecordBatch]], out: Path, *, at_end: bool) -> None:
    from benchhub_sim.store.packed import unify_dictionaries
    from benchhub_sim.store.run import RunWriter
    from benchhub_sim.store.schema import TABLES

    writer = RunWriter(out, {})
    tables = {name: TABLES[name].empty_table() for name in ("nodes", "jobs", "stages", "tasks")}
    for name, parts in batches.items():
        if at_end:
            tables[name] = unify_dictionaries(pa.Table.from_batches(parts))
        else:
            for batch in parts:
                writer.sink(name, batch)
    writer.finish(tables)


WAYS: dict[str, Callable[[dict[str, list[pa.RecordBatch]], Path], None]] = {
    "parts + consolidate": parts_and_consolidate,
    "parts + consolidate, new options": lambda b, o: parts_and_consolidate(b, o, tuned=True),
    "dataset of parts": dataset_of_parts,
    "one open writer (no journal)": one_open_writer,
    "run writer (journal)": lambda b, o: run_writer(b, o, at_end=False),
    "run writer, one hand-over": lambda b, o: run_writer(b, o, at_end=True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20_000, help="jobs in the trace")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-writing-") as tmp:
        batches = capture(args.jobs, Path(tmp))
        rows = sum(b.num_rows for parts in batches.values() for b in parts)
        n = sum(len(parts) for parts in batches.values())
        print(f"{args.jobs:,} jobs: {rows:,} history rows in {n} batches")
        print(f"{'way':<33} {'cpu s':>6} {'wall s':>7} {'files':>6} {'MB':>6}")
        for label, way in WAYS.items():
            best = (float("inf"), float("inf"))
            for rep in range(2):
                out = Path(tmp) / f"out-{rep}"
                cpu, wall = time.process_time(), time.perf_counter()
                way(batches, out)
                best = min(best, (time.process_time() - cpu, time.perf_counter() - wall))
                files = [p for p in out.rglob("*.parquet") if "events" in str(p.relative_to(out))]
                size = sum(p.stat().st_size for p in files)
                shutil.rmtree(out)
            print(f"{label:<33} {best[0]:6.2f} {best[1]:7.2f} {len(files):6} {size / 2**20:6.1f}")


if __name__ == "__main__":
    sys.exit(main())
