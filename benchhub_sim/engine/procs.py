"""Process groups on this machine: how a task's command line is made, started, watched
and stopped, without leaving anything behind.

These are the tools of an agent (:mod:`benchhub_sim.engine.agent`); they know nothing
of the engine. A task runs as one process group (``start_new_session``): stopping it is
SIGTERM to the group, then SIGKILL after a grace period (:class:`Ending`). A *keeper*
(:class:`Keeper`) is a small stdlib-only process beside the agent that learns every
group and container the agent starts: if the agent's process dies (a killed Dask
worker, a ``kill -9`` of ``benchhub-sim run``), its pipe closes and the keeper kills
them. Processes that left their group are found by the marker every task carries in
its environment (:func:`find_processes`).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchhub_sim.plan import PlannedTask
from benchhub_sim.spec.model import Driver

#: Exit code reported when a task cannot start (no such program, no docker).
EXIT_CANNOT_START = 127
#: Exit code reported for a task killed by its timeout (as the simulated executor does).
EXIT_TIMEOUT = -int(signal.SIGKILL)
#: Exit code reported for a background task whose readiness checks never passed.
EXIT_NOT_READY = -1


def log_stem(job_id: int, node_name: str, stage: str, task: str, attempt: int) -> str:
    """Log files of one task attempt, relative to the run directory, without suffix.

    Examples
    --------
    >>> log_stem(0, "srv", "start_server", "server", 0)
    'logs/0/srv/start_server.server.0'
    """
    return f"logs/{job_id}/{node_name}/{stage}.{task}.{attempt}"


def task_argv(
    planned: PlannedTask,
    *,
    docker: str = "docker",
    container: str | None = None,
    detach: bool = False,
) -> list[str]:
    """The argv a planned (rendered) task runs as; stoppers run nothing.

    Parameters
    ----------
    planned : PlannedTask
        A task rendered by the planner.
    docker : str
        The docker CLI to call.
    container : str, optional
        For ``docker run``: name the container (``--name``); attached runs also get
        ``--rm``, so the container goes with its task.
    detach : bool
        For ``docker run``: ``-d`` instead of ``--rm`` (a background task's container,
        watched and removed by the agent).

    Examples
    --------
    >>> task_argv(PlannedTask("t", Driver.SHELL, "echo 'a b'"))
    ['sh', '-c', "echo 'a b'"]
    >>> task_argv(PlannedTask("d", Driver.DOCKER, "docker run db:1"), container="c", detach=True)
    ['docker', 'run', '-d', '--name', 'c', 'db:1']
    """
    if planned.driver is Driver.SHELL:
        return ["sh", "-c", str(planned.command)]
    if planned.driver is Driver.EXEC:
        return list(planned.command)
    if planned.driver is Driver.DOCKER:
        argv = shlex.split(str(planned.command))
        argv[0] = docker
        if container is not None and is_docker_run(argv):
            argv[2:2] = ["-d" if detach else "--rm", "--name", container]
        return argv
    return []


def is_docker_run(argv: list[str]) -> bool:
    """Whether a docker task's argv is ``docker run ...`` (a container to look after)."""
    return len(argv) > 1 and argv[1] == "run"


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


def docker_teardown_argv(docker: str, container: str, grace: float) -> list[str]:
    """``docker stop`` (SIGTERM, SIGKILL after ``grace``), ``docker logs``, ``docker rm``
    of one container, as one argv (the values are ``sh`` arguments, never parsed).

    Its stdout and stderr are the container's: appended to the task's log files.
    """
    script = '"$0" stop -t "$1" "$2" >/dev/null; "$0" logs "$2"; "$0" rm "$2" >/dev/null'
    return ["sh", "-c", script, docker, str(max(0, round(grace))), container]


def describe(rc: int) -> str:
    """How a process ended, in words: ``exited with code 3``, ``was killed by SIGKILL``."""
    if rc < 0:
        try:
            return f"was killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"was killed by signal {-rc}"
    return f"exited with code {rc}"


# -- process groups ----------------------------------------------------------------------


def signal_group(pgid: int, sig: int) -> None:
    """Send ``sig`` to process group ``pgid``; a group that is gone is no error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_alive(pgid: int) -> bool:
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


class Ending:
    """A process group being stopped (or whose task ended): SIGKILL at ``kill_at``.

    ``key`` names the task attempt it belongs to (None: nobody waits for it); ``note``
    is a line for the keeper once it is gone (e.g. ``-c NAME``: a container removed).
    """

    __slots__ = ("popen", "pgid", "kill_at", "killed", "key", "note")

    def __init__(
        self,
        popen: subprocess.Popen,
        kill_at: float,
        key: str | None,
        *,
        sig: int | None,
        note: str | None = None,
    ) -> None:
        self.popen = popen
        self.pgid = popen.pid  # a new session: the group id is the leader's pid
        self.kill_at = kill_at
        self.key = key
        self.note = note
        self.killed = sig == signal.SIGKILL
        if sig is not None:
            signal_group(self.pgid, sig)

    def done(self, now: float) -> bool:
        """Reap the leader; SIGKILL the group when the grace is over. True when gone."""
        reaped = self.popen.poll() is not None
        if reaped and not group_alive(self.pgid):
            return True
        if not self.killed and now >= self.kill_at:
            signal_group(self.pgid, signal.SIGKILL)
            self.killed = True
        # killed members reparented to init may stay zombies a while: they are dead
        return reaped and self.killed


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


def kill_marked(name: str, value: str) -> int:
    """SIGKILL every process whose environment has ``name=value``; returns how many."""
    killed = 0
    for pid in find_processes(f"{name}={value}".encode()):
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except (ProcessLookupError, PermissionError):
            pass
    return killed


# -- the keeper --------------------------------------------------------------------------

#: The keeper's program: stdlib only, run with ``python -I -S``. It reads lines
#: ``+g PGID`` / ``-g PGID`` (groups), ``+c NAME`` / ``-c NAME`` (containers) and
#: ``d PATH`` (the docker CLI) from its stdin; at end of file (its agent is gone, or
#: closed it) it kills what is left: the groups, every process whose environment holds
#: its marker (argv[1]), and the containers.
_KEEPER = """
import os, signal, subprocess, sys
groups, containers, docker = set(), set(), "docker"
for line in sys.stdin:
    op, _, arg = line.rstrip("\\n").partition(" ")
    if op == "+g": groups.add(int(arg))
    elif op == "-g": groups.discard(int(arg))
    elif op == "+c": containers.add(arg)
    elif op == "-c": containers.discard(arg)
    elif op == "d": docker = arg
for pgid in groups:
    try: os.killpg(pgid, signal.SIGKILL)
    except OSError: pass
marker = sys.argv[1].encode()
for pid in os.listdir("/proc") if os.path.isdir("/proc") else ():
    if pid.isdigit() and int(pid) != os.getpid():
        try:
            if marker in open("/proc/%s/environ" % pid, "rb").read().split(b"\\0"):
                os.kill(int(pid), signal.SIGKILL)
        except OSError: pass
for name in containers:
    try: subprocess.run([docker, "rm", "-f", name], stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    except Exception: pass
"""


class Keeper:
    """A process that stops an agent's tasks if the agent dies (see the module docstring).

    Parameters
    ----------
    marker : str
        ``NAME=value`` every task of the agent carries in its environment.
    cwd : path
        Where it runs (the agent's directory).

    Notes
    -----
    Closing the keeper (:meth:`close`) after the agent stopped everything makes it sweep
    once more and exit. A keeper that cannot start or dies only loses this safety net:
    the agent goes on.
    """

    def __init__(self, marker: str, cwd: str | os.PathLike[str]) -> None:
        self.popen: subprocess.Popen | None
        try:
            self.popen = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _KEEPER, marker],
                cwd=cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C to the agent's terminal is not for it
                text=True,
            )
        except OSError:
            self.popen = None

    def tell(self, line: str) -> None:
        """Send one line of the keeper's protocol (``+g 1234``, ``-c name``, ...)."""
        if self.popen is None or self.popen.stdin is None:
            return
        try:
            self.popen.stdin.write(line + "\n")
            self.popen.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            self.popen = None  # it died: no safety net, nothing else changes

    def close(self, timeout: float = 10.0) -> None:
        """Close the pipe (the keeper sweeps and exits) and wait for it."""
        popen, self.popen = self.popen, None
        if popen is None:
            return
        with contextlib.suppress(OSError, ValueError):
            if popen.stdin is not None:
                popen.stdin.close()
        try:
            popen.wait(timeout)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()


# -- the process groups of one agent ---------------------------------------------------------


class CannotStart(Exception):
    """A task (or a readiness check) could not be started; the message says why."""


class Groups:
    """The process groups one agent started: each started with its keeper told, and
    stopped as an :class:`Ending` until it is gone.

    Parameters
    ----------
    grace : float
        Seconds between SIGTERM and SIGKILL.
    docker : str
        The docker CLI (a name looked up on ``PATH``, or a path), checked once.
    keeper : Keeper, optional
        Told of every group and container (None: no keeper).
    """

    def __init__(self, *, grace: float, docker: str, keeper: Keeper | None) -> None:
        self.grace = grace
        self.docker = docker
        self.keeper = keeper
        #: groups being stopped, or whose task ended (what is left of them)
        self.ending: list[Ending] = []
        self._docker: tuple[str, str] | None = None  # (path, problem) once checked

    def docker_cli(self) -> tuple[str, str]:
        """``(path of the docker CLI, problem)``, checked on first use (:func:`docker_status`)."""
        if self._docker is None:
            self._docker = docker_status(self.docker)
        return self._docker

    def spawn(
        self, planned: PlannedTask, cwd: Path, env: dict[str, str], stem: Path, container: str,
        *, detach: bool = False,
    ) -> subprocess.Popen:  # fmt: skip
        """Start a planned task (or check) as a new process group, its output appended to
        ``stem.out`` / ``stem.err``; raises :class:`CannotStart` with the reason."""
        docker = self.docker
        if planned.driver is Driver.DOCKER:
            docker, problem = self.docker_cli()
            if problem:
                raise CannotStart(f"docker not available: {problem}")
        argv = task_argv(planned, docker=docker, container=container, detach=detach)
        if not argv:
            raise CannotStart("nothing to run: empty command")
        popen = self.popen(argv, cwd, env, stem)
        if planned.driver is Driver.DOCKER and is_docker_run(argv):
            self.tell(f"d {docker}")
            self.tell(f"+c {container}")
        return popen

    def popen(
        self, argv: list[str], cwd: Path, env: dict[str, str], stem: Path, *, stdout: Any = None
    ) -> subprocess.Popen:
        """Start ``argv`` as a new process group (stdout to ``stem.out`` unless given)."""
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
                raise CannotStart(f"cannot start {argv[0]!r}: {exc.strerror or exc}") from None
        self.tell(f"+g {popen.pid}")
        return popen

    def stop(self, popen: subprocess.Popen, now: float, key: str | None, *, hard: bool) -> None:
        """Stop a group: SIGKILL now (``hard``), or SIGTERM and SIGKILL after the grace."""
        sig = signal.SIGKILL if hard else signal.SIGTERM
        self.ending.append(Ending(popen, now + self.grace, key, sig=sig))

    def reap(self, popen: subprocess.Popen, now: float, key: str | None) -> None:
        """A group whose leader ended: wait for the rest, SIGKILL it after the grace."""
        self.ending.append(Ending(popen, now + self.grace, key, sig=None))

    def clean_up(
        self, argv: list[str], cwd: Path, env: dict[str, str], stem: Path, key: str,
        kill_at: float, container: str,
    ) -> None:  # fmt: skip
        """Run a command that removes ``container`` (output appended to the task's logs);
        once it is done the keeper forgets the container. If it cannot start, the keeper
        removes the container when the agent ends."""
        try:
            popen = self.popen(argv, cwd, env, stem)
        except CannotStart:
            return
        self.ending.append(Ending(popen, kill_at, key, sig=None, note=f"-c {container}"))

    def pending(self, key: str) -> bool:
        """Whether a group of attempt ``key`` is still being stopped."""
        return any(e.key == key for e in self.ending)

    def step(self, now: float) -> list[str]:
        """Look at the groups being stopped once; the keys of attempts one of whose groups
        just went (in order, each once)."""
        done = [e for e in self.ending if e.done(now)]
        if not done:
            return []
        self.ending = [e for e in self.ending if e not in done]
        for e in done:
            self.tell(f"-g {e.pgid}")
            if e.note:
                self.tell(e.note)
        return list(dict.fromkeys(e.key for e in done if e.key is not None))

    def tell(self, line: str) -> None:
        """One line for the keeper (see :class:`Keeper`)."""
        if self.keeper is not None:
            self.keeper.tell(line)
