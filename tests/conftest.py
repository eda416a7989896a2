"""Test-wide settings: plots render off-screen, progress bars stay off, and Hypothesis
runs the profile of ``tests/hypothesis_profiles.py`` (``ci`` unless
``HYPOTHESIS_PROFILE=long``).

The modules beside this file that tests share (``strategies``: the Hypothesis strategies
of specs; ``hypothesis_profiles``) import by their plain names, whatever directory pytest
runs from and whichever import mode it uses.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

import hypothesis_profiles  # noqa: E402

os.environ.setdefault("MPLBACKEND", "Agg")
hypothesis_profiles.load()
