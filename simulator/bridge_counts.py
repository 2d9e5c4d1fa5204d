"""What the bridge itself counted during a load run, read from `/metrics` on `sipconf up`'s
HTTP port (the LiveKit URL's host and port), scraped before and after the run.

The counters are those `sipconf up` serves in the Prometheus text format: inbound INVITEs by
final status (`none`: dropped without one), INVITEs shed by admission control, digest
challenges and calls refused for their credentials. Every INVITE counts once, so the first
INVITE of a digest-authenticated call counts as a 401/407 (a challenge) and its retry under
its own status: a load tool's "calls" are the INVITEs minus the challenges. A LiveKit server
serves no such page: `scrape` then returns None and the caller says so.

The simulator reads the bridge through its HTTP port only, never its code: the page is
parsed here, not imported from the bridge.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Mapping

__all__ = ["BridgeCounts", "compare", "metrics_url", "parse_metrics", "scrape"]

CALLS = "sipconf_sip_calls_total"
SHED = "sipconf_sip_calls_shed_total"
CHALLENGES = "sipconf_sip_auth_challenges_total"
AUTH_FAILURES = "sipconf_sip_auth_failures_total"
NO_FINAL = "none"

_SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    """(name, labels, value) of every sample in a Prometheus text page; comments and lines
    that do not parse are skipped."""
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = _SAMPLE.match(line.strip())
        if match is None:
            continue
        try:
            value = float(match.group(3))
        except ValueError:
            continue
        labels = {k: _unescape(v) for k, v in _LABEL.findall(match.group(2) or "")}
        out.append((match.group(1), labels, value))
    return out


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


@dataclass(frozen=True)
class BridgeCounts:
    """Inbound counts of one bridge: INVITEs by final status, shed, challenges, auth failures."""

    statuses: Mapping[str, int] = field(default_factory=dict)  # "200", "486", "none" -> INVITEs
    shed: int = 0
    challenges: int = 0
    auth_failures: int = 0

    @classmethod
    def from_page(cls, text: str) -> BridgeCounts:
        statuses: dict[str, int] = {}
        shed = challenges = failures = 0
        for name, labels, value in parse_metrics(text):
            if name == CALLS and labels.get("direction") == "inbound":
                statuses[labels.get("status", NO_FINAL)] = statuses.get(labels.get("status", NO_FINAL), 0) + int(value)
            elif name == SHED:
                shed += int(value)
            elif name == CHALLENGES:
                challenges += int(value)
            elif name == AUTH_FAILURES and labels.get("direction") == "inbound":
                failures += int(value)
        return cls(statuses, shed, challenges, failures)

    def since(self, before: BridgeCounts) -> BridgeCounts:
        """What was counted between `before` and this scrape."""
        keys = set(self.statuses) | set(before.statuses)
        statuses = {k: self.statuses.get(k, 0) - before.statuses.get(k, 0) for k in keys}
        return BridgeCounts({k: n for k, n in statuses.items() if n}, self.shed - before.shed,
                            self.challenges - before.challenges, self.auth_failures - before.auth_failures)

    @property
    def invites(self) -> int:
        return sum(self.statuses.values())

    @property
    def calls(self) -> int:
        """Calls, as a caller counts them: every INVITE except those answered with a digest
        challenge (the caller retries those with credentials as part of the same call)."""
        return self.invites - self.challenges

    def by_status(self) -> str:
        """`3x 200, 1x 486, 2x none` in status order (none last)."""
        order = sorted(self.statuses, key=lambda s: (s == NO_FINAL, s))
        return ", ".join(f"{self.statuses[s]}x {s}" for s in order) or "no INVITE"

    def line(self) -> str:
        return (f"bridge (/metrics): {self.invites} INVITEs answered: {self.by_status()}; "
                f"{self.shed} shed, {self.challenges} digest challenges, {self.auth_failures} auth failures")


def metrics_url(livekit_url: str) -> str:
    """`/metrics` on the host and port of a LiveKit URL (ws:// and wss:// are http(s))."""
    parts = urllib.parse.urlsplit(livekit_url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme or "http")
    return urllib.parse.urlunsplit((scheme, parts.netloc, "/metrics", "", ""))


def scrape(livekit_url: str, timeout: float = 5.0) -> BridgeCounts | None:
    """The bridge's counts now, or None when the target serves no sipconf metrics there (a
    LiveKit server: 404, another page, or nothing listening)."""
    try:
        with urllib.request.urlopen(metrics_url(livekit_url), timeout=timeout) as response:
            text = response.read(4 << 20).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError):
        return None
    if CALLS not in text:
        return None
    return BridgeCounts.from_page(text)


def compare(client: Mapping[str, int], bridge: BridgeCounts) -> str:
    """One line: do the caller's final statuses per INVITE (`client`, status -> count, `none`
    for no final response) match what the bridge counted?"""
    keys = sorted(set(client) | set(bridge.statuses), key=lambda s: (s == NO_FINAL, s))
    differ = [f"{s}: client {client.get(s, 0)}, bridge {bridge.statuses.get(s, 0)}"
              for s in keys if client.get(s, 0) != bridge.statuses.get(s, 0)]
    if not differ:
        return f"client and bridge agree: {bridge.invites} INVITEs, {bridge.by_status()}"
    return ("client and bridge disagree: " + "; ".join(differ)
            + " (other traffic to the bridge during the run counts there too)")
