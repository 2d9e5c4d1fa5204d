"""A call worker of `sipconf up --workers N`: one more bridge process, for the UDP calls whose
Call-ID names its shard (`sipconf.bridge.shards`).

`sipconf.bridge.workers.WorkerPool` starts the process (`python -m sipconf.commands.call_worker
--shard K --shards N --udp-fd FD --link-fd FD --control-fd FD --state PATH --options JSON`),
which runs `Worker`: the same `Bridge` as the main process, over

- its link to the UDP front (`LinkEndpoint`), which hands it its datagrams and sends what
  it sends from the SIP port; the front refuses its share of new INVITEs while it says it
  is overloaded, as for the main bridge;
- a trunk directory of its own (the process reads the state file over its own connection: a
  change committed by the control plane is seen by the next INVITE), and ports that reach
  everything else through the control link to the main process (`sipconf.bridge.worker_wire`).

It has no TCP listener and places no outbound calls: both stay in the main process. SIGTERM
(from the main process) ends its calls as the main bridge's shutdown does, then it exits; it
also ends when the main process does.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
from typing import Callable, Mapping

from livekit.protocol import sip as sip_pb

from sipconf.bridge import ports
from sipconf.bridge.backoff import BackoffPolicy
from sipconf.bridge.front_endpoint import LinkEndpoint
from sipconf.bridge.server import Bridge
from sipconf.bridge.worker_wire import Channel
from sipconf.routing.errors import LiveKitError

__all__ = ["Worker"]

log = logging.getLogger("sipconf.bridge.workers")

METRICS_INTERVAL = 0.25  # seconds between two reports of the worker's counters, while they move


class _Sink:
    """`ParticipantSink` over the control link: the main process applies each change to the
    control plane's rooms, in the order said."""

    def __init__(self) -> None:
        self.channel: Channel | None = None
        self._listeners: list[Callable[[ports.ParticipantRemoved], None]] = []

    def _say(self, message: tuple) -> None:
        if self.channel is not None:
            self.channel.say(message)

    def join(self, joining: ports.ParticipantJoin) -> str:
        self._say(("join", joining.room, joining.identity, joining.name, joining.metadata, dict(joining.attributes)))
        return ""  # inbound calls never read it; outbound calls are the main process's

    def update_attributes(self, room: str, identity: str, changes: Mapping[str, str]) -> bool:
        self._say(("attrs", room, identity, dict(changes)))
        return True

    def leave(self, room: str, identity: str) -> None:
        self._say(("leave", room, identity))

    def on_removed(self, listener: Callable[[ports.ParticipantRemoved], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def removed(self, event: ports.ParticipantRemoved) -> None:
        for listener in list(self._listeners):
            listener(event)


class _Requests:
    """`CallRequests`: transfers arrive over the control link, never CreateSIPParticipant."""

    def __init__(self) -> None:
        self.control: ports.CallControl | None = None

    def serve(self, control: ports.CallControl) -> Callable[[], None]:
        self.control = control

        def stop() -> None:
            self.control = None

        return stop


class Worker:
    """`args`: the process's arguments (shard, shards, the three descriptors); `options`: the
    bridge's settings (`sipconf.commands.up.bridge_settings`, as plain values)."""

    def __init__(self, args: argparse.Namespace, options: dict, directory: ports.TrunkDirectory,
                 tune: Callable[[Bridge], None] = lambda bridge: None) -> None:
        self.args = args
        self.options = dict(options)
        self.directory = directory
        self.tune = tune
        self.sink = _Sink()
        self.requests = _Requests()
        self.bridge: Bridge | None = None
        self.stopped = asyncio.Event()
        self._sent_snapshot: dict | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        args, options = self.args, self.options
        udp = socket.socket(fileno=args.udp_fd)
        link = socket.socket(fileno=args.link_fd)
        channel = Channel(loop, socket.socket(fileno=args.control_fd), self._heard, self.stopped.set)
        self.sink.channel = channel
        policy = options.pop("auth_backoff", None)
        bridge = Bridge(
            ports.ControlPlanePorts(directory=self.directory, participants=self.sink, calls=self.requests),
            **options, auth_backoff=BackoffPolicy(**policy) if policy else None,
            shard=args.shard, shards=args.shards, tcp=False,
            udp_endpoint=lambda on_datagram: LinkEndpoint(
                loop, udp, on_datagram, shedding=bridge.admission.front_sheds, on_refused=bridge._refused_by_front,
                pair=link, direct=True))
        self.bridge = bridge
        bridge.config.backoff.on_event = lambda ok, ip, user: channel.say(("backoff", ok, ip, user))
        await bridge.start()
        self.tune(bridge)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopped.set)
        channel.say(("ready",))
        reporter = loop.create_task(self._report_metrics(channel))
        try:
            await self.stopped.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            reporter.cancel()
            await bridge.close()
            self._send_metrics(channel)
            channel._flush()
            channel.close()

    async def _report_metrics(self, channel: Channel) -> None:
        while True:
            self._send_metrics(channel)
            await asyncio.sleep(METRICS_INTERVAL)

    def _send_metrics(self, channel: Channel) -> None:
        if self.bridge is None:
            return
        snapshot = self.bridge.metrics.snapshot(self.bridge)
        snapshot["tasks"] = len(asyncio.all_tasks())
        if snapshot != self._sent_snapshot:
            self._sent_snapshot = snapshot
            channel.say(("metrics", snapshot))

    def _heard(self, message: tuple, fds: list[int]) -> None:
        kind = message[0]
        bridge = self.bridge
        if kind == "link" and fds:
            endpoint = bridge.sip._udp_transport if bridge is not None else None
            if isinstance(endpoint, LinkEndpoint):
                endpoint.relink(socket.socket(fileno=fds.pop(0)))
        for fd in fds:
            os.close(fd)
        if bridge is None:
            return
        if kind == "removed":
            _, room, identity, reason = message
            self.sink.removed(ports.ParticipantRemoved(room, identity, reason))
        elif kind == "backoff":
            _, succeeded, source_ip, username = message
            bridge.config.backoff.apply(succeeded, source_ip, username)
        elif kind == "transfer":
            _, request, data = message
            bridge.spawn(self._transfer(request, sip_pb.TransferSIPParticipantRequest.FromString(data)))

    async def _transfer(self, request: int, req: sip_pb.TransferSIPParticipantRequest) -> None:
        error = None
        try:
            control = self.requests.control
            if control is None:
                raise LiveKitError("unavailable", "the call worker is stopping")
            await control.transfer_sip_participant(req)
        except LiveKitError as err:
            error = (err.code, err.message, dict(err.meta))
        except Exception as err:  # an RPC that failed, as LiveKit reports an internal error
            log.exception("transfer in call worker %d failed", self.args.shard)
            error = ("internal", str(err), {})
        if self.sink.channel is not None:
            self.sink.channel.say(("transferred", request, error))
