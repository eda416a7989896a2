"""Test-wide settings: plots render off-screen, progress bars stay off."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")
