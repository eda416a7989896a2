"""The node store: info and current status of every node that ever registered.

One row per node (the info columns of :data:`~benchhub_sim.store.schema.NODES_SCHEMA`,
then its status), in registration order. BenchHub keeps two enums apart, and so does
the store:

- ``state`` is the node's ``NodeState``: ``finding_central``, ``idle``,
  ``running_job``, plus the package's ``offline`` (failed or deregistered);
- ``job_state`` is its ``NodeJobState`` while it serves a job (``running``,
  ``finished``, ``error``, ``waiting_instruction``, ``reporting``, ``cleanup``), null
  otherwise. A ``running_job`` node always has one (``running`` when the event gives
  none); any other state has none.

The node's ``job_id`` is the ``job_id`` of its latest node event (null when that event
names no job), so an engine that writes ``state running_job job_id=17`` then ``state
idle`` leaves the node free. ``heartbeat`` is the time of its latest event but a
``fail`` (every other event is the agent reporting; a failure is the central noticing
it is gone). ``job_count`` is 1 while ``job_id`` is set. ``node_name`` and ``job_role``
are the assignment name(s) and role of the node's latest assignment when it is to the
job the node serves (names joined by ``,`` when loader packing gives the node several
slots of the job).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pyarrow as pa

from benchhub_sim.cluster import Cluster, Node
from benchhub_sim.errors import StoreError
from benchhub_sim.store.rows import canonical, rows_to_batch
from benchhub_sim.store.schema import NODE_JOB_STATES, NODE_STATES, NODES_SCHEMA

_NAMES = NODES_SCHEMA.names
_STATE, _JSTATE = _NAMES.index("state"), _NAMES.index("job_state")
_REGISTERED = _NAMES.index("registered_time")
#: a row keeps the columns up to job_id; table() adds job_count, node_name and job_role
_HEARTBEAT, _JOB = _NAMES.index("heartbeat"), _NAMES.index("job_id")
_LIVE_STATES = frozenset(NODE_STATES) - {"offline"}

_JOB_STATES = frozenset(NODE_JOB_STATES)
#: the state a node event leads to when the caller passes ``state=None``
DEFAULT_STATE = {"register": "idle", "deregister": "offline", "fail": "offline", "recover": "idle"}
#: the job state of a ``running_job`` node when the event gives none
DEFAULT_JOB_STATE = "running"


#: Node fields that are columns of the node store (role and labels besides)
_INFO_FIELDS = (
    "node_id", "host", "ip", "bind_addr", "remote_addr", "provider", "provider_region",
    "provider_instance", "cores", "mem_mb", "mem_free_mb", "disk_mb", "disk_free_mb",
    "start_time", "boot_time", "speed", "reporting_time", "cleanup_time",
)  # fmt: skip


def node_table(cluster: Cluster | Iterable[Node]) -> pa.Table:
    """The cluster as a node store table of :data:`~benchhub_sim.store.schema.NODES_SCHEMA`.

    Every node is ``idle``, registered at time 0, running no job. ``mtbf``/``mttr`` are
    not columns of the node store and are not kept. Written to Parquet, it loads back
    with :func:`~benchhub_sim.cluster.load_cluster`.

    Examples
    --------
    >>> t = node_table(Cluster.uniform(2))
    >>> t.column("node_id").to_pylist(), t.column("state").to_pylist()
    (['node-0', 'node-1'], ['idle', 'idle'])
    """
    nodes = list(cluster.nodes if isinstance(cluster, Cluster) else cluster)
    n = len(nodes)
    columns: dict[str, list] = {
        name: [getattr(node, name) for node in nodes] for name in _INFO_FIELDS
    }
    columns["role"] = [node.role.value for node in nodes]
    columns["labels"] = [list(node.labels) for node in nodes]
    for name in ("host", "ip", "bind_addr", "remote_addr", "provider", "provider_region",
                 "provider_instance"):  # fmt: skip
        columns[name] = [value or None for value in columns[name]]
    columns.update(
        state=["idle"] * n, registered_time=[0.0] * n, heartbeat=[0.0] * n, job_count=[0] * n
    )
    arrays = [pa.array(columns.get(f.name, [None] * n), type=f.type) for f in NODES_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=NODES_SCHEMA)


def node_info_row(node: Node) -> list:
    """The info columns of a nodes row, then empty status columns (filled later)."""
    return [
        node.node_id,
        node.host or None,
        node.ip or None,
        node.bind_addr or None,
        node.remote_addr or None,
        str(getattr(node.role, "value", node.role)),
        node.provider or None,
        node.provider_region or None,
        node.provider_instance or None,
        float(node.cores),
        float(node.mem_mb),
        node.mem_free_mb,
        float(node.disk_mb),
        node.disk_free_mb,
        node.start_time,
        node.boot_time,
        list(node.labels),
        float(node.speed),
        float(node.reporting_time),
        float(node.cleanup_time),
        None,
        None,
        None,
        None,
        None,
    ]


def job_state_of(node_id: str, state: str, job_state: str | None) -> str | None:
    """The job state a node in ``state`` ends up in; :class:`StoreError` when illegal."""
    if state == "running_job":
        if job_state is None:
            return DEFAULT_JOB_STATE
        if job_state not in _JOB_STATES:
            raise StoreError(
                f"node {node_id}: unknown job state {job_state!r} (expected one of "
                f"{', '.join(NODE_JOB_STATES)})"
            )
        return job_state
    if job_state is not None:
        raise StoreError(
            f"node {node_id}: job state {job_state!r} needs state running_job, not {state!r}"
        )
    return None


class NodeStore:
    """Live snapshot of the nodes: info + status + the job each one serves.

    Mutated only through :class:`~benchhub_sim.store.store.Store`, which calls
    :meth:`check` before :meth:`apply`.
    """

    def __init__(self) -> None:
        self.rows: dict[str, list] = {}
        self.deregistered: set[str] = set()
        #: node_id -> (job_id, slot names, role) of its latest assignment
        self.assigned: dict[str, tuple[int, list[str], str | None]] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.rows

    def state(self, node_id: str) -> str | None:
        """Current state of ``node_id`` (None when it never registered)."""
        row = self.rows.get(node_id)
        return None if row is None else row[_STATE]

    def job_state(self, node_id: str) -> str | None:
        """Current job state of ``node_id`` (None when it serves no job)."""
        row = self.rows.get(node_id)
        return None if row is None else row[_JSTATE]

    def is_live(self, node_id: str) -> bool:
        """True when the node is registered and not offline."""
        row = self.rows.get(node_id)
        return row is not None and row[_STATE] != "offline"

    def check(self, node_id: str, event: str, state: str | None, new_info: bool) -> str:
        """Raise :class:`StoreError` unless ``event`` is legal now; return the new state."""
        row = self.rows.get(node_id)
        who = f"node {node_id}"
        if state is None:
            state = DEFAULT_STATE.get(event)
            if state is None:
                raise StoreError(f"{who}: event {event!r} needs a state")
        if event == "register":
            if row is not None and node_id not in self.deregistered:
                raise StoreError(f"{who}: registered twice without deregistering")
            if row is None and not new_info:
                raise StoreError(f"{who}: cannot register: no node info (use Store.add_node)")
            if state not in _LIVE_STATES:
                raise StoreError(f"{who}: cannot register in state {state!r}")
            return state
        if row is None:
            raise StoreError(f"{who}: cannot {event}: not registered")
        current = row[_STATE]
        if node_id in self.deregistered:
            raise StoreError(f"{who}: cannot {event}: deregistered (state is {current})")
        if event == "state":
            if state not in _LIVE_STATES:
                raise StoreError(
                    f"{who}: cannot change state to {state!r}: not one of "
                    f"{', '.join(sorted(_LIVE_STATES))} (use fail or deregister to go offline)"
                )
            if current == "offline":
                raise StoreError(f"{who}: cannot change state to {state}: state is offline")
        elif event == "fail":
            if current == "offline":
                raise StoreError(f"{who}: cannot fail: state is offline")
            if state != "offline":
                raise StoreError(f"{who}: fail must lead to state offline, got {state!r}")
        elif event == "recover":
            if current != "offline":
                raise StoreError(f"{who}: cannot recover: state is {current}")
            if state not in _LIVE_STATES:
                raise StoreError(f"{who}: cannot recover to state {state!r}")
        elif event == "deregister":
            if state != "offline":
                raise StoreError(f"{who}: deregister must lead to state offline, got {state!r}")
        else:
            raise StoreError(f"{who}: unknown node event {event!r}")
        return state

    def apply(
        self,
        time: float,
        node_id: str,
        event: str,
        state: str,
        job_id: int | None,
        info: Node | None = None,
        job_state: str | None = None,
    ) -> None:
        """Update the snapshot for a checked event (``job_state`` as :func:`job_state_of` gave it)."""
        if info is not None:
            self.rows[node_id] = node_info_row(info)
        row = self.rows[node_id]
        row[_STATE] = state
        row[_JSTATE] = job_state
        row[_JOB] = job_id
        if event != "fail":
            row[_HEARTBEAT] = time
        if event == "register":
            row[_REGISTERED] = time
            self.deregistered.discard(node_id)
        elif event == "deregister":
            self.deregistered.add(node_id)

    def set_state(
        self,
        time: float,
        node_id: str,
        state: str | None,
        job_state: str | None,
        job_id: int | None,
    ) -> bool:
        """Apply a legal ``state`` event at once (the engine's usual node event).

        Returns False, changing nothing, when the event is not plainly legal: the caller
        then goes through :meth:`check` (which raises with the message) and :meth:`apply`.
        """
        row = self.rows.get(node_id)
        if (
            state not in _LIVE_STATES
            or row is None
            or row[_STATE] == "offline"
            or node_id in self.deregistered
            or (job_state is None) == (state == "running_job")
            or (job_state is not None and job_state not in _JOB_STATES)
        ):
            return False
        row[_STATE] = state
        row[_JSTATE] = job_state
        row[_JOB] = job_id
        row[_HEARTBEAT] = time
        return True

    def set_states(
        self,
        time: float,
        node_ids: Sequence[str],
        state: str,
        job_state: str | None,
        job_id: int | None,
    ) -> bool:
        """:meth:`set_state` for several nodes, all or none: False (changing nothing)
        unless the event is plainly legal for every one of them."""
        rows = self.rows
        if (
            state not in _LIVE_STATES
            or (job_state is None) == (state == "running_job")
            or (job_state is not None and job_state not in _JOB_STATES)
            or self.deregistered.intersection(node_ids)
        ):
            return False
        for node_id in node_ids:
            row = rows.get(node_id)
            if row is None or row[_STATE] == "offline":
                return False
        for node_id in node_ids:
            row = rows[node_id]
            row[_STATE] = state
            row[_JSTATE] = job_state
            row[_JOB] = job_id
            row[_HEARTBEAT] = time
        return True

    def heard(self, node_ids: Sequence[str], times: Sequence[float]) -> None:
        """Set the heartbeat of each node to its time: for an engine that logged their
        ``state`` events itself (batch mode) and leaves them in the state they were in."""
        rows = self.rows
        for node_id, time in zip(node_ids, times, strict=True):
            rows[node_id][_HEARTBEAT] = time

    def assign(self, node_id: str, job_id: int, name: str | None, role: str | None) -> None:
        """Record that slot ``name`` of job ``job_id`` (asking for ``role``) is bound to the node."""
        held = self.assigned.get(node_id)
        if held is not None and held[0] == job_id:
            held[1].append(name)  # type: ignore[arg-type]
        else:
            self.assigned[node_id] = (job_id, [name] if name is not None else [], role)

    def table(self) -> pa.Table:
        """The nodes table, in registration order, canonical."""
        assigned = self.assigned
        rows = []
        for node_id, row in self.rows.items():
            job_id = row[_JOB]
            names = role = None
            held = assigned.get(node_id)
            if job_id is not None and held is not None and held[0] == job_id:
                names = ",".join(held[1]) or None
                role = held[2]
            rows.append((*row, 0 if job_id is None else 1, names, role))
        batch = rows_to_batch(rows, NODES_SCHEMA)
        return canonical(pa.Table.from_batches([batch], schema=NODES_SCHEMA), NODES_SCHEMA)

    def by_state(self) -> dict[str, int]:
        """Number of nodes in each state."""
        out: dict[str, int] = {}
        for row in self.rows.values():
            out[row[_STATE]] = out.get(row[_STATE], 0) + 1
        return out
