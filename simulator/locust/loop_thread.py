"""One asyncio event loop in a real OS thread, for gevent's greenlets to hand coroutines to.

Locust monkey-patches its process with gevent: `threading` then makes greenlets, and
`selectors` waits on gevent's hub. An asyncio loop run inside a Locust user (`asyncio.run()`
in a task) shares the hub with every other user and failed half its calls when tried. So a
worker process runs one loop of its own, in an OS thread started with the unpatched
`_thread.start_new_thread`, on the unpatched epoll selector, and its users hand calls to it
with `asyncio.run_coroutine_threadsafe`.

A user's greenlet then waits on a gevent `AsyncResult`, which lets the hub run the other
users meanwhile. The loop thread never touches gevent objects: it queues the outcome and
wakes the hub through an `async` watcher, the one gevent object meant to be signalled from
another thread; the hub then sets the results (the watcher may fold several signals into
one wake-up, so each wake-up drains the whole queue).
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any, Coroutine

import gevent
from gevent import monkey
from gevent.event import AsyncResult

__all__ = ["LoopThread"]

STOP_TIMEOUT = 10.0  # seconds to wait for the loop thread to finish its calls and end


class LoopThread:
    """`loops = LoopThread()` in a greenlet of the main thread; `loops.run(coro, timeout)` from
    any greenlet; `loops.close()` once, at exit."""

    def __init__(self) -> None:
        self._hub = gevent.get_hub()
        self._settled: collections.deque[tuple[AsyncResult, bool, Any]] = collections.deque()
        self._wake = self._hub.loop.async_()
        self._wake.start(self._deliver)
        selector = monkey.get_original("selectors", "DefaultSelector")()
        self.loop = asyncio.SelectorEventLoop(selector)
        self._ended = monkey.get_original("_thread", "allocate_lock")()
        self._ended.acquire()
        start_thread = monkey.get_original("_thread", "start_new_thread")
        self.thread_id: int = start_thread(self._main, ())

    def _main(self) -> None:
        """The OS thread: run the loop until `close`, then let every call in flight end."""
        try:
            self.loop.run_forever()
            pending = asyncio.all_tasks(self.loop)
            for task in pending:
                task.cancel()
            if pending:
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self._ended.release()

    def run(self, coro: Coroutine, timeout: float) -> Any:
        """Run `coro` on the loop and return its value (or raise its exception) in the calling
        greenlet, which waits without blocking the hub; `gevent.Timeout` after `timeout`
        seconds, and the coroutine is cancelled."""
        result = AsyncResult()
        future = asyncio.run_coroutine_threadsafe(self._settle(coro, result), self.loop)
        try:
            return result.get(timeout=timeout)
        finally:
            if not result.ready():  # timed out, or the greenlet was killed (Locust stopping a user)
                future.cancel()

    async def _settle(self, coro: Coroutine, result: AsyncResult) -> None:
        """On the loop thread: run `coro`, then queue its outcome for the hub and wake it."""
        try:
            outcome = (result, True, await coro)
        except asyncio.CancelledError as err:
            self._post((result, False, err))
            raise
        except Exception as err:
            outcome = (result, False, err)
        self._post(outcome)

    def _post(self, outcome: tuple[AsyncResult, bool, Any]) -> None:
        self._settled.append(outcome)
        self._wake.send()  # thread-safe: only sets a flag and wakes the hub's loop

    def _deliver(self) -> None:
        """In the hub: hand every queued outcome to the greenlet waiting for it."""
        while self._settled:
            result, ok, value = self._settled.popleft()
            if ok:
                result.set(value)
            else:
                result.set_exception(value)

    def close(self) -> None:
        """Stop the loop, cancel what is still running, wait for the thread to end."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        # Only at exit: the hub may block here for the thread's last moments.
        ended = self._ended.acquire(timeout=STOP_TIMEOUT)
        self._wake.stop()
        self._wake.close()
        if ended:  # else the thread is stuck in a call: the process exits around it
            self.loop.close()
