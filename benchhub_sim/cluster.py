"""Clusters: the nodes (agents) a central schedules onto.

Node info mirrors what a BenchHub agent registers with (id, host, address, preferred
role, provider, capacity) plus ``labels`` and the simulation-only ``speed`` (simulated
durations are divided by it) and fault parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from benchhub_sim.spec.model import Role


@dataclass(frozen=True)
class Node:
    node_id: str
    role: Role = Role.ANY
    host: str = ""
    ip: str = ""
    provider: str = ""
    cores: float = 1.0
    mem_mb: float = 1024.0
    disk_mb: float = 10240.0
    labels: tuple[tuple[str, str], ...] = ()
    speed: float = 1.0
    #: *sim* mean time between failures / to repair, seconds; None: never fails
    mtbf: float | None = None
    mttr: float | None = None

    @property
    def address(self) -> str:
        """What templates render for ``{{.Node.Ip}}``: the ip, else the id."""
        return self.ip or self.node_id

    def label(self, key: str) -> str | None:
        for k, v in self.labels:
            if k == key:
                return v
        return None


@dataclass(frozen=True)
class Cluster:
    nodes: tuple[Node, ...]
    name: str = ""
    source: str = field(default="", compare=False)

    def __len__(self) -> int:
        return len(self.nodes)

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.node_id == node_id:
                return n
        raise KeyError(node_id)

    @classmethod
    def uniform(cls, n: int, *, role: Role = Role.ANY, prefix: str = "node", **info: object) -> Cluster:
        """``n`` identical nodes ``prefix-0 .. prefix-(n-1)``."""
        return cls(tuple(Node(f"{prefix}-{i}", role=role, **info) for i in range(n)))  # type: ignore[arg-type]
