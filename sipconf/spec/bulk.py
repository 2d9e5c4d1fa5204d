"""A pause of Python's cycle collector while a spec is built or checked.

Loading a large spec creates hundreds of thousands of small objects that all stay alive (nodes,
positions, models, messages), and checking it routes thousands of witness calls next to them.
Each collection the allocations trigger walks every live object and finds nothing to free, so
with the collector on, a 10,000-number spec spends as long collecting as working. Reference
counting still frees everything acyclic meanwhile; the collector runs again when the pause ends.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
