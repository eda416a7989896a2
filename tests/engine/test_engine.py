"""``engine/engine.py``'s helpers: the spec text it dumps (libyaml only where it writes
what PyYAML writes), the collector while the loop runs, and a run that lets ended jobs
go (the central's queue)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from benchhub_sim.cluster import Cluster
from benchhub_sim.engine.central import JobQueue
from benchhub_sim.engine.engine import Engine, dump_yaml, fewer_collections
from benchhub_sim.spec.load import dump_spec, load_spec
from benchhub_sim.store import History, Store
from benchhub_sim.workload.arrivals import fixed_arrivals

from .builders import one_task

DATA = Path(__file__).resolve().parents[2] / "data"

# -- spec text: libyaml's emitter only where it writes the same text ------------------


def test_dump_yaml_of_every_data_spec_is_safe_dump():
    specs = sorted((DATA / "specs").glob("*.yml"))
    if not specs:
        pytest.skip("no data/specs")
    for path in specs:
        data = dump_spec(load_spec(path))
        assert dump_yaml(data) == yaml.safe_dump(data, sort_keys=False), path.name


_text = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=120),  # libyaml
    st.text(alphabet=st.characters(min_codepoint=9, max_codepoint=300), max_size=120),
)
_yaml_data = st.recursive(
    st.one_of(_text, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_text, inner, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=examples(50), deadline=None)
@given(data=st.dictionaries(_text, _yaml_data, min_size=1, max_size=4))
def test_dump_yaml_is_safe_dump(data):
    assert dump_yaml(data) == yaml.safe_dump(data, sort_keys=False)


def test_long_folded_strings_take_the_python_emitter():
    # libyaml folds this double-quoted scalar elsewhere than PyYAML does
    data = {
        "cmd": 'import os\nx = os.path.join(os.environ["A_LONG_VARIABLE_NAME"], "p") + "a b c d e f"\n'
        * 2
    }
    assert dump_yaml(data) == yaml.safe_dump(data, sort_keys=False)


# -- the collector while the loop runs -------------------------------------------------


def test_fewer_collections_raises_the_threshold_and_restores_it():
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        with fewer_collections(50_000):
            assert gc.get_threshold() == (50_000, 10, 10)
        assert gc.get_threshold() == (700, 10, 10)
        gc.set_threshold(0, 10, 10)  # collection switched off: left off
        with fewer_collections(50_000):
            assert gc.get_threshold() == (0, 10, 10)
    finally:
        gc.set_threshold(*before)


def test_fewer_collections_freezes_what_was_there_and_frees_it_after():
    """Objects made before the block are out of the collector's way inside it, and a
    cycle made inside it is still collected; after the block nothing stays frozen,
    also when blocks nest."""
    assert gc.get_freeze_count() == 0
    with fewer_collections():
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with fewer_collections():  # nested: the outer block keeps the freeze
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen
        ref = weakref.ref(_Node(None))  # only its own reference keeps it
        gc.collect()
        assert ref() is None
    assert gc.get_freeze_count() == 0


class _Node:
    def __init__(self, payload: object) -> None:
        self.payload = payload
        self.me = self


# -- the queue lets started jobs go ----------------------------------------------------


class _Job:
    queued = True


def test_queue_drops_started_jobs_but_keeps_order():
    q = JobQueue()
    jobs = [_Job() for _ in range(5000)]
    for j in jobs:
        q.append(j)
    first = weakref.ref(jobs[0])
    for j in jobs[:4000]:
        q.remove(j)
        q.compact()
    assert list(q) == jobs[4000:]
    del jobs[:4000], j
    assert first() is None  # no longer held by the queue


def test_an_engine_run_keeps_no_ended_job():
    store = Store(History())
    engine = Engine(Cluster.uniform(2), store)
    engine.run(fixed_arrivals(one_task(1, 1.0), every=0.1, count=3000))
    assert engine.done
    assert len(engine.central.queue._jobs) < 1100
    assert not engine.central._running
