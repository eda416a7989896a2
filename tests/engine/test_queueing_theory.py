"""The engine against queueing theory: M/M/c waits (Erlang C) and Little's law."""

from __future__ import annotations

import math

import numpy as np

from benchhub_sim.simulate import simulate
from benchhub_sim.spec.model import Duration
from benchhub_sim.workload.arrivals import poisson_arrivals

from .builders import one_task


def erlang_c_wait(c: int, lam: float, mu: float) -> float:
    """Mean wait in queue of M/M/c (Erlang C), computed independently of the engine."""
    a = lam / mu
    rho = a / c
    below = sum(a**k / math.factorial(k) for k in range(c))
    top = a**c / math.factorial(c) / (1 - rho)
    return top / (below + top) / (c * mu - lam)


def test_erlang_c_reference_value():
    # the value quoted in the issue for 8 servers at rho = 0.8
    assert round(erlang_c_wait(8, 6.4, 1.0), 3) == 0.286


def mm_run(c: int, lam: float, n: int, seed: int):
    spec = one_task(1, Duration.of("exponential", mean=1.0), walltime=1.0)
    return simulate(c, poisson_arrivals(spec, rate=lam, count=n, seed=seed), seed=seed, check=False)


def test_mm8_mean_wait_matches_erlang_c():
    waits = []
    for seed in (1, 2):
        jobs = mm_run(8, 6.4, 20_000, seed).jobs
        waits.append(float((jobs.start_time - jobs.submit_time).mean()))
    # 2 x 20k jobs at rho = 0.8: the batch-means error is a few percent; 10% is generous
    assert abs(np.mean(waits) / erlang_c_wait(8, 6.4, 1.0) - 1) < 0.10


def test_mm1_mean_wait_matches_theory():
    # M/M/1 at rho = 0.5: Wq = rho / (mu - lam) = 1.0
    jobs = mm_run(1, 0.5, 20_000, 4).jobs
    assert abs(float((jobs.start_time - jobs.submit_time).mean()) - 1.0) < 0.12
