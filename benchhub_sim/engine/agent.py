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
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from benchhub_sim.engine.clock import monotonic
from benchhub_sim.engine.observe import LogTail, ResultsFile, Sampler, Scope, metric_rows
from benchhub_sim.engine.procs import (
    EXIT_CANNOT_START,
    EXIT_NOT_READY,
    EXIT_TIMEOUT,
    Ending,
    Keeper,
    describe,
    docker_status,
    docker_teardown_argv,
    is_docker_run,
    kill_marked,
    log_stem,
    task_argv,
)
from benchhub_sim.plan import PlannedTask
from benchhub_sim.spec.model import Driver

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


class _CannotStart(Exception):
    """A task could not be started; the message is its failure reason."""


class _Live:
    """A started task attempt: its process and, while it is not ready, its checks."""

    __slots__ = ("cmd", "popen", "cwd", "env", "stem", "container", "phase", "deadline",
                 "ready_deadline", "check", "check_deadline", "k", "retry_at", "backoff", "why")  # fmt: skip

    def __init__(
        self, cmd: TaskCommand, popen: subprocess.Popen, cwd: Path, env: dict[str, str],
        stem: Path, container: str, phase: str,
    ) -> None:  # fmt: skip
        self.cmd = cmd
        self.popen = popen
        self.cwd = cwd
        self.env = env
        self.stem = stem
        self.container = container
        #: "run" (the task's own process), or for a detached container "launch"
        #: (``docker run -d``) then "watch" (``docker wait``)
        self.phase = phase
        self.deadline: float | None = None  # task timeout
        self.ready_deadline: float | None = None  # set while a background task is not ready
        self.check: subprocess.Popen | None = None
        self.check_deadline: float | None = None
        self.k = 0
        self.retry_at: float | None = None
        self.backoff = 0.1
        self.why = ""


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
        self.grace = grace
        self.docker = docker
        start = monotonic()
        self.now = now or (lambda: monotonic() - start)
        self.epoch = epoch
        self.interval = metrics_interval if metrics_interval and metrics_interval > 0 else None
        self.stream_logs = stream_logs
        self._live: dict[str, _Live] = {}  # insertion order: events in start order
        self._ending: list[Ending] = []
        self._files: dict[str, _Files] = {}
        self._stopped: set[str] = set()  # keys whose "gone" the engine waits for
        self._report = Report.new()
        self._docker: tuple[str, str] | None = None  # (path, problem) once checked
        self._sampler = Sampler(self.root) if self.interval else None
        self._next_sample: float | None = None
        self._keeper = Keeper(f"{AGENT_MARKER}={self.agent_id}", self.root) if keeper else None

    # -- commands ----------------------------------------------------------------------

    def start(self, cmd: TaskCommand) -> None:
        """Start attempt ``cmd``; its end or readiness comes in a later :meth:`step`."""
        s = cmd.scope
        cwd = self.root / cmd.work
        stem = self.root / cmd.stem
        name = f"benchhub-{self.run_id}-{s.job_id}-{s.node_name}-{s.stage_name}-{s.task_name}-{s.attempt}"
        container = re.sub(r"[^A-Za-z0-9_.-]", "_", name)  # a valid docker container name
        detach = cmd.background and cmd.planned.driver is Driver.DOCKER
        detach = detach and is_docker_run(task_argv(cmd.planned))
        t = self.now()
        try:
            cwd.mkdir(parents=True, exist_ok=True)
            stem.parent.mkdir(parents=True, exist_ok=True)
            env = self._env(cmd, cwd, stem)
            popen = self._spawn(cmd.planned, cwd, env, stem, container, detach=detach)
        except _CannotStart as exc:
            self._report.events.append(("exit", cmd.key, EXIT_CANNOT_START, str(exc)))
            return
        live = _Live(cmd, popen, cwd, env, stem, container, "launch" if detach else "run")
        now = monotonic()
        if cmd.timeout is not None:
            live.deadline = now + cmd.timeout
        self._live[cmd.key] = live
        shown = f"{cmd.stem}.results.jsonl"
        tail = LogTail(self.root, cmd.stem) if self.stream_logs else None
        self._files[cmd.key] = _Files(s, ResultsFile(stem.parent / Path(shown).name, shown), tail)
        self.snapshot(s, "before", t)
        if self._sampler is not None:
            self._sampler.begin(cmd.key, t)
            if self._next_sample is None:
                self._next_sample = now + self.interval  # type: ignore[operator]
        if cmd.background:
            live.ready_deadline = now + cmd.ready_timeout
        if live.phase == "run":
            self._running(live, now)

    def stop(self, key: str) -> None:
        """Stop attempt ``key`` (SIGTERM, SIGKILL after the grace); a ``gone`` event follows
        once nothing of it runs (at once if nothing does)."""
        self._stopped.add(key)
        live = self._live.get(key)
        if live is not None:
            self._drop(live, monotonic(), hard=False)
        else:
            self._gone_if_done(key)

    def snapshot(self, scope: Scope, kind: str, t: float | None = None) -> None:
        """Take a system snapshot (``kind`` ``before`` or ``after``) labelled ``scope``."""
        if self._sampler is not None:
            t = self.now() if t is None else t
            self._report.metrics.extend(metric_rows(t, scope, kind, self._sampler.snapshot()))

    def busy(self) -> bool:
        """Some process it started is still running or being stopped."""
        return bool(self._live or self._ending)

    def step(self) -> Report:
        """Look at every process once; return what happened since the last step."""
        now = monotonic()
        for live in list(self._live.values()):
            self._step_task(live, now)
        done = [e for e in self._ending if e.done(now)]
        if done:
            self._ending = [e for e in self._ending if e not in done]
            for e in done:
                self._tell(f"-g {e.pgid}")
                if e.note:
                    self._tell(e.note)
            for key in dict.fromkeys(e.key for e in done if e.key is not None):
                self._gone_if_done(key)
        for files in self._files.values():
            self._read_files(files, final=False)
        if self._next_sample is not None and now >= self._next_sample:
            self._sample(now)
        report, self._report = self._report, Report.new()
        return report

    def close(self, tick: float = 0.01) -> Report:
        """Stop every process group, wait until all are gone, sweep; the last report."""
        now = monotonic()
        for live in list(self._live.values()):
            self._stopped.add(live.cmd.key)
            self._drop(live, now, hard=False)
        report = self.step()
        while self._ending:
            time.sleep(tick)
            more = self.step()
            for part, extra in zip(report, more, strict=True):
                part.extend(extra)  # type: ignore[attr-defined]
        self.sweep()
        if self._keeper is not None:
            self._keeper.close()
        return report

    def sweep(self) -> int:
        """SIGKILL every process this agent started that is still around (strays that
        left their process group); returns how many. Linux ``/proc`` only."""
        return kill_marked(AGENT_MARKER, self.agent_id)

    # -- one look at one task ----------------------------------------------------------

    def _step_task(self, live: _Live, now: float) -> None:
        cmd = live.cmd
        rc = live.popen.poll()
        if rc is not None:
            if live.phase == "launch" and rc == 0:
                self._watch(live, now)
                return
            reason = self._exit_reason(live, rc)
            if live.phase == "watch":
                rc = _container_code(live.popen, rc)
                reason = f"container {live.container} exited with code {rc} before it was stopped"
            self._drop(live, now, hard=False)  # stops what is left of its group
            self._exit(cmd.key, rc, reason)
            return
        if live.deadline is not None and now >= live.deadline:
            self._drop(live, now, hard=True)
            self._exit(cmd.key, EXIT_TIMEOUT, f"timeout after {cmd.timeout:g} s")
            return
        if live.ready_deadline is None or live.phase == "launch":
            if live.ready_deadline is not None and now >= live.ready_deadline:
                self._not_ready(live, now)
            return
        if live.check is not None:
            self._step_check(live, now)
        elif live.retry_at is not None and now >= live.retry_at:
            live.retry_at = None
            self._start_check(live, 0, now)
        if live.ready_deadline is not None and now >= live.ready_deadline:
            self._not_ready(live, now)

    def _not_ready(self, live: _Live, now: float) -> None:
        self._drop(live, now, hard=False)
        why = live.why or "the checks are still running"
        reason = f"not ready after {live.cmd.ready_timeout:g} s: {why}"
        self._exit(live.cmd.key, EXIT_NOT_READY, reason)

    def _exit_reason(self, live: _Live, rc: int) -> str | None:
        """The reason recorded for a process that ended by itself (None: the dispatcher's)."""
        if live.phase == "launch":
            return f"docker run -d {describe(rc)}"
        if live.cmd.background:
            return None if rc == 0 else f"background task {describe(rc)} before it was stopped"
        return f"task {describe(rc)}" if rc < 0 else None

    def _running(self, live: _Live, now: float) -> None:
        """The task (or its container) runs: a background task starts its checks."""
        if not live.cmd.background:
            return
        if live.cmd.planned.ready:
            self._start_check(live, 0, now)
        else:
            live.ready_deadline = None
            self._report.events.append(("ready", live.cmd.key))

    def _watch(self, live: _Live, now: float) -> None:
        """``docker run -d`` started the container: watch it with ``docker wait``."""
        self._ending.append(Ending(live.popen, now + self.grace, live.cmd.key, sig=None))
        assert self._docker is not None
        argv = [self._docker[0], "wait", live.container]
        try:
            live.popen = self._popen(argv, live.cwd, live.env, live.stem, stdout=subprocess.PIPE)
        except _CannotStart as exc:
            self._drop(live, now, hard=False, started=False)
            self._exit(live.cmd.key, EXIT_CANNOT_START, str(exc))
            return
        live.phase = "watch"
        self._running(live, now)

    def _step_check(self, live: _Live, now: float) -> None:
        check, k = live.check, live.k
        assert check is not None
        name = live.cmd.planned.ready[k].name
        rc = check.poll()
        if rc is None:
            if live.check_deadline is not None and now >= live.check_deadline:
                self._end_check(live, now, hard=True)
                timeout = live.cmd.check_timeouts[k]
                self._check_failed(live, f"check {name} timed out after {timeout:g} s", now)
            return
        self._end_check(live, now, hard=False)
        if rc != 0:
            self._check_failed(live, f"check {name} {describe(rc)}", now)
        elif k + 1 < len(live.cmd.planned.ready):
            self._start_check(live, k + 1, now)
        else:
            live.ready_deadline = None
            self._report.events.append(("ready", live.cmd.key))

    def _start_check(self, live: _Live, k: int, now: float) -> None:
        live.k = k
        check = live.cmd.planned.ready[k]
        stem = Path(f"{live.stem}.ready{k}")
        try:
            live.check = self._spawn(check, live.cwd, live.env, stem, f"{live.container}-ready{k}")
        except _CannotStart as exc:
            self._check_failed(live, f"check {check.name}: {exc}", now)
            return
        timeouts = live.cmd.check_timeouts
        timeout = timeouts[k] if k < len(timeouts) else None
        live.check_deadline = None if timeout is None else now + timeout

    def _check_failed(self, live: _Live, why: str, now: float) -> None:
        live.check = None
        live.why = why
        live.retry_at = now + live.backoff
        live.backoff = min(live.backoff * 2, 1.0)

    def _end_check(self, live: _Live, now: float, *, hard: bool) -> None:
        if live.check is not None:
            sig = signal.SIGKILL if hard else signal.SIGTERM
            self._ending.append(Ending(live.check, now + self.grace, live.cmd.key, sig=sig))
            live.check = None

    # -- ending ------------------------------------------------------------------------

    def _exit(self, key: str, rc: int, reason: str | None) -> None:
        self._report.events.append(("exit", key, rc, reason))
        self._finish(key)

    def _drop(self, live: _Live, now: float, *, hard: bool, started: bool = True) -> None:
        """Forget ``live`` and stop its group (and its running check's, and its container)."""
        key = live.cmd.key
        del self._live[key]
        self._end_check(live, now, hard=hard)
        running = live.popen.poll() is None
        sig = signal.SIGKILL if hard else signal.SIGTERM
        if started:
            self._ending.append(Ending(live.popen, now + self.grace, key, sig=sig))
        if live.phase in ("launch", "watch"):
            # the container runs on without its CLI: stop it, keep its output, remove it
            grace = 0.0 if hard else self.grace
            argv = docker_teardown_argv(self._docker_path(), live.container, grace)
            self._background(argv, live, key, now + grace + 30, forget=live.container)
        elif _attached_container(live.cmd.planned):
            if not running:  # it ended, and ``--rm`` removed its container
                self._tell(f"-c {live.container}")
            else:  # killing the CLI leaves the container running
                argv = [self._docker_path(), "rm", "-f", live.container]
                self._background(argv, live, key, now + self.grace + 10, forget=live.container)

    def _background(
        self, argv: list[str], live: _Live, key: str, kill_at: float, *, forget: str
    ) -> None:
        """Run a clean-up command (its output appended to the task's logs) until ``kill_at``."""
        try:
            popen = self._popen(argv, live.cwd, live.env, live.stem)
        except _CannotStart:
            return  # the keeper removes the container when the agent ends
        self._ending.append(Ending(popen, kill_at, key, sig=None, note=f"-c {forget}"))

    def _gone_if_done(self, key: str) -> None:
        """A stopped attempt whose processes are all gone: finish it, say so."""
        if key in self._live or any(e.key == key for e in self._ending):
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
        for key, live in self._live.items():
            if live.phase != "launch":
                scope = live.cmd.scope
                measures = self._sampler.task(key, live.popen.pid, t)
                self._report.metrics.extend(metric_rows(t, scope, "sample", measures))
            nodes[live.cmd.scope.node_id] = None
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

    # -- processes ---------------------------------------------------------------------

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

    def _docker_path(self) -> str:
        if self._docker is None:  # checked once per agent
            self._docker = docker_status(self.docker)
        return self._docker[0]

    def _spawn(
        self, planned: PlannedTask, cwd: Path, env: dict[str, str], stem: Path, container: str,
        *, detach: bool = False,
    ) -> subprocess.Popen:  # fmt: skip
        docker = self.docker
        if planned.driver is Driver.DOCKER:
            docker = self._docker_path()
            assert self._docker is not None
            if self._docker[1]:
                raise _CannotStart(f"docker not available: {self._docker[1]}")
        argv = task_argv(planned, docker=docker, container=container, detach=detach)
        if not argv:
            raise _CannotStart("nothing to run: empty command")
        popen = self._popen(argv, cwd, env, stem)
        if planned.driver is Driver.DOCKER and is_docker_run(argv):
            self._tell(f"d {docker}")
            self._tell(f"+c {container}")
        return popen

    def _popen(
        self, argv: list[str], cwd: Path, env: dict[str, str], stem: Path, *, stdout: Any = None
    ) -> subprocess.Popen:
        with open(f"{stem}.out", "ab") as out, open(f"{stem}.err", "ab") as err:
            try:
                popen = subprocess.Popen(
                    argv,
                    cwd=cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out if stdout is None else stdout,
                    stderr=err,
                    start_new_session=True,  # its own process group, stopped as one
                )
            except OSError as exc:
                raise _CannotStart(f"cannot start {argv[0]!r}: {exc.strerror or exc}") from None
        self._tell(f"+g {popen.pid}")
        return popen

    def _tell(self, line: str) -> None:
        if self._keeper is not None:
            self._keeper.tell(line)


def _attached_container(planned: PlannedTask) -> bool:
    return planned.driver is Driver.DOCKER and is_docker_run(task_argv(planned))


def _container_code(popen: subprocess.Popen, rc: int) -> int:
    """The container's exit code, as ``docker wait`` printed it (else its own code)."""
    out = popen.stdout.read() if popen.stdout is not None else b""
    if popen.stdout is not None:
        popen.stdout.close()
    try:
        return int(out.split()[-1])
    except (ValueError, IndexError):
        return rc if rc else EXIT_CANNOT_START
