"""Clusters: the nodes (agents) a central schedules onto.

Node info mirrors what a BenchHub agent registers with (id, host, address, preferred
role, provider, capacity) plus ``labels`` and the simulation-only ``speed`` (simulated
durations are divided by it) and fault parameters.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from benchhub_sim.display import counts_text, html_table, plural, value_range
from benchhub_sim.errors import ClusterError, Problem, SpecError
from benchhub_sim.params import require, whole
from benchhub_sim.spec.load import parse_yaml
from benchhub_sim.spec.model import Role
from benchhub_sim.spec.validate import Locator, did_you_mean, format_path

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Node:
    """One node as its agent registers it (BenchHub's ``NodeInfo``), plus *sim* fields.

    Capacity keeps total and free apart as BenchHub does: ``mem_mb`` and ``disk_mb``
    are totals (what assignment requirements are checked against), ``mem_free_mb`` and
    ``disk_free_mb`` what was free when the agent started (None: not known).
    ``start_time`` and ``boot_time`` are unix seconds (agent process start, machine
    boot). ``reporting_time`` and ``cleanup_time`` (*sim*) are the seconds the node's
    agent spends in job states ``reporting`` and ``cleanup`` after each job, before it
    is idle again.
    """

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
    bind_addr: str = ""
    remote_addr: str = ""
    provider_region: str = ""
    provider_instance: str = ""
    mem_free_mb: float | None = None
    disk_free_mb: float | None = None
    start_time: float | None = None
    boot_time: float | None = None
    #: *sim* seconds in job states reporting and cleanup after each job
    reporting_time: float = 0.0
    cleanup_time: float = 0.0

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

    def role_counts(self) -> dict[str, int]:
        """Nodes per preferred role, roles in order of first appearance."""
        counts: dict[str, int] = {}
        for n in self.nodes:
            counts[n.role.value] = counts.get(n.role.value, 0) + 1
        return counts

    def __repr__(self) -> str:
        name = f" {self.name}" if self.name else ""
        return f"<Cluster{name}: {plural(len(self), 'node')}: {counts_text(self.role_counts())}>"

    def _repr_html_(self) -> str:
        """The nodes by role: how many, their capacity and speed, their ids."""
        rows = []
        for role in self.role_counts():
            nodes = [n for n in self.nodes if n.role.value == role]
            ids = nodes[0].node_id + (f" … {nodes[-1].node_id}" if len(nodes) > 1 else "")
            rows.append(
                (
                    role,
                    len(nodes),
                    value_range(n.cores for n in nodes),
                    value_range((n.mem_mb / 1024 for n in nodes), ",.3g"),
                    value_range((n.disk_mb / 1024 for n in nodes), ",.4g"),
                    value_range(n.speed for n in nodes),
                    sum(n.mtbf is not None for n in nodes),
                    ids,
                )
            )
        header = ["role", "nodes", "cores", "memory (GB)", "disk (GB)", "speed", "may fail", "ids"]
        caption = f"cluster {self.name}: {len(self)} nodes" if self.name else f"{len(self)} nodes"
        return html_table(header, rows, caption=caption, numeric=[False] + [True] * 6 + [False])

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.node_id == node_id:
                return n
        raise KeyError(node_id)

    @classmethod
    def uniform(
        cls, n: int, *, role: Role = Role.ANY, prefix: str = "node", **info: object
    ) -> Cluster:
        """``n`` identical nodes ``prefix-0 .. prefix-(n-1)``; ``n`` must be a whole number >= 1."""
        require(ClusterError, [whole("nodes", n)])
        return cls(tuple(Node(f"{prefix}-{i}", role=role, **info) for i in range(n)))  # type: ignore[arg-type]


# --- loading -------------------------------------------------------------------------
#
# Three input forms (see :func:`load_cluster`). Every form is read from a composed YAML
# tree so each problem names its line; problems are collected, then raised together.

_Path = tuple[str | int, ...]

_SNAPSHOT_ENTRY_KEYS = ("info", "status")
_INFO_KEYS = ("id", "host", "addr", "config", "provider", "capacity", "property", "labels")
_ADDR_KEYS = ("ip", "bindAddr", "remoteAddr")
_CONFIG_KEYS = ("role", "provider", "labels")
_PROVIDER_KEYS = ("name", "region", "instance")
_CAPACITY_KEYS = (
    "cores",
    "memory",
    "disk",
    "memoryTotal",
    "memoryFree",
    "diskTotal",
    "diskFree",
)
_PROPERTY_KEYS = ("host", "startTime", "bootTime")
_AGENT_NODE_KEYS = ("id", "role", "provider", "host", "ip", "labels", "capacity")
_AGENT_GRPC_KEYS = ("addr", "secure", "cert", "key", "enableTracing")
_COMPACT_TOP_KEYS = ("name", "nodes")
_COMPACT_NODE_KEYS = (
    "id",
    "role",
    "count",
    "cores",
    "mem_mb",
    "disk_mb",
    "ip",
    "host",
    "provider",
    "labels",
    "speed",
    "mtbf",
    "mttr",
    "bind_addr",
    "remote_addr",
    "mem_free_mb",
    "disk_free_mb",
    "start_time",
    "boot_time",
    "reporting_time",
    "cleanup_time",
)


class _Doc:
    """A parsed document: plain data, the line of every path, and the problems found."""

    def __init__(self, where: str, lines: dict[_Path, int] | None = None) -> None:
        self.where = where
        self.lines = lines or {}
        self.problems: list[Problem] = []

    def line(self, path: _Path) -> int | None:
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    def error(self, path: _Path, message: str) -> None:
        self.problems.append(Problem(self.where, self.line(path), format_path(path), message))

    def mapping(self, value: Any, path: _Path, allowed: Sequence[str]) -> dict[str, Any]:
        """``value`` as a mapping of allowed keys; reports wrong types and unknown keys."""
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.error(path, f"expected a mapping, found {_kind(value)}")
            return {}
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key not in allowed:
                self.error((*path, str(key)), f"unknown key{did_you_mean(str(key), allowed)}")
            else:
                out[key] = item
        return out

    def string(self, value: Any, path: _Path, default: str = "") -> str:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.error(path, f"expected a string, found {_kind(value)}")
            return default
        return str(value)

    def number(
        self, value: Any, path: _Path, default: float | None, *, positive: bool = True
    ) -> float | None:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(path, f"expected a number, found {_kind(value)}")
            return default
        if positive and not value > 0:
            self.error(path, f"must be positive, found {value}")
            return default
        return float(value)

    def amount(self, value: Any, path: _Path) -> float | None:
        """A number that may be 0 but not negative (free capacity, seconds), or None."""
        number = self.number(value, path, None, positive=False)
        if number is not None and number < 0:
            self.error(path, f"must not be negative, found {number:g}")
            return None
        return number

    def role(self, value: Any, path: _Path) -> Role:
        if value is None:
            return Role.ANY
        text = self.string(value, path, "any").lower()
        try:
            return Role(text)
        except ValueError:
            allowed = ", ".join(r.value for r in Role)
            self.error(path, f"unknown role {value!r} (expected one of {allowed})")
            return Role.ANY

    def labels(self, value: Any, path: _Path) -> tuple[tuple[str, str], ...]:
        """Labels as ``{k: v}`` or BenchHub's ``[{k: ..., v: ...}]``; sorted by key."""
        if value is None:
            return ()
        pairs: dict[str, str] = {}
        if isinstance(value, Mapping):
            for k, v in value.items():
                pairs[str(k)] = self.string(v, (*path, str(k)))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                entry = self.mapping(item, (*path, i), ("k", "v"))
                if "k" not in entry:
                    if isinstance(item, Mapping):
                        self.error((*path, i), "label without 'k'")
                    continue
                pairs[self.string(entry["k"], (*path, i, "k"))] = self.string(
                    entry.get("v"), (*path, i, "v")
                )
        else:
            self.error(path, f"expected a mapping of labels, found {_kind(value)}")
        return tuple(sorted(pairs.items()))

    def raise_if_problems(self) -> None:
        if self.problems:
            # in file order; problems on the same line keep the order they were found in
            ordered = sorted(self.problems, key=lambda p: p.line or 0)
            raise ClusterError(ordered)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    return f"a string ({value!r})"


def _compose(text: str, where: str) -> tuple[Any, dict[_Path, int]]:
    """Parse YAML safely (the spec loader's parser), returning the data and each path's line."""
    loc = Locator(where=where)
    try:
        data = parse_yaml(text, loc)
    except SpecError as exc:
        raise ClusterError(exc.problems) from None
    if loc.problems:
        raise ClusterError(loc.problems)
    return data, loc.lines


def load_cluster(source: str | os.PathLike[str] | Mapping[str, Any] | Sequence[Any]) -> Cluster:
    """Load a cluster from a YAML or Parquet file, YAML text, or already parsed data.

    Three YAML forms are read:

    * BenchHub's node snapshot, a list of ``- info: {id, addr: {ip}, host, config:
      {role, provider, labels}, provider, capacity: {cores, memory, disk}}`` (memory and
      disk in MB; ``memoryTotal``/``diskTotal`` are read too);
    * BenchHub's agent config, ``node: {role, provider: {name, ...}}``: one node whose
      id is ``node.id`` or else the file's stem (``agent`` for text);
    * a compact form, ``{name: ..., nodes: [{id, role, count, cores, mem_mb, disk_mb, ip,
      host, provider, labels, speed, mtbf, mttr}]}``, where ``count: 4`` expands the id
      ``db`` to ``db-0 .. db-3`` (and an IPv4 ``ip`` to four consecutive addresses, a
      ``host`` to ``host-0 ..``).

    A ``.parquet`` file is read with :func:`cluster_from_table`.

    Parameters
    ----------
    source : str, path, mapping or list
        A path (``str`` or :class:`os.PathLike`), YAML text (a ``str`` that is not the
        name of a file and does not end in ``.yml``/``.yaml``/``.parquet``), or parsed data.

    Returns
    -------
    Cluster
        Nodes in file order; ``name`` from the compact form's ``name`` or the file stem.

    Raises
    ------
    ClusterError
        Listing every problem as ``file:line: path: message``.

    Examples
    --------
    >>> c = load_cluster("nodes: [{id: db, role: database, count: 2}, {id: cli}]")
    >>> [(n.node_id, n.role.value) for n in c.nodes]
    [('db-0', 'database'), ('db-1', 'database'), ('cli', 'any')]
    """
    stem = "agent"
    if isinstance(source, os.PathLike) or (isinstance(source, str) and _looks_like_path(source)):
        path = Path(source)
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            try:
                table = pq.read_table(path)
            except (OSError, ValueError) as exc:
                if not path.exists():
                    raise FileNotFoundError(2, "No such file", str(path)) from None
                raise ClusterError([Problem(str(path), None, "", f"cannot read: {exc}")]) from None
            cluster = cluster_from_table(table, where=str(path))
            return Cluster(cluster.nodes, name=path.stem, source=str(path))
        text = path.read_text(encoding="utf-8")
        doc = _Doc(str(path))
        data, doc.lines = _compose(text, doc.where)
        stem, where, name = path.stem, str(path), path.stem
    elif isinstance(source, str):
        doc = _Doc("<string>")
        data, doc.lines = _compose(source, doc.where)
        where, name = "", ""
    else:
        doc = _Doc("<data>")
        data, where, name = source, "", ""

    nodes, given_name = _parse(doc, data, stem)
    _check_unique(doc, nodes)
    doc.raise_if_problems()
    return Cluster(tuple(n for n, _ in nodes), name=given_name or name, source=where)


def _looks_like_path(text: str) -> bool:
    if "\n" in text:
        return False
    return text.lower().endswith(_SUFFIXES) or os.path.isfile(text)


_SUFFIXES = (".yml", ".yaml", ".parquet")


def _parse(doc: _Doc, data: Any, stem: str) -> tuple[list[tuple[Node, _Path]], str]:
    if isinstance(data, list):
        return [_snapshot_node(doc, item, (i,)) for i, item in enumerate(data)], ""
    if isinstance(data, Mapping) and "nodes" in data:
        top = doc.mapping(data, (), _COMPACT_TOP_KEYS)
        name = doc.string(top.get("name"), ("name",))
        entries = top.get("nodes")
        if not isinstance(entries, list):
            doc.error(("nodes",), f"expected a list of nodes, found {_kind(entries)}")
            return [], name
        out: list[tuple[Node, _Path]] = []
        for i, item in enumerate(entries):
            out.extend(_compact_nodes(doc, item, ("nodes", i)))
        return out, name
    if isinstance(data, Mapping) and "node" in data:
        # The rest of an agent config (grpc, http, central, heartbeat) does not matter here.
        return [_agent_node(doc, data["node"], ("node",), stem, data.get("grpc"))], ""
    doc.error(
        (),
        "expected a node snapshot (a list of '- info: ...'), an agent config "
        f"('node: ...') or a compact cluster ('nodes: [...]'), found {_kind(data)}",
    )
    return [], ""


def _snapshot_node(doc: _Doc, item: Any, path: _Path) -> tuple[Node, _Path]:
    entry = doc.mapping(item, path, _SNAPSHOT_ENTRY_KEYS)
    ipath = (*path, "info")
    if "info" not in entry and isinstance(item, Mapping):
        doc.error(path, "missing 'info'")
    info = doc.mapping(entry.get("info"), ipath, _INFO_KEYS)
    node_id = doc.string(info.get("id"), (*ipath, "id"))
    if not node_id and "info" in entry:
        doc.error((*ipath, "id"), "missing node id")
    addr = doc.mapping(info.get("addr"), (*ipath, "addr"), _ADDR_KEYS)
    config = doc.mapping(info.get("config"), (*ipath, "config"), _CONFIG_KEYS)
    prop = doc.mapping(info.get("property"), (*ipath, "property"), _PROPERTY_KEYS)
    provider_value = info.get("provider", config.get("provider"))
    provider_path = (*ipath, "provider") if "provider" in info else (*ipath, "config", "provider")
    labels_path = (*ipath, "labels") if "labels" in info else (*ipath, "config", "labels")
    labels = doc.labels(info.get("labels", config.get("labels")), labels_path)
    host = info.get("host", prop.get("host"))
    host_path = (*ipath, "host") if "host" in info else (*ipath, "property", "host")
    ppath = (*ipath, "property")
    node = Node(
        node_id=node_id,
        role=doc.role(config.get("role"), (*ipath, "config", "role")),
        host=doc.string(host, host_path),
        ip=doc.string(addr.get("ip"), (*ipath, "addr", "ip")),
        bind_addr=doc.string(addr.get("bindAddr"), (*ipath, "addr", "bindAddr")),
        remote_addr=doc.string(addr.get("remoteAddr"), (*ipath, "addr", "remoteAddr")),
        **_provider(doc, provider_value, provider_path),
        **_capacity(doc, info.get("capacity"), (*ipath, "capacity")),
        start_time=doc.number(prop.get("startTime"), (*ppath, "startTime"), None, positive=False),
        boot_time=doc.number(prop.get("bootTime"), (*ppath, "bootTime"), None, positive=False),
        labels=labels,
    )
    return node, (*ipath, "id")


def _capacity(doc: _Doc, value: Any, path: _Path) -> dict[str, Any]:
    """BenchHub's ``NodeCapacity`` (MB): ``cores``, ``memoryTotal`` (or ``memory``),
    ``memoryFree``, ``diskTotal`` (or ``disk``), ``diskFree``, as Node fields. A total
    that is not given is the free amount when that is (the node has at least that), else
    the default; a free amount above its total is an error."""
    cap = doc.mapping(value, path, _CAPACITY_KEYS)
    default = Node("x")
    out: dict[str, Any] = {"cores": _num(doc, cap, "cores", path, default.cores)}
    for kind, prefix in (("memory", "mem"), ("disk", "disk")):
        free_key = f"{kind}Free"
        free = doc.amount(cap.get(free_key), (*path, free_key))
        total_key = f"{kind}Total" if f"{kind}Total" in cap else kind
        total = doc.number(cap.get(total_key), (*path, total_key), None)
        if total is not None and free is not None and free > total:
            doc.error((*path, free_key), f"{free:g} MB free is more than the {total:g} MB total")
        fallback = getattr(default, f"{prefix}_mb")
        out[f"{prefix}_mb"] = total if total is not None else free if free is not None else fallback
        out[f"{prefix}_free_mb"] = free
    return out


def _provider(doc: _Doc, value: Any, path: _Path) -> dict[str, Any]:
    """A provider is a name, or BenchHub's ``{name, region, instance}``: as Node fields."""
    if isinstance(value, Mapping):
        p = doc.mapping(value, path, _PROVIDER_KEYS)
        return {
            "provider": doc.string(p.get("name"), (*path, "name")),
            "provider_region": doc.string(p.get("region"), (*path, "region")),
            "provider_instance": doc.string(p.get("instance"), (*path, "instance")),
        }
    return {"provider": doc.string(value, path)}


def _agent_node(
    doc: _Doc, value: Any, path: _Path, stem: str, grpc: Any = None
) -> tuple[Node, _Path]:
    """The node of an agent config; its ``grpc.addr`` is the address it binds."""
    node = doc.mapping(value, path, _AGENT_NODE_KEYS)
    if not isinstance(value, Mapping):
        return Node(stem), path
    server = doc.mapping(grpc, ("grpc",), _AGENT_GRPC_KEYS)
    result = Node(
        node_id=doc.string(node.get("id"), (*path, "id"), stem) or stem,
        role=doc.role(node.get("role"), (*path, "role")),
        host=doc.string(node.get("host"), (*path, "host")),
        ip=doc.string(node.get("ip"), (*path, "ip")),
        bind_addr=doc.string(server.get("addr"), ("grpc", "addr")),
        **_provider(doc, node.get("provider"), (*path, "provider")),
        **_capacity(doc, node.get("capacity"), (*path, "capacity")),
        labels=doc.labels(node.get("labels"), (*path, "labels")),
    )
    return result, (*path, "id")


def _compact_nodes(doc: _Doc, item: Any, path: _Path) -> list[tuple[Node, _Path]]:
    entry = doc.mapping(item, path, _COMPACT_NODE_KEYS)
    if not isinstance(item, Mapping):
        return []
    node_id = doc.string(entry.get("id"), (*path, "id"))
    if not node_id:
        doc.error(path, "missing node id ('id')")
        return []
    count_value = entry.get("count", 1)
    count = 1
    if isinstance(count_value, bool) or not isinstance(count_value, int):
        doc.error((*path, "count"), f"expected an integer, found {_kind(count_value)}")
    elif count_value < 1:
        doc.error((*path, "count"), f"must be at least 1, found {count_value}")
    else:
        count = count_value
    default = Node("x")

    def optional(key: str) -> float | None:
        return doc.amount(entry.get(key), (*path, key))

    base = Node(
        node_id=node_id,
        role=doc.role(entry.get("role"), (*path, "role")),
        host=doc.string(entry.get("host"), (*path, "host")),
        ip=doc.string(entry.get("ip"), (*path, "ip")),
        bind_addr=doc.string(entry.get("bind_addr"), (*path, "bind_addr")),
        remote_addr=doc.string(entry.get("remote_addr"), (*path, "remote_addr")),
        **_provider(doc, entry.get("provider"), (*path, "provider")),
        cores=_num(doc, entry, "cores", path, default.cores),
        mem_mb=_num(doc, entry, "mem_mb", path, default.mem_mb),
        mem_free_mb=optional("mem_free_mb"),
        disk_mb=_num(doc, entry, "disk_mb", path, default.disk_mb),
        disk_free_mb=optional("disk_free_mb"),
        start_time=optional("start_time"),
        boot_time=optional("boot_time"),
        labels=doc.labels(entry.get("labels"), (*path, "labels")),
        speed=_num(doc, entry, "speed", path, default.speed),
        mtbf=doc.number(entry.get("mtbf"), (*path, "mtbf"), None),
        mttr=doc.number(entry.get("mttr"), (*path, "mttr"), None),
        reporting_time=optional("reporting_time") or 0.0,
        cleanup_time=optional("cleanup_time") or 0.0,
    )
    for prefix in ("mem", "disk"):
        free, total = getattr(base, f"{prefix}_free_mb"), getattr(base, f"{prefix}_mb")
        if free is not None and free > total:
            doc.error(
                (*path, f"{prefix}_free_mb"),
                f"{free:g} MB free is more than the {total:g} MB total",
            )
    id_path = (*path, "id")
    if count == 1 and "count" not in entry:
        return [(base, id_path)]
    ips = _expand_ip(doc, base.ip, count, (*path, "ip"))
    return [
        (
            replace(
                base,
                node_id=f"{node_id}-{i}",
                host=f"{base.host}-{i}" if base.host else "",
                ip=ips[i],
            ),
            id_path,
        )
        for i in range(count)
    ]


def _num(doc: _Doc, entry: Mapping[str, Any], key: str, path: _Path, default: float) -> float:
    value = doc.number(entry.get(key), (*path, key), default)
    return default if value is None else value


def _expand_ip(doc: _Doc, ip: str, count: int, path: _Path) -> list[str]:
    """``count`` consecutive IPv4 addresses from ``ip``; any other address is repeated."""
    if not ip:
        return [""] * count
    try:
        first = ipaddress.IPv4Address(ip)
    except ValueError:
        return [ip] * count
    try:
        return [str(first + i) for i in range(count)]
    except ipaddress.AddressValueError:
        doc.error(path, f"{count} addresses from {ip} run past 255.255.255.255")
        return [ip] * count


def _check_unique(doc: _Doc, nodes: list[tuple[Node, _Path]]) -> None:
    seen: dict[str, _Path] = {}
    for node, path in nodes:
        if not node.node_id:
            continue
        if node.node_id in seen:
            first = format_path(seen[node.node_id]) or "the first node"
            doc.error(path, f"duplicate node id {node.node_id!r} (also at {first})")
        else:
            seen[node.node_id] = path


# --- tables --------------------------------------------------------------------------

#: the columns of :func:`cluster_table`: a node's info, as in :class:`Node`
CLUSTER_COLUMNS = ("node_id", "role", "host", "ip", "provider", "cores", "mem_mb", "disk_mb",
                   "labels", "speed", "mtbf", "mttr", "reporting_time", "cleanup_time")  # fmt: skip


def cluster_table(cluster: Cluster | Iterable[Node]) -> pd.DataFrame:
    """The nodes as a DataFrame: one row per node, the columns of :data:`CLUSTER_COLUMNS`.

    ``role`` is the role's name, ``labels`` a dict, ``mtbf``/``mttr`` NaN for a node
    that never fails. (For the node store's Arrow table, see
    :func:`benchhub_sim.store.nodes.node_table`.)

    Examples
    --------
    >>> cluster_table(load_cluster("nodes: [{id: db, role: database, count: 2}, {id: c}]"))[
    ...     ["node_id", "role", "cores"]
    ... ]
      node_id      role  cores
    0    db-0  database    1.0
    1    db-1  database    1.0
    2       c       any    1.0
    """
    import pandas as pd

    nodes = list(cluster.nodes if isinstance(cluster, Cluster) else cluster)
    rows = [
        {
            **{c: getattr(n, c) for c in CLUSTER_COLUMNS},
            "role": n.role.value,
            "labels": dict(n.labels),
            "mtbf": float("nan") if n.mtbf is None else n.mtbf,
            "mttr": float("nan") if n.mttr is None else n.mttr,
        }
        for n in nodes
    ]
    return pd.DataFrame(rows, columns=list(CLUSTER_COLUMNS))


def cluster_from_table(table: pa.Table, *, where: str = "<table>") -> Cluster:
    """Nodes from a node store table (the inverse of
    :func:`benchhub_sim.store.nodes.node_table`).

    Only ``node_id`` is required; other columns of
    :data:`~benchhub_sim.store.schema.NODES_SCHEMA` missing from ``table`` take the
    :class:`Node` defaults. Null values take the defaults too.

    Raises
    ------
    ClusterError
        When ``node_id`` is missing or null, ids repeat, a role is unknown, or a capacity
        or speed is not positive.
    """
    doc = _Doc(where)
    if "node_id" not in table.column_names:
        doc.error((), "missing column 'node_id'")
        doc.raise_if_problems()
    rows = table.to_pylist()
    default = Node("x")
    nodes: list[tuple[Node, _Path]] = []
    for i, row in enumerate(rows):
        path: _Path = (f"row {i}",)
        node_id = row.get("node_id")
        if not node_id:
            doc.error((*path, "node_id"), "missing node id")
            continue
        role = doc.role(row.get("role"), (*path, "role"))
        values: dict[str, Any] = {}
        for key in ("cores", "mem_mb", "disk_mb", "speed"):
            value = doc.number(row.get(key), (*path, key), getattr(default, key))
            values[key] = value if value is not None else getattr(default, key)
        for key in ("mem_free_mb", "disk_free_mb", "start_time", "boot_time"):
            values[key] = doc.amount(row.get(key), (*path, key))
        for key in ("reporting_time", "cleanup_time"):
            values[key] = doc.amount(row.get(key), (*path, key)) or 0.0
        for key in ("host", "ip", "bind_addr", "remote_addr", "provider", "provider_region",
                    "provider_instance"):  # fmt: skip
            values[key] = row.get(key) or ""
        labels = row.get("labels") or []
        if isinstance(labels, Mapping):
            labels = list(labels.items())
        node = Node(
            node_id=str(node_id),
            role=role,
            labels=tuple(sorted((str(k), str(v)) for k, v in labels)),
            **values,
        )
        nodes.append((node, (*path, "node_id")))
    _check_unique(doc, nodes)
    doc.raise_if_problems()
    return Cluster(tuple(n for n, _ in nodes), source=where if where != "<table>" else "")
