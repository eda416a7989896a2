"""Utilization from the assignments table equals utilization from the assign events."""

from __future__ import annotations

import pytest
from engine.builders import one_task  # tests/ is on the path (tests/conftest.py)

from benchhub_sim.analysis.metrics import _held, _held_unpacked, mean_utilization, utilization
from benchhub_sim.simulate import simulate
from benchhub_sim.spec.model import Duration
from benchhub_sim.store import Run
from benchhub_sim.workload.arrivals import poisson_arrivals


def test_assignments_give_the_holds_of_the_assign_events():
    specs = [one_task(n, Duration.of("exponential", mean=2.0), walltime=2.0) for n in (1, 3)]
    run = simulate(4, poisson_arrivals(specs, rate=1.0, count=200, seed=5), seed=5)
    assert run.meta["max_loader_pack"] == 1
    fast = _held_unpacked(run, run.jobs)
    assert fast is not None and len(fast[0]) == len(run.assignments)
    general = Run(run.tables, {**run.meta, "max_loader_pack": None})  # may pack: events
    assert _held_unpacked(general, general.jobs) is None
    slow = _held(general, general.jobs)
    assert sorted(zip(*fast, strict=True)) == sorted(zip(*slow, strict=True))
    assert mean_utilization(run) == pytest.approx(mean_utilization(general), rel=1e-12)
    assert utilization(run).equals(utilization(general))
