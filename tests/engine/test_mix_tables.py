"""The BenchHub mix's tables, value for value, against digests of the tables main's
engine wrote before the mix's per-event path was made faster (commit e35c37e).

The mix (pingpong, db-loaders, oltp: pipelines, background servers, readiness checks,
stoppers, loaders on several nodes, a failure probability with a retry) runs through
the general loop, with node failures that abort jobs mid-stage. A change that moves one
value of one row of one table fails here; a change of format on purpose (a new schema
version) updates the digests with it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pytest

from benchhub_sim.simulate import simulate
from benchhub_sim.spec.load import load_spec
from benchhub_sim.workload.arrivals import poisson_arrivals

DATA = Path(__file__).resolve().parents[2] / "data"
FAULTS = [(60.0, "db-a-0", 100.0), (200.0, "loader-a-1", 50.0), (300.0, "any-2", 10.0)]
#: loaders are scarce: db-loaders packs its three loader slots on fewer nodes
SMALL = """name: small
nodes:
  - {id: db, role: database, count: 2, cores: 16, mem_mb: 65536, disk_mb: 1048576}
  - {id: ld, role: loader, count: 2, cores: 8, mem_mb: 16384}
  - {id: any, role: any, count: 1, cores: 8, mem_mb: 32768}
"""

DIGESTS = {
    "faults": {
        "nodes": "9aeec2b3900ab30c87c9d4c9d4f144a5a1c5bc46e54583e3db32f264f9993da7",
        "jobs": "5a14431eb2e64504ba075aab41fb01d93ece44da0eed22672c379e865a8cb07d",
        "assignments": "ea44af104c39f55e3aeb124da2e6d77aab16f6a417aa09cde9316dbb2fe78d30",
        "stage_pipelines": "3bf7569b29d4355f66b3d8e7202337dfb561a34a2353f94528afcee4f30eae9f",
        "stages": "629bef16331b54016bcb783219cdf3ed7468747f10393ace55210caac71e6ee5",
        "task_pipelines": "3dd84662a2bec0c812ce7c7e4dcc49c4d4f568b41e38d8a7fbb19949bf129e33",
        "tasks": "48a6186144cea6da052fcc796d5e0f5271b357ef69ae9228dd279b04e69c324d",
        "node_events": "ff11ac1e47fa694d63f6be8667842c417288c11d5b59f808bf32cbd2befe4de3",
        "job_events": "40ea83e884c36ced41c2e5ac4e61cf5d243c40095245ef66c7d9042cf7047f2b",
    },
    "packed": {
        "nodes": "19f41042fa0a02e3ab554c62c2be401067973219298a5d194622efa2d512b264",
        "jobs": "eb92f16eb1479464011153d0ddfe789f3ce7acb88bf3df95e49474cd51ee13ae",
        "assignments": "ce05a87f72d5d5dfc23c5660265917394379ff8b7ff896d04502c6d9a2ded29f",
        "stage_pipelines": "180c617723ecc7097cef6ee987be9a8630a3428e0132cf98a27d53d14c373215",
        "stages": "828e288d42067c4b6973191b04527d9b1fac7b0443a4d8fde0c6e6cd599ba8f9",
        "task_pipelines": "0c3d1cf3ad8fd273fc9fae976ddc775b5943f0cc0fd1cd8b7f3a9e1c69189685",
        "tasks": "1bad59dd51042ba8e1867b4334dc058a91d902c30e90241860533218e0a16e83",
        "node_events": "7836a7b59bacafe939ca1188552b82f48fb88e807d962989161a75f36462865a",
        "job_events": "1a9cc692f38738e3f54b821cea5e79cc9496e0220d03f80cf808537d4cea5494",
    },
}


def digest(table: pa.Table) -> str:
    """SHA-256 of the table's schema and rows (floats as their exact repr)."""
    text = json.dumps([str(table.schema), table.to_pylist()], default=repr, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def mix_tables(kind: str, tmp_path: Path) -> dict[str, pa.Table]:
    specs = [load_spec(DATA / "specs" / f"{s}.yml") for s in ("pingpong", "db-loaders", "oltp")]
    jobs = poisson_arrivals(specs, rate=0.5, count=40, seed=3)
    if kind == "faults":
        run = simulate(DATA / "clusters" / "64.yml", jobs, seed=3, faults=FAULTS)
    else:
        cluster = tmp_path / "small.yml"
        cluster.write_text(SMALL)
        run = simulate(cluster, jobs, seed=3, policy="easy", max_loader_pack=2, check=False)
    return dict(run.tables)


@pytest.mark.parametrize("kind", sorted(DIGESTS))
def test_mix_tables_equal_main_before_the_speed_work(kind, tmp_path):
    tables = mix_tables(kind, tmp_path)
    assert {name: digest(t) for name, t in tables.items()} == DIGESTS[kind]
