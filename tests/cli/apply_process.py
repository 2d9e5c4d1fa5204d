"""`sipconf apply` as a real process against the embedded control plane served from the test
process, for the tests that interrupt it (SIGINT) or kill it (SIGKILL) part-way."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sipconf.livekit.adapter import LiveKitAdapter
from sipconf.livekit.ledger import ledger_name, parse_shard
from sipconf.livekit.target import Target
from sipconf.plan.inventory import classify
from tests.cli.test_plan_apply import KEY, ROOT, SECRET
from tests.plan.scale import PASSWORD, PASSWORD_ENV


def apply_env(url: str, lock_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        LIVEKIT_URL=url, LIVEKIT_API_KEY=KEY, LIVEKIT_API_SECRET=SECRET,
        SIPCONF_LOCK_DIR=str(lock_dir), PYTHONUNBUFFERED="1", **{PASSWORD_ENV: PASSWORD},
    )
    return env


@dataclass
class Stopped:
    """What an apply process printed before and after it was signalled, and how it ended."""

    code: int
    lines: list[str] = field(default_factory=list)

    @property
    def progress(self) -> list[str]:
        return [line for line in self.lines if line.startswith("[")]


def apply_until(spec: Path, env: dict[str, str], *, after: int, sig: int, extra: tuple[str, ...] = ()) -> Stopped:
    """Run `sipconf apply SPEC --auto-approve`; send `sig` once `after` progress lines were
    printed (0: right after the `Target:` line, before the spec is read), then read to the end."""
    argv = [sys.executable, "-m", "sipconf", "apply", str(spec), "--auto-approve", *extra]
    lines: list[str] = []
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT) as proc:
        sent = False
        seen = 0
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("["):
                seen += 1
            if not sent and ((after == 0 and line.startswith("Target: ")) or (after > 0 and seen >= after)):
                proc.send_signal(sig)
                sent = True
        code = proc.wait(120)
    assert sent, "\n".join(lines)
    return Stopped(code, lines)


def reapply(spec: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sipconf", "apply", str(spec), "--auto-approve", *extra],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )


def live_names(url: str, project: str) -> tuple[list[tuple[str, str]], int]:
    """(kind, name) of every live trunk and rule but the ledger, and how many ledgers: 1 when
    the ledger's trunks are one whole set of shards, 0 when there is none."""

    async def read():
        async with LiveKitAdapter(Target(url, KEY, SECRET)) as lk:
            return await lk.fetch()

    live = asyncio.run(read())
    inventory = classify(live, project)
    slots = sorted(parse_shard(t.metadata).slot for t in live.outbound if t.name == ledger_name(project))
    if not slots:
        return [(o.kind, o.name) for o in inventory.objects], 0
    whole = slots == [(index, len(slots)) for index in range(len(slots))]
    return [(o.kind, o.name) for o in inventory.objects], 1 if whole else len(slots)


SIGINT, SIGKILL = signal.SIGINT, signal.SIGKILL
