"""From real runs back to simulation: fitted task durations, and real against simulated.

:func:`fit_durations` reads the task and readiness times of real runs of a spec and
gives the spec back with a fitted ``duration`` on every task; :func:`compare_stages`
and :func:`plot_stage_comparison` put a real run and a simulation of the fitted spec side
by side, stage by stage, with the two-sample Kolmogorov-Smirnov distance.

Each task's distribution is chosen among ``constant``, ``exponential``, ``normal`` and
``lognormal`` (the simulator's own, :class:`~benchhub_sim.spec.model.Duration`), each
with its maximum-likelihood parameters (closed forms):

- exponential: mean = the sample mean;
- normal: mean = the sample mean, std = the root of the mean squared deviation (the
  maximum-likelihood, divide-by-n estimate);
- lognormal: mu and sigma = the normal's estimates on the logarithms (all observations
  must be > 0);
- constant: only when every observation is the same (its likelihood is then unbounded,
  and zero otherwise).

The choice is by Akaike's criterion, AIC = 2k - 2 ln L (k parameters, L the maximized
likelihood): likelihood, with one parameter's worth of penalty for the second parameter
of the normal and the lognormal.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from benchhub_sim.errors import WorkloadError
from benchhub_sim.spec.model import Duration, JobSpec, Task

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: the distributions a fit chooses among, in the order ties are broken
FIT_DISTRIBUTIONS = ("constant", "exponential", "normal", "lognormal")


@dataclass(frozen=True)
class Fit:
    """The fitted duration of one task, and how it was chosen."""

    stage: str
    task: str
    n: int
    #: what the observations are: ``run`` (start to end) or ``ready`` (start to ready)
    measure: str
    duration: Duration
    observed_mean: float
    #: AIC of every candidate that could be fitted (lower is better)
    aic: Mapping[str, float]


def fit_distribution(samples: Sequence[float] | np.ndarray) -> tuple[Duration, dict[str, float]]:
    """The maximum-likelihood fit of each candidate to ``samples``; the best by AIC.

    Parameters
    ----------
    samples : sequence of float
        At least two durations in seconds, none negative.

    Returns
    -------
    (Duration, dict)
        The chosen distribution, and the AIC of every candidate that applies.

    Examples
    --------
    >>> fit_distribution([2.0, 2.0, 2.0])[0]
    Duration(dist='constant', params=(('value', 2.0),))
    >>> d, aic = fit_distribution([1.0, 2.0, 3.0])
    >>> d.dist, d.param("mean"), round(d.param("std"), 6)
    ('normal', 2.0, 0.816497)
    """
    x = np.asarray(samples, dtype=float)
    if x.size < 2 or not np.isfinite(x).all() or (x < 0).any():
        raise ValueError("fit_distribution needs at least two finite durations >= 0")
    n = x.size
    mean = float(x.mean())
    if float(x.max() - x.min()) <= 1e-12 * max(1.0, abs(mean)):
        return Duration.constant(mean), {"constant": -math.inf}
    aic: dict[str, float] = {}
    fits: dict[str, Duration] = {}
    if mean > 0:
        # ln L = -n ln(mean) - n
        aic["exponential"] = 2 * 1 + 2 * n * (math.log(mean) + 1)
        fits["exponential"] = Duration.of("exponential", mean=mean)
    var = float(((x - mean) ** 2).mean())
    aic["normal"] = 2 * 2 + n * (math.log(2 * math.pi * var) + 1)
    fits["normal"] = Duration.of("normal", mean=mean, std=math.sqrt(var))
    if (x > 0).all():
        logs = np.log(x)
        mu = float(logs.mean())
        s2 = float(((logs - mu) ** 2).mean())
        if s2 > 0:
            # ln L = -sum(ln x) - n/2 ln(2 pi s2) - n/2
            aic["lognormal"] = 2 * 2 + 2 * float(logs.sum()) + n * (math.log(2 * math.pi * s2) + 1)
            fits["lognormal"] = Duration.of("lognormal", mu=mu, sigma=math.sqrt(s2))
    best = min(aic, key=lambda name: (aic[name], FIT_DISTRIBUTIONS.index(name)))
    return fits[best], aic


# -- observations ------------------------------------------------------------------------


def _runs(runs: Any) -> list[Any]:
    from benchhub_sim.store.run import load_run

    if isinstance(runs, str | os.PathLike) or hasattr(runs, "tables"):
        runs = [runs]
    return [load_run(r) if isinstance(r, str | os.PathLike) else r for r in runs]


def _spec_of(runs: Sequence[Any], spec: JobSpec | str | os.PathLike[str] | None) -> JobSpec:
    from benchhub_sim.spec.load import load_spec

    if isinstance(spec, JobSpec):
        return spec
    if spec is not None:
        return load_spec(spec)
    texts: dict[str, str] = {}
    for run in runs:
        jobs = run.jobs
        for name, raw in zip(
            jobs["name"].astype(object), jobs["raw_spec"].astype(object), strict=True
        ):
            if isinstance(raw, str):
                texts.setdefault(str(name), raw)
    if len(texts) != 1:
        found = ", ".join(sorted(texts)) or "none with a spec"
        raise WorkloadError(
            [
                f"the runs hold jobs of {len(texts)} specs ({found}): pass spec= (--spec) to choose one"
            ]
        )
    ((name, text),) = texts.items()
    return load_spec(text, name_hint=f"raw_spec of {name}")


def task_observations(runs: Any, spec_name: str) -> pd.DataFrame:
    """The durations of every successful task attempt of jobs named ``spec_name``.

    A foreground task (and a stopper) is measured from start to end (attempts that
    finished); a background task from start to ready (attempts that became ready).

    Returns
    -------
    pandas.DataFrame
        Columns ``stage_name``, ``task_name``, ``measure`` (``run`` or ``ready``),
        ``seconds``.
    """
    parts = []
    for run in _runs(runs):
        jobs = run.jobs
        ids = jobs.loc[jobs["name"].astype(object) == spec_name, "job_id"]
        t = run.tasks
        t = t[t["job_id"].isin(ids)]
        bg = t["background"].astype(bool)
        ran = t[~bg & (t["status"].astype(object) == "finished")]
        ready = t[bg & t["ready_time"].notna()]
        for rows, measure, end in ((ran, "run", "stop_time"), (ready, "ready", "ready_time")):
            parts.append(
                pd.DataFrame(
                    {
                        "stage_name": rows["stage_name"].astype(object).to_numpy(),
                        "task_name": rows["task_name"].astype(object).to_numpy(),
                        "measure": measure,
                        "seconds": (rows[end] - rows["start_time"]).to_numpy(float),
                    }
                )
            )
    cols = ["stage_name", "task_name", "measure", "seconds"]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


# -- fitting -------------------------------------------------------------------------------


def fit_durations(
    runs: Any,
    spec: JobSpec | str | os.PathLike[str] | None = None,
    *,
    min_samples: int = 5,
) -> JobSpec:
    """A spec whose tasks carry durations fitted to real runs of it.

    Parameters
    ----------
    runs : Run, path, or a sequence of them
        Real runs (``execute``, ``benchhub-sim run``) of the spec, one or more jobs each.
    spec : JobSpec or path, optional
        The spec to fit; by default the one the runs' jobs were submitted with
        (``raw_spec``), which must be a single one.
    min_samples : int
        Observations needed per task (every successful attempt on every node counts).

    Returns
    -------
    JobSpec
        ``spec`` with each task's ``duration`` replaced by its fit (:func:`fit_tasks`
        tells which and why). A background task's duration is its time to readiness and
        its readiness checks' durations become 0, so a simulation makes it ready after
        the fitted time. Everything else is unchanged.

    Raises
    ------
    WorkloadError
        Naming every task with fewer than ``min_samples`` observations (or the specs to
        choose from when the runs hold several).
    """
    fitted = _fit(runs, spec, min_samples)[0]
    return fitted


def fit_tasks(
    runs: Any, spec: JobSpec | str | os.PathLike[str] | None = None, *, min_samples: int = 5
) -> list[Fit]:
    """What :func:`fit_durations` fitted, one :class:`Fit` per task, in spec order."""
    return _fit(runs, spec, min_samples)[1]


def _fit(runs: Any, spec: Any, min_samples: int) -> tuple[JobSpec, list[Fit]]:
    if min_samples < 2:
        raise WorkloadError(
            [f"min_samples: a fit needs at least 2 observations, got {min_samples}"]
        )
    runs = _runs(runs)
    base = _spec_of(runs, spec)
    obs = task_observations(runs, base.name)
    groups = {
        key: g["seconds"].to_numpy(float) for key, g in obs.groupby(["stage_name", "task_name"])
    }
    fits: list[Fit] = []
    problems = []
    stages = []
    for stage in base.stages:
        tasks = []
        for task in stage.tasks:
            x = groups.get((stage.name, task.name), np.empty(0))
            if len(x) < min_samples:
                problems.append(
                    f"stage {stage.name!r} task {task.name!r}: {len(x)} observation(s) in "
                    f"{len(runs)} run(s), need at least {min_samples}"
                )
                tasks.append(task)
                continue
            duration, aic = fit_distribution(np.maximum(x, 0.0))
            measure = "ready" if task.background else "run"
            fits.append(Fit(stage.name, task.name, len(x), measure, duration, float(x.mean()), aic))
            tasks.append(_with_duration(task, duration))
        stages.append(replace(stage, tasks=tuple(tasks)))
    if problems:
        problems.append(
            f"runs of {base.name!r}: run the spec more times (or with more jobs), or lower "
            "min_samples (--min-samples)"
        )
        raise WorkloadError(problems)
    return replace(base, stages=tuple(stages)), fits


def _with_duration(task: Task, duration: Duration) -> Task:
    if not task.background:
        return replace(task, duration=duration)
    zero = Duration.constant(0.0)
    return replace(
        task, duration=duration, ready=tuple(replace(c, duration=zero) for c in task.ready)
    )


def fitted_spec_text(spec: JobSpec, fits: Iterable[Fit], sources: Sequence[str] = ()) -> str:
    """The fitted spec as YAML (in its own dialect, :func:`~benchhub_sim.spec.dump.dump_spec`),
    with a header saying where the durations come from."""
    import yaml

    from benchhub_sim.spec.dump import dump_spec

    lines = [f"# {spec.name}: task durations fitted by maximum likelihood (benchhub-sim fit)"]
    if sources:
        lines.append(f"# from {len(sources)} real run(s): {', '.join(sources)}")
    for f in fits:
        params = ", ".join(f"{k}={v:.6g}" for k, v in f.duration.params)
        lines.append(f"#   {f.stage}.{f.task} ({f.measure}, n={f.n}): {f.duration.dist}({params})")
    body = str(yaml.safe_dump(dump_spec(spec), sort_keys=False))
    return "\n".join(lines) + "\n" + body


# -- real against simulated ------------------------------------------------------------------


def stage_samples(run: Any) -> dict[str, np.ndarray]:
    """Each stage's durations on each node: a foreground stage from start to finish, a
    background stage from start to ready (stages that got there)."""
    st = run.stages
    bg = st["background"].astype(bool)
    end = st["ready_time"].where(bg, st["stop_time"])
    ok = np.where(bg, st["ready_time"].notna(), st["status"].astype(object) == "finished")
    d = pd.DataFrame(
        {"stage_name": st["stage_name"].astype(object), "seconds": (end - st["start_time"])}
    )[ok]
    return {str(k): g["seconds"].to_numpy(float) for k, g in d.groupby("stage_name", sort=True)}


def ks_distance(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """The two-sample Kolmogorov-Smirnov distance: the largest gap between the two
    empirical distribution functions (0: same samples' distribution, 1: disjoint).

    Examples
    --------
    >>> ks_distance([1, 2, 3], [1, 2, 3])
    0.0
    >>> ks_distance([1, 2], [3, 4])
    1.0
    >>> round(ks_distance([1, 2, 3, 4], [3, 4, 5, 6]), 6)
    0.5
    """
    x = np.sort(np.asarray(a, dtype=float))
    y = np.sort(np.asarray(b, dtype=float))
    if not x.size or not y.size:
        return math.nan
    grid = np.concatenate([x, y])
    fx = np.searchsorted(x, grid, side="right") / x.size
    fy = np.searchsorted(y, grid, side="right") / y.size
    return float(np.abs(fx - fy).max())


def compare_stages(run_a: Any, run_b: Any, names: Sequence[str] = ("a", "b")) -> pd.DataFrame:
    """Stage durations of two runs side by side (e.g. a real run and a simulation of its
    fitted spec), with the Kolmogorov-Smirnov distance per stage.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``stage_name`` (stages of either run), columns ``n_A``, ``n_B``,
        ``median_A``, ``median_B``, ``mean_A``, ``mean_B`` (A and B the ``names``) and
        ``ks``.
    """
    a, b = stage_samples(run_a), stage_samples(run_b)
    na, nb = names
    rows = []
    for stage in sorted(set(a) | set(b)):
        x, y = a.get(stage, np.empty(0)), b.get(stage, np.empty(0))
        rows.append(
            {
                "stage_name": stage,
                f"n_{na}": x.size,
                f"n_{nb}": y.size,
                f"median_{na}": float(np.median(x)) if x.size else math.nan,
                f"median_{nb}": float(np.median(y)) if y.size else math.nan,
                f"mean_{na}": float(x.mean()) if x.size else math.nan,
                f"mean_{nb}": float(y.mean()) if y.size else math.nan,
                "ks": ks_distance(x, y),
            }
        )
    return pd.DataFrame(rows).set_index("stage_name")


def plot_stage_comparison(
    runs: Any,
    stage: str,
    names: Sequence[str] | None = None,
    *,
    ax: Axes | None = None,
    **kwargs: Any,
) -> Axes:
    """The empirical distribution of one stage's durations in each run, overlaid.

    Each line steps up by 1/n at each duration (n: that run's samples of the stage);
    the title gives the Kolmogorov-Smirnov distance of the first two runs.
    """
    from benchhub_sim.analysis.metrics import run_names
    from benchhub_sim.analysis.plot import _axes

    if not isinstance(runs, list | tuple):
        runs = [runs]
    labels = run_names(runs, names)
    ax = _axes(ax)
    samples = [stage_samples(r).get(stage, np.empty(0)) for r in runs]
    for x, label in zip(samples, labels, strict=True):
        if not x.size:
            continue
        xs = np.sort(x)
        ys = np.arange(1, xs.size + 1) / xs.size
        ax.step(np.concatenate([[xs[0]], xs]), np.concatenate([[0.0], ys]), where="post",
                label=f"{label} (n={xs.size})", **kwargs)  # fmt: skip
    title = f"Stage {stage}: duration"
    if len(samples) >= 2 and samples[0].size and samples[1].size:
        title += f" (KS distance {ks_distance(samples[0], samples[1]):.2f})"
    ax.set_title(title)
    ax.set_xlabel("seconds (background: to ready)")
    ax.set_ylabel("fraction of stages")
    ax.set_ylim(0, 1.02)
    if ax.lines:
        ax.legend(loc="lower right", fontsize="small")
    return ax


def write_fitted(
    runs: Any,
    path: str | os.PathLike[str],
    spec: JobSpec | str | os.PathLike[str] | None = None,
    *,
    min_samples: int = 5,
) -> tuple[Path, list[Fit]]:
    """Fit (:func:`fit_durations`) and write the fitted spec to ``path`` atomically; the
    written spec is loaded back and validated first."""
    from benchhub_sim.io import write_text_atomic
    from benchhub_sim.spec.load import load_spec

    runs = _runs(runs)
    fitted, fits = _fit(runs, spec, min_samples)
    sources = [str(getattr(r, "path", "") or "") for r in runs]
    text = fitted_spec_text(fitted, fits, [s for s in sources if s])
    load_spec(text, name_hint=str(path))  # loadable and valid, or it is not written
    out = Path(path)
    write_text_atomic(out, text)
    return out, fits
