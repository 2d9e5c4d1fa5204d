"""`sipconf up`: run the embedded control plane and the SIP bridge (UDP and TCP) locally.

Every socket is bound first (port 0 = a free port); only then are the real addresses, the
`export LIVEKIT_*` line and one final `ready` line printed, so a script can wait for
`ready` and read the addresses above it. The export line names the API secret only when it is
the built-in dev secret; one taken from LIVEKIT_API_SECRET is the caller's and never printed. SIGINT/SIGTERM stop everything cleanly (exit 0):
the bridge first ends every live call (BYE after the answer, 503 before it) and waits a
bounded time for those BYEs. Log lines (one per call outcome, overload warnings) go to
stderr at `--log-level` (default INFO); stdout keeps only the lines above and `stopped`.

The state file is checked before anything listens: one that is not a sipconf state (empty,
damaged, another application's) stops `sipconf up` with one line and exit 1, never an empty
project. `--reset-state` moves the file (and its -wal/-shm) aside, says where, and starts
fresh. `--room-empty-timeout` / `--room-departure-timeout` set the timeouts a new room gets
(LiveKit's defaults unless given; CreateRoom values still win). The HTTP port also serves
`/healthz`, `/readyz` (503 once the HTTP, UDP or TCP listener stopped) and `/metrics`
(Prometheus text format).

Once everything is bound, the objects start-up made are frozen out of the garbage collector's
reach (`gc.freeze()`), so full collections during a long run only walk what the run builds.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import ipaddress
import logging
import shlex
import signal
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sipconf.bridge.addresses import TrustedProxies
from sipconf.bridge.backoff import BackoffPolicy
from sipconf.bridge.log_lines import DeferredFlush, LogLine
from sipconf.bridge.server import MAX_CALLS, MAX_LAG, MAX_QUEUE_AGE, Bridge
from sipconf.bridge.workers import WorkerPool
from sipconf.errors import UserError
from sipconf.local.bridge_adapter import bridge_ports
from sipconf.local.credentials import DEV_API_SECRET
from sipconf.local.rooms import DEFAULT_DEPARTURE_TIMEOUT, DEFAULT_EMPTY_TIMEOUT
from sipconf.local.server import DEFAULT_STATE_PATH, ControlPlane
from sipconf.local.store import StateFileError, move_aside
from sipconf.routing.route import Mode
from sipconf.sip.digest import NONCE_LIFETIME


@dataclass(frozen=True)
class UpOptions:
    http: tuple[str, int]
    sip: tuple[str, int]
    state: Path
    mode: str
    ring_delay: float = 0.0
    dtmf_info: bool = False
    allow_external_dial: bool = False
    max_calls: int = MAX_CALLS
    max_lag: float = MAX_LAG
    max_queue_age: float = MAX_QUEUE_AGE
    reset_state: bool = False
    trusted_proxies: tuple[str, ...] = ()
    auth_backoff: BackoffPolicy = BackoffPolicy()
    nonce_lifetime: float = NONCE_LIFETIME
    room_empty_timeout: int = DEFAULT_EMPTY_TIMEOUT
    room_departure_timeout: int = DEFAULT_DEPARTURE_TIMEOUT
    udp_front: bool = False  # `sipconf up` turns it on (--udp-front)
    workers: int = 1  # processes the calls are split over (`sipconf.bridge.workers`)
    log_level: str = "INFO"
    event_loop: str = "auto"


@dataclass
class Services:
    """What `start_services` started, the lines describing it, and how to stop it."""

    control_plane: ControlPlane
    lines: list[str] = field(default_factory=list)
    bridge: Bridge | None = None
    workers: WorkerPool | None = None

    async def stop(self) -> None:
        if self.workers is not None:
            await self.workers.close()
        if self.bridge is not None:
            await self.bridge.close()
        await self.control_plane.stop()


def parse_hostport(text: str, flag: str) -> tuple[str, int]:
    """`127.0.0.1:7880` -> ("127.0.0.1", 7880); loopback only: the embedded services never
    listen on a routable address."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    try:
        if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        raise UserError(f"{flag} {text!r}: expected HOST:PORT with a loopback IP, e.g. 127.0.0.1:0") from None
    if not loopback:
        raise UserError(f"{flag} {text!r}: sipconf up only listens on loopback (127.0.0.0/8 or ::1)")
    return host, int(port)


async def start_services(opts: UpOptions) -> Services:
    """Bind and start the services of `sipconf up`; returns once every socket is bound.

    The SIP bridge starts here, after the control plane, on the control plane's bridge ports:
    it reads trunks and rules from its store, joins calls to its rooms, and serves as its call
    backend so CreateSIPParticipant/TransferSIPParticipant reach it.
    """
    cp = ControlPlane(host=opts.http[0], port=opts.http[1], state_path=opts.state,
                      room_empty_timeout=opts.room_empty_timeout, room_departure_timeout=opts.room_departure_timeout)
    try:
        await cp.start()
    except StateFileError as err:
        await cp.stop()
        raise UserError(f"--state {err.path}: {err.reason}; `sipconf up --reset-state` moves it aside and"
                        " starts with an empty state") from None
    except OSError as err:
        await cp.stop()
        raise UserError(f"--http {opts.http[0]}:{opts.http[1]}: cannot listen ({err.strerror or err})") from None
    settings = bridge_settings(opts)
    bridge = Bridge(bridge_ports(cp), udp_port=opts.sip[1], tcp_port=opts.sip[1], udp_front=opts.udp_front,
                    shards=opts.workers, **settings, auth_backoff=opts.auth_backoff)
    try:
        await bridge.start()
    except OSError as err:
        await bridge.close()
        await cp.stop()
        raise UserError(f"--sip {opts.sip[0]}:{opts.sip[1]}: cannot listen ({err.strerror or err})") from None
    pool = None
    if opts.workers > 1:
        pool = WorkerPool(bridge, [sys.executable, "-m", "sipconf.commands.call_worker", "--state", str(opts.state)],
                          {**settings, "auth_backoff": asdict(opts.auth_backoff), "log_level": opts.log_level,
                           "event_loop": opts.event_loop})
        try:
            await pool.start()
        except (OSError, RuntimeError, asyncio.TimeoutError) as err:
            await pool.close()
            await bridge.close()
            await cp.stop()
            raise UserError(f"--workers {opts.workers}: the call workers did not start ({err})") from None
        cp.health.add_listeners(pool.serving)
    cp.health.add_listeners(bridge.sip.serving)
    cp.health.add_metrics(lambda: bridge.metrics.families(bridge, pool.snapshots() if pool is not None else ()))
    services = Services(cp, bridge=bridge, workers=pool)
    exports = [("LIVEKIT_URL", cp.url), ("LIVEKIT_API_KEY", cp.api_key)]
    if cp.api_secret == DEV_API_SECRET:
        exports.append(("LIVEKIT_API_SECRET", cp.api_secret))
    udp, tcp = bridge.udp_address, bridge.tcp_address
    services.lines += [
        f"control plane: {cp.url} (state {opts.state}; health {cp.url}/readyz, metrics {cp.url}/metrics)",
        f"sip: udp {udp[0]}:{udp[1]} tcp {tcp[0]}:{tcp[1]} (mode {opts.mode}, ring delay {opts.ring_delay:g} s"
        + (f", calls over {opts.workers} processes" if opts.workers > 1 else "")
        + (", SIP INFO DTMF accepted" if opts.dtmf_info else "")
        + (", external dialling allowed" if opts.allow_external_dial else ", dials loopback only") + ")",
        "export " + " ".join(f"{name}={shlex.quote(value)}" for name, value in exports),
    ]
    return services


def bridge_settings(opts: UpOptions) -> dict:
    """The bridge's settings that the main process and its call workers share, as plain values
    (a worker gets them as JSON). With workers, each process admits its share of `--max-calls`."""
    return dict(host=opts.sip[0], mode=opts.mode, ring_delay=opts.ring_delay, dtmf_info=opts.dtmf_info,
                allow_external_dial=opts.allow_external_dial, max_calls=-(-opts.max_calls // opts.workers),
                max_lag=opts.max_lag, max_queue_age=opts.max_queue_age, trusted_proxies=list(opts.trusted_proxies),
                nonce_lifetime=opts.nonce_lifetime)


# Young-generation collections every 5,000 allocations instead of 700: a call allocates
# thousands of short-lived objects, and each collection has a cost of its own whatever it
# finds (`python -m bench.opcodes`-style runs measured the collector's time per call at a
# fifth of the default's, with pauses no longer). The older generations keep their defaults.
GC_THRESHOLDS = (5000, 5, 10)


def tune_gc(bridge: Bridge | None) -> None:
    """Keep what lives as long as the process out of the cyclic collector's walks: modules,
    protobuf descriptors, the state read at start-up and the bridge's routing index (tens of
    megabytes of small objects for 10,000 numbers, which every full collection would walk
    again and again while calls wait). The index is frozen again whenever a change of trunks
    or rules makes the bridge build a new one."""

    def freeze() -> None:
        gc.collect()
        gc.freeze()

    gc.set_threshold(*GC_THRESHOLDS)
    if bridge is not None:
        bridge.warm()
        bridge.on_index_built = freeze
    freeze()


def _reset_state(path: Path) -> list[str]:
    """`--reset-state`: move the old state aside (never delete it) and say where it went."""
    try:
        moved = move_aside(path)
    except OSError as err:
        raise UserError(f"--reset-state: cannot move {path} aside ({err.strerror or err})") from None
    if not moved:
        return [f"state: --reset-state: no state file at {path}, starting with an empty state"]
    return [f"state: moved {old} aside to {new}" for old, new in moved] + ["state: starting with an empty state"]


async def serve(opts: UpOptions) -> int:
    if opts.reset_state:
        for line in _reset_state(opts.state):  # at once: where the old state went is never lost
            print(line)
    services = await start_services(opts)
    tune_gc(services.bridge)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        for line in services.lines:
            print(line)
        print("ready", flush=True)
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await services.stop()
    print("stopped", flush=True)
    return 0


def run(args: argparse.Namespace) -> int:
    opts = UpOptions(
        http=parse_hostport(args.http, "--http"),
        sip=parse_hostport(args.sip, "--sip"),
        state=Path(args.state),
        mode=args.mode,
        ring_delay=args.ring_delay,
        dtmf_info=args.dtmf_info,
        allow_external_dial=args.allow_external_dial,
        max_calls=args.max_calls,
        max_lag=args.max_lag_ms / 1000,
        max_queue_age=args.max_queue_ms / 1000,
        reset_state=args.reset_state,
        trusted_proxies=tuple(args.trusted_proxy),
        auth_backoff=auth_backoff(args),
        nonce_lifetime=args.nonce_lifetime,
        room_empty_timeout=args.room_empty_timeout,
        room_departure_timeout=args.room_departure_timeout,
        udp_front=args.udp_front == "on",
        workers=args.workers,
        log_level=args.log_level,
        event_loop=args.event_loop,
    )
    if opts.workers < 1:
        raise UserError(f"--workers {args.workers}: expected a number of processes >= 1")
    if opts.workers > 1 and not opts.udp_front:
        raise UserError(f"--workers {args.workers}: call workers get their datagrams from the UDP front;"
                        " drop --udp-front off")
    for value in opts.trusted_proxies:
        try:
            TrustedProxies.parse([value])
        except ValueError:
            raise UserError(f"--trusted-proxy {value!r}: expected an IP address or a CIDR block,"
                            " e.g. 127.0.0.2 or 10.0.0.0/8") from None
    if opts.ring_delay < 0:
        raise UserError(f"--ring-delay {args.ring_delay}: expected a number of seconds >= 0")
    if opts.max_calls < 1:
        raise UserError(f"--max-calls {args.max_calls}: expected a number of calls >= 1")
    if opts.max_lag < 0:
        raise UserError(f"--max-lag-ms {args.max_lag_ms}: expected a number of milliseconds >= 0")
    if opts.max_queue_age < 0:
        raise UserError(f"--max-queue-ms {args.max_queue_ms}: expected a number of milliseconds >= 0")
    if opts.nonce_lifetime <= 0:
        raise UserError(f"--nonce-lifetime {args.nonce_lifetime:g}: expected a number of seconds > 0")
    # LiveKit keeps a room's timeout of 0 as "the default", so a default has to be at least 1 s.
    for flag, value in (("--room-empty-timeout", opts.room_empty_timeout),
                        ("--room-departure-timeout", opts.room_departure_timeout)):
        if not 1 <= value <= 2**32 - 1:
            raise UserError(f"{flag} {value}: expected a number of seconds from 1 to {2**32 - 1}")
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    configure_logging(args.log_level)
    return run_on_loop(serve(opts), args.event_loop)


EVENT_LOOPS = ("auto", "uvloop", "asyncio")


def run_on_loop(coro, event_loop: str = "auto"):
    """Run `coro` on uvloop (libuv: cheaper sockets and timers, the bridge's largest costs
    after its own code) when it is installed, else on asyncio's own loop; `event_loop` picks one."""
    if event_loop != "asyncio":
        try:
            import uvloop
        except ImportError:
            if event_loop == "uvloop":
                coro.close()
                raise UserError("--event-loop uvloop: uvloop is not installed (pip install uvloop)") from None
        else:
            return uvloop.run(coro)
    return asyncio.run(coro)


def auth_backoff(args: argparse.Namespace) -> BackoffPolicy:
    """The digest back-off from its four flags; a bad value is one line naming its flag."""
    if args.auth_failures < 0:
        raise UserError(f"--auth-failures {args.auth_failures}: expected a number of failures >= 0 (0 = no back-off)")
    for flag, value in (("--auth-failure-window", args.auth_failure_window), ("--auth-backoff", args.auth_backoff),
                        ("--auth-backoff-max", args.auth_backoff_max)):
        if value <= 0:
            raise UserError(f"{flag} {value:g}: expected a number of seconds > 0")
    if args.auth_backoff_max < args.auth_backoff:
        raise UserError(f"--auth-backoff-max {args.auth_backoff_max:g}: shorter than --auth-backoff {args.auth_backoff:g}")
    return BackoffPolicy(args.auth_failures, args.auth_failure_window, args.auth_backoff, args.auth_backoff_max)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def configure_logging(level: str) -> None:
    """sipconf's own loggers at `level` on stderr; other libraries only from WARNING (the
    HTTP server would otherwise log every API request). Control characters in a message
    (a peer's Call-ID, a caller number) are written escaped.

    The lines name no source file, thread or process, so logging is told not to look them up
    for each record (the logging module's own advice for lines written at a high rate); an
    INFO line waits up to 50 ms in stderr's buffer while the bridge runs (`DeferredFlush`),
    a WARNING or worse is written at once."""
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    binary = getattr(sys.stderr, "buffer", None)
    handler = DeferredFlush(binary) if binary is not None else logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogLine())  # a packet's bytes never reach the terminal raw
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("sipconf").setLevel(getattr(logging, level))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--http", default="127.0.0.1:7880", help="control plane HOST:PORT (port 0 = any free port)")
    p.add_argument("--sip", default="127.0.0.1:5060", help="SIP bridge HOST:PORT (UDP and TCP)")
    p.add_argument("--state", default=str(DEFAULT_STATE_PATH), help="SQLite state file (default %(default)s)")
    p.add_argument("--reset-state", action="store_true",
                   help="move the state file aside (to STATE.old-<UTC time>) and start with an empty state")
    p.add_argument("--mode", choices=("explicit", "oss"), default="explicit", help="bridge routing mode")
    p.add_argument("--ring-delay", type=float, default=0.0, metavar="SECONDS",
                   help="ring this long before answering inbound calls (default 0)")
    p.add_argument("--dtmf-info", action="store_true", help="accept SIP INFO DTMF for PIN entry (LiveKit answers 405)")
    p.add_argument("--allow-external-dial", action="store_true",
                   help="let the bridge send off loopback: CreateSIPParticipant dials, SIP replies to a Via,"
                        " in-dialog requests to a Contact and RTP to an SDP address (IP addresses only:"
                        " host names from messages are never resolved)")
    p.add_argument("--max-calls", type=int, default=MAX_CALLS, metavar="N",
                   help="calls in progress at most; more INVITEs get 503 + Retry-After (default %(default)s)")
    p.add_argument("--max-lag-ms", type=float, default=MAX_LAG * 1000, metavar="MS",
                   help="overload: new INVITEs get 503 + Retry-After while the event loop runs this late"
                        " on average (default %(default)g ms, 0 = off)")
    p.add_argument("--udp-front", choices=("on", "off"), default="on",
                   help="read and send SIP over UDP in a second process, which also answers new INVITEs 503 while"
                        " the bridge is overloaded, so a refusal costs the bridge nothing (default %(default)s)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="split the SIP calls over N processes by Call-ID (this one and N-1 call workers; default 1)")
    p.add_argument("--max-queue-ms", type=float, default=MAX_QUEUE_AGE * 1000, metavar="MS",
                   help="overload: a new INVITE that waited this long in the UDP receive queue gets 503 +"
                        " Retry-After at once, without a transaction (default %(default)g ms, 0 = off)")
    backoff = BackoffPolicy()
    p.add_argument("--trusted-proxy", action="append", default=[], metavar="ADDRESS[/PREFIX]",
                   help="a carrier proxy or SBC that forwards many callers' calls (repeatable): exempt from the"
                        " per-source TCP connection cap, and its calls back off per digest username alone")
    p.add_argument("--auth-failures", type=int, default=backoff.failures, metavar="N",
                   help="wrong digest answers from one source and username within --auth-failure-window that get"
                        " it 503 + Retry-After (default %(default)s, 0 = no back-off)")
    p.add_argument("--auth-failure-window", type=float, default=backoff.window, metavar="SECONDS",
                   help="how far back digest failures count (default %(default)g s)")
    p.add_argument("--auth-backoff", type=float, default=backoff.first, metavar="SECONDS",
                   help="the first digest back-off; each next one doubles (default %(default)g s)")
    p.add_argument("--auth-backoff-max", type=float, default=backoff.longest, metavar="SECONDS",
                   help="the longest digest back-off (default %(default)g s)")
    p.add_argument("--nonce-lifetime", type=float, default=NONCE_LIFETIME, metavar="SECONDS",
                   help="how long a digest challenge can be answered; later a right answer is challenged again"
                        " with stale=true (default %(default)g s)")
    p.add_argument("--room-empty-timeout", type=int, default=DEFAULT_EMPTY_TIMEOUT, metavar="SECONDS",
                   help="a new room nobody joined closes after this long (default %(default)s, LiveKit's)")
    p.add_argument("--room-departure-timeout", type=int, default=DEFAULT_DEPARTURE_TIMEOUT, metavar="SECONDS",
                   help="a room closes this long after its last participant left (default %(default)s, LiveKit's)")
    p.add_argument("--event-loop", choices=EVENT_LOOPS, default="auto",
                   help="the event loop: uvloop when installed (auto, the default), or asyncio's own")
    p.add_argument("--log-level", choices=LOG_LEVELS, default="INFO", type=str.upper,
                   help="stderr log level for sipconf (call outcomes are INFO; default %(default)s)")
