"""Calls per second and setup-time percentiles over time, for every load run: `sipconf test
--load`, the Locust run and `make bench` all write their timeline with this one module.

A `Timeline` files each call under the wall-clock second it ended in: the setup time of a
call that reached its expected status, or one more failed call. `write` puts two files side
by side: `NAME.json` (the per-second rows and the totals) and `NAME.html`, a self-contained
page (inline SVG, no script, no CDN, opens from file://): calls/s as stacked bars (succeeded,
failed) and p50/p95/p99 setup time as lines, one point per second.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Second", "Timeline", "percentile", "render_html", "write"]

PERCENTILES = (50, 95, 99)
COLOURS = {"ok": "#3b8f4f", "failed": "#c8413b", 50: "#2f6db3", 95: "#e09b2d", 99: "#8e3fae"}
WIDTH, PANEL, LEFT, RIGHT, TOP, BOTTOM = 860, 210, 64, 16, 26, 34


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Second:
    """One second of a run: `t` seconds after its first second."""

    t: int
    ok: int
    failed: int
    p50: float | None  # setup time (ms) of the calls that succeeded in this second
    p95: float | None
    p99: float | None


class Timeline:
    """Calls by the wall-clock second they ended in."""

    def __init__(self) -> None:
        self.setups: dict[int, list[float]] = {}  # epoch second -> setup ms of successful calls
        self.failures: dict[int, int] = {}  # epoch second -> failed calls

    def add(self, at: float, setup_ms: float, ok: bool) -> None:
        second = int(at)
        if ok:
            self.setups.setdefault(second, []).append(setup_ms)
        else:
            self.failures[second] = self.failures.get(second, 0) + 1

    def __len__(self) -> int:
        return sum(map(len, self.setups.values())) + sum(self.failures.values())

    def to_wire(self) -> dict:
        """A JSON-safe copy (Locust workers send it to the master)."""
        return {"setups": {str(k): v for k, v in self.setups.items()},
                "failures": {str(k): v for k, v in self.failures.items()}}

    def merge(self, wire: dict) -> None:
        for second, values in wire.get("setups", {}).items():
            self.setups.setdefault(int(second), []).extend(values)
        for second, count in wire.get("failures", {}).items():
            self.failures[int(second)] = self.failures.get(int(second), 0) + count

    def clear(self) -> None:
        self.setups.clear()
        self.failures.clear()

    def seconds(self) -> list[Second]:
        """One row per second from the first to the last (seconds with no call included)."""
        known = set(self.setups) | set(self.failures)
        if not known:
            return []
        first, last = min(known), max(known)
        rows = []
        for second in range(first, last + 1):
            setups = self.setups.get(second, [])
            pcts = [round(percentile(setups, p), 2) if setups else None for p in PERCENTILES]
            rows.append(Second(second - first, len(setups), self.failures.get(second, 0), *pcts))
        return rows

    def totals(self) -> dict:
        setups = [v for values in self.setups.values() for v in values]
        out = {"succeeded": len(setups), "failed": sum(self.failures.values())}
        out.update({f"p{p}_ms": round(percentile(setups, p), 2) for p in PERCENTILES})
        return out


def write(stem: Path, timeline: Timeline, title: str, notes: list[str] = ()) -> tuple[Path, Path]:
    """`stem`.json and `stem`.html (the folder is created); returns both paths."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    rows = timeline.seconds()
    data = {"title": title, "notes": list(notes), "totals": timeline.totals(), "seconds": [asdict(r) for r in rows]}
    json_path, html_path = stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".html")
    json_path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    html_path.write_text(render_html(title, rows, timeline.totals(), notes), encoding="utf-8")
    return json_path, html_path


def render_html(title: str, rows: list[Second], totals: dict, notes: list[str] = ()) -> str:
    summary = (f"{totals['succeeded']} calls succeeded, {totals['failed']} failed over {len(rows)} s; setup time "
               + ", ".join(f"p{p} {totals[f'p{p}_ms']:.1f} ms" for p in PERCENTILES))
    note_items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}"
        "svg text{font:11px system-ui,sans-serif;fill:#333}.grid{stroke:#ddd}.axis{stroke:#888}"
        "ul{color:#555}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n<p>{html.escape(summary)}</p>\n"
        + (f"<ul>{note_items}</ul>\n" if note_items else "")
        + _rate_panel(rows) + "\n" + _setup_panel(rows) + "\n</body></html>\n"
    )


def _nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 x 10^k at or above `value` (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value)


class _Panel:
    """One SVG chart: x is the second, y from 0 to `top`."""

    def __init__(self, rows: list[Second], top: float, label: str) -> None:
        self.rows, self.top, self.label = rows, top, label
        self.span = max(1, len(rows))
        self.plot_w, self.plot_h = WIDTH - LEFT - RIGHT, PANEL - TOP - BOTTOM

    def x(self, t: float) -> float:
        return LEFT + (t + 0.5) * self.plot_w / self.span

    def y(self, value: float) -> float:
        return TOP + self.plot_h * (1 - value / self.top)

    def frame(self, legend: list[tuple[str, str]]) -> list[str]:
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{PANEL}" role="img" '
               f'aria-label="{html.escape(self.label)}">',
               f'<text x="{LEFT}" y="15" style="font-weight:600">{html.escape(self.label)}</text>']
        for i in range(5):
            value = self.top * i / 4
            y = self.y(value)
            out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
            out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>')
        step = max(1, math.ceil(self.span / 12))
        for t in range(0, self.span, step):
            out.append(f'<text x="{self.x(t):.1f}" y="{PANEL - BOTTOM + 15}" text-anchor="middle">{t}</text>')
        out.append(f'<text x="{WIDTH - RIGHT}" y="{PANEL - 4}" text-anchor="end">seconds into the run</text>')
        lx = WIDTH - RIGHT - sum(24 + 7 * len(name) for name, _ in legend)  # right-aligned, clear of the label
        for name, colour in legend:
            out.append(f'<rect x="{lx}" y="6" width="10" height="10" fill="{colour}"/>'
                       f'<text x="{lx + 14}" y="15">{html.escape(name)}</text>')
            lx += 24 + 7 * len(name)
        out.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{self.y(0):.1f}" y2="{self.y(0):.1f}"/>')
        return out


def _rate_panel(rows: list[Second]) -> str:
    panel = _Panel(rows, _nice_max(max((r.ok + r.failed for r in rows), default=0)), "calls/s")
    out = panel.frame([("succeeded", COLOURS["ok"]), ("failed", COLOURS["failed"])])
    bar = max(1.0, 0.8 * panel.plot_w / panel.span)
    for r in rows:
        x = panel.x(r.t) - bar / 2
        y_ok, y_all = panel.y(r.ok), panel.y(r.ok + r.failed)
        if r.ok:
            out.append(f'<rect x="{x:.1f}" y="{y_ok:.1f}" width="{bar:.1f}" height="{panel.y(0) - y_ok:.1f}" '
                       f'fill="{COLOURS["ok"]}"><title>{r.t} s: {r.ok} succeeded</title></rect>')
        if r.failed:
            out.append(f'<rect x="{x:.1f}" y="{y_all:.1f}" width="{bar:.1f}" height="{y_ok - y_all:.1f}" '
                       f'fill="{COLOURS["failed"]}"><title>{r.t} s: {r.failed} failed</title></rect>')
    return "\n".join(out + ["</svg>"])


def _setup_panel(rows: list[Second]) -> str:
    highest = max((r.p99 for r in rows if r.p99 is not None), default=0.0)
    panel = _Panel(rows, _nice_max(highest), "setup time (ms), INVITE to final response")
    out = panel.frame([(f"p{p}", COLOURS[p]) for p in PERCENTILES])
    for p in PERCENTILES:
        points = [(panel.x(r.t), panel.y(getattr(r, f"p{p}"))) for r in rows if getattr(r, f"p{p}") is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            out.append(f'<polyline fill="none" stroke="{COLOURS[p]}" stroke-width="1.8" points="{path}"/>')
        for x, y in points:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{COLOURS[p]}"/>')
    return "\n".join(out + ["</svg>"])
