"""Jobs files: which specs are submitted when (the format: :data:`JOBS_FILE_FORMAT`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchhub_sim.errors import SpecError, WorkloadError
from benchhub_sim.spec.load import load_spec, parse_yaml
from benchhub_sim.spec.model import JobSpec
from benchhub_sim.spec.validate import Locator, did_you_mean
from benchhub_sim.workload.base import JobRequest, RequestList

_KEYS = ("spec", "submit", "count", "every", "priority", "walltime")

#: the format of a jobs file, as ``benchhub-sim simulate --help`` and the README show it
JOBS_FILE_FORMAT = """\
jobs:
  - spec: specs/pingpong.yml  # a path relative to the jobs file, or an inline spec
    submit: 0                 # seconds from the start of the run (default 0)
    count: 3                  # copies (default 1)
    every: 10                 # seconds between copies (default 0: all at once)
    priority: 5               # overrides the spec's (for --policy priority)
    walltime: 120             # seconds; overrides the spec's estimate (backfilling)
"""


def load_jobs(path: str | os.PathLike[str]) -> RequestList:
    """Read a jobs file into a workload of job requests, sorted by submit time (stable).

    Every problem (in the file or in the specs it names) is collected, then one
    :class:`WorkloadError` lists them all.
    """
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WorkloadError(
            [f"{where}: cannot read the jobs file: {exc.strerror or exc}"]
        ) from None
    loc = Locator(where=where)
    try:
        data = parse_yaml(text, loc)
    except SpecError as exc:
        raise WorkloadError(exc.problems) from None
    entries = data.get("jobs") if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        raise WorkloadError([f"{where}:1: jobs: expected a mapping with a list under 'jobs'"])
    if not entries:
        raise WorkloadError([f"{where}:{loc.line(('jobs',)) or 1}: jobs: the list is empty"])
    problems: list[Any] = list(loc.problems)
    specs: dict[str, JobSpec] = {}
    requests: list[JobRequest] = []
    for i, entry in enumerate(entries):
        here = f"{where}:{loc.line(('jobs', i)) or '?'}: jobs[{i}]"
        if not isinstance(entry, Mapping):
            problems.append(f"{here}: expected a mapping, found {type(entry).__name__}")
            continue
        for key in entry:
            if key not in _KEYS:
                problems.append(f"{here}.{key}: unknown key{did_you_mean(str(key), _KEYS)}")
        spec = _spec(entry.get("spec"), path.parent, here, specs, problems)
        nums: dict[str, Any] = {}
        for key, default in (
            ("submit", 0.0),
            ("count", 1),
            ("every", 0.0),
            ("priority", None),
            ("walltime", None),
        ):
            value = entry.get(key, default)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or value < 0
            ):
                problems.append(f"{here}.{key}: expected a number >= 0, found {value!r}")
                value = default
            nums[key] = value
        if not isinstance(nums["count"], int) or nums["count"] < 1:
            problems.append(f"{here}.count: expected a whole number >= 1, found {nums['count']!r}")
            continue
        if spec is None:
            continue
        for k in range(nums["count"]):
            requests.append(
                JobRequest(
                    spec,
                    float(nums["submit"]) + k * float(nums["every"]),
                    priority=nums["priority"],
                    walltime=nums["walltime"],
                )
            )
    if problems:
        raise WorkloadError(problems)
    return RequestList(requests)


def _spec(
    value: Any, base: Path, here: str, cache: dict[str, JobSpec], problems: list[Any]
) -> JobSpec | None:
    if value is None:
        problems.append(f"{here}.spec: missing (a path or an inline spec)")
        return None
    try:
        if isinstance(value, Mapping):
            return load_spec(value, name_hint=f"{here}.spec")
        if isinstance(value, str):
            full = str((base / value).resolve())
            if full not in cache:
                cache[full] = load_spec(full, name_hint=str(base / value))
            return cache[full]
    except SpecError as exc:
        problems.extend(exc.problems)
        return None
    problems.append(f"{here}.spec: expected a path or a mapping, found {type(value).__name__}")
    return None
