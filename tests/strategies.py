"""Hypothesis strategies for valid job specs, reusable by other test folders.

``job_specs()`` draws :class:`~benchhub_sim.spec.model.JobSpec` objects that pass every
validation rule: unique names, selectors that match an assignment, background stages
with background tasks, readiness checks, stoppers aimed at background stages, templates
naming existing assignments, explicit (stage and task) pipelines that partition their
items, durations of every distribution, stoppers of a stage selected by ``none``. Every
dialect is drawn.
"""

from __future__ import annotations

import string

from hypothesis import strategies as st

from benchhub_sim.spec.model import (
    DIALECTS,
    DISTRIBUTIONS,
    DockerAction,
    DockerPayload,
    DockerPort,
    Driver,
    Duration,
    ExecPayload,
    JobSpec,
    NodeAssignment,
    Owner,
    OwnerType,
    Requirements,
    Role,
    Selector,
    ShellPayload,
    Stage,
    StagePipeline,
    StopperPayload,
    Task,
    TaskPipeline,
    Workload,
)

__all__ = ["durations", "job_specs", "names", "words"]

#: identifiers without '-', so they never collide with the loader's ``task-N`` names
names = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=6)
#: printable text for commands and values
words = st.text(alphabet=string.ascii_letters + string.digits + " .,:/=_-$'\"", max_size=20)
seconds = st.floats(min_value=0.0, max_value=1e4, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=0.001, max_value=1e4, allow_nan=False, allow_infinity=False)


@st.composite
def durations(draw: st.DrawFn) -> Duration:
    """A valid duration of any distribution in :data:`DISTRIBUTIONS`."""
    dist = draw(st.sampled_from(sorted(DISTRIBUTIONS)))
    if dist == "lognormal":
        mu = draw(st.floats(min_value=-3.0, max_value=6.0, allow_nan=False))
        return Duration.of(dist, mu=mu, sigma=draw(st.floats(min_value=0.0, max_value=2.0)))
    if dist == "uniform":
        low, high = sorted((draw(seconds), draw(seconds)))
        return Duration.of(dist, low=low, high=high)
    return Duration.of(dist, **{p: draw(seconds) for p in DISTRIBUTIONS[dist]})


def _unique(draw: st.DrawFn, n: int, prefix: str = "") -> list[str]:
    return [prefix + x for x in draw(st.lists(names, min_size=n, max_size=n, unique=True))]


def _partition(draw: st.DrawFn, items: list[str]) -> list[tuple[str, ...]]:
    """Split ``items`` (in a drawn order) into non-empty consecutive groups."""
    order = draw(st.permutations(items))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(order) - 1)), max_size=len(order) - 1)))
    bounds = [0, *[c for c in cuts if c < len(order)], len(order)]
    return [tuple(order[a:b]) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def _selectors(draw: st.DrawFn, assignments: list[NodeAssignment]) -> tuple[Selector, ...]:
    """At least one selector that matches an assignment, maybe others."""
    a = draw(st.sampled_from(assignments))
    labels = st.dictionaries(names, words, min_size=1, max_size=2).map(lambda d: tuple(d.items()))
    other_role = draw(st.sampled_from(list(Role)))  # name and role are OR-ed
    matching = draw(
        st.sampled_from(["name", "role", "all", "labels", "name_role"]).map(
            lambda kind: {
                "name": Selector(name=a.name),
                "role": Selector(role=a.role),
                "all": Selector(all=True),
                "labels": None,
                "name_role": Selector(name=a.name, role=other_role),
            }[kind]
        )
    )
    if matching is None:
        matching = Selector(labels=draw(labels))
    extra = draw(st.lists(st.just(Selector(none=True)), max_size=1))
    return tuple(draw(st.permutations([matching, *extra])))


def _command(draw: st.DrawFn, assignments: list[str]) -> str:
    parts = draw(st.lists(words, min_size=1, max_size=3))
    refs = draw(
        st.lists(
            st.sampled_from(
                [f"{{{{.Nodes.{a}.Ip}}}}" for a in assignments]
                + ["{{.Node.Ip}}", "{{ .Node.Name }}"]
            ),
            max_size=2,
        )
    )
    return " ".join(p for p in parts + refs if p) or "true"


@st.composite
def _plain_task(
    draw: st.DrawFn, name: str, assignments: list[str], background: bool = False
) -> Task:
    driver = draw(st.sampled_from([Driver.SHELL, Driver.EXEC, Driver.DOCKER]))
    payload: dict[str, object] = {}
    if driver is Driver.SHELL:
        payload["shell"] = ShellPayload(_command(draw, assignments))
    elif driver is Driver.EXEC:
        args = draw(st.lists(words, max_size=3))  # args may be empty strings
        payload["exec"] = ExecPayload(draw(words.filter(bool)), tuple(args))
    else:
        ports = draw(
            st.lists(
                st.builds(DockerPort, st.integers(1, 65535), st.integers(0, 65535)), max_size=2
            )
        )
        payload["docker"] = DockerPayload(
            image=draw(names) + ":" + draw(st.sampled_from(["1", "latest"])),
            action=draw(st.sampled_from(list(DockerAction))),
            ports=tuple(ports),
            args=tuple(draw(st.lists(words, max_size=2))),
        )
    env = draw(st.dictionaries(names.map(str.upper), words, max_size=2))
    return Task(
        name=name,
        driver=driver,
        env=tuple(env.items()),
        background=background,
        timeout=draw(st.none() | positive),
        retries=draw(st.integers(0, 3)),
        duration=draw(st.none() | durations()),
        fail_prob=draw(st.floats(min_value=0.0, max_value=1.0)),
        **payload,  # type: ignore[arg-type]
    )


@st.composite
def job_specs(
    draw: st.DrawFn, *, max_assignments: int = 3, max_stages: int = 5, max_tasks: int = 4
) -> JobSpec:
    """A valid :class:`JobSpec` (it passes ``validate_spec``)."""
    n_assign = draw(st.integers(1, max_assignments))
    assignments = [
        NodeAssignment(
            name=name,
            role=draw(st.sampled_from(list(Role))),
            selectors=tuple(
                draw(st.lists(st.builds(Selector, role=st.sampled_from(list(Role))), max_size=1))
            ),
            count=draw(st.integers(1, 4)),
            requirements=Requirements(draw(seconds), draw(seconds), draw(seconds)),
        )
        for name in _unique(draw, n_assign)
    ]
    anames = [a.name for a in assignments]

    # skeleton first: stopper tasks need the names of background stages and tasks
    n_stages = draw(st.integers(1, max_stages))
    stage_names = _unique(draw, n_stages, "s_")
    skeleton = []
    for sname in stage_names:
        background = draw(st.booleans())
        n_tasks = draw(st.integers(1, max_tasks))
        explicit = draw(st.booleans())
        custom = _unique(draw, n_tasks, "t_")
        tnames = [
            c if explicit or draw(st.booleans()) else f"task-{j}" for j, c in enumerate(custom)
        ]
        bg = [background and (j == 0 or draw(st.booleans())) for j in range(n_tasks)]
        skeleton.append((sname, background, tnames, bg, explicit))
    targets = [
        (s, [t for t, b in zip(tn, bg, strict=True) if b])
        for s, back, tn, bg, _ in skeleton
        if back
    ]

    stages = []
    for sname, background, tnames, bg, explicit in skeleton:
        tasks = []
        for tname, is_bg in zip(tnames, bg, strict=True):
            if is_bg:
                task = draw(_plain_task(tname, anames, background=True))
                checks = tuple(
                    draw(_plain_task(c, anames))
                    for c in _unique(draw, draw(st.integers(0, 2)), "r_")
                )
                task = _replace(task, ready=checks, ready_timeout=draw(st.none() | positive))
            elif targets and draw(st.integers(0, 4)) == 0:
                target, bg_tasks = draw(st.sampled_from(targets))
                task_name = draw(st.none() | st.sampled_from(bg_tasks))
                stop = StopperPayload(target, task_name, task_name is None and draw(st.booleans()))
                task = Task(
                    name=tname,
                    driver=Driver.STOPPER,
                    stopper=stop,
                    duration=draw(st.none() | durations()),
                )
            else:
                task = draw(_plain_task(tname, anames))
            tasks.append(task)
        pipes: tuple[TaskPipeline, ...] = ()
        if explicit:
            groups = _partition(draw, tnames)
            pipes = tuple(
                TaskPipeline(f"pipeline-{q}" if draw(st.booleans()) else f"tp{q}", g)
                for q, g in enumerate(groups)
            )
        stages.append(
            Stage(
                name=sname,
                background=background,
                selectors=_selectors(draw, assignments),
                tasks=tuple(tasks),
                pipelines=pipes,
            )
        )

    if targets and draw(st.booleans()):
        # stoppers the central runs on the nodes of the stages they stop (``none``)
        stops = draw(st.lists(st.sampled_from(targets), min_size=1, max_size=2))
        stages.append(
            Stage(
                name="c_stop",
                selectors=(Selector(none=True),),
                tasks=tuple(
                    Task(f"t_{k}", Driver.STOPPER, stopper=StopperPayload(target, all=True))
                    for k, (target, _) in enumerate(stops)
                ),
            )
        )
        stage_names.append("c_stop")

    pipelines: tuple[StagePipeline, ...] = ()
    if draw(st.booleans()):
        groups = _partition(draw, stage_names)
        pipelines = tuple(
            StagePipeline(f"pipeline-{k}" if draw(st.booleans()) else f"p{k}", g)
            for k, g in enumerate(groups)
        )
    return JobSpec(
        name=draw(names),
        owner=Owner(
            *(draw(st.sampled_from(["", "1", "at15"])) for _ in range(2)),
            draw(st.none() | st.sampled_from(list(OwnerType))),
        ),
        workload=Workload(
            *(draw(st.sampled_from(["", "pingpong", "0.0.1", "constant"])) for _ in range(5))
        ),
        node_assignments=tuple(assignments),
        pipelines=pipelines,
        stages=tuple(stages),
        reason=draw(st.sampled_from(["", "example"])),
        walltime=draw(st.none() | positive),
        priority=draw(st.floats(min_value=-100, max_value=100)),
        dialect=draw(st.sampled_from(list(DIALECTS))),
        id=draw(st.sampled_from(["", "7", "job-1"])),
    )


def _replace(task: Task, **changes: object) -> Task:
    import dataclasses

    return dataclasses.replace(task, **changes)  # type: ignore[arg-type]
