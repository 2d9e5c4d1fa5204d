"""What a Locust run places: the inbound calls of a scenario file, where they go, and the
source address each worker calls from. No locust, no gevent here.

A scenario becomes a load call the way `sipconf test --load` drives one: the call is set up
and hung up at once (its steps and expectations other than the final status are not
replayed), and it succeeds when its final status is `expect.status` (200 when unset).
Outbound scenarios need a far end and malformed ones a raw socket: neither is placed.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from typing import Mapping

from sipconf.errors import UserError
from sipconf.livekit.target import DEFAULT_SIP
from simulator.drivers.base import resolve_secret
from simulator.runner import environ_for, select
from simulator.scenario.reader import LoadedScenario, load_paths

__all__ = ["LoadCall", "check_reach", "load_calls", "parse_target", "worker_source"]

WORKER = "{worker}"


@dataclass(frozen=True)
class LoadCall:
    """One inbound scenario as a call to place again and again."""

    name: str  # the scenario's name: Locust's request name
    source: str  # the scenario's own source address (a worker may override it)
    transport: str
    from_user: str
    to_user: str
    from_host: str | None
    headers: tuple[tuple[str, str], ...]
    expect: int
    credentials: tuple[str, str] | None = field(default=None, repr=False)  # (username, password)


def as_load_call(loaded: LoadedScenario, environ: Mapping[str, str]) -> LoadCall:
    call = loaded.scenario.call
    env = environ_for(loaded, environ)
    credentials = (call.auth.username, resolve_secret(call.auth.password, env)) if call.auth is not None else None
    return LoadCall(loaded.scenario.name, call.source, call.transport, call.from_, call.to, call.from_host,
                    tuple(call.headers.items()), loaded.scenario.expect.status or 200, credentials)


def load_calls(paths: list[str], keyword: str | None = None,
               environ: Mapping[str, str] | None = None) -> tuple[list[LoadCall], list[str]]:
    """The calls of the scenarios under `paths` (selected by `keyword`, as `sipconf test -k`),
    and one line per scenario left out. A spec or scenario error is raised as it is."""
    environ = os.environ if environ is None else environ
    calls: list[LoadCall] = []
    left_out: list[str] = []
    for loaded in select(load_paths(paths), keyword):
        call = loaded.scenario.call
        if call.direction != "inbound":
            left_out.append(f"{loaded.id}: not placed (an outbound call needs a far end)")
        elif call.malformed:
            left_out.append(f"{loaded.id}: not placed (a malformed message is sent by the scapy driver only)")
        else:
            calls.append(as_load_call(loaded, environ))
    if not calls:
        where = ", ".join(paths) + (f" selected by {keyword!r}" if keyword else "")
        raise UserError(f"no inbound scenario to place in {where}")
    return calls, left_out


def parse_target(host: str | None, environ: Mapping[str, str] | None = None,
                 allow_external: bool = False) -> tuple[str, int]:
    """Locust's `--host` as the bridge's SIP address: `sip:127.0.0.1:5060`, `127.0.0.1:5060` or
    `127.0.0.1` (port 5060); unset, SIPCONF_SIP, else 127.0.0.1:5060. An IP address (the
    scripted agent resolves no name), on loopback unless `allow_external` (--sip-allow-external)."""
    environ = os.environ if environ is None else environ
    text = (host or environ.get("SIPCONF_SIP") or DEFAULT_SIP).strip()
    bare = text.removeprefix("sip:")
    if bare.startswith("["):  # [::1]:5060
        name, _, port = bare[1:].partition("]")
        port = port.removeprefix(":")
    elif bare.count(":") == 1:
        name, _, port = bare.partition(":")
    else:
        name, port = bare, ""
    try:
        address = ipaddress.ip_address(name)
        number = int(port) if port else 5060
    except ValueError:
        raise UserError(f"--host {text}: expected the bridge's SIP address as IP:PORT, e.g. 127.0.0.1:5060") from None
    if not 0 < number < 65536:
        raise UserError(f"--host {text}: the port must be 1-65535")
    if not address.is_loopback and not allow_external:
        raise UserError(f"--host {text}: the scripted agent calls loopback addresses only (127.0.0.0/8, ::1)")
    return str(address), number


def worker_source(template: str, worker: int, allow_external: bool = False) -> str:
    """The source address of worker number `worker` (1 for the first): `template` with
    `{worker}` replaced, e.g. `127.0.1.{worker}` -> 127.0.1.1, 127.0.1.2, ... An address in
    127.0.0.0/8, or with `allow_external` any IP address (the worker's own interface's)."""
    text = template.replace(WORKER, str(worker))
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        address = None
    if not allow_external and (address is None or address not in ipaddress.ip_network("127.0.0.0/8")):
        raise UserError(f"--sip-source {template}: worker {worker} would call from {text!r}, "
                        "which is not an address in 127.0.0.0/8")
    if address is None:
        raise UserError(f"--sip-source {template}: worker {worker} would call from {text!r}, "
                        "which is not an IP address")
    return str(address)


def check_reach(target: tuple[str, int], source: str | None) -> None:
    """A bridge off loopback is reached from the worker's own interface address, never from a
    loopback one (the kernel cannot route that): say so before any call fails with EINVAL."""
    if ipaddress.ip_address(target[0]).is_loopback:
        return
    if source is None or ipaddress.ip_address(source).is_loopback:
        raise UserError(f"--host {target[0]}:{target[1]} is off loopback: give --sip-source "
                        "this worker's own interface address (a loopback source cannot reach it)")
