"""Run as a script (not collected): the loop thread inside a process gevent has patched, as
Locust's is. Prints one JSON object of what it saw; test_loop_thread.py asserts on it."""

from gevent import monkey

monkey.patch_all()

import asyncio  # noqa: E402  (after patching, as under Locust)
import json  # noqa: E402

import gevent  # noqa: E402

from simulator.locust.loop_thread import LoopThread  # noqa: E402

CALLS = 50


def main() -> dict:
    loops = LoopThread()
    main_thread = monkey.get_original("_thread", "get_ident")()
    hub_ran = asyncio.Event()
    seen = {"cancelled": 0}

    async def call(i: int) -> tuple[int, int]:
        # Every call waits until a greenlet has run while all of them wait: with a hub
        # blocked by the waiting greenlets, none would ever finish.
        await hub_ran.wait()
        return i, monkey.get_original("_thread", "get_ident")()

    async def fails() -> None:
        raise ValueError("the coroutine's own error")

    async def never() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen["cancelled"] += 1
            raise

    def ticker() -> None:
        gevent.sleep(0)
        loops.loop.call_soon_threadsafe(hub_ran.set)

    waiting = [gevent.spawn(loops.run, call(i), 30) for i in range(CALLS)]
    gevent.spawn(ticker)
    gevent.joinall(waiting, timeout=60)
    def outcome(coro, timeout: float) -> str:
        try:
            return repr(loops.run(coro, timeout))
        except (Exception, gevent.Timeout) as err:
            return f"{type(err).__name__}: {err}"

    error = gevent.spawn(outcome, fails(), 30)
    timeout = gevent.spawn(outcome, never(), 0.2)
    gevent.joinall([error, timeout], timeout=60)
    selector = type(loops.loop._selector)
    loops.close()
    return {
        "threading_patched": monkey.is_module_patched("threading"),
        "selector": f"{selector.__module__}.{selector.__name__}",
        "values": sorted(g.value[0] for g in waiting if g.successful()),
        "threads": sorted({g.value[1] != main_thread for g in waiting if g.successful()}),
        "error": error.value,
        "timeout": timeout.value,
        "cancelled": seen["cancelled"],
        "closed": loops.loop.is_closed(),
    }


if __name__ == "__main__":
    print(json.dumps(main()))
