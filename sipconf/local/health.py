"""Health and metrics of the embedded control plane and whatever runs beside it.

Served on the control plane's HTTP port, without a token (it listens on loopback only):

- `GET /healthz` and `GET /readyz`: 200 `ok` while every listener serves; 503 with
  `not ready: <listener> listener stopped` as the first line once any has stopped (the
  control plane's HTTP, and the bridge's UDP and TCP, which `sipconf up` adds). A stopped
  listener does not come back, so liveness and readiness fail together. Every listener
  follows, one line each (`udp: serving` / `udp: stopped`).
- `GET /metrics`: every registered family in the Prometheus text format, after the
  listeners, the process's asyncio task count (a count that keeps growing is a leak) and
  its garbage collector's collections and frozen objects.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Callable, Iterable, Mapping

from sipconf.bridge.metrics import Family, render

__all__ = ["Health", "METRICS_CONTENT_TYPE"]

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Listeners = Callable[[], Mapping[str, bool]]  # listener name -> still serving
Collector = Callable[[], Iterable[Family]]


class Health:
    def __init__(self) -> None:
        self._listeners: list[Listeners] = []
        self._collectors: list[Collector] = []

    def add_listeners(self, listeners: Listeners) -> None:
        self._listeners.append(listeners)

    def add_metrics(self, collector: Collector) -> None:
        self._collectors.append(collector)

    def listeners(self) -> dict[str, bool]:
        out: dict[str, bool] = {}
        for listeners in self._listeners:
            out.update(listeners())
        return out

    def readiness(self) -> tuple[int, str]:
        """(HTTP status, text body)."""
        listeners = self.listeners()
        stopped = [name for name, serving in listeners.items() if not serving]
        details = "".join(f"{name}: {'serving' if serving else 'stopped'}\n" for name, serving in listeners.items())
        if stopped:
            names = ", ".join(stopped)
            return 503, f"not ready: {names} listener{'s' if len(stopped) > 1 else ''} stopped\n{details}"
        return 200, f"ok\n{details}"

    def metrics(self) -> str:
        families = [Family.labelled("sipconf_listener_up", "gauge", "1 while the listener serves, 0 once it stopped.",
                                    "listener", {name: int(up) for name, up in self.listeners().items()}),
                    Family.single("sipconf_asyncio_tasks", "gauge", "asyncio tasks not done yet, this one included.",
                                  _task_count()),
                    Family.labelled("sipconf_gc_collections_total", "counter",
                                    "Collections of the cyclic garbage collector, by generation (2: full"
                                    " collections, which stop the event loop longest).", "generation",
                                    {str(n): stats["collections"] for n, stats in enumerate(gc.get_stats())}),
                    Family.single("sipconf_gc_frozen_objects", "gauge",
                                  "Objects moved out of the garbage collector's reach (gc.freeze) after"
                                  " start-up: no collection walks them.", gc.get_freeze_count())]
        for collect in self._collectors:
            families.extend(collect())
        return render(families)


def _task_count() -> int:
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:  # no running loop: nothing can be pending
        return 0
