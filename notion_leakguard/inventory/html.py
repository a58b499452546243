"""The inventory as one self-contained HTML page: no network (a Content-Security-Policy
forbids it), no script or style from elsewhere. The tables are written here, so the page
reads the same without its script; the script only sorts them (live state, age, spread) and
opens each key's occurrences and timeline."""

from __future__ import annotations

import time
from html import escape

from notion_leakguard import __version__
from notion_leakguard.inventory.keys import moment, timeline
from notion_leakguard.inventory.records import Inventory, Key
from notion_leakguard.inventory.report import head_text, place, state_text, summary
from notion_leakguard.redaction import shown

_STATE_RANK = {"live": 0, "unknown": 1, "invalid": 2}

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #ddd;vertical-align:top}
tr.key{cursor:pointer}tr.key:hover{background:#f5f5f5}
tr.detail[hidden]{display:none}
.state-live{color:#b00;font-weight:bold}.state-invalid{color:#666}.state-unknown{color:#a60}
.callout{color:#b00}code{font:13px ui-monospace,monospace}
.timeline{position:relative;height:18px;background:#f0f0f0;margin:2px 0 6px}
.timeline span{position:absolute;top:0;bottom:0;background:#c33;min-width:2px}
.timeline span.gone{background:#999}
button[aria-pressed=true]{font-weight:bold}
"""

_SCRIPT = """
(function () {
  var body = document.getElementById('keys');
  function pairs() {
    var rows = body.querySelectorAll('tr.key'), out = [];
    for (var i = 0; i < rows.length; i++) {
      out.push([rows[i], document.getElementById('detail-' + rows[i].dataset.index)]);
    }
    return out;
  }
  function sortBy(field) {
    var all = pairs(), sign = field === 'spread' ? -1 : 1;
    all.sort(function (a, b) {
      var x = Number(a[0].dataset[field]), y = Number(b[0].dataset[field]);
      return x === y ? Number(a[0].dataset.age) - Number(b[0].dataset.age) : sign * (x - y);
    });
    all.forEach(function (pair) { body.appendChild(pair[0]); body.appendChild(pair[1]); });
    var buttons = document.querySelectorAll('button[data-sort]');
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].setAttribute('aria-pressed', String(buttons[i].dataset.sort === field));
    }
    document.body.dataset.sortedBy = field;
  }
  var buttons = document.querySelectorAll('button[data-sort]');
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener('click', function (event) { sortBy(event.target.dataset.sort); });
  }
  pairs().forEach(function (pair) {
    pair[0].addEventListener('click', function () { pair[1].hidden = !pair[1].hidden; });
  });
  sortBy('state');
})();
"""


def render_html(inventory: Inventory) -> str:
    now = time.time()
    rows = "".join(_key_rows(index, key, now) for index, key in enumerate(inventory.keys))
    failed = "".join(f"<li>{escape(shown(scan.error or ''))}</li>" for scan in inventory.failed)
    repositories = ", ".join(escape(shown(scan.repository)) for scan in inventory.repositories)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="notion-leakguard {escape(__version__)}">
<title>Notion key inventory</title><style>{_STYLE}</style></head>
<body>
<h1>Notion key inventory</h1>
<p id="summary">{escape(summary(inventory))}</p>
<p>Repositories: {repositories}</p>
{f'<p>Could not be scanned:</p><ul id="failed">{failed}</ul>' if failed else ""}
<p>Sort by: <button type="button" data-sort="state">live state</button>
<button type="button" data-sort="age">age</button>
<button type="button" data-sort="spread">spread</button>
(click a key for its occurrences and timeline)</p>
<table><thead><tr><th>State</th><th>Rule</th><th>Key</th><th>First seen</th>
<th>Repositories</th><th>Places</th></tr></thead>
<tbody id="keys">{rows}</tbody></table>
<script>{_SCRIPT}</script>
</body></html>
"""


def _key_rows(index: int, key: Key, now: float) -> str:
    state = key.verified or ""
    first = key.first
    seen = f"{first.date[:10]} {first.commit[:12]} by {first.author}" if first.commit else "-"
    spread = len(key.repositories) * 10000 + len(key.occurrences)
    summary_row = (
        f'<tr class="key" data-index="{index}" data-fingerprint="{escape(key.fingerprint)}" '
        f'data-state="{_STATE_RANK.get(state, 3)}" data-age="{moment(first.date):.0f}" '
        f'data-spread="{spread}">'
        f'<td class="state-{escape(state or "unverified")}">'
        f"{escape(state_text(key) or 'not verified')}</td>"
        f"<td>{escape(key.rule)}</td><td><code>{escape(key.preview)}</code></td>"
        f"<td>{escape(shown(seen))} in {escape(shown(first.repository))}</td>"
        f"<td>{escape(', '.join(shown(r) for r in key.repositories))}</td>"
        f"<td>{len(key.occurrences)}</td></tr>"
    )
    callouts = "".join(f'<li class="callout">{escape(shown(c))}</li>' for c in key.callouts)
    occurrences = "".join(
        f'<tr class="occurrence"><td>{escape(shown(o.repository))}</td>'
        f"<td>{escape(o.kind)}</td><td><code>{escape(place(o))}</code></td>"
        f"<td><code>{escape(o.commit[:12] or '-')}</code></td><td>{escape(o.date or '-')}</td>"
        f"<td>{escape(shown(o.author) or '-')}</td><td>{escape(head_text(o))}</td>"
        f"<td>{escape(o.last_date[:10] or '-')}</td></tr>"
        for o in key.occurrences
    )
    detail = (
        f'<tr class="detail" id="detail-{index}" hidden><td colspan="6">'
        f"{f'<ul>{callouts}</ul>' if callouts else ''}"
        f"<h3>Timeline</h3>{_timeline(key, now)}<h3>Occurrences</h3>"
        "<table><thead><tr><th>Repository</th><th>Kind</th><th>Where</th><th>Commit</th>"
        "<th>Date</th><th>Author</th><th>At HEAD</th><th>Last brought</th></tr></thead>"
        f"<tbody>{occurrences}</tbody></table></td></tr>"
    )
    return summary_row + detail


def _timeline(key: Key, now: float) -> str:
    """One bar per repository, from the commit that brought the key in to the last that
    still did (or to now, while the repository holds it), on a scale from the key's first
    sighting to now."""
    spans = timeline(key)
    start = min((moment(s.entered) for s in spans if s.entered), default=now)
    width = max(now - start, 1.0)
    out = []
    for span in spans:
        begin = moment(span.entered) if span.entered else now
        end = now if span.present else moment(span.last_seen or span.entered)
        left = min(max((begin - start) / width * 100, 0.0), 100.0)
        size = min(max((end - begin) / width * 100, 0.0), 100.0 - left)
        label = f"{span.entered[:10] or 'uncommitted'} to " + (
            "now (still there)" if span.present else f"{span.last_seen[:10]} (no longer at HEAD)"
        )
        css = "" if span.present else ' class="gone"'
        out.append(
            f"<div>{escape(shown(span.repository))}: {escape(label)}</div>"
            f'<div class="timeline" title="{escape(label)}">'
            f'<span{css} style="left:{left:.2f}%;width:{size:.2f}%"></span></div>'
        )
    return "".join(out)
