"""Hypothesis profiles for the suite (loaded by ``tests/conftest.py``).

- ``ci`` (the default): the same examples on every run (``derandomize``), no example
  database, no shrinking: a failure is reported at once with the example that failed,
  and the suite's time is bounded. A case found by the long run is pinned with
  ``@example`` next to its test.
- ``long``: random examples, :data:`LONG_SCALE` times as many, with shrinking; run it
  before a release::

      HYPOTHESIS_PROFILE=long python -m pytest -q -p no:cacheprovider

Each property test states its CI budget as ``max_examples=examples(n)``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

#: how many more examples the long profile runs than CI
LONG_SCALE = 20
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "long",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def load() -> None:
    """Load the profile named by ``HYPOTHESIS_PROFILE`` (default ``ci``)."""
    if PROFILE not in ("ci", "long"):
        raise ValueError(f"HYPOTHESIS_PROFILE={PROFILE!r}: expected 'ci' or 'long'")
    settings.load_profile(PROFILE)


def examples(n: int, long: int | None = None) -> int:
    """A test's example count: ``n`` in CI; in the long run ``long``, by default
    :data:`LONG_SCALE` times ``n`` (an issue's acceptance may ask for more)."""
    if PROFILE != "long":
        return n
    return n * LONG_SCALE if long is None else max(long, n * LONG_SCALE)
