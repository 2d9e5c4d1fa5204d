"""The shipped locustfile: `locust -f $(python -m simulator.locust) --sip-scenarios FILE ...`.

It only exposes the user class; its options and listeners are registered when the module
that defines it is imported (docs/load.md).
"""

from simulator.locust.user import ScenarioCaller

__all__ = ["ScenarioCaller"]
