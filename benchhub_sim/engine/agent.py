"""An agent: runs the task attempts of its node as process groups and reports back.

The node side of real execution, the same on this machine (the local executor holds
one in its own thread) and on a Dask worker (one per worker, see
:mod:`benchhub_sim.engine.dask_agents`). It knows task attempts by a key and a
:class:`TaskCommand` (rendered by the engine side); it never sees the engine.

- ``shell``: ``sh -c COMMAND``; ``exec``: the argv, no shell; ``docker``: the docker
  CLI. A foreground ``docker run`` runs attached (``--rm --name``): its exit code is the
  task's. A background one runs as BenchHub's agents run it: ``docker run -d --name``,
  then the task counts as running while ``docker wait`` does; stopping it is ``docker
  stop`` (the grace as its timeout), ``docker logs`` into the task's logs, ``docker rm``.
  Where docker is missing or its daemon is down the task fails with ``docker not
  available: ...``.
- stdout and stderr go to ``ROOT/logs/<job_id>/<node_name>/<stage>.<task>.<attempt>.out``
  / ``.err``; readiness check ``k`` to ``....<attempt>.ready<k>.out`` / ``.err``; the
  task's results (JSON lines, ``$BENCHHUB_RESULTS``) to ``....<attempt>.results.jsonl``.
- a background task runs its readiness checks one after another once it started; a
  failed check restarts the series after a backoff (0.1 s, doubling, at most 1 s) until
  the series passes or the task's readiness timeout elapses.
- a task ``timeout`` kills the group (SIGKILL): exit code -9, ``timeout after N s``.
- stopping is SIGTERM to the group, SIGKILL after ``grace`` seconds; whatever is left of a
  group when its task ends is stopped the same way; a :class:`~.procs.Keeper` stops what
  is left if the agent's process dies.

:meth:`Agent.step` looks at every process once and returns a :class:`Report`: events
(``("exit", key, code, reason)``, ``("ready", key)``, ``("gone", key)`` once a stopped
attempt's processes are all gone), and what was observed (:mod:`.observe`).
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from benchhub_sim.clock import monotonic
from benchhub_sim.engine.attempt import Attempt, Outcome
from benchhub_sim.engine.observe import LogTail, ResultsFile, Sampler, Scope, metric_rows
from benchhub_sim.engine.procs import (
    EXIT_CANNOT_START,
    CannotStart,
    Groups,
    Keeper,
    kill_marked,
    log_stem,
)
from benchhub_sim.plan import PlannedTask

#: environment variable naming the agent that started a process (what its keeper sweeps)
AGENT_MARKER = "BENCHHUB_AGENT_ID"


@dataclass(frozen=True)
class TaskCommand:
    """One task attempt as an agent runs it: rendered by the engine side, with its limits.

    ``scope`` names the attempt (node, job, slot, stage, task, attempt); ``key`` is how
    the engine side and the agent refer to it.
    """

    key: str
    scope: Scope
    planned: PlannedTask
    background: bool = False
    timeout: float | None = None
    #: seconds the readiness checks of a background task may keep failing
    ready_timeout: float = 60.0
    #: per readiness check, its own timeout (None: none)
    check_timeouts: tuple[float | None, ...] = ()

    @property
    def stem(self) -> str:
        """The attempt's log files, relative to the agent's root, without suffix."""
        s = self.scope
        return log_stem(
            s.job_id or 0, s.node_name or "", s.stage_name or "", s.task_name or "", s.attempt or 0
        )

    @property
    def work(self) -> str:
        """The working directory of the job on the node, relative to the agent's root."""
        return f"work/{self.scope.job_id}/{self.scope.node_name}"


class Report(NamedTuple):
    """What an agent has to say since its last report (plain lists: msgpack-able)."""

    events: list[tuple]
    metrics: list[tuple]
    results: list[tuple]
    problems: list[str]
    logs: list[tuple[str, int, bytes]]

    @classmethod
    def new(cls) -> Report:
        return cls([], [], [], [], [])

    def __bool__(self) -> bool:
        return any(len(part) for part in self)


class _Files:
    """What is read from an attempt's files until it is done with: results, logs."""

    __slots__ = ("scope", "results", "logs")

    def __init__(self, scope: Scope, results: ResultsFile, logs: LogTail | None) -> None:
        self.scope = scope
        self.results = results
        self.logs = logs


class Agent:
    """Runs task attempts on this machine (see the module docstring).

    Parameters
    ----------
    root : path
        Where ``work/`` and ``logs/`` are (the run directory of a local run).
    run_id : str
        Given to every process as ``BENCHHUB_RUN_ID``.
    grace : float
        Seconds between SIGTERM and SIGKILL when a task is stopped.
    docker : str
        The docker CLI (a name looked up on ``PATH``, or a path).
    now : callable, optional
        The run's clock (seconds since the run started), for the times of observations.
    epoch : float
        Unix time of the run's t = 0 (result lines may give unix times).
    metrics_interval : float or None
        Seconds between two metric samples while tasks run; None: no metrics.
    stream_logs : bool
        Send the log files' bytes back in reports (an agent on another machine).
    keeper : bool
        Start a :class:`~.procs.Keeper`.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        run_id: str,
        grace: float = 3.0,
        docker: str = "docker",
        now: Callable[[], float] | None = None,
        epoch: float = 0.0,
        metrics_interval: float | None = 1.0,
        stream_logs: bool = False,
        keeper: bool = True,
    ) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.run_id = run_id
        self.agent_id = uuid.uuid4().hex[:12]
        start = monotonic()
        self.now = now or (lambda: monotonic() - start)
        self.epoch = epoch
        self.interval = metrics_interval if metrics_interval and metrics_interval > 0 else None
        self.stream_logs = stream_logs
        marker = f"{AGENT_MARKER}={self.agent_id}"
        self.groups = Groups(
            grace=grace, docker=docker, keeper=Keeper(marker, self.root) if keeper else None
        )
        self._live: dict[str, Attempt] = {}  # insertion order: events in start order
        self._files: dict[str, _Files] = {}
        self._stopped: set[str] = set()  # keys whose "gone" the engine waits for
        self._report = Report.new()
        self._sampler = Sampler(self.root) if self.interval else None
        self._next_sample: float | None = None

    # -- commands ----------------------------------------------------------------------

    def start(self, cmd: TaskCommand) -> None:
        """Start attempt ``cmd``; its end or readiness comes in a later :meth:`step`."""
        s = cmd.scope
        cwd = self.root / cmd.work
        stem = self.root / cmd.stem
        name = f"benchhub-{self.run_id}-{s.job_id}-{s.node_name}-{s.stage_name}-{s.task_name}-{s.attempt}"
        container = re.sub(r"[^A-Za-z0-9_.-]", "_", name)  # a valid docker container name
        t, now = self.now(), monotonic()
        try:
            cwd.mkdir(parents=True, exist_ok=True)
            stem.parent.mkdir(parents=True, exist_ok=True)
            attempt = Attempt(
                cmd, self.groups, cwd, self._env(cmd, cwd, stem), stem, container, now
            )
        except CannotStart as exc:
            self._report.events.append(("exit", cmd.key, EXIT_CANNOT_START, str(exc)))
            return
        self._live[cmd.key] = attempt
        shown = f"{cmd.stem}.results.jsonl"
        tail = LogTail(self.root, cmd.stem) if self.stream_logs else None
        self._files[cmd.key] = _Files(s, ResultsFile(stem.parent / Path(shown).name, shown), tail)
        self.snapshot(s, "before", t)
        if self._sampler is not None:
            self._sampler.begin(cmd.key, t)
            if self._next_sample is None:
                self._next_sample = now + self.interval  # type: ignore[operator]
        self._outcome(attempt, attempt.begin(now))

    def stop(self, key: str) -> None:
        """Stop attempt ``key`` (SIGTERM, SIGKILL after the grace); a ``gone`` event follows
        once nothing of it runs (at once if nothing does)."""
        self._stopped.add(key)
        attempt = self._live.pop(key, None)
        if attempt is not None:
            attempt.drop(monotonic(), hard=False)
        else:
            self._gone_if_done(key)

    def snapshot(self, scope: Scope, kind: str, t: float | None = None) -> None:
        """Take a system snapshot (``kind`` ``before`` or ``after``) labelled ``scope``."""
        if self._sampler is not None:
            t = self.now() if t is None else t
            self._report.metrics.extend(metric_rows(t, scope, kind, self._sampler.snapshot()))

    def busy(self) -> bool:
        """Some process it started is still running or being stopped."""
        return bool(self._live or self.groups.ending)

    def step(self) -> Report:
        """Look at every process once; return what happened since the last step."""
        now = monotonic()
        for attempt in list(self._live.values()):
            self._outcome(attempt, attempt.step(now))
        for key in self.groups.step(now):
            self._gone_if_done(key)
        for files in self._files.values():
            self._read_files(files, final=False)
        if self._next_sample is not None and now >= self._next_sample:
            self._sample(now)
        report, self._report = self._report, Report.new()
        return report

    def close(self, tick: float = 0.01) -> Report:
        """Stop every process group, wait until all are gone, sweep; the last report."""
        for key in list(self._live):
            self.stop(key)
        report = self.step()
        while self.groups.ending:
            time.sleep(tick)
            more = self.step()
            for part, extra in zip(report, more, strict=True):
                part.extend(extra)  # type: ignore[attr-defined]
        self.sweep()
        if self.groups.keeper is not None:
            self.groups.keeper.close()
        return report

    def sweep(self) -> int:
        """SIGKILL every process this agent started that is still around (strays that
        left their process group); returns how many. Linux ``/proc`` only."""
        return kill_marked(AGENT_MARKER, self.agent_id)

    # -- what happened ---------------------------------------------------------------------

    def _outcome(self, attempt: Attempt, outcome: Outcome | None) -> None:
        if outcome is None:
            return
        key = attempt.cmd.key
        if outcome[0] == "ready":
            self._report.events.append(("ready", key))
            return
        del self._live[key]
        self._report.events.append(("exit", key, *outcome[1:]))
        self._finish(key)

    def _gone_if_done(self, key: str) -> None:
        """A stopped attempt whose processes are all gone: finish it, say so."""
        if key in self._live or self.groups.pending(key):
            return
        self._finish(key)
        if key in self._stopped:
            self._stopped.discard(key)
            self._report.events.append(("gone", key))

    def _finish(self, key: str) -> None:
        """The attempt ended: read its files one last time, take the after snapshot."""
        files = self._files.pop(key, None)
        if files is None:
            return
        self._read_files(files, final=True)
        self.snapshot(files.scope, "after")
        if self._sampler is not None:
            self._sampler.forget(key)

    # -- observations ------------------------------------------------------------------

    def _sample(self, now: float) -> None:
        assert self._sampler is not None and self.interval is not None
        t = self.now()
        nodes: dict[str, None] = {}
        for key, attempt in self._live.items():
            scope = attempt.cmd.scope
            if attempt.pid is not None:
                measures = self._sampler.task(key, attempt.pid, t)
                self._report.metrics.extend(metric_rows(t, scope, "sample", measures))
            nodes[scope.node_id] = None
        if nodes:
            measures = self._sampler.node()
            for node_id in nodes:
                self._report.metrics.extend(metric_rows(t, Scope(node_id), "sample", measures))
        self._next_sample = now + self.interval if self._live else None

    def _read_files(self, files: _Files, *, final: bool) -> None:
        rows, problems = files.results.read(final)
        t = self.now()
        for name, value, unit, when in rows:
            at = t if when is None else when - self.epoch
            self._report.results.append((at, *files.scope, name, value, unit))
        self._report.problems.extend(problems)
        if files.logs is not None:
            self._report.logs.extend(files.logs.read(final))

    def _env(self, cmd: TaskCommand, cwd: Path, stem: Path) -> dict[str, str]:
        s = cmd.scope
        env = dict(os.environ)
        env.update(cmd.planned.env)
        env.update(
            BENCHHUB_RUN_ID=self.run_id,
            BENCHHUB_JOB_ID=str(s.job_id),
            BENCHHUB_NODE_NAME=s.node_name or "",
            BENCHHUB_NODE_ID=s.node_id,
            BENCHHUB_STAGE=s.stage_name or "",
            BENCHHUB_TASK=s.task_name or "",
            BENCHHUB_WORK_DIR=str(cwd),
            BENCHHUB_JOB_DIR=str(cwd.parent),
            BENCHHUB_RESULTS=f"{stem}.results.jsonl",
        )
        env[AGENT_MARKER] = self.agent_id
        return env
