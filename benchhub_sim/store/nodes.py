"""The node store: info and current state of every node that ever registered.

One row per node (info columns of :data:`~benchhub_sim.store.schema.NODES_SCHEMA`, then
``state``, ``registered_time`` and ``job_id``). Rows stay in registration order. The
node's ``job_id`` is the ``job_id`` of its latest node event (null when that event names
no job), so an engine that writes ``state running_job job_id=17`` then ``state idle``
leaves the node free.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from benchhub_sim.cluster import Node
from benchhub_sim.errors import StoreError
from benchhub_sim.store.rows import canonical, rows_to_batch
from benchhub_sim.store.schema import NODE_STATES, NODES_SCHEMA

_STATE, _REGISTERED, _JOB = 10, 11, 12
_LIVE_STATES = frozenset(NODE_STATES) - {"offline"}
#: the state a node event leads to when the caller passes ``state=None``
DEFAULT_STATE = {"register": "idle", "deregister": "offline", "fail": "offline", "recover": "idle"}


def node_info_row(node: Node) -> list:
    """The info columns of a nodes row (``state``, times and job filled later)."""
    return [
        node.node_id,
        node.host or None,
        node.ip or None,
        str(getattr(node.role, "value", node.role)),
        node.provider or None,
        float(node.cores),
        float(node.mem_mb),
        float(node.disk_mb),
        list(node.labels),
        float(node.speed),
        None,
        None,
        None,
    ]


class NodeStore:
    """Live snapshot of the nodes: info + state + the job each one runs.

    Mutated only through :class:`~benchhub_sim.store.store.Store`, which calls
    :meth:`check` before :meth:`apply`.
    """

    def __init__(self) -> None:
        self.rows: dict[str, list] = {}
        self.deregistered: set[str] = set()

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.rows

    def state(self, node_id: str) -> str | None:
        """Current state of ``node_id`` (None when it never registered)."""
        row = self.rows.get(node_id)
        return None if row is None else row[_STATE]

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
    ) -> None:
        """Update the snapshot for a checked event."""
        if info is not None:
            self.rows[node_id] = node_info_row(info)
        row = self.rows[node_id]
        row[_STATE] = state
        row[_JOB] = job_id
        if event == "register":
            row[_REGISTERED] = time
            self.deregistered.discard(node_id)
        elif event == "deregister":
            self.deregistered.add(node_id)

    def set_state(self, node_id: str, state: str | None, job_id: int | None) -> bool:
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
        ):
            return False
        row[_STATE] = state
        row[_JOB] = job_id
        return True

    def set_states(self, node_ids: Sequence[str], state: str, job_id: int | None) -> bool:
        """:meth:`set_state` for several nodes, all or none: False (changing nothing)
        unless the event is plainly legal for every one of them."""
        rows = self.rows
        if state not in _LIVE_STATES or self.deregistered.intersection(node_ids):
            return False
        for node_id in node_ids:
            row = rows.get(node_id)
            if row is None or row[_STATE] == "offline":
                return False
        for node_id in node_ids:
            row = rows[node_id]
            row[_STATE] = state
            row[_JOB] = job_id
        return True

    def table(self) -> pa.Table:
        """The nodes table, in registration order, canonical."""
        batch = rows_to_batch([tuple(r) for r in self.rows.values()], NODES_SCHEMA)
        return canonical(pa.Table.from_batches([batch], schema=NODES_SCHEMA), NODES_SCHEMA)

    def by_state(self) -> dict[str, int]:
        """Number of nodes in each state."""
        out: dict[str, int] = {}
        for row in self.rows.values():
            out[row[_STATE]] = out.get(row[_STATE], 0) + 1
        return out
