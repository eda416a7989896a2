"""Cluster loading: BenchHub's node snapshot and agent config, the compact form, Parquet."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchhub_sim.cluster import (
    Cluster,
    Node,
    cluster_from_table,
    cluster_table,
    load_cluster,
)
from benchhub_sim.errors import ClusterError
from benchhub_sim.spec.model import Role
from benchhub_sim.store.nodes import node_table
from benchhub_sim.store.schema import NODES_SCHEMA

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / ".." / "shared" / "reference" / "benchhub"
DATA = REPO / "data" / "clusters"


def reference(name: str) -> Path:
    path = REFERENCE / name
    if not path.exists():
        pytest.skip(f"BenchHub reference files not available ({REFERENCE})")
    return path


def messages(exc: pytest.ExceptionInfo[ClusterError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


# --- BenchHub's forms ----------------------------------------------------------------


def test_snapshot_1l1d():
    cluster = load_cluster(reference("nodes_1l1d.yml"))
    assert [(n.node_id, n.role) for n in cluster.nodes] == [
        ("id-loader", Role.LOADER),
        ("id-database", Role.DATABASE),
    ]
    assert cluster.name == "nodes_1l1d"
    # no ip in the snapshot: templates fall back to the node id
    assert [n.address for n in cluster.nodes] == ["id-loader", "id-database"]


def test_snapshot_2a():
    cluster = load_cluster(reference("nodes_2a.yml"))
    assert [n.role for n in cluster.nodes] == [Role.ANY, Role.ANY]


def test_agent_config_is_one_node_named_after_the_file():
    cluster = load_cluster(reference("bhubagent.yml"))
    # bindAddr "is from config": the agent's grpc.addr
    assert cluster.nodes == (
        Node(
            "bhubagent",
            Role.ANY,
            provider="at15-local-cloud",
            provider_region="us-west",
            provider_instance="GameBoyAdvance",
            bind_addr=":6082",
        ),
    )


def test_snapshot_full_info():
    text = """
- info:
    id: n1
    host: h1
    addr: {ip: 10.0.0.1, bindAddr: ":6082", remoteAddr: "10.0.0.1:40022"}
    config:
      role: DATABASE
      provider: {name: aws, region: us-west, instance: m5.large}
      labels: [{k: disk, v: ssd}, {k: rack, v: a}]
    capacity: {cores: 8, memoryTotal: 16384, memoryFree: 12000, diskTotal: 100000, diskFree: 0}
    property: {startTime: 1500000100, bootTime: 1500000000}
  status: {state: NODE_IDLE}
- info:
    id: n2
    property: {host: h2}
    provider: gcp
    capacity: {cores: 2, memory: 2048, disk: 5000}
"""
    n1, n2 = load_cluster(text).nodes
    assert n1 == Node(
        "n1",
        Role.DATABASE,
        host="h1",
        ip="10.0.0.1",
        provider="aws",
        provider_region="us-west",
        provider_instance="m5.large",
        bind_addr=":6082",
        remote_addr="10.0.0.1:40022",
        cores=8,
        mem_mb=16384,
        mem_free_mb=12000,
        disk_mb=100000,
        disk_free_mb=0,
        start_time=1500000100,
        boot_time=1500000000,
        labels=(("disk", "ssd"), ("rack", "a")),
    )
    assert (n2.host, n2.provider, n2.cores, n2.mem_mb, n2.disk_mb) == ("h2", "gcp", 2, 2048, 5000)
    assert (n2.mem_free_mb, n2.disk_free_mb, n2.start_time) == (None, None, None)
    assert n2.role is Role.ANY


def test_capacity_keeps_free_and_total_apart():
    text = """
- info: {id: a, capacity: {memoryFree: 3000}}
- info: {id: b, capacity: {memoryTotal: 2000, memoryFree: 3000, diskFree: -1}}
"""
    with pytest.raises(ClusterError) as info:
        load_cluster(text)
    assert [str(p) for p in info.value.problems] == [
        "<string>:3: [1].info.capacity.memoryFree: 3000 MB free is more than the 2000 MB total",
        "<string>:3: [1].info.capacity.diskFree: must not be negative, found -1",
    ]
    (a,) = load_cluster("- info: {id: a, capacity: {memoryFree: 3000}}").nodes
    assert (a.mem_mb, a.mem_free_mb) == (3000, 3000)  # at least what is free


def test_agent_config_with_id_from_node():
    cluster = load_cluster({"node": {"id": "a1", "role": "loader", "ip": "10.1.1.1"}})
    assert cluster.nodes == (Node("a1", Role.LOADER, ip="10.1.1.1"),)


# --- compact form --------------------------------------------------------------------


def test_compact_count_expands_ids_ips_and_hosts():
    cluster = load_cluster(
        {
            "name": "c",
            "nodes": [
                {"id": "db", "role": "database", "count": 3, "ip": "10.0.0.254", "host": "d"},
                {"id": "x", "labels": {"rack": 1}, "speed": 0.5, "mtbf": 100, "mttr": 5},
            ],
        }
    )
    assert cluster.name == "c"
    assert [(n.node_id, n.ip, n.host) for n in cluster.nodes] == [
        ("db-0", "10.0.0.254", "d-0"),
        ("db-1", "10.0.0.255", "d-1"),
        ("db-2", "10.0.1.0", "d-2"),
        ("x", "", ""),
    ]
    x = cluster.nodes[3]
    assert (x.labels, x.speed, x.mtbf, x.mttr, x.role) == ((("rack", "1"),), 0.5, 100, 5, Role.ANY)


def test_count_one_given_explicitly_still_suffixes():
    cluster = load_cluster("nodes: [{id: db, count: 1}]")
    assert [n.node_id for n in cluster.nodes] == ["db-0"]


def test_errors_are_collected_with_lines_and_paths():
    text = """name: bad
nodes:
  - id: db
    rol: database
    count: 0
  - id: db
    role: DB
    cores: -1
    mem_mb: lots
  - idd: q
  - id: z
    speed: 0
"""
    with pytest.raises(ClusterError) as exc:
        load_cluster(text)
    assert messages(exc) == [
        "<string>:4: nodes[0].rol: unknown key (did you mean 'role'?)",
        "<string>:5: nodes[0].count: must be at least 1, found 0",
        "<string>:7: nodes[1].role: unknown role 'DB' (expected one of any, loader, database, central)",
        "<string>:8: nodes[1].cores: must be positive, found -1",
        "<string>:9: nodes[1].mem_mb: expected a number, found a string ('lots')",
        "<string>:10: nodes[2].idd: unknown key (did you mean 'id'?)",
        "<string>:10: nodes[2]: missing node id ('id')",
        "<string>:12: nodes[3].speed: must be positive, found 0",
    ]


def test_duplicate_ids_after_expansion(tmp_path):
    path = tmp_path / "dup.yml"
    path.write_text("nodes:\n  - {id: a, count: 2}\n  - {id: a-1}\n")
    with pytest.raises(ClusterError) as exc:
        load_cluster(path)
    assert messages(exc) == [
        f"{path}:3: nodes[1].id: duplicate node id 'a-1' (also at nodes[0].id)"
    ]


def test_snapshot_errors():
    text = """- info:
    id: a
    config: {role: loader, rol: x}
- info:
    id: a
- inf: {}
"""
    with pytest.raises(ClusterError) as exc:
        load_cluster(text)
    assert messages(exc) == [
        "<string>:3: [0].info.config.rol: unknown key (did you mean 'role'?)",
        "<string>:5: [1].info.id: duplicate node id 'a' (also at [0].info.id)",
        "<string>:6: [2].inf: unknown key (did you mean 'info'?)",
        "<string>:6: [2]: missing 'info'",
    ]


def test_unknown_form_and_bad_yaml():
    with pytest.raises(ClusterError, match="expected a node snapshot"):
        load_cluster("machines: []")
    # the flow sequence opened on line 2 is still open at the end of the text (line 3)
    with pytest.raises(ClusterError, match=r"^<string>:3: YAML syntax error"):
        load_cluster("nodes:\n  - [unclosed\n")


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_cluster(tmp_path / "nope.yml")


# --- data/clusters -------------------------------------------------------------------


def test_shipped_clusters():
    small = load_cluster(DATA / "small.yml")
    roles = [n.role for n in small.nodes]
    assert (
        roles.count(Role.DATABASE),
        roles.count(Role.LOADER),
        roles.count(Role.ANY),
        len(roles),
    ) == (1, 2, 1, 4)
    big = load_cluster(DATA / "64.yml")
    assert len(big) == 64
    assert len({n.node_id for n in big.nodes}) == 64
    assert {Role.DATABASE, Role.LOADER, Role.ANY} <= {n.role for n in big.nodes}
    assert all(n.labels for n in big.nodes)
    local = load_cluster(DATA / "local.yml")
    assert local.nodes and all(n.ip == "127.0.0.1" and n.role is Role.ANY for n in local.nodes)


# --- Arrow / Parquet -----------------------------------------------------------------


def test_node_table_follows_nodes_schema():
    cluster = Cluster(
        (
            Node("a", Role.DATABASE, host="h", ip="1.2.3.4", cores=4, labels=(("k", "v"),)),
            Node("b", speed=2.0),
        )
    )
    table = node_table(cluster)
    assert table.schema.equals(NODES_SCHEMA)
    assert table.column("state").to_pylist() == ["idle", "idle"]
    assert table.column("registered_time").to_pylist() == [0.0, 0.0]
    assert table.column("job_id").to_pylist() == [None, None]
    assert table.column("role").to_pylist() == ["database", "any"]
    assert table.column("labels").to_pylist() == [[("k", "v")], []]
    assert table.column("speed").to_pylist() == [1.0, 2.0]


def test_compact_form_states_node_info_and_the_time_after_a_job(tmp_path):
    text = """
nodes:
  - id: db
    count: 2
    provider: {name: aws, region: eu-west-1, instance: m5.large}
    bind_addr: ":6081"
    mem_mb: 8192
    mem_free_mb: 4096
    disk_free_mb: 0
    boot_time: 1500000000
    reporting_time: 0.5
    cleanup_time: 2
"""
    db0, db1 = load_cluster(text).nodes
    assert (db0.provider, db0.provider_region, db0.provider_instance) == (
        "aws",
        "eu-west-1",
        "m5.large",
    )
    assert (db1.bind_addr, db1.mem_mb, db1.mem_free_mb, db1.disk_free_mb) == (
        ":6081",
        8192,
        4096,
        0,
    )
    assert (db1.boot_time, db1.reporting_time, db1.cleanup_time) == (1500000000, 0.5, 2.0)
    path = tmp_path / "db.parquet"
    pq.write_table(node_table([db0, db1]), path)
    assert load_cluster(path).nodes == (db0, db1)  # every field a node store column keeps
    with pytest.raises(ClusterError) as exc:
        load_cluster("nodes: [{id: a, mem_mb: 10, mem_free_mb: 20, cleanup_time: -1}]")
    assert messages(exc) == [
        "<string>:1: nodes[0].cleanup_time: must not be negative, found -1",
        "<string>:1: nodes[0].mem_free_mb: 20 MB free is more than the 10 MB total",
    ]


def test_parquet_round_trip(tmp_path):
    cluster = load_cluster(DATA / "small.yml")
    path = tmp_path / "small.parquet"
    pq.write_table(node_table(cluster), path)
    loaded = load_cluster(path)
    assert loaded.nodes == cluster.nodes  # mtbf/mttr are not node store columns: none here
    assert loaded.name == "small"


def test_cluster_table_is_a_dataframe_of_node_info():
    cluster = Cluster(
        (
            Node("a", Role.DATABASE, cores=4, labels=(("k", "v"),), mtbf=100.0, mttr=5.0),
            Node("b", speed=2.0),
        )
    )
    df = cluster_table(cluster)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["node_id", "role", "host", "ip", "provider", "cores", "mem_mb",
                                "disk_mb", "labels", "speed", "mtbf", "mttr", "reporting_time",
                                "cleanup_time"]  # fmt: skip
    assert df["role"].tolist() == ["database", "any"]
    assert df["labels"].tolist() == [{"k": "v"}, {}]
    assert df["cores"].tolist() == [4.0, 1.0] and df["speed"].tolist() == [1.0, 2.0]
    assert df["mtbf"].iloc[0] == 100.0 and math.isnan(df["mtbf"].iloc[1])


def test_cluster_reprs_are_short():
    cluster = load_cluster(DATA / "64.yml")
    text = repr(cluster)
    assert text == "<Cluster c64: 64 nodes: database 8, loader 40, any 16>"
    html = cluster._repr_html_()
    assert html.startswith("<table>") and len(html) < 3000  # a row per role, not per node
    assert html.count("<tr>") == 1 + 3  # header + database, loader, any
    assert ">db-a-0 … db-b-3<" in html


def test_cluster_from_table_minimal_and_errors():
    minimal = pa.table({"node_id": ["x", "y"]})
    assert cluster_from_table(minimal).nodes == (Node("x"), Node("y"))
    bad = pa.table({"node_id": ["x", "x"], "role": ["boss", "any"], "cores": [0.0, 1.0]})
    with pytest.raises(ClusterError) as exc:
        cluster_from_table(bad)
    assert messages(exc) == [
        "<table>: row 0.role: unknown role 'boss' (expected one of any, loader, database, central)",
        "<table>: row 0.cores: must be positive, found 0.0",
        "<table>: row 1.node_id: duplicate node id 'x' (also at row 0.node_id)",
    ]
    with pytest.raises(ClusterError, match="missing column 'node_id'"):
        cluster_from_table(pa.table({"id": ["x"]}))
