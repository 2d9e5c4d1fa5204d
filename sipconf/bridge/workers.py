"""Call workers: `sipconf up --workers N` runs the bridge's call work in N processes.

The main process (shard 0) keeps the control plane, the TCP listener, outbound calls and its
own share of UDP calls; `WorkerPool` starts the other N - 1 (`python -m sipconf.commands.call_worker`),
each with the SIP UDP socket (for its address only), a link to the UDP front (which hands it
the datagrams whose Call-ID it owns, `sipconf.bridge.shards`) and a control link to this
process (`sipconf.bridge.worker_wire`). Over the control link a worker's calls join, update
and leave the control plane's rooms through this process's participant sink; the API's
removals reach the worker that holds the participant; TransferSIPParticipant for a call a
worker holds is carried out there; every digest answer checked anywhere reaches every other
process's back-off table; and each worker's counters come here for `/metrics`.

A worker that dies takes its calls with it, as a crash of the bridge would: their
participants leave their rooms here, and another worker is started in its place (at most
once per `RESPAWN_INTERVAL`; readiness reports `call_workers` stopped until it is back).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from livekit.protocol import sip as sip_pb

from sipconf.bridge.front_endpoint import FrontEndpoint, pair_of_links
from sipconf.bridge.ports import ParticipantJoin, ParticipantRemoved
from sipconf.bridge.worker_wire import Channel
from sipconf.routing.errors import LiveKitError

__all__ = ["WorkerPool"]

log = logging.getLogger("sipconf.bridge.workers")

RESPAWN_INTERVAL = 1.0
READY_TIMEOUT = 60.0


@dataclass
class _Worker:
    shard: int
    proc: subprocess.Popen
    channel: Channel
    front_end: socket.socket | None  # the front's end of its link, until it is ready
    ready: asyncio.Future
    snapshot: dict | None = None
    participants: set[tuple[str, str]] = field(default_factory=set)
    transfers: set[int] = field(default_factory=set)  # TransferSIPParticipant requests it has not answered


class WorkerPool:
    """The call workers of `bridge` (the main process's Bridge, shard 0 of `bridge.shards`).
    `command` starts one (`sipconf up` passes `python -m sipconf.commands.call_worker --state
    PATH`: each worker reads trunks and rules from the state file); `options` are the bridge's
    settings, the same as the main process's."""

    def __init__(self, bridge, command: list[str], options: dict[str, Any]) -> None:
        self.bridge = bridge
        self.command = command
        self.options = options
        self.workers: dict[int, _Worker] = {}
        self.owners: dict[tuple[str, str], int] = {}  # (room, identity) -> the shard holding the call
        self._transfers: dict[int, asyncio.Future] = {}
        self._ids = itertools.count(1)
        self._spawned_at: dict[int, float] = {}
        self._closing = False
        self._unlisten = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        endpoint = self._endpoint()
        endpoint.on_spawned = self._front_restarted
        self.bridge.config.backoff.on_event = self._backoff_here
        self.bridge.transfer_elsewhere = self._transfer
        self._unlisten = self.bridge.participant_sink.on_removed(self._removed)
        for shard in range(1, self.bridge.shards):
            self._spawn(shard)
        await asyncio.wait_for(asyncio.gather(*(w.ready for w in self.workers.values())), READY_TIMEOUT)

    async def close(self) -> None:
        self._closing = True
        if self._unlisten is not None:
            self._unlisten()
        for worker in list(self.workers.values()):
            if worker.proc.poll() is None:
                worker.proc.terminate()  # it ends its calls as the main bridge does, then exits
        for worker in list(self.workers.values()):
            try:
                await asyncio.get_running_loop().run_in_executor(None, worker.proc.wait, 10)
            except subprocess.TimeoutExpired:
                worker.proc.kill()
                worker.proc.wait()
            worker.channel.close()
        for future in self._transfers.values():
            if not future.done():
                future.set_exception(LiveKitError("unavailable", "the call worker stopped"))

    def serving(self) -> dict[str, bool]:
        return {"call_workers": len(self.workers) == self.bridge.shards - 1
                and all(w.proc.poll() is None and not w.channel.closed for w in self.workers.values())}

    def snapshots(self) -> list[dict]:
        return [w.snapshot for w in self.workers.values() if w.snapshot is not None]

    def _endpoint(self) -> FrontEndpoint:
        endpoint = self.bridge.sip._udp_transport
        if not isinstance(endpoint, FrontEndpoint):
            raise RuntimeError("call workers need the UDP front")
        return endpoint

    def _spawn(self, shard: int) -> None:
        loop = asyncio.get_running_loop()
        front_end, link = pair_of_links()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        udp = self._endpoint()._sock
        try:
            cmd = [*self.command, "--shard", str(shard),
                   "--shards", str(self.bridge.shards), "--udp-fd", str(udp.fileno()), "--link-fd", str(link.fileno()),
                   "--control-fd", str(theirs.fileno()), "--parent", str(os.getpid()),
                   "--options", json.dumps(self.options)]
            proc = subprocess.Popen(cmd, pass_fds=(udp.fileno(), link.fileno(), theirs.fileno()),
                                    stdin=subprocess.DEVNULL)
        except BaseException:
            front_end.close()
            ours.close()
            raise
        finally:
            link.close()
            theirs.close()
        self._spawned_at[shard] = loop.time()
        worker = _Worker(shard, proc, None, front_end, loop.create_future())  # type: ignore[arg-type]
        worker.channel = Channel(loop, ours, lambda message, fds, w=worker: self._heard(w, message, fds),
                                 lambda w=worker: self._gone(w))
        self.workers[shard] = worker

    def _front_restarted(self) -> None:
        """A new front: every worker gets a new link to it."""
        for worker in self.workers.values():
            if worker.ready.done() and not worker.channel.closed:
                front_end, link = pair_of_links()
                if worker.channel.say_with_fd(("link",), link.fileno()):
                    self._endpoint().attach(worker.shard, front_end)
                front_end.close()
                link.close()

    def _gone(self, worker: _Worker) -> None:
        if self.workers.get(worker.shard) is not worker:
            return
        del self.workers[worker.shard]
        if worker.front_end is not None:
            worker.front_end.close()
        if not worker.ready.done():
            worker.ready.set_exception(RuntimeError(f"call worker {worker.shard} stopped while starting"))
        for key in list(worker.participants):
            if self.owners.get(key) == worker.shard:
                del self.owners[key]
                self.bridge.participant_sink.leave(*key)
        for request in worker.transfers:
            future = self._transfers.pop(request, None)
            if future is not None and not future.done():
                future.set_exception(LiveKitError("unavailable", "the call worker holding the call stopped"))
        if self._closing:
            return
        log.error("call worker %d stopped (exit status %s): its calls ended; starting another",
                  worker.shard, worker.proc.poll())
        loop = asyncio.get_running_loop()
        wait = max(0.0, RESPAWN_INTERVAL - (loop.time() - self._spawned_at.get(worker.shard, float("-inf"))))
        loop.call_later(wait, self._respawn, worker.shard)

    def _respawn(self, shard: int) -> None:
        if self._closing or shard in self.workers:
            return
        try:
            self._spawn(shard)
        except OSError as exc:
            log.error("call worker %d not started again: %s", shard, exc)

    # -- what workers say -----------------------------------------------------------------

    def _heard(self, worker: _Worker, message: tuple, fds: list[int]) -> None:
        for fd in fds:
            os.close(fd)
        kind = message[0]
        sink = self.bridge.participant_sink
        if kind == "join":
            _, room, identity, name, metadata, attributes = message
            sink.join(ParticipantJoin(room, identity, name, metadata, attributes))
            self.owners[(room, identity)] = worker.shard
            worker.participants.add((room, identity))
        elif kind == "attrs":
            _, room, identity, changes = message
            sink.update_attributes(room, identity, changes)
        elif kind == "leave":
            _, room, identity = message
            if self.owners.get((room, identity)) == worker.shard:
                del self.owners[(room, identity)]
                sink.leave(room, identity)
            worker.participants.discard((room, identity))
        elif kind == "backoff":
            _, succeeded, source_ip, username = message
            self.bridge.config.backoff.apply(succeeded, source_ip, username)
            self._relay(message, but=worker.shard)
        elif kind == "metrics":
            worker.snapshot = message[1]
        elif kind == "transferred":
            _, request, error = message
            worker.transfers.discard(request)
            future = self._transfers.pop(request, None)
            if future is not None and not future.done():
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(LiveKitError(error[0], error[1], dict(error[2])))
        elif kind == "ready":
            if worker.front_end is not None:
                self._endpoint().attach(worker.shard, worker.front_end)
                worker.front_end.close()
                worker.front_end = None
            if not worker.ready.done():
                worker.ready.set_result(None)

    def _relay(self, message: tuple, but: int = 0) -> None:
        for shard, worker in self.workers.items():
            if shard != but:
                worker.channel.say(message)

    # -- what the main process tells them -------------------------------------------------------

    def _backoff_here(self, succeeded: bool, source_ip: str, username: str) -> None:
        self._relay(("backoff", succeeded, source_ip, username))

    def _removed(self, event: ParticipantRemoved) -> None:
        shard = self.owners.get((event.room, event.identity))
        worker = self.workers.get(shard) if shard else None
        if worker is not None:
            worker.channel.say(("removed", event.room, event.identity, event.reason))

    def _transfer(self, req: sip_pb.TransferSIPParticipantRequest):
        """The transfer's outcome, from the worker holding the call; None when none does."""
        shard = self.owners.get((req.room_name, req.participant_identity))
        worker = self.workers.get(shard) if shard else None
        if worker is None:
            return None
        request = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._transfers[request] = future
        worker.transfers.add(request)
        worker.channel.say(("transfer", request, req.SerializeToString()))
        return future
