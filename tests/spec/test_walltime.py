"""Walltime estimate: critical path of duration means, values computed by hand."""

from __future__ import annotations

import math

import pytest

from benchhub_sim.spec import (
    Duration,
    JobSpec,
    Stage,
    StagePipeline,
    Task,
    TaskPipeline,
    estimate_walltime,
)


def t(name: str, seconds: float | None = None, **kw: object) -> Task:
    duration = None if seconds is None else Duration.constant(seconds)
    return Task(name, duration=duration, **kw)  # type: ignore[arg-type]


def test_pipelines_add_up_and_a_pipeline_takes_its_longest_stage() -> None:
    a = Stage("a", tasks=(t("a1", 2), t("a2", 3)))  # one task at a time: 5
    b = Stage("b", tasks=(Task("b1", duration=Duration.of("uniform", low=0, high=8)),))  # mean 4
    server = t(
        "srv",
        100,
        background=True,
        ready=(t("r1", 1), Task("r2", duration=Duration.of("exponential", mean=2))),
    )
    c = Stage("c", background=True, tasks=(server, t("c2", 4)))  # ready after 1 + 2, then 4: 7
    spec = JobSpec(
        "j",
        stages=(a, b, c),
        pipelines=(StagePipeline("p0", ("a", "b")), StagePipeline("p1", ("c",))),
    )
    assert estimate_walltime(spec) == pytest.approx(5 + 7)


def test_without_pipelines_stages_run_one_by_one() -> None:
    spec = JobSpec("j", stages=(Stage("a", tasks=(t("x", 2),)), Stage("b", tasks=(t("y", 3),))))
    assert estimate_walltime(spec) == pytest.approx(5)


def test_task_pipelines_add_up_and_take_their_longest_task() -> None:
    stage = Stage(
        "s",
        tasks=(t("x", 2), t("y", 5), t("z", 1)),
        pipelines=(TaskPipeline("together", ("x", "y")), TaskPipeline("then", ("z",))),
    )
    assert estimate_walltime(JobSpec("j", stages=(stage,))) == pytest.approx(max(2, 5) + 1)


def test_default_task_duration_for_tasks_without_one() -> None:
    spec = JobSpec("j", stages=(Stage("a", tasks=(t("x"), t("y"))), Stage("b", tasks=(t("z"),))))
    assert estimate_walltime(spec) == pytest.approx(3.0)
    assert estimate_walltime(spec, default_task_duration=2.5) == pytest.approx(7.5)


def test_background_task_without_checks_counts_zero_and_lognormal_uses_its_mean() -> None:
    bg = Stage("bg", background=True, tasks=(t("srv", 50, background=True),))
    run = Stage("run", tasks=(Task("x", duration=Duration.of("lognormal", mu=1.0, sigma=0.5)),))
    spec = JobSpec("j", stages=(bg, run))
    assert estimate_walltime(spec) == pytest.approx(math.exp(1.0 + 0.5**2 / 2))


def test_pingpong_example_by_hand() -> None:
    from pathlib import Path

    from benchhub_sim.spec import load_spec

    spec = load_spec(Path(__file__).resolve().parents[2] / "data" / "specs" / "pingpong.yml")
    # download: both fetches uniform(2, 6), mean 4, side by side -> 4
    # serve: the server is background, so only its check counts: exponential mean 1.5
    # ping: constant 10
    assert estimate_walltime(spec) == pytest.approx(4 + 1.5 + 10)
