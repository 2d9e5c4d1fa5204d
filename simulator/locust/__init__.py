"""Locust integration: the calls of a scenario file as Locust users, on one machine or many.

`locust -f $(python -m simulator.locust)` runs the shipped locustfile (docs/load.md has the
command lines for a master and N workers). The pieces, each small:
- `plan`: the scenario file's inbound calls, the target and each worker's source address;
- `calls`: one call placed through the scripted agent (`sipconf.agent`), set up and hung up;
- `loop_thread`: one asyncio loop per worker process, in a real OS thread, that gevent's
  greenlets hand their calls to;
- `tally`: what each worker sends the master beside Locust's own stats (calls per worker,
  the per-second timeline the chart is drawn from);
- `user`: the Locust user class, its command-line options and event listeners (the only
  module that imports locust, so importing this package patches nothing).
Locust is the optional extra `sipconf[load]`.
"""

from pathlib import Path

LOCUSTFILE = Path(__file__).resolve().with_name("locustfile.py")
