"""A real phone for the bridge tests: baresip (Debian `baresip-core`, installed by `make tools`)
headless, answering every call at once, on loopback only, driven over its ctrl_tcp socket.

Each phone gets its own configuration folder (`baresip -f DIR`): `config`, `accounts` and an
8 kHz WAV that is its microphone (the `aufile` source: G.711 runs at 8 kHz, and baresip's sine
source works only at 48 kHz). What it hears goes to ALSA's `null` device, so
no sound card is needed. SIP listens on `127.0.0.1` only, the network interface is pinned to
that address (so SDP and Contact name it) and the only DNS server is on loopback: nothing
the phone does can leave the machine. NAT, STUN and ICE modules are not loaded.

ctrl_tcp speaks netstrings (`<length>:<bytes>,`) holding JSON: a command
`{"command": "dial", "params": "sip:...", "token": "7"}` is answered with
`{"response": true, "ok": true, "data": "...", "token": "7"}`, and every user-agent event
arrives as `{"event": true, "type": "CALL_ESTABLISHED", "param": ..., ...}`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import shutil
import struct
import subprocess
import wave
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from simulator.ports import free_port
from sipconf.sip.message import Message, parse

from tests.bridge.process_group import stop_group

BARESIP = shutil.which("baresip") or "/usr/bin/baresip"
MODULES = Path("/usr/lib/baresip/modules")
START_LIMIT = 20.0  # seconds for its control socket to open on a loaded machine (a bound, not a check)
EVENT_PATIENCE = 20.0  # seconds an awaited event may take on a loaded machine (a bound, not a check)
TONE_SECONDS = 60  # baresip ends the call when the aufile source's file ends: longer than any test
RATE = 8000


# One message of baresip's SIP trace (`-s`): "#", "<transport> <from> -> <to>", the message.
TRACED = re.compile(r"\x1b\[36;1m#\n(\w+) (\S+) -> (\S+)\n(.*?)\x1b\[;m", re.S)


class PhoneError(Exception):
    """baresip refused a command, or an awaited event did not come."""


def write_tone(path: Path, seconds: int = TONE_SECONDS, hertz: int = 440) -> None:
    """A mono 16-bit WAV at 8 kHz: the phone's microphone."""
    period = [struct.pack("<h", int(8000 * math.sin(2 * math.pi * hertz * i / RATE))) for i in range(RATE // 40)]
    one_second = b"".join(period) * 40
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(one_second * seconds)


def write_config(folder: Path, sip_port: int, ctrl_port: int, user: str) -> None:
    """baresip's configuration folder: loopback only, auto-answer, G.711, aufile in, null out."""
    folder.mkdir(parents=True, exist_ok=True)
    write_tone(folder / "tone.wav")
    (folder / "config").write_text(f"""\
poll_method		epoll
sip_listen		127.0.0.1:{sip_port}
net_interface		127.0.0.1
dns_server		127.0.0.1:53
call_local_timeout	120
call_max_calls		4
statmode_default	off
audio_source		aufile,{folder / "tone.wav"}
audio_player		alsa,null
audio_alert		alsa,null
ausrc_srate		{RATE}
auplay_srate		{RATE}
ausrc_channels		1
auplay_channels		1
module_path		{MODULES}
module			g711.so
module			aufile.so
module			alsa.so
module_tmp		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:{ctrl_port}
""")
    # regint=0: no REGISTER; answermode=auto: every incoming call is answered at once.
    (folder / "accounts").write_text(f"<sip:{user}@127.0.0.1:{sip_port}>;answermode=auto;regint=0\n")


class Control:
    """A ctrl_tcp connection: one command at a time, events kept in arrival order."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.events: list[dict] = []
        self._responses: dict[str, asyncio.Future[dict]] = {}
        self._tokens = itertools.count(1)
        self._changed = asyncio.Condition()
        self._reading = asyncio.ensure_future(self._read())

    async def command(self, name: str, params: str | None = None) -> str:
        """Run a baresip command; its printed answer, or PhoneError when it failed."""
        token = str(next(self._tokens))
        message = {"command": name, "token": token} | ({"params": params} if params is not None else {})
        payload = json.dumps(message).encode()
        answer = self._responses[token] = asyncio.get_running_loop().create_future()
        self.writer.write(b"%d:%s," % (len(payload), payload))
        await self.writer.drain()
        try:
            response = await asyncio.wait_for(answer, EVENT_PATIENCE)
        finally:
            self._responses.pop(token, None)
        if not response.get("ok"):
            raise PhoneError(f"baresip refused {name} {params or ''}: {response.get('data')}")
        return response.get("data", "")

    async def event(self, kind: str, start: int = 0, **fields: str) -> dict:
        """The first event of type `kind` (from index `start` of `events`) whose fields
        include `fields`; PhoneError when none came within EVENT_PATIENCE."""
        def found() -> dict | None:
            return next((e for e in self.events[start:] if e.get("type") == kind
                         and all(e.get(k) == v for k, v in fields.items())), None)

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(found), EVENT_PATIENCE)
            except (asyncio.TimeoutError, TimeoutError):
                seen = [e.get("type") for e in self.events]
                raise PhoneError(f"no {kind} event {fields or ''} from baresip; it sent {seen}") from None
        return found()

    def types(self, start: int = 0) -> list[str]:
        return [e.get("type", "") for e in self.events[start:]]

    async def _read(self) -> None:
        try:
            while True:
                length = int((await self.reader.readuntil(b":"))[:-1])
                body = await self.reader.readexactly(length + 1)  # the netstring's trailing comma
                message = json.loads(body[:-1])
                if message.get("response"):
                    waiter = self._responses.get(message.get("token", ""))
                    if waiter is not None and not waiter.done():
                        waiter.set_result(message)
                elif message.get("event"):
                    async with self._changed:
                        self.events.append(message)
                        self._changed.notify_all()
        except (asyncio.IncompleteReadError, ConnectionError):
            return  # baresip went away

    async def close(self) -> None:
        self._reading.cancel()
        try:
            await self._reading
        except asyncio.CancelledError:
            pass
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


@dataclass
class Phone:
    """One running baresip: `uri` is how to reach it, `control` drives it."""

    user: str
    sip_port: int
    control: Control
    log_path: Path
    process: subprocess.Popen = field(repr=False)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.sip_port}"

    @property
    def uri(self) -> str:
        return f"sip:{self.user}@{self.address}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def sip_trace(self) -> list[tuple[bool, Message]]:
        """Every SIP message baresip logged so far, in order: (sent by the phone, the message)."""
        out = []
        for _transport, source, _destination, text in TRACED.findall(self.log()):
            out.append((source == self.address, parse(text.replace("\n", "\r\n").encode())))
        return out

    async def dial(self, uri: str) -> None:
        await self.control.command("dial", uri)

    async def hangup(self) -> None:
        await self.control.command("hangup")

    async def send_digits(self, digits: str) -> None:
        """RFC 4733 telephone-events on the current call (baresip's `sndcode`)."""
        await self.control.command("sndcode", digits)


@asynccontextmanager
async def running_baresip(workdir: Path, user: str = "phone"):
    """`async with running_baresip(tmp_path) as phone:` baresip until the block exits."""
    folder = workdir / f"baresip-{user}"
    sip_port, ctrl_port = free_port(), free_port()
    write_config(folder, sip_port, ctrl_port, user)
    log_path = folder / "baresip.log"
    with open(log_path, "wb") as log:
        # -s: its SIP trace goes to the log (the messages it sent and received, for failures).
        process = subprocess.Popen([BARESIP, "-f", str(folder), "-s"], stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=str(folder), start_new_session=True)
    control = None
    try:
        control = await _connect(process, ctrl_port, log_path)
        yield Phone(user, sip_port, control, log_path, process)
    finally:
        if control is not None:
            await control.close()
        stop_group(process)


async def _connect(process: subprocess.Popen, port: int, log_path: Path) -> Control:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_LIMIT
    while True:
        if process.poll() is not None:
            raise PhoneError(f"baresip exited with {process.returncode}: {log_path.read_text(errors='replace')}")
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            return Control(reader, writer)
        except OSError:
            if loop.time() > deadline:
                raise PhoneError(f"baresip did not listen on {port}: {log_path.read_text(errors='replace')}") from None
            await asyncio.sleep(0.05)
