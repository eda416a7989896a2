"""Test-wide settings: plots render off-screen, progress bars stay off, and Hypothesis
runs the profile of ``tests/hypothesis_profiles.py`` (``ci`` unless
``HYPOTHESIS_PROFILE=long``)."""

from __future__ import annotations

import os

import hypothesis_profiles

os.environ.setdefault("MPLBACKEND", "Agg")
hypothesis_profiles.load()
