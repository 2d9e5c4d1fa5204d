"""The adapter against a stub HTTP server that behaves like a real LiveKit under stress:
plain-text 401s, 429 / unavailable answers; and the apply lock of the embedded plane."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web
from livekit.protocol import sip

from sipconf.errors import UserError
from sipconf.livekit.adapter import LiveKitAdapter, LockHeld
from sipconf.livekit.retry import RetryPolicy
from sipconf.livekit.target import Target
from sipconf.local.server import ControlPlane
from sipconf.plan.lock import apply_lock

SECRET = "adapter-test-secret-long-enough-for-hs256-01234"


def stub(replies):
    """Serve `replies` (status, content_type, body) in order, then 200 empty lists."""

    async def main(scenario):
        queue = list(replies)

        async def handle(request):
            if queue:
                status, ctype, body = queue.pop(0)
                return web.Response(status=status, body=body, content_type=ctype)
            return web.Response(status=200, body=sip.ListSIPInboundTrunkResponse().SerializeToString(), content_type="application/protobuf")

        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            await scenario(Target(f"http://127.0.0.1:{port}", "key1", SECRET), queue)
        finally:
            await runner.cleanup()

    return main


def test_plain_text_401_of_a_real_server_is_one_line_naming_url_and_key():
    async def scenario(target, _queue):
        async with LiveKitAdapter(target) as lk:
            with pytest.raises(UserError) as err:
                await lk.fetch()
        assert err.value.lines == (
            f"authentication failed at {target.url} with API key 'key1': check LIVEKIT_API_KEY and"
            " LIVEKIT_API_SECRET (the key needs the sip.admin grant)",
        )

    asyncio.run(stub([(401, "text/plain", b"invalid authorization token")])(scenario))


def test_429_and_unavailable_are_retried_with_backoff():
    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    busy = json.dumps({"code": "resource_exhausted", "msg": "slow down"}).encode()
    down = json.dumps({"code": "unavailable", "msg": "try later"}).encode()

    async def scenario(target, queue):
        policy = RetryPolicy(attempts=4, base=1.0, cap=8.0, sleep=sleep)
        async with LiveKitAdapter(target, retry=policy) as lk:
            live = await lk.fetch()
        assert live.inbound == () and queue == []
        assert len(slept) == 2 and 0.5 <= slept[0] <= 1.0 and 1.0 <= slept[1] <= 2.0

    asyncio.run(stub([(429, "application/json", busy), (503, "application/json", down)])(scenario))


def test_other_errors_are_not_retried():
    bad = json.dumps({"code": "invalid_argument", "msg": "no trunk numbers specified"}).encode()

    async def scenario(target, _queue):
        async with LiveKitAdapter(target, retry=RetryPolicy(sleep=lambda s: asyncio.sleep(0))) as lk:
            with pytest.raises(UserError) as err:
                await lk.create("outbound_trunk", sip.SIPOutboundTrunkInfo(name="x"))
        assert err.value.lines == (
            f"LiveKit at {target.url} refused to create outbound trunk 'x': invalid_argument: no trunk numbers specified",
        )

    asyncio.run(stub([(400, "application/json", bad)])(scenario))


def test_a_held_server_lock_is_a_clear_message(tmp_path):
    async def main():
        async with ControlPlane(state_path=tmp_path / "s.db", api_key="k", api_secret=SECRET) as cp:
            cp.lock.acquire("ci@runner-7", 600)
            async with LiveKitAdapter(Target(cp.url, "k", SECRET)) as lk:
                with pytest.raises(LockHeld) as err:
                    async with apply_lock(lk, cp.url, lock_dir=str(tmp_path)):
                        pass
        assert err.value.lines == (
            f'another apply is running against {cp.url}: apply lock is held by "ci@runner-7" for another 600s',
        )

    asyncio.run(main())


def test_a_local_lock_held_by_another_apply_is_a_clear_message(tmp_path):
    from sipconf.plan.lock import LocalLock

    with LocalLock("http://x", str(tmp_path)):
        with pytest.raises(LockHeld) as err:
            with LocalLock("http://x", str(tmp_path)):
                pass
    assert err.value.lines[0].startswith("another sipconf apply against http://x is running on this machine (pid ")


class SilentServer:
    """A TCP server on 127.0.0.1:0 that accepts every connection, reads, and never answers:
    what a wedged proxy or a half-dead LiveKit looks like to the client."""

    def __init__(self) -> None:
        self.connections = 0
        self.url = ""
        self._writers: list[asyncio.StreamWriter] = []

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        while await reader.read(65536):
            pass

    async def __aenter__(self) -> "SilentServer":
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = "http://127.0.0.1:%d" % self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        for writer in self._writers:
            writer.close()
        self._server.close()
        await self._server.wait_closed()


def test_a_server_that_never_answers_times_out_each_attempt_and_is_retried_with_backoff():
    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    async def main():
        async with SilentServer() as server:
            target = Target(server.url, "key1", SECRET, timeout=0.1)
            async with LiveKitAdapter(target, retry=RetryPolicy(attempts=3, base=1.0, sleep=sleep)) as lk:
                with pytest.raises(UserError) as err:
                    await lk.fetch()
            assert server.connections == 3  # one per attempt: each timed-out request was dropped
        assert err.value.lines == (
            f"LiveKit at {server.url} did not answer livekit.SIP/ListSIPInboundTrunk within 0.1s (3 attempts);"
            " check the URL, or give it longer with --timeout SECONDS",
        )
        assert len(slept) == 2 and 0.5 <= slept[0] <= 1.0 and 1.0 <= slept[1] <= 2.0

    asyncio.run(main())


def test_a_timed_out_write_names_its_method_and_a_later_answer_is_not_needed():
    async def main():
        async with SilentServer() as server:
            target = Target(server.url, "key1", SECRET, timeout=0.05)
            async with LiveKitAdapter(target, retry=RetryPolicy(attempts=1)) as lk:
                with pytest.raises(UserError) as err:
                    await lk.delete("dispatch_rule", "SDR_x")
                assert lk.writes == 0
        assert err.value.lines == (
            f"LiveKit at {server.url} did not answer livekit.SIP/DeleteSIPDispatchRule within 0.05s;"
            " check the URL, or give it longer with --timeout SECONDS",
        )

    asyncio.run(main())


def test_the_apply_lock_request_has_the_timeout_too(tmp_path):
    async def main():
        async with SilentServer() as server:
            async with LiveKitAdapter(Target(server.url, "key1", SECRET, timeout=0.05)) as lk:
                with pytest.raises(UserError) as err:
                    await lk.acquire_lock("me", 60)
        assert err.value.lines == (
            f"LiveKit at {server.url} did not answer sipconf.Local/AcquireLock within 0.05s;"
            " check the URL, or give it longer with --timeout SECONDS",
        )

    asyncio.run(main())


def test_the_adapter_takes_its_timeout_from_the_target():
    assert LiveKitAdapter(Target("http://x", "k", SECRET)).timeout == 10.0
    assert LiveKitAdapter(Target("http://x", "k", SECRET, timeout=2.5)).timeout == 2.5
    assert "timeout=2.5" in repr(Target("http://x", "k", SECRET, timeout=2.5)) and SECRET not in repr(Target("http://x", "k", SECRET))
