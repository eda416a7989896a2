"""From real runs back to simulation (issue 17 section 3): fit, simulate, compare."""

from __future__ import annotations

import math
import shutil
import textwrap

import numpy as np
import pytest

from benchhub_sim.analysis.calibrate import (
    compare_stages,
    fit_distribution,
    fit_durations,
    fit_tasks,
    ks_distance,
    plot_stage_comparison,
    stage_samples,
    write_fitted,
)
from benchhub_sim.analysis.report import write_report
from benchhub_sim.cli import main
from benchhub_sim.errors import WorkloadError
from benchhub_sim.execute import execute
from benchhub_sim.simulate import simulate
from benchhub_sim.spec.load import load_spec
from benchhub_sim.spec.model import Duration
from benchhub_sim.workload.base import JobRequest

# -- maximum likelihood, by hand ------------------------------------------------------------


def test_each_candidate_gets_its_closed_form_estimates():
    x = [1.0, 2.0, 4.0]
    best, aic = fit_distribution(x)
    n, mean = 3, 7 / 3
    var = sum((v - mean) ** 2 for v in x) / n  # the divide-by-n MLE
    logs = [math.log(v) for v in x]  # 0, ln 2, ln 4: mu = ln 2, s2 = (2/3) (ln 2)^2
    mu, s2 = math.log(2), 2 / 3 * math.log(2) ** 2
    assert sum(logs) / n == pytest.approx(mu) and np.var(logs) == pytest.approx(s2)
    assert aic["exponential"] == pytest.approx(2 + 2 * n * (math.log(mean) + 1))
    assert aic["normal"] == pytest.approx(4 + n * (math.log(2 * math.pi * var) + 1))
    assert aic["lognormal"] == pytest.approx(
        4 + 2 * sum(logs) + n * (math.log(2 * math.pi * s2) + 1)
    )
    # by hand: exponential 13.08, lognormal 13.26, normal 13.84
    assert [round(aic[d], 2) for d in ("exponential", "lognormal", "normal")] == [
        13.08,
        13.26,
        13.84,
    ]
    assert best.dist == "exponential" and best.param("mean") == pytest.approx(mean)


@pytest.mark.parametrize(
    ("draw", "dist", "params"),
    [
        (lambda g: g.exponential(2.0, 400), "exponential", {"mean": 2.0}),
        (lambda g: g.lognormal(0.0, 0.8, 400), "lognormal", {"mu": 0.0, "sigma": 0.8}),
        (lambda g: g.normal(10.0, 0.5, 400), "normal", {"mean": 10.0, "std": 0.5}),
    ],
    ids=["exponential", "lognormal", "normal"],
)
def test_the_likelihood_picks_the_distribution_the_samples_come_from(draw, dist, params):
    fitted, _ = fit_distribution(draw(np.random.default_rng(7)))
    assert fitted.dist == dist
    for name, truth in params.items():  # within 3 standard errors of 400 draws
        assert fitted.param(name) == pytest.approx(truth, rel=0.12, abs=0.12), name


def test_equal_observations_are_a_constant():
    assert fit_distribution([0.5, 0.5, 0.5])[0].dist == "constant"
    with pytest.raises(ValueError, match="at least two"):
        fit_distribution([1.0])


def test_ks_distance_is_the_largest_gap_between_the_two_ecdfs():
    # a = {1, 2, 2, 5}, b = {2, 3}: after 1, Fa = 1/4, Fb = 0; after 2, 3/4 against 1/2;
    # after 3, 3/4 against 1 -> the largest gap is 1/4
    assert ks_distance([1, 2, 2, 5], [2, 3]) == pytest.approx(0.25)
    assert ks_distance([0.0], [1.0]) == 1.0
    assert math.isnan(ks_distance([], [1.0]))


# -- fitted specs -----------------------------------------------------------------------------

OLD_DIALECT = """
name: old-style
nodes:
  - {name: db, type: database}
  - {name: load, type: loader}
stages:
  - name: install
    selectors: [{type: database}]
    tasks:
      - {driver: shell, shell: {command: "true"}, duration: 2.0}
  - name: bench
    selectors: [{type: loader}]
    tasks:
      - {driver: shell, shell: {command: "true"}, duration: {dist: normal, mean: 5.0, std: 0.5}}
"""


def test_a_fitted_spec_is_written_in_its_own_dialect_loads_and_is_valid(tmp_path):
    (tmp_path / "old.yml").write_text(textwrap.dedent(OLD_DIALECT))
    spec = load_spec(tmp_path / "old.yml")
    sim = simulate(2, [JobRequest(spec, submit=float(i)) for i in range(40)], seed=3)
    out, fits = write_fitted([sim], tmp_path / "fitted.yml", spec, min_samples=10)
    fitted = load_spec(out)
    assert fitted.dialect == spec.dialect == "nodes"
    assert [(f.stage, f.task, f.n) for f in fits] == [
        ("install", "task-0", 40),
        ("bench", "task-0", 40),
    ]
    durations = {s.name: s.tasks[0].duration for s in fitted.stages}
    assert durations["install"] == Duration.constant(2.0)  # every observation 2 s
    assert durations["bench"].mean == pytest.approx(5.0, rel=0.05)
    assert out.read_text().startswith("# old-style: task durations fitted by maximum likelihood")


def test_too_few_observations_are_named_task_by_task(tmp_path):
    spec = load_spec(textwrap.dedent(OLD_DIALECT))
    sim = simulate(2, [JobRequest(spec)] * 3, seed=1)
    with pytest.raises(WorkloadError) as err:
        fit_durations(sim, spec)
    problems = [str(p) for p in err.value.problems]
    assert (
        problems[0]
        == "stage 'install' task 'task-0': 3 observation(s) in 1 run(s), need at least 5"
    )
    assert len(problems) == 3 and "--min-samples" in problems[-1]


# -- the acceptance: real runs -> fit -> simulate -> compare ------------------------------------

#: Each job's tasks sleep a time set by its job id (the jitter we control), so the truth
#: is known: "short" sleeps 0.40, 0.45, 0.50, 0.55, 0.40, 0.45 s for jobs 0..5 (mean
#: 0.4583 s), "long" 0.6, 0.7, 0.8, 0.6, 0.7, 0.8 s (mean 0.7 s). A server in the
#: background becomes ready when its check finds the file it touches after 0.2 s.
JITTER = """
name: jitter
nodeAssignments: [{properties: {name: w}}]
stages:
  - name: serve
    background: true
    selectors: [{all: true}]
    tasks:
      - name: server
        background: true
        shell: {command: "sleep 0.2; touch up; exec sleep 30"}
        ready: {tasks: [{name: up, shell: {command: "test -f up"}}]}
  - name: warm
    selectors: [{all: true}]
    tasks: [{name: short, shell: {command: "sleep 0.$((40 + BENCHHUB_JOB_ID % 4 * 5))"}}]
  - name: work
    selectors: [{all: true}]
    tasks: [{name: long, shell: {command: "sleep 0.$((6 + BENCHHUB_JOB_ID % 3))"}}]
  - name: halt
    selectors: [{all: true}]
    tasks: [{name: stop, stopper: {stage: serve}}]
"""
TRUE_MEANS = {"short": (0.40 + 0.45 + 0.50 + 0.55 + 0.40 + 0.45) / 6, "long": 0.7}


@pytest.fixture(scope="module")
def real_runs(tmp_path_factory):
    if shutil.which("sh") is None or shutil.which("sleep") is None:
        pytest.skip("needs sh and sleep")
    tmp = tmp_path_factory.mktemp("calib")
    (tmp / "jitter.yml").write_text(textwrap.dedent(JITTER))
    (tmp / "jobs.yml").write_text("jobs:\n  - {spec: jitter.yml, submit: 0, count: 6}\n")
    return [
        execute(6, tmp / "jobs.yml", out=tmp / f"real-{k}", grace=0.5, metrics_interval=None)
        for k in (1, 2)
    ]


def test_fit_then_simulate_gives_back_the_real_durations(real_runs, tmp_path, capsys):
    assert all(set(r.jobs["status"]) == {"finished"} for r in real_runs)
    argv = ["fit", *(str(r.path) for r in real_runs), "-o", str(tmp_path / "fitted.yml")]
    assert main(argv) == 0
    printed = [line.split()[:3] for line in capsys.readouterr().out.splitlines()]
    assert printed[:4] == [["serve.server", "ready", "n=12"], ["warm.short", "run", "n=12"],
                           ["work.long", "run", "n=12"], ["halt.stop", "run", "n=12"]]  # fmt: skip
    fitted = load_spec(tmp_path / "fitted.yml")
    by_task = {t.name: t for s in fitted.stages for t in s.tasks}
    for name, truth in TRUE_MEANS.items():  # within 20% of the truth
        assert by_task[name].duration.mean == pytest.approx(truth, rel=0.2), name
    assert by_task["server"].ready[0].duration.mean == 0.0  # the fit is the task's own
    fits = {f.task: f for f in fit_tasks(real_runs)}
    assert fits["server"].measure == "ready" and fits["server"].n == 12
    # simulate the fitted spec: per-stage medians within 25% of the real ones
    sim = simulate(6, [JobRequest(fitted)] * 60, seed=11, out=tmp_path / "sim")
    real = {
        s: np.concatenate([stage_samples(r).get(s, []) for r in real_runs])
        for s in ("serve", "warm", "work")
    }
    simulated = stage_samples(sim)
    for stage, x in real.items():
        assert np.median(simulated[stage]) == pytest.approx(np.median(x), rel=0.25), stage
    table = compare_stages(real_runs[0], sim, names=("real", "sim"))
    assert list(table.index) == ["halt", "serve", "warm", "work"]
    assert table.loc["warm", "n_real"] == 6 and table.loc["warm", "n_sim"] == 60
    assert table.loc["warm", "ks"] == pytest.approx(
        ks_distance(stage_samples(real_runs[0])["warm"], simulated["warm"])
    )
    assert (table["ks"].between(0, 1)).all()
    assert main(["compare", str(real_runs[0].path), str(tmp_path / "sim"), "--stages"]) == 0
    printed = capsys.readouterr().out
    assert "stage durations (s): real-1 against sim" in printed and " ks" in printed
    # the report puts them side by side
    text = write_report([real_runs[0], sim], tmp_path / "r.html", names=["real", "sim"]).read_text()
    assert "Stage durations: real against the other runs" in text
    assert "Stage warm: durations" in text
    # the overlaid distributions are the samples' ECDFs
    ax = plot_stage_comparison([real_runs[0], sim], "warm", ["real", "sim"])
    line = ax.lines[0]
    xs = np.sort(stage_samples(real_runs[0])["warm"])
    assert list(line.get_xdata()[1:]) == list(xs) and line.get_ydata()[-1] == 1.0
    assert line.get_label() == "real (n=6)"
