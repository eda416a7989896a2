"""Node failures: per-node MTBF/MTTR (exponential up and down times) or an explicit list.

Their events are the loop's *background* events: they never keep a run going by
themselves (see :meth:`benchhub_sim.engine.engine.Engine.run`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from benchhub_sim.engine.loop import URGENT
from benchhub_sim.rng import make_rng


class Faults:
    """Schedules node failures and recoveries while there is work left."""

    def __init__(self, engine: Any, explicit: Sequence[tuple[float, str, float]] = ()) -> None:
        self.engine = engine
        self.explicit = sorted(explicit)
        ids = {n.node_id for n in engine.cluster.nodes}
        for _, node_id, _ in self.explicit:
            if node_id not in ids:
                from benchhub_sim.errors import ScheduleError

                raise ScheduleError(f"fault names node {node_id!r}, which is not in the cluster")
        # faults draw from their own stream, so adding MTBF leaves task durations alone
        self.rng = make_rng(engine.seed, 2**31 - 1)

    def start(self) -> None:
        for t, node_id, down in self.explicit:
            self.engine.loop.background(t, self._fail, (node_id, down, "injected fault"), URGENT)
        for node in self.engine.cluster.nodes:
            if node.mtbf:
                self._later(float(self.rng.exponential(node.mtbf)), self._fail_random, node)

    def _later(self, delay: float, callback: Callable[[Any], None], arg: Any) -> None:
        loop = self.engine.loop
        loop.background(loop.now + delay, callback, arg, URGENT)

    def _fail(self, arg: tuple[str, float, str]) -> None:
        node_id, down, reason = arg
        if self.engine.done:
            return
        if self.engine.central.fail_node(node_id, reason):
            self._later(down, self._recover, (node_id, None))

    def _fail_random(self, node: Any) -> None:
        if self.engine.done:
            return
        if self.engine.central.fail_node(node.node_id, f"node failure (mtbf {node.mtbf:g} s)"):
            down = float(self.rng.exponential(node.mttr)) if node.mttr else 0.0
            self._later(down, self._recover, (node.node_id, node))

    def _recover(self, arg: tuple[str, Any]) -> None:
        node_id, node = arg
        self.engine.central.recover_node(node_id)
        if node is not None and not self.engine.done:
            self._later(float(self.rng.exponential(node.mtbf)), self._fail_random, node)
