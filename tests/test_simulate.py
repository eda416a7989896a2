"""``simulate`` leaves the interpreter as it found it: the garbage collector's state."""

from __future__ import annotations

import gc

import pytest

import benchhub_sim as bh
from benchhub_sim.errors import ScheduleError


def _boom(view):
    raise RuntimeError("boom")


def _gc_state():
    return gc.get_threshold(), gc.isenabled(), gc.get_freeze_count()


@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize("how", ["in memory", "to a directory", "raising"])
def test_simulate_restores_the_garbage_collector(tmp_path, enabled, how):
    spec = bh.load_spec(bh.examples_dir() / "specs" / "pingpong.yml")
    before = _gc_state()
    try:
        gc.set_threshold(1234, 11, 12)  # not the defaults: a notebook's own tuning
        if not enabled:
            gc.disable()
        mine = _gc_state()
        if how == "raising":
            with pytest.raises(ScheduleError):  # the policy raised mid-run
                bh.simulate(2, [spec, spec, spec], policy=_boom, out=tmp_path / "r")
        else:
            out = tmp_path / "r" if how == "to a directory" else None
            bh.simulate(2, [spec, spec, spec], out=out)
        assert _gc_state() == mine == ((1234, 11, 12), enabled, 0)
    finally:
        gc.set_threshold(*before[0])
        gc.enable() if before[1] else gc.disable()
