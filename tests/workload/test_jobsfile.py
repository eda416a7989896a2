"""Jobs files and arrival processes."""

from __future__ import annotations

import numpy as np
import pytest

from benchhub_sim.errors import WorkloadError
from benchhub_sim.spec.model import JobSpec
from benchhub_sim.workload.arrivals import parse_arrivals, poisson_arrivals
from benchhub_sim.workload.jobsfile import load_jobs

SPEC = """\
name: tiny
nodeAssignments:
  - properties: {name: w, role: any}
stages:
  - name: s
    selectors: [{name: w}]
    tasks: [{name: t, driver: shell, shell: {command: "true"}, duration: 2}]
"""


def test_jobs_file_expands_counts_and_resolves_relative_paths(tmp_path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "tiny.yml").write_text(SPEC)
    jobs = tmp_path / "jobs.yml"
    jobs.write_text(
        "jobs:\n"
        "  - {spec: specs/tiny.yml, submit: 10, count: 3, every: 5, priority: 2}\n"
        "  - {spec: specs/tiny.yml, submit: 0, walltime: 60}\n"
    )
    reqs = load_jobs(jobs)
    assert [r.submit for r in reqs] == [0.0, 10.0, 15.0, 20.0]
    assert [r.priority for r in reqs] == [None, 2, 2, 2]
    assert reqs[0].walltime == 60
    assert len({id(r.spec) for r in reqs}) == 1  # one spec object shared


def test_jobs_file_collects_every_problem_with_its_line(tmp_path):
    jobs = tmp_path / "jobs.yml"
    jobs.write_text("jobs:\n  - {spec: missing.yml, submitt: 3}\n  - {spec: x.yml, count: 0}\n")
    with pytest.raises(WorkloadError) as err:
        load_jobs(jobs)
    text = str(err.value)
    assert f"{jobs}:2: jobs[0].submitt: unknown key (did you mean 'submit'?)" in text
    assert "missing.yml" in text and "no such file" in text
    assert f"{jobs}:3: jobs[1].count: expected a whole number >= 1, found 0" in text


def test_inline_spec_problems_are_reported(tmp_path):
    jobs = tmp_path / "jobs.yml"
    jobs.write_text("jobs:\n  - spec: {name: broken, stages: [{name: s, tasks: []}]}\n")
    with pytest.raises(WorkloadError, match="broken|stages"):
        load_jobs(jobs)


def test_poisson_arrivals_rate_and_reproducibility():
    spec = JobSpec("j")
    a = [r.submit for r in poisson_arrivals(spec, rate=4.0, count=20_000, seed=3)]
    b = [r.submit for r in poisson_arrivals(spec, rate=4.0, count=20_000, seed=3)]
    assert a == b
    gaps = np.diff([0.0, *a])
    assert abs(gaps.mean() - 0.25) < 0.01  # 4 standard errors of the mean
    assert abs(gaps.std() / gaps.mean() - 1.0) < 0.03  # exponential: cv = 1


def test_poisson_arrivals_mix_random_uses_weights():
    a, b = JobSpec("a"), JobSpec("b")
    names = [
        r.spec.name
        for r in poisson_arrivals(
            [a, b], rate=1.0, count=4000, seed=0, mix="random", weights=[3, 1]
        )
    ]
    assert abs(names.count("a") / 4000 - 0.75) < 0.03


def test_bad_arrival_arguments_are_clear_errors():
    with pytest.raises(WorkloadError, match="rate: expected a finite number > 0, found 0"):
        poisson_arrivals(JobSpec("j"), rate=0, count=1)
    with pytest.raises(WorkloadError, match="expected poisson:RATE or fixed:EVERY"):
        parse_arrivals("poison:3", [JobSpec("j")], count=1)
