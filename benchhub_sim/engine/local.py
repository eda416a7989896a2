"""The local executor: every task really runs, as a process group on this machine.

Every cluster node is a local agent: templates render every address as ``127.0.0.1``,
and each (job, node) gets a working directory ``RUN/work/<job_id>/<node_name>/`` shared
by that job's tasks on that node. A task is one process group (``start_new_session``):

- ``shell``: ``sh -c COMMAND`` (template values shell-quoted); ``exec``: the argv, no
  shell; ``docker``: the docker CLI (``docker run`` gets ``--rm --name``, so stopping the
  task also removes its container). Where docker is missing or its daemon is down the
  task fails with ``docker not available: ...``.
- stdout and stderr go to ``RUN/logs/<job_id>/<node_name>/<stage>.<task>.<attempt>.out``
  / ``.err``; readiness check ``k`` to ``....<attempt>.ready<k>.out`` / ``.err``.
- a background task runs its readiness checks one after another after it starts; a
  failed check restarts the series after a backoff (0.1 s, doubling, at most 1 s)
  until the series passes or ``ready_timeout`` (default 60 s) elapses.
- a task ``timeout`` kills the group (SIGKILL): exit code -9, ``timeout after N s``.
- stopping is SIGTERM to the group, SIGKILL after ``grace`` seconds; whatever is left of
  a group when its task ends is stopped the same way, so no task leaves processes.

Everything happens in the engine's thread: :meth:`LocalExecutor.poll` checks the
processes every ``tick`` seconds and returns the dispatcher callbacks to run.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchhub_sim.engine.clock import monotonic
from benchhub_sim.engine.state import TaskRun
from benchhub_sim.errors import SpecError
from benchhub_sim.plan import PlannedTask, plan_task
from benchhub_sim.spec.model import Driver

#: What every node address renders as: all nodes are this machine.
LOCAL_IP = "127.0.0.1"
#: Exit code reported when a task cannot start (no such program, no docker).
EXIT_CANNOT_START = 127
#: Exit code reported for a task killed by its timeout (as the simulated executor does).
EXIT_TIMEOUT = -int(signal.SIGKILL)
#: Exit code reported for a background task whose readiness checks never passed.
EXIT_NOT_READY = -1

Callback = tuple[Callable[[Any], object], Any]


def log_stem(job_id: int, node_name: str, stage: str, task: str, attempt: int) -> str:
    """Log files of one task attempt, relative to the run directory, without suffix.

    Examples
    --------
    >>> log_stem(0, "srv", "start_server", "server", 0)
    'logs/0/srv/start_server.server.0'
    """
    return f"logs/{job_id}/{node_name}/{stage}.{task}.{attempt}"


def task_argv(
    planned: PlannedTask, *, docker: str = "docker", container: str | None = None
) -> list[str]:
    """The argv a planned (rendered) task runs as; stoppers run nothing.

    Parameters
    ----------
    planned : PlannedTask
        A task rendered by the planner.
    docker : str
        The docker CLI to call.
    container : str, optional
        For ``docker run``: add ``--rm --name CONTAINER``.

    Examples
    --------
    >>> task_argv(PlannedTask("t", Driver.SHELL, "echo 'a b'"))
    ['sh', '-c', "echo 'a b'"]
    """
    if planned.driver is Driver.SHELL:
        return ["sh", "-c", str(planned.command)]
    if planned.driver is Driver.EXEC:
        return list(planned.command)
    if planned.driver is Driver.DOCKER:
        argv = shlex.split(str(planned.command))
        argv[0] = docker
        if container is not None and len(argv) > 1 and argv[1] == "run":
            argv[2:2] = ["--rm", "--name", container]
        return argv
    return []


class _CannotStart(Exception):
    """A task could not be started; the message is its failure reason."""


class _Ending:
    """A process group being stopped (or whose task ended): SIGKILL at ``kill_at``."""

    __slots__ = ("popen", "pgid", "kill_at", "killed", "tr")

    def __init__(
        self, popen: subprocess.Popen, kill_at: float, tr: TaskRun | None, *, sig: int | None
    ) -> None:
        self.popen = popen
        self.pgid = popen.pid  # a new session: the group id is the leader's pid
        self.kill_at = kill_at
        self.tr = tr
        self.killed = sig == signal.SIGKILL
        if sig is not None:
            _signal_group(self.pgid, sig)

    def done(self, now: float) -> bool:
        """Reap the leader; SIGKILL the group when the grace is over. True when gone."""
        reaped = self.popen.poll() is not None
        if reaped and not _group_alive(self.pgid):
            return True
        if not self.killed and now >= self.kill_at:
            _signal_group(self.pgid, signal.SIGKILL)
            self.killed = True
        # killed members reparented to init may stay zombies a while: they are dead
        return reaped and self.killed


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies waiting for init do not count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # the id now belongs to someone else's group: not ours
        return False
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (comm) "
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


class _Live:
    """A started task attempt: its process and, while it is not ready, its checks."""

    __slots__ = ("tr", "popen", "planned", "cwd", "env", "stem", "container", "deadline",
                 "ready_deadline", "check", "check_deadline", "k", "retry_at", "backoff", "why")  # fmt: skip

    def __init__(
        self,
        tr: TaskRun,
        popen: subprocess.Popen,
        planned: PlannedTask,
        cwd: Path,
        env: dict[str, str],
        stem: Path,
        container: str,
    ) -> None:
        self.tr = tr
        self.popen = popen
        self.planned = planned
        self.cwd = cwd
        self.env = env
        self.stem = stem
        self.container = container
        self.deadline: float | None = None  # task timeout
        self.ready_deadline: float | None = None  # set while a background task is not ready
        self.check: subprocess.Popen | None = None
        self.check_deadline: float | None = None
        self.k = 0
        self.retry_at: float | None = None
        self.backoff = 0.1
        self.why = ""


class LocalExecutor:
    """Runs task attempts as local process groups (see the module docstring).

    Parameters
    ----------
    root : path
        The run directory; ``work/`` and ``logs/`` are created in it.
    run_id : str
        Given to every process as ``BENCHHUB_RUN_ID``: :meth:`sweep` finds strays by it.
    grace : float
        Seconds between SIGTERM and SIGKILL when a task is stopped.
    ready_timeout : float
        Readiness timeout of background tasks that give none.
    docker : str
        The docker CLI (a name looked up on ``PATH``, or a path).
    tick : float
        Seconds between two looks at the processes while waiting.
    """

    kind = "local"

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        run_id: str,
        grace: float = 3.0,
        ready_timeout: float = 60.0,
        docker: str = "docker",
        tick: float = 0.01,
    ) -> None:
        # tasks run in their own cwd: paths handed to them must be absolute
        self.root = Path(root).resolve()
        self.run_id = run_id
        self.grace = grace
        self.ready_timeout = ready_timeout
        self.docker = docker
        self.tick = tick
        self.loop: Any = None  # set by the engine
        self.dispatcher: Any = None  # set by the engine
        self._live: dict[_Live, None] = {}  # insertion order: events in start order
        self._ending: list[_Ending] = []
        self._stoppers: list[TaskRun] = []
        self._pending: list[Callback] = []
        self._docker: tuple[str, str] | None = None  # (path, problem) once checked

    # -- the executor contract ---------------------------------------------------------

    def start(self, tr: TaskRun) -> None:
        """Start attempt ``tr``; its end or readiness comes back through :meth:`poll`."""
        if tr.task.driver is Driver.STOPPER:
            self._stoppers.append(tr)  # its targets are being stopped: done when they are gone
            return
        u = tr.unit
        job_id, node = u.job.job_id, u.binding.slot.name
        cwd = self.root / "work" / str(job_id) / node
        stem = self.root / log_stem(job_id, node, u.stage.name, tr.task.name, tr.attempt)
        name = f"benchhub-{self.run_id}-{job_id}-{node}-{u.stage.name}-{tr.task.name}-{tr.attempt}"
        container = re.sub(r"[^A-Za-z0-9_.-]", "_", name)  # a valid docker container name
        try:
            planned = self._render(tr)
            cwd.mkdir(parents=True, exist_ok=True)
            stem.parent.mkdir(parents=True, exist_ok=True)
            env = self._env(tr, planned, cwd)
            popen = self._spawn(planned, cwd, env, stem, container)
        except _CannotStart as exc:
            self._pending.append((self._report_exit, (tr, EXIT_CANNOT_START, str(exc))))
            return
        live = _Live(tr, popen, planned, cwd, env, stem, container)
        now = monotonic()
        if tr.task.timeout is not None:
            live.deadline = now + tr.task.timeout
        tr.handle = live
        self._live[live] = None
        if tr.background:
            if planned.ready:
                live.ready_deadline = now + self._ready_timeout(tr)
                self._start_check(live, 0, now)
            else:
                self._pending.append((self._report_ready, tr))

    def stop(self, tr: TaskRun) -> None:
        """Stop attempt ``tr``: SIGTERM to its group, SIGKILL after the grace period."""
        if tr in self._stoppers:
            self._stoppers.remove(tr)
            return
        live = tr.handle
        if isinstance(live, _Live) and live in self._live:
            self._drop(live, monotonic(), hard=False)

    def busy(self) -> bool:
        """Something still runs, ends, or waits to be reported."""
        return bool(self._live or self._ending or self._stoppers or self._pending)

    def poll(self, timeout: float | None) -> list[Callback]:
        """Wait up to ``timeout`` seconds (None: until something happens) for events.

        Returns
        -------
        list of (callback, arg)
            Dispatcher callbacks for the tasks that ended or became ready.
        """
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            now = monotonic()
            out = self._step(now)
            if out or (deadline is None and not self.busy()):
                return out
            if deadline is not None and now >= deadline:
                return out
            time.sleep(self.tick if deadline is None else max(0.0, min(self.tick, deadline - now)))

    def post(self, callback: Callable[[Any], object], arg: Any = None) -> None:
        """Have ``callback(arg)`` run in the engine's thread at the next poll (signal handlers)."""
        self._pending.append((callback, arg))

    def log_path(self, tr: TaskRun) -> str | None:
        """The stdout log of ``tr``, relative to the run directory (None for stoppers)."""
        if tr.task.driver is Driver.STOPPER:
            return None
        u = tr.unit
        return (
            log_stem(u.job.job_id, u.binding.slot.name, u.stage.name, tr.task.name, tr.attempt)
            + ".out"
        )

    def close(self) -> None:
        """Stop every process group still running, wait until they are gone, then :meth:`sweep`."""
        now = monotonic()
        for live in list(self._live):
            self._drop(live, now, hard=False)
        self._stoppers.clear()
        self._pending.clear()
        while self._ending:
            now = monotonic()
            self._ending = [e for e in self._ending if not e.done(now)]
            if self._ending:
                time.sleep(self.tick)
        self.sweep()

    def sweep(self) -> int:
        """SIGKILL every process that carries this run's ``BENCHHUB_RUN_ID`` (strays that
        left their process group); returns how many. Linux ``/proc`` only."""
        marker = f"BENCHHUB_RUN_ID={self.run_id}".encode()
        killed = 0
        for pid in find_processes(marker):
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
        return killed

    # -- callbacks (run in the engine's thread) ----------------------------------------

    def _report_exit(self, arg: tuple[TaskRun, int, str | None]) -> None:
        self.dispatcher.task_exit(*arg)

    def _report_ready(self, tr: TaskRun) -> None:
        self.dispatcher.task_ready(tr)

    # -- one look at every process -----------------------------------------------------

    def _step(self, now: float) -> list[Callback]:
        out, self._pending = self._pending, []
        for live in list(self._live):
            self._step_task(live, now, out)
        self._ending = [e for e in self._ending if not e.done(now)]
        for st in list(self._stoppers):
            if not any(_is_target(st, e.tr) for e in self._ending):
                self._stoppers.remove(st)
                out.append((self._report_exit, (st, 0, None)))
        return out

    def _step_task(self, live: _Live, now: float, out: list[Callback]) -> None:
        tr = live.tr
        rc = live.popen.poll()
        if rc is not None:
            self._drop(live, now, hard=False)  # stops what is left of its group
            out.append((self._report_exit, (tr, rc, _exit_reason(tr, rc))))
            return
        if live.deadline is not None and now >= live.deadline:
            self._drop(live, now, hard=True)
            out.append(
                (self._report_exit, (tr, EXIT_TIMEOUT, f"timeout after {tr.task.timeout:g} s"))
            )
            return
        if live.ready_deadline is None:
            return
        if live.check is not None:
            self._step_check(live, now, out)
        elif live.retry_at is not None and now >= live.retry_at:
            live.retry_at = None
            self._start_check(live, 0, now)
        if live.ready_deadline is not None and now >= live.ready_deadline:
            self._drop(live, now, hard=False)
            why = live.why or "the checks are still running"
            reason = f"not ready after {self._ready_timeout(tr):g} s: {why}"
            out.append((self._report_exit, (tr, EXIT_NOT_READY, reason)))

    def _step_check(self, live: _Live, now: float, out: list[Callback]) -> None:
        check, k = live.check, live.k
        assert check is not None
        name = live.planned.ready[k].name
        rc = check.poll()
        if rc is None:
            if live.check_deadline is not None and now >= live.check_deadline:
                self._end_check(live, now, hard=True)
                self._check_failed(
                    live, f"check {name} timed out after {live.tr.task.ready[k].timeout:g} s", now
                )
            return
        self._end_check(live, now, hard=False)
        if rc != 0:
            self._check_failed(live, f"check {name} {_describe(rc)}", now)
        elif k + 1 < len(live.planned.ready):
            self._start_check(live, k + 1, now)
        else:
            live.ready_deadline = None
            out.append((self._report_ready, live.tr))

    # -- processes ---------------------------------------------------------------------

    def _render(self, tr: TaskRun) -> PlannedTask:
        """The task with its templates rendered, every node at 127.0.0.1 (the planner's rules)."""
        u = tr.unit
        nodes: dict[str, list[str]] = {}
        for b in u.job.bindings:
            nodes.setdefault(b.slot.assignment, []).append(LOCAL_IP)
        this = (u.binding.slot.name, u.binding.node.node_id, LOCAL_IP)
        try:
            return plan_task(tr.task, nodes, this, True)
        except SpecError as exc:
            raise _CannotStart(f"cannot render the task: {exc}") from None

    def _env(self, tr: TaskRun, planned: PlannedTask, cwd: Path) -> dict[str, str]:
        u = tr.unit
        env = dict(os.environ)
        env.update(planned.env)
        env.update(
            BENCHHUB_RUN_ID=self.run_id,
            BENCHHUB_JOB_ID=str(u.job.job_id),
            BENCHHUB_NODE_NAME=u.binding.slot.name,
            BENCHHUB_NODE_ID=u.binding.node.node_id,
            BENCHHUB_STAGE=u.stage.name,
            BENCHHUB_TASK=tr.task.name,
            BENCHHUB_WORK_DIR=str(cwd),
            BENCHHUB_JOB_DIR=str(cwd.parent),
        )
        return env

    def _spawn(
        self, planned: PlannedTask, cwd: Path, env: dict[str, str], stem: Path, container: str
    ) -> subprocess.Popen:
        docker = self.docker
        if planned.driver is Driver.DOCKER:
            if self._docker is None:  # checked once per run
                self._docker = docker_status(self.docker)
            docker, problem = self._docker
            if problem:
                raise _CannotStart(f"docker not available: {problem}")
        argv = task_argv(planned, docker=docker, container=container)
        if not argv:
            raise _CannotStart("nothing to run: empty command")
        with open(f"{stem}.out", "ab") as out, open(f"{stem}.err", "ab") as err:
            try:
                return subprocess.Popen(
                    argv,
                    cwd=cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,  # its own process group, stopped as one
                )
            except OSError as exc:
                raise _CannotStart(f"cannot start {argv[0]!r}: {exc.strerror or exc}") from None

    def _start_check(self, live: _Live, k: int, now: float) -> None:
        live.k = k
        check = live.planned.ready[k]
        stem = Path(f"{live.stem}.ready{k}")
        try:
            live.check = self._spawn(check, live.cwd, live.env, stem, f"{live.container}-ready{k}")
        except _CannotStart as exc:
            self._check_failed(live, f"check {check.name}: {exc}", now)
            return
        timeout = live.tr.task.ready[k].timeout
        live.check_deadline = None if timeout is None else now + timeout

    def _check_failed(self, live: _Live, why: str, now: float) -> None:
        live.check = None
        live.why = why
        live.retry_at = now + live.backoff
        live.backoff = min(live.backoff * 2, 1.0)

    def _end_check(self, live: _Live, now: float, *, hard: bool) -> None:
        if live.check is not None:
            sig = signal.SIGKILL if hard else signal.SIGTERM
            self._ending.append(_Ending(live.check, now + self.grace, live.tr, sig=sig))
            live.check = None

    def _drop(self, live: _Live, now: float, *, hard: bool) -> None:
        """Forget ``live`` and stop its group (and its running check's, and its container)."""
        del self._live[live]
        live.tr.handle = None
        self._end_check(live, now, hard=hard)
        running = live.popen.poll() is None
        sig = signal.SIGKILL if hard else signal.SIGTERM
        self._ending.append(_Ending(live.popen, now + self.grace, live.tr, sig=sig))
        if (
            running
            and live.planned.driver is Driver.DOCKER
            and task_argv(live.planned)[1:2] == ["run"]
        ):
            self._remove_container(live)  # killing the CLI leaves the container running

    def _remove_container(self, live: _Live) -> None:
        """``docker rm -f`` the container of a stopped ``docker run`` task, in the background."""
        assert self._docker is not None
        argv = [self._docker[0], "rm", "-f", live.container]
        with contextlib.suppress(OSError):
            popen = subprocess.Popen(argv, cwd=live.cwd, env=live.env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)  # fmt: skip
            self._ending.append(_Ending(popen, monotonic() + self.grace + 10, None, sig=None))

    def _ready_timeout(self, tr: TaskRun) -> float:
        return tr.task.ready_timeout if tr.task.ready_timeout is not None else self.ready_timeout


def docker_status(docker: str = "docker") -> tuple[str, str]:
    """``(path of the docker CLI, problem)``; the problem is "" when ``docker info`` works.

    Parameters
    ----------
    docker : str
        A name looked up on ``PATH``, or a path.
    """
    path = shutil.which(docker)
    if path is None:
        return docker, f"{docker!r} not found on PATH"
    try:
        r = subprocess.run(
            [path, "info"], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=15
        )
    except subprocess.TimeoutExpired:
        return path, f"'{path} info' did not answer within 15 s"
    except OSError as exc:
        return path, f"cannot run {path}: {exc.strerror or exc}"
    if r.returncode == 0:
        return path, ""
    lines = [ln.strip() for ln in (r.stderr or r.stdout).splitlines() if ln.strip()]
    return path, f"'{path} info' failed (daemon down?): {lines[-1] if lines else r.returncode}"


def _is_target(stopper: TaskRun, tr: TaskRun | None) -> bool:
    """Whether ``tr`` (a task being stopped) is one that ``stopper`` stops."""
    target = stopper.task.stopper
    if tr is None or target is None or tr.unit.job is not stopper.unit.job:
        return False
    return tr.unit.stage.name == target.stage and (
        target.task is None or tr.task.name == target.task
    )


def _describe(rc: int) -> str:
    if rc < 0:
        try:
            return f"was killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"was killed by signal {-rc}"
    return f"exited with code {rc}"


def _exit_reason(tr: TaskRun, rc: int) -> str | None:
    """The reason recorded for a process that ended by itself (None: the dispatcher's)."""
    if tr.background:
        return None if rc == 0 else f"background task {_describe(rc)} before it was stopped"
    return f"task {_describe(rc)}" if rc < 0 else None


def find_processes(marker: bytes) -> list[int]:
    """Pids of the processes whose environment holds ``marker`` (e.g. ``b"BENCHHUB_RUN_ID=x"``).

    Reads ``/proc/<pid>/environ`` (Linux); processes it may not read are skipped, and so is
    this process. Returns an empty list where there is no ``/proc``.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    me = os.getpid()
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            found.append(int(entry.name))
    return found
