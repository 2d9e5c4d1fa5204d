"""The HTTP server: `ControlPlane`, an async context manager on 127.0.0.1.

Request pipeline, in the real server's order (docs/livekit.md#api-tokens and #api-errors): method
must be POST; authenticate the bearer token (before the body is read); route
`<base>/twirp/<pkg.Service>/<Method>` (unknown -> `bad_route` with `twirp_invalid_route`; a
descriptor method we do not serve -> `unimplemented`); decode the body by Content-Type; the handler
checks its grant, validates with the engine and answers 200 with a protobuf (or JSON) body. Every
error is Twirp JSON, including a state file that turns out damaged while serving and any
unexpected failure: never aiohttp's bare 500 page. `GET /healthz`, `/readyz` and `/metrics` are
served beside the API (`sipconf.local.health`).
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import time
from pathlib import Path
from typing import Awaitable, Callable

from aiohttp import web
from google.protobuf import message_factory
from livekit.protocol import room as room_pb, sip

from sipconf.bridge.clock import Clock
from sipconf.bridge.metrics import COUNTER, GAUGE, Family
from sipconf.local import auth, twirp
from sipconf.local.backend import CallBackend
from sipconf.local.credentials import dev_credentials
from sipconf.local.health import METRICS_CONTENT_TYPE, Health
from sipconf.local.http_log import HttpLog
from sipconf.local.lock import DEFAULT_TTL_SECONDS, ApplyLock
from sipconf.local.room_service import RoomService
from sipconf.local.rooms import DEFAULT_DEPARTURE_TIMEOUT, DEFAULT_EMPTY_TIMEOUT, Rooms
from sipconf.local.sip_service import SIPService
from sipconf.local.store import StateStore
from sipconf.routing.errors import INVALID_ARGUMENT, LiveKitError

log = logging.getLogger("sipconf.local.server")

DEFAULT_STATE_PATH = Path(".sipconf/state.db")
LOCAL_SERVICE = "sipconf.Local"

Handler = Callable[..., Awaitable]


def _descriptor_routes(module, service: str, served: dict[str, Handler]) -> dict[str, tuple[type, Handler | None]]:
    """Method name -> (request class, handler or None) from the service descriptor."""
    routes: dict[str, tuple[type, Handler | None]] = {}
    for method in module.DESCRIPTOR.services_by_name[service].methods:
        routes[method.name] = (message_factory.GetMessageClass(method.input_type), served.get(method.name))
    return routes


class ControlPlane:
    """`async with ControlPlane(...) as cp:` serves on `cp.url` until the block exits.

    `store` (SQLite trunks and rules), `rooms` (live rooms) and `lock` (the apply lock) are
    exposed so the bridge adapter (`bridge_adapter`) and tests share them; `backend` receives
    calls (None: `unavailable`). `health` serves readiness and metrics: whatever runs beside
    the control plane adds its listeners and metrics there.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        state_path: str | Path = DEFAULT_STATE_PATH,
        api_key: str | None = None,
        api_secret: str | None = None,
        backend: CallBackend | None = None,
        clock: Callable[[], float] = time.time,
        timers: Clock | None = None,
        room_empty_timeout: int = DEFAULT_EMPTY_TIMEOUT,
        room_departure_timeout: int = DEFAULT_DEPARTURE_TIMEOUT,
    ) -> None:
        if not (api_key and api_secret):
            dev_key, dev_secret = dev_credentials()
            api_key, api_secret = api_key or dev_key, api_secret or dev_secret
        self.host, self.port = host, port
        self.api_key, self.api_secret = api_key, api_secret
        self.state_path = Path(state_path)
        self.clock = clock
        self.store: StateStore | None = None
        # `timers` close idle rooms (a ManualClock in tests); the timeouts are a new room's defaults.
        self.rooms = Rooms(clock, timers, empty_timeout=room_empty_timeout, departure_timeout=room_departure_timeout)
        self.lock = ApplyLock(clock)
        self._backend = backend
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._http_log = HttpLog()
        self.health = Health()
        self.health.add_listeners(lambda: {"http": self._serving()})
        self.health.add_metrics(self._metrics)
        self.url = ""

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def backend(self) -> CallBackend | None:
        return self._backend

    @backend.setter
    def backend(self, value: CallBackend | None) -> None:
        """The bridge attaches itself while it serves (`bridge_adapter.CallBackendSlot`)."""
        self._backend = value
        if hasattr(self, "_sip"):
            self._sip.backend = value

    async def start(self) -> None:
        self.store = StateStore(self.state_path)
        self._sip = SIPService(self.store, self.rooms, self._backend)
        self._routes = {
            "livekit.SIP": _descriptor_routes(sip, "SIP", self._sip.handlers()),
            "livekit.RoomService": _descriptor_routes(room_pb, "RoomService", RoomService(self.rooms).handlers()),
        }
        # CreateSIPTrunk left the descriptor but its message remains; old clients still call it.
        self._routes["livekit.SIP"]["CreateSIPTrunk"] = (sip.CreateSIPTrunkRequest, self._sip.create_trunk)
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_get("/healthz", self._readiness)
        app.router.add_get("/readyz", self._readiness)
        app.router.add_get("/metrics", self._metrics_page)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, logger=self._http_log)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self._site = site
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1]
        self.url = f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None
        self.rooms.close()
        if self.store is not None:
            self.store.close()
            self.store = None

    async def __aenter__(self) -> "ControlPlane":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # -- request pipeline -----------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            reply = await self._dispatch(request)
        except LiveKitError as err:
            reply = twirp.error_reply(err)
        except sqlite3.Error as err:
            reply = twirp.error_reply(self._state_error(err))
        except Exception as err:  # the server answers every request, whatever broke
            log.error("%s %s failed: %s: %s", request.method, request.path, type(err).__name__, err)
            log.debug("%s %s failed", request.method, request.path, exc_info=True)
            reply = twirp.error_reply(LiveKitError("internal", f"internal error: {type(err).__name__}: {err}"))
        return web.Response(status=reply.status, body=reply.body, content_type=reply.content_type)

    def _state_error(self, err: sqlite3.Error) -> LiveKitError:
        """The state file failed under a request. Found damaged (SQLite's CORRUPT / NOTADB)
        is `data_loss`: retrying cannot help. Anything else (busy, disk full, read-only) is
        `unavailable`, worth a retry."""
        if getattr(err, "sqlite_errorname", "") in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
            log.error("state file %s is damaged: %s; stop sipconf up and restart it with --reset-state"
                      " (the file is moved aside) or a copy from backup", self.state_path, err)
            return LiveKitError("data_loss", f"state file {self.state_path} is damaged: {err}")
        log.warning("state file %s: %s", self.state_path, err)
        return LiveKitError("unavailable", f"state file {self.state_path}: {err}")

    # -- health and metrics ---------------------------------------------------------------

    def _serving(self) -> bool:
        server = self._site._server if self._site is not None else None  # type: ignore[union-attr]
        return server is not None and server.is_serving()

    async def _readiness(self, request: web.Request) -> web.Response:
        status, text = self.health.readiness()
        return web.Response(status=status, text=text)

    async def _metrics_page(self, request: web.Request) -> web.Response:
        body = self.health.metrics().encode()
        return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})

    def _metrics(self) -> list[Family]:
        damaged = len(self.store.damaged.rows) if self.store is not None else 0
        return [
            Family.single("sipconf_rooms", GAUGE, "Rooms open now.", self.rooms.room_count),
            Family.single("sipconf_participants", GAUGE, "Participants in rooms now.", self.rooms.participant_count),
            Family.single("sipconf_rooms_created_total", COUNTER, "Rooms created: by CreateRoom or a joining participant.",
                          self.rooms.created),
            Family.single("sipconf_participants_joined_total", COUNTER, "Participants that joined a room.",
                          self.rooms.joined),
            Family.single("sipconf_participants_left_total", COUNTER,
                          "Participants that left a room: hung up, removed, replaced by a rejoin, or their room deleted.",
                          self.rooms.left),
            Family.labelled("sipconf_rooms_closed_total", COUNTER,
                            "Rooms closed: by DeleteRoom, or by their empty or departure timeout.", "reason",
                            self.rooms.closed),
            Family.single("sipconf_state_damaged_objects", GAUGE,
                          "Stored trunks and rules whose bytes do not decode; they are left out of every list.",
                          damaged),
            Family.single("sipconf_http_bad_requests_total", COUNTER,
                          "HTTP requests refused before routing because they did not parse.",
                          self._http_log.bad_requests),
        ]

    async def _dispatch(self, request: web.Request) -> twirp.Reply:
        path = request.path
        if request.method != "POST":
            raise LiveKitError("bad_route", f'unsupported method "{request.method}" (only POST is allowed)',
                               {"twirp_invalid_route": f"{request.method} {path}"})
        claims = auth.authenticate(request.headers.get("Authorization"), {self.api_key: self.api_secret}, self.clock)
        route = f"POST {path}"
        service, method = _split_route(path)
        if service == LOCAL_SERVICE:
            return await self._local(method, request, claims)
        methods = self._routes.get(service)
        if methods is None or method not in methods:
            raise LiveKitError("bad_route", f"no handler for path {json.dumps(path)}", {"twirp_invalid_route": route})
        req_cls, handler = methods[method]
        if handler is None:
            raise LiveKitError("unimplemented", f"{service}/{method} is not served by the sipconf control plane")
        content_type = request.headers.get("Content-Type")
        req = twirp.decode(content_type, await request.read(), req_cls, route)
        resp = await handler(req, claims)
        return twirp.encode(resp, twirp.media_type(content_type))

    async def _local(self, method: str, request: web.Request, claims) -> twirp.Reply:
        """`sipconf.Local`: the apply lock (see sipconf.local.lock for the wire API)."""
        auth.require_sip_admin(claims)
        body = twirp.decode_json_object(await request.read())
        owner = body.get("owner", "")
        if method == "AcquireLock":
            ttl = body.get("ttl_seconds", DEFAULT_TTL_SECONDS)
            if not isinstance(owner, str) or not isinstance(ttl, (int, float)) or isinstance(ttl, bool):
                raise LiveKitError(INVALID_ARGUMENT, "owner must be a string and ttl_seconds a number")
            # NaN, infinities and integers beyond a float are out of range like any other.
            seconds = float(ttl) if not isinstance(ttl, int) or abs(ttl) < 2 ** 53 else math.inf
            out = self.lock.acquire(owner, seconds).to_json()
        elif method == "ReleaseLock":
            self.lock.release(str(owner))
            out = {}
        elif method == "GetLock":
            held = self.lock.current()
            out = held.to_json() if held else {"owner": "", "expires_at": 0}
        else:
            raise LiveKitError("bad_route", f"no handler for path {json.dumps(request.path)}",
                               {"twirp_invalid_route": f"POST {request.path}"})
        return twirp.Reply(200, twirp.JSON, json.dumps(out).encode())


def _split_route(path: str) -> tuple[str, str]:
    """`<base>/twirp/livekit.SIP/ListSIPTrunk` -> ("livekit.SIP", "ListSIPTrunk"); ("", "") if not Twirp."""
    head, sep, tail = path.rpartition("/twirp/")
    if not sep:
        return "", ""
    parts = tail.split("/")
    return (parts[0], parts[1]) if len(parts) == 2 else ("", "")
