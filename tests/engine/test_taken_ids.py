"""The engine's set of taken job ids (a bit per usual id) answers as a Python set."""

from __future__ import annotations

import numpy as np

from benchhub_sim.engine.engine import TakenIds


def test_taken_ids_answer_as_a_set_does():
    rng = np.random.default_rng(3)
    edges = [0, 7, 8, 9, TakenIds.DENSE - 1, TakenIds.DENSE, -1, -(2**40), 2**62]
    ids = [int(i) for i in rng.integers(-50, 5000, 400)] + edges
    taken, reference = TakenIds(), set()
    for i in ids:
        assert (i in taken) == (i in reference), i
        taken.add(i)
        reference.add(i)
    probe = range(-60, 5100)
    assert [i in taken for i in probe] == [i in reference for i in probe]
    assert all(i in taken for i in edges) and TakenIds.DENSE + 1 not in taken
