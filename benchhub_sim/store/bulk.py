"""The store's side of the engine's batch mode: simple jobs that ran outside the snapshot.

Batch mode (:mod:`benchhub_sim.engine.batch`) runs uniform simple jobs in a loop of its
own and numbers the rows each transition would log (a submission, a binding + start, an
end + release: :data:`~benchhub_sim.store.store.SUBMIT` and the bulk templates of
:mod:`~benchhub_sim.store.simple`). It hands the jobs over to a :class:`BulkLog` every
few thousand rows; the log then

- checks the whole hand-over against the state machine at once (:meth:`BulkLog.check`:
  a job is submitted once, starts after it was submitted on nodes no other job holds,
  ends on the nodes it holds), when the store checks transitions;
- appends each kind of row to the history as arrays (:meth:`History.blocks
  <benchhub_sim.store.history.History.blocks>`);
- gives the job store the ``jobs`` and ``assignments`` rows of the ended jobs, built
  here, and their compact stage and task rows (:meth:`JobStore.end_simple
  <benchhub_sim.store.jobs.JobStore.end_simple>`); the nodes' last heartbeat goes to
  the node store.

The rows are those :meth:`Store.add_job <benchhub_sim.store.store.Store.add_job>`,
:meth:`~benchhub_sim.store.store.Store.bind`,
:meth:`~benchhub_sim.store.store.Store.start_simple`,
:meth:`~benchhub_sim.store.store.Store.finish_simple` and
:meth:`~benchhub_sim.store.store.Store.release` log: the engine's tests compare both paths
table for table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from benchhub_sim.errors import StoreError
from benchhub_sim.store.blocks import Template
from benchhub_sim.store.rows import repeat
from benchhub_sim.store.schema import JOBS_SCHEMA
from benchhub_sim.store.simple import (
    SimpleShape,
    assign_template,
    assignments_batch,
    finish_template,
    start_template,
    states_template,
)
from benchhub_sim.store.store import BOUND, RELEASED, SUBMIT, Store

_DICT = pa.dictionary(pa.int32(), pa.string())
#: most rows of the history between two hand-overs (fewer when it flushes more often)
EMIT_ROWS = 65_536


@dataclass(frozen=True, eq=False)
class SimpleSpec:
    """What the store keeps of the spec of simple jobs run in bulk (one per spec): the
    jobs row's spec columns (as :meth:`Store.add_job
    <benchhub_sim.store.store.Store.add_job>` takes them) and the stage it runs on
    its slots."""

    name: str
    shape: SimpleShape
    slots: tuple[str, ...]
    roles: tuple[str, ...]
    raw_spec: str | None = None
    spec_hash: str | None = None
    n_pipelines: int | None = None
    n_task_pipelines: tuple[int, ...] | None = None


class BulkJob(Protocol):
    """A job batch mode ran, as the log reads it (set as it submits, starts, ends)."""

    job_id: int
    spec: SimpleSpec
    arrived: float  # its submission's time
    sub_seq: int  # its submission's seq
    walltime: float
    priority: float
    start: float
    start_seq: int  # the seq of its first row at start (assign, bind, start)
    nodes: list[int]  # its nodes, as indices of the log's node ids, slot after slot
    end: float
    end_seq: int  # the seq of its first row at its end (finish, release)


class BulkLog:
    """Jobs that ran in batch mode since the last hand-over, and the hand-over itself.

    Parameters
    ----------
    store : Store
    node_ids : sequence of str
        The nodes the jobs run on; a job names its nodes by their index here.
    """

    def __init__(self, store: Store, node_ids: Sequence[str]) -> None:
        self.store = store
        self.history = history = store.history
        self.names = list(node_ids)
        self.node_ids = pa.array(self.names, pa.string())
        #: jobs submitted, started and ended since the last hand-over, in seq order
        self.submitted: list[BulkJob] = []
        self.started: list[BulkJob] = []
        self.ended: list[BulkJob] = []
        self.every = min(EMIT_ROWS, history.flush_rows)
        #: hand over when the next row's seq gets there
        self.emit_at = history.seq + self.every
        self._busy: dict[int, int] = {}  # node index -> job id holding it (check)
        self._slot_code: dict[str, int] = {}  # slot names of the jobs ended so far
        self._slot_codes: dict[int, list[int]] = {}  # id(spec) -> its slots' codes
        self._templates: dict[int, tuple[Template, ...]] = {}  # id(spec) -> its templates

    @property
    def seq(self) -> int:
        """The seq of the next row (the history's)."""
        return self.history.seq

    def templates(self, spec: SimpleSpec) -> tuple[Template, ...]:
        """The templates of the rows of a job of ``spec``: assign, bind, start; finish,
        release (the store's own, so its blocks and these share patterns)."""
        out = self._templates.get(id(spec))
        if out is None:
            t = self.store.template
            names, roles, shape, k = spec.slots, spec.roles, spec.shape, len(spec.slots)
            out = self._templates[id(spec)] = (
                t(("assign", names, roles), assign_template, names, roles),
                t(("states", k, BOUND), states_template, k, BOUND),
                t(("start", shape, names), start_template, shape, names),
                t(("finish", shape, names), finish_template, shape, names),
                t(("states", k, RELEASED), states_template, k, RELEASED),
            )
        return out

    def rows(self, spec: SimpleSpec) -> tuple[int, int]:
        """How many rows a job of ``spec`` logs when it starts, and when it ends."""
        assign, bound, start, finish, released = self.templates(spec)
        return assign.size + bound.size + start.size, finish.size + released.size

    # -- the hand-over ----------------------------------------------------------------

    def emit(self, seq: int) -> None:
        """Hand every job recorded so far to the store (checked first when the store
        checks transitions); ``seq`` is the seq of the next row."""
        if self.store.check:
            self.check()
        history = self.history
        if self.submitted:
            sub = self.submitted
            history.blocks(
                SUBMIT,
                np.array([r.sub_seq for r in sub], np.int64),
                np.array([r.arrived for r in sub], np.float64),
                np.array([r.job_id for r in sub], np.int64),
                pa.array([], pa.string()),
            )
        for spec, recs in _by_spec(self.started):
            k = len(spec.slots)
            first = np.array([r.start_seq for r in recs], np.int64)
            times = np.array([r.start for r in recs], np.float64)
            job_ids = np.array([r.job_id for r in recs], np.int64)
            nodes = self._nodes(recs, k)
            exact = repeat("exact", pa.string(), len(nodes))
            assign, bound, start, _, _ = self.templates(spec)
            history.blocks(assign, first, times, job_ids, nodes, exact)
            history.blocks(bound, first + k, times, job_ids, nodes)
            history.blocks(start, first + 2 * k, times, job_ids, nodes)
        for spec, recs in _by_spec(self.ended):
            first = np.array([r.end_seq for r in recs], np.int64)
            times = np.array([r.end for r in recs], np.float64)
            job_ids = np.array([r.job_id for r in recs], np.int64)
            nodes = self._nodes(recs, len(spec.slots))
            _, _, _, finish, released = self.templates(spec)
            history.blocks(finish, first, times, job_ids, nodes)
            history.blocks(released, first + finish.size, times, job_ids, nodes)
        if self.ended:
            self._end(self.ended)
        history.close_blocks(seq)
        self.emit_at = seq + self.every
        # emptied in place: the batch loop holds their append methods
        del self.submitted[:], self.started[:], self.ended[:]

    def check(self) -> None:
        """What the store's state machine checks, over the whole hand-over at once: a
        job is submitted once, starts after its submission on nodes no job holds, and
        ends after it started, on the nodes it holds (which it frees).

        Raises :class:`~benchhub_sim.errors.StoreError` at the first illegal transition.
        """
        status = self.store.jobs.status
        busy = self._busy
        for r in self.submitted:
            if status(r.job_id) is not None:
                raise StoreError(f"job {r.job_id}: submitted twice (batch mode)")
        events = sorted(
            [(r.start_seq, False, r) for r in self.started]
            + [(r.end_seq, True, r) for r in self.ended],
            key=lambda e: e[0],
        )
        for _, ending, r in events:
            job_id = r.job_id
            if not r.arrived <= r.start <= (r.end if ending else r.start):
                raise StoreError(f"job {job_id}: times out of order (batch mode)")
            for i in r.nodes:
                held = busy.get(i)
                if ending:
                    if held != job_id:
                        raise StoreError(
                            f"job {job_id}: ends on node {self.names[i]} it does not hold"
                        )
                    del busy[i]
                elif held is not None:
                    raise StoreError(
                        f"job {job_id}: node {self.names[i]} is already running job {held}"
                    )
                else:
                    busy[i] = job_id

    def _end(self, ended: list[BulkJob]) -> None:
        """Give the job store the rows of ``ended`` jobs, of any specs, as one part (a
        part per spec would leave thousands of tiny Arrow arrays behind in a trace of
        many job shapes)."""
        slot_code = self._slot_code
        for spec in {id(r.spec): r.spec for r in ended}.values():
            if id(spec) not in self._slot_codes:
                self._slot_codes[id(spec)] = [
                    slot_code.setdefault(name, len(slot_code)) for name in spec.slots
                ]
        codes = self._slot_codes
        slots = pa.DictionaryArray.from_arrays(
            pa.array([c for r in ended for c in codes[id(r.spec)]], pa.int32()),
            pa.array(list(slot_code), pa.string()),
        )
        index = np.array([i for r in ended for i in r.nodes], np.int64)  # node of each unit
        nodes = self.node_ids.take(index)
        starts = np.array([r.start for r in ended], np.float64)
        width = np.array([len(r.spec.slots) for r in ended], np.int64)
        roles = pa.array([role for r in ended for role in r.spec.roles], pa.string())
        assigned = assignments_batch(
            np.array([r.job_id for r in ended], np.int64), starts, width, slots, roles, nodes,
            repeat("exact", pa.string(), len(index)),  # as the assign events say
        )  # fmt: skip
        self.store.jobs.end_simple(
            ended_jobs_batch(ended), [r.spec.shape for r in ended], starts, slots, nodes, assigned
        )
        # the nodes are idle again, as they were; their heartbeat is their last event's
        last = np.full(len(self.names), -np.inf)
        np.maximum.at(last, index, np.repeat([r.end for r in ended], width))
        heard = np.flatnonzero(last > -np.inf)
        self.store.nodes.heard([self.names[i] for i in heard], last[heard].tolist())

    def _nodes(self, recs: list[BulkJob], k: int) -> pa.Array:
        """The node ids of each job's nodes, one job after the other."""
        if k == 1:
            index = np.array([r.nodes[0] for r in recs], np.int64)
        else:
            index = np.array([r.nodes for r in recs], np.int64).reshape(-1)
        return self.node_ids.take(index)


def ended_jobs_batch(jobs: Sequence[BulkJob]) -> pa.RecordBatch:
    """The ``jobs`` rows of ``jobs`` that finished (what the job store's snapshot holds
    of a simple job submitted, started and finished by :class:`Store`'s calls)."""
    n = len(jobs)
    specs = list({id(j.spec): j.spec for j in jobs}.values())
    which = {id(s): i for i, s in enumerate(specs)}
    per_job = pa.array([which[id(j.spec)] for j in jobs], pa.int32())

    def by_spec(values: list[Any], typ: pa.DataType) -> pa.Array:
        return pa.array(values, typ).take(per_job)

    def const(value: Any, typ: pa.DataType) -> pa.Array:
        return repeat(value, typ, n)

    shapes = [s.shape for s in specs]
    stop = pa.array([j.end for j in jobs], pa.float64())
    submit = pa.array([j.arrived for j in jobs], pa.float64())
    columns = {
        "job_id": pa.array([j.job_id for j in jobs], pa.int64()),
        "name": by_spec([s.name for s in specs], _DICT),
        "submit_time": submit,
        "start_time": pa.array([j.start for j in jobs], pa.float64()),
        "stop_time": stop,
        "status": const("finished", _DICT),
        "n_nodes": by_spec([len(s.slots) for s in specs], pa.int32()),
        "walltime": pa.array([j.walltime for j in jobs], pa.float64()),
        "priority": pa.array([j.priority for j in jobs], pa.float64()),
        "current_pipeline": by_spec([s.pipeline for s in shapes], pa.int32()),
        "foreground_stages": const([], pa.list_(pa.int32())),
        "background_stages": const([], pa.list_(pa.int32())),
        "finished_stages": by_spec([[s.stage] for s in shapes], pa.list_(pa.int32())),
        "reason": pa.nulls(n, pa.string()),
        "raw_spec": by_spec([s.raw_spec for s in specs], _DICT),
        "spec_hash": by_spec([s.spec_hash for s in specs], _DICT),
        "create_time": submit,
        "update_time": stop,
        "n_pipelines": by_spec([s.n_pipelines for s in specs], pa.int32()),
        "n_task_pipelines": by_spec(
            [None if s.n_task_pipelines is None else list(s.n_task_pipelines) for s in specs],
            pa.list_(pa.int32()),
        ),
    }
    return pa.RecordBatch.from_arrays([columns[f.name] for f in JOBS_SCHEMA], schema=JOBS_SCHEMA)


def _by_spec(recs: list[BulkJob]) -> list[tuple[SimpleSpec, list[BulkJob]]]:
    """``recs`` grouped by spec, in order within each group."""
    if not recs:
        return []
    first = recs[0].spec
    if all(r.spec is first for r in recs):
        return [(first, recs)]
    groups: dict[int, tuple[SimpleSpec, list[BulkJob]]] = {}
    for r in recs:
        group = groups.get(id(r.spec))
        if group is None:
            group = groups[id(r.spec)] = (r.spec, [])
        group[1].append(r)
    return list(groups.values())
