"""Job streams: spec lists, arrival processes, jobs files, SWF traces, recorded runs."""

from __future__ import annotations

from benchhub_sim.workload.base import JobRequest, RequestList, Workload

__all__ = ["JobRequest", "RequestList", "Workload"]
