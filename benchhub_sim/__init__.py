"""benchhub_sim: explore, simulate, execute and replay BenchHub benchmark clusters."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
