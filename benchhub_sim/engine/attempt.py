"""One task attempt on an agent: its process group (or its container), its readiness
checks, its deadlines. The rules are the agent's (:mod:`benchhub_sim.engine.agent`);
:class:`Attempt` keeps them for one attempt and says when it became ready or ended.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchhub_sim.engine.procs import (
    EXIT_CANNOT_START,
    EXIT_NOT_READY,
    EXIT_TIMEOUT,
    CannotStart,
    Groups,
    describe,
    docker_teardown_argv,
    is_docker_run,
    task_argv,
)
from benchhub_sim.plan import PlannedTask
from benchhub_sim.spec.model import Driver

if TYPE_CHECKING:
    from benchhub_sim.engine.agent import TaskCommand

#: what :meth:`Attempt.step` returns when something happened: ``("ready",)`` or
#: ``("exit", exit code, reason or None)`` (the attempt is then over)
Outcome = tuple[Any, ...]
READY: Outcome = ("ready",)


class Attempt:
    """A started task attempt (see the module docstring).

    Starting it starts its process (``docker run -d`` for a background container);
    :class:`~benchhub_sim.engine.procs.CannotStart` says why it could not start.

    Parameters
    ----------
    cmd : TaskCommand
    groups : Groups
        The agent's process groups (they start and stop this attempt's).
    cwd : Path
        Working directory.
    env : dict
        Environment of its processes.
    stem : Path
        Its log files without suffix.
    container : str
        The name of its container, if it runs one.
    now : float
        The agent's monotonic time.
    """

    __slots__ = ("cmd", "groups", "popen", "cwd", "env", "stem", "container", "phase",
                 "deadline", "ready_deadline", "check", "check_deadline", "k", "retry_at",
                 "backoff", "why")  # fmt: skip

    def __init__(
        self, cmd: TaskCommand, groups: Groups, cwd: Path, env: dict[str, str], stem: Path,
        container: str, now: float,
    ) -> None:  # fmt: skip
        detach = cmd.background and _is_container(cmd.planned)
        self.cmd = cmd
        self.groups = groups
        self.cwd = cwd
        self.env = env
        self.stem = stem
        self.container = container
        self.popen = groups.spawn(cmd.planned, cwd, env, stem, container, detach=detach)
        #: "run" (the task's own process), or for a detached container "launch"
        #: (``docker run -d``) then "watch" (``docker wait``)
        self.phase = "launch" if detach else "run"
        self.deadline = None if cmd.timeout is None else now + cmd.timeout
        #: set while a background task is not ready
        self.ready_deadline = now + cmd.ready_timeout if cmd.background else None
        self.check: subprocess.Popen | None = None
        self.check_deadline: float | None = None
        self.k = 0
        self.retry_at: float | None = None
        self.backoff = 0.1
        self.why = ""

    @property
    def pid(self) -> int | None:
        """The process whose tree is the task's (None while its container is launched)."""
        return None if self.phase == "launch" else self.popen.pid

    def begin(self, now: float) -> Outcome | None:
        """Just started: a background task without checks is ready at once."""
        return self._running(now) if self.phase == "run" else None

    def step(self, now: float) -> Outcome | None:
        """Look at its processes once."""
        rc = self.popen.poll()
        if rc is not None:
            if self.phase == "launch" and rc == 0:
                return self._watch(now)
            reason = self._exit_reason(rc)
            if self.phase == "watch":
                rc = _container_code(self.popen, rc)
                reason = f"container {self.container} exited with code {rc} before it was stopped"
            self.drop(now, hard=False)  # stops what is left of its group
            return ("exit", rc, reason)
        if self.deadline is not None and now >= self.deadline:
            self.drop(now, hard=True)
            return ("exit", EXIT_TIMEOUT, f"timeout after {self.cmd.timeout:g} s")
        out = None
        if self.ready_deadline is not None and self.phase != "launch":
            if self.check is not None:
                out = self._step_check(now)
            elif self.retry_at is not None and now >= self.retry_at:
                self.retry_at = None
                self._start_check(0, now)
        if self.ready_deadline is not None and now >= self.ready_deadline:
            self.drop(now, hard=False)
            why = self.why or "the checks are still running"
            return ("exit", EXIT_NOT_READY, f"not ready after {self.cmd.ready_timeout:g} s: {why}")
        return out

    def drop(self, now: float, *, hard: bool, started: bool = True) -> None:
        """Stop its group (and its running check's, and its container)."""
        groups, key = self.groups, self.cmd.key
        self._end_check(now, hard=hard)
        running = self.popen.poll() is None
        if started:
            groups.stop(self.popen, now, key, hard=hard)
        if self.popen.stdout is not None:  # ``docker wait``'s answer: no longer read
            self.popen.stdout.close()
        if self.phase in ("launch", "watch"):
            # the container runs on without its CLI: stop it, keep its output, remove it
            grace = 0.0 if hard else groups.grace
            argv = docker_teardown_argv(groups.docker_cli()[0], self.container, grace)
            groups.clean_up(argv, self.cwd, self.env, self.stem, key, now + grace + 30,
                            self.container)  # fmt: skip
        elif _is_container(self.cmd.planned):
            if not running:  # it ended, and ``--rm`` removed its container
                groups.tell(f"-c {self.container}")
            else:  # killing the CLI leaves the container running
                argv = [groups.docker_cli()[0], "rm", "-f", self.container]
                groups.clean_up(argv, self.cwd, self.env, self.stem, key,
                                now + groups.grace + 10, self.container)  # fmt: skip

    # -- its lifecycle -------------------------------------------------------------------

    def _exit_reason(self, rc: int) -> str | None:
        """The reason recorded for a process that ended by itself (None: the dispatcher's)."""
        if self.phase == "launch":
            return f"docker run -d {describe(rc)}"
        if self.cmd.background:
            return None if rc == 0 else f"background task {describe(rc)} before it was stopped"
        return f"task {describe(rc)}" if rc < 0 else None

    def _running(self, now: float) -> Outcome | None:
        """The task (or its container) runs: a background task starts its checks."""
        if not self.cmd.background:
            return None
        if self.cmd.planned.ready:
            self._start_check(0, now)
            return None
        self.ready_deadline = None
        return READY

    def _watch(self, now: float) -> Outcome | None:
        """``docker run -d`` started the container: watch it with ``docker wait``."""
        self.groups.reap(self.popen, now, self.cmd.key)
        argv = [self.groups.docker_cli()[0], "wait", self.container]
        try:
            self.popen = self.groups.popen(
                argv, self.cwd, self.env, self.stem, stdout=subprocess.PIPE
            )
        except CannotStart as exc:
            self.drop(now, hard=False, started=False)
            return ("exit", EXIT_CANNOT_START, str(exc))
        self.phase = "watch"
        return self._running(now)

    def _step_check(self, now: float) -> Outcome | None:
        check, k = self.check, self.k
        assert check is not None
        name = self.cmd.planned.ready[k].name
        rc = check.poll()
        if rc is None:
            if self.check_deadline is not None and now >= self.check_deadline:
                self._end_check(now, hard=True)
                timeout = self.cmd.check_timeouts[k]
                self._check_failed(f"check {name} timed out after {timeout:g} s", now)
            return None
        self._end_check(now, hard=False)
        if rc != 0:
            self._check_failed(f"check {name} {describe(rc)}", now)
        elif k + 1 < len(self.cmd.planned.ready):
            self._start_check(k + 1, now)
        else:
            self.ready_deadline = None
            return READY
        return None

    def _start_check(self, k: int, now: float) -> None:
        self.k = k
        check = self.cmd.planned.ready[k]
        stem = Path(f"{self.stem}.ready{k}")
        try:
            self.check = self.groups.spawn(
                check, self.cwd, self.env, stem, f"{self.container}-ready{k}"
            )
        except CannotStart as exc:
            self._check_failed(f"check {check.name}: {exc}", now)
            return
        timeouts = self.cmd.check_timeouts
        timeout = timeouts[k] if k < len(timeouts) else None
        self.check_deadline = None if timeout is None else now + timeout

    def _check_failed(self, why: str, now: float) -> None:
        self.check = None
        self.why = why
        self.retry_at = now + self.backoff
        self.backoff = min(self.backoff * 2, 1.0)

    def _end_check(self, now: float, *, hard: bool) -> None:
        if self.check is not None:
            self.groups.stop(self.check, now, self.cmd.key, hard=hard)
            self.check = None


def _is_container(planned: PlannedTask) -> bool:
    """Whether a planned task is a ``docker run`` (a container to look after)."""
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
