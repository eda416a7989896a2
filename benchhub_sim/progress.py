"""Progress bars for long runs: tqdm on a terminal or in a notebook, silent otherwise."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def wants_progress(quiet: bool = False) -> bool:
    """Show bars unless ``quiet``, or when stderr is not a terminal (pipes, CI, tests)."""
    if quiet:
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def job_progress(
    total: int | None, desc: str, *, enabled: bool
) -> Iterator[Callable[[int, float], None] | None]:
    """A callback ``update(jobs_ended, now)`` driving a bar, or None when disabled.

    The bar shows jobs done (of ``total`` when known) and the simulated time reached;
    updates are throttled so a million-job run is not slowed by its bar.
    """
    if not enabled:
        yield None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit="job", mininterval=0.25, leave=True)
    state = {"shown": 0}

    def update(done: int, now: float) -> None:
        if done - state["shown"] >= 256 or (total is not None and done == total):
            bar.update(done - state["shown"])
            state["shown"] = done
            bar.set_postfix_str(f"t={now:,.0f}s", refresh=False)

    try:
        yield update
    finally:
        bar.close()
