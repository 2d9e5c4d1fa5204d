"""The report site's `index.html`: the run's summary, every scenario (filterable by status and
tag in the page itself), and routing coverage with the untouched entries highlighted.

Inline style and script only, so it works from `file://` with no server and no network; the
script reads `data-` attributes and never builds markup from text.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.reports.coverage import Coverage
from simulator.reports.html_text import esc

STATUSES = ("passed", "failed", "skipped")

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
a{color:#0645ad} .passed{color:#070} .failed{color:#b00} .skipped{color:#777}
table{border-collapse:collapse;margin:0.5em 0} th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}
dl.summary{display:grid;grid-template-columns:max-content auto;gap:2px 12px} dl.summary dt{font-weight:bold}
.tag{display:inline-block;background:#eef;border-radius:3px;padding:0 4px;margin:0 2px;font-size:smaller}
tr.untouched{background:#fff3cd} tr.untouched td.touched{color:#a50;font-weight:bold}
.filters label{margin-right:1em}
"""

SCRIPT = """
(function () {
  var status = document.getElementById('status-filter');
  var tag = document.getElementById('tag-filter');
  var shown = document.getElementById('shown');
  function apply() {
    var count = 0;
    document.querySelectorAll('#scenarios tbody tr').forEach(function (row) {
      var tags = Array.prototype.map.call(row.querySelectorAll('.tag'), function (t) { return t.dataset.tag; });
      var visible = (!status.value || row.dataset.status === status.value) &&
                    (!tag.value || tags.indexOf(tag.value) >= 0);
      row.hidden = !visible;
      if (visible) { count += 1; }
    });
    shown.textContent = count + ' shown';
  }
  status.addEventListener('change', apply);
  tag.addEventListener('change', apply);
  document.querySelectorAll('a.count').forEach(function (link) {
    link.addEventListener('click', function (event) {
      event.preventDefault();
      status.value = link.dataset.status;
      apply();
    });
  });
  apply();
})();
"""


@dataclass(frozen=True)
class Row:
    """One scenario in the table; `page`: its call page, relative to index.html."""

    id: str
    name: str
    status: str
    seconds: float
    tags: tuple[str, ...]
    driver: str
    page: str
    reason: str = ""  # the first failure line, or why it was skipped


@dataclass(frozen=True)
class RunSummary:
    seconds: float  # wall time of the whole run
    target: str  # where the calls went
    drivers: tuple[str, ...]
    started: str  # when, as UTC text


def index_html(run: RunSummary, rows: list[Row], cov: Coverage) -> str:
    counts = {s: sum(r.status == s for r in rows) for s in STATUSES}
    summary = "".join(f'<dt class="{s}">{s}</dt><dd><a href="#scenarios" class="count {s}" data-status="{s}" '
                      f'id="count-{s}">{counts[s]}</a></dd>' for s in STATUSES)
    summary += (f"<dt>scenarios</dt><dd>{len(rows)}</dd><dt>wall time</dt><dd>{run.seconds:.1f} s</dd>"
                f"<dt>target</dt><dd>{esc(run.target)}</dd><dt>driver</dt><dd>{esc(', '.join(run.drivers))}</dd>"
                f"<dt>started</dt><dd>{esc(run.started)}</dd>")
    tags = sorted({t for r in rows for t in r.tags})
    filters = ('<p class="filters"><label>status <select id="status-filter"><option value="">all</option>'
               + "".join(f'<option value="{s}">{s}</option>' for s in STATUSES) + "</select></label>"
               '<label>tag <select id="tag-filter"><option value="">all</option>'
               + "".join(f'<option value="{esc(t)}">{esc(t)}</option>' for t in tags) + "</select></label>"
               '<span id="shown"></span></p>')
    body = (f"<h1>sipconf test report</h1><dl class=\"summary\">{summary}</dl>"
            f"<h2>Scenarios</h2>{filters}{_scenarios(rows)}<h2>Routing coverage</h2>{_coverage(cov)}")
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>sipconf test report</title>'
            f'<meta name="viewport" content="width=device-width"><style>{STYLE}</style></head>'
            f"<body>{body}<script>{SCRIPT}</script></body></html>\n")


def _scenarios(rows: list[Row]) -> str:
    out = ['<table id="scenarios"><thead><tr><th>scenario</th><th>status</th><th>duration</th><th>tags</th>'
           "<th>driver</th><th>detail</th></tr></thead><tbody>"]
    for r in rows:
        tags = "".join(f'<span class="tag" data-tag="{esc(t)}">{esc(t)}</span>' for t in r.tags)
        out.append(f'<tr data-status="{r.status}"><td><a class="call" href="{esc(r.page)}">{esc(r.id)}</a></td>'
                   f'<td class="{r.status}">{r.status}</td><td>{r.seconds:.2f} s</td><td>{tags}</td>'
                   f"<td>{esc(r.driver)}</td><td>{esc(r.reason)}</td></tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _coverage(cov: Coverage) -> str:
    missed = sum(not touched for _, _, touched in cov.entries)
    out = [f'<p class="coverage">{cov.percent:.1f}% of {cov.total} spec entries touched; '
           f"{missed} untouched (highlighted).</p>",
           '<table id="coverage"><thead><tr><th>kind</th><th>entry</th><th>touched</th></tr></thead><tbody>']
    for kind, label, touched in cov.entries:
        out.append(f'<tr class="{"touched" if touched else "untouched"}"><td>{esc(kind)}</td><td>{esc(label)}</td>'
                   f'<td class="touched">{"yes" if touched else "no"}</td></tr>')
    out.append("</tbody></table>")
    if cov.ranges:
        out.append("<ul class=\"ranges\">" + "".join(
            f"<li>number range {esc(e.label)} ({esc(e.trunk)}): {len(e.exercised)} of {len(e.numbers)} numbers "
            "exercised</li>" for e in cov.ranges) + "</ul>")
    return "".join(out)
