"""A self-contained step-through page for a run, and the HTML Jupyter shows inline.

:func:`to_html` writes one HTML page with everything inline — the space-time
diagram as SVG, the per-step data as JSON, a small script and its styles; no
CDN, no fonts, no network. A step control (buttons, and the keys ← → or
j k, Home, End) moves through the run one step at a time and shows, as of that
step:

* what the step did, with the step highlighted in the diagram, later steps
  faded and the messages then in flight drawn dashed (a fault in the words of
  :mod:`replicalab.viz.faults`: ``down (crashed, disk lost)``, ``cut off from ...``);
* the messages in flight: a copy the network will lose on arrival is in flight until its
  arrival time like any other, and at the step that lost it the list says so first
  (``✗ w1: eu-west-1 → us-east-1 (sent t=140) lost on arrival at t=211: a partition cut it off``);
* each replica's items (values and the write that set each value; siblings
  side by side) — replayed from the trace, see :mod:`replicalab.viz.story`;
* each replica's happens-before vector clock and Lamport clock;
* the ledger: every write made so far, which replicas hold its value now,
  where it has been dropped so far, and its final verdict.

The page honours a URL fragment ``#step=N`` (and keeps it up to date), so a
link can point at one moment of a run. :func:`html_fragment` is the static,
script-free piece Jupyter displays (``_repr_html_``): the diagram and the
ledger.

    >>> from replicalab import scenarios
    >>> page = to_html(scenarios.run("london", seed=0))
    >>> page.startswith("<!DOCTYPE html>") and " src=" not in page and "<link" not in page
    True
"""

from __future__ import annotations

import json
from typing import Any

from replicalab.viz import _svg as s
from replicalab.viz import faults
from replicalab.viz.story import Message, Story, build
from replicalab.viz.svg import diagram

__all__ = ["html_fragment", "page_data", "to_html"]

VERDICTS = ("kept", "superseded", "silently-lost", "detected", "rejected", "unreplicated")


def _icon(verdict: str) -> str:
    return (f'<svg width="18" height="18" viewBox="-9 -9 18 18" aria-hidden="true">'
            f"{s.write_mark(0, 0, verdict, 0.9)}</svg>")


def page_data(story: Story) -> dict[str, Any]:
    """The plain data the page's script reads: steps, states, clocks, messages, ledger."""
    writes = []
    write_steps = story.write_steps()
    cuts, drops = faults.cut_changes(story), faults.arrival_drops(story)
    for write, entry in story.entries.items():
        step = write_steps.get(write)
        writes.append({
            "write": write, "replica": entry.replica, "client": entry.client, "key": entry.key,
            "attributes": entry.attributes, "verdict": entry.verdict, "why": entry.why,
            "step": step.index if step is not None else None,
            "time": step.time if step is not None else None,
        })
    return {
        "title": story.title,
        "replicas": list(story.replicas),
        "summary": story.summary,
        "initial": story.initial,
        "icons": {v: _icon(v) for v in VERDICTS},
        "steps": [
            {"n": st.index, "t": st.time, "replica": st.replica, "kind": st.kind,
             "note": faults.step_note(story, st, cuts, drops), "vector": st.vector, "lamport": st.lamport,
             "losses": [{"write": x["write"], "attribute": x["attribute"], "by": x["by"]}
                        for x in st.losses],
             "lost_here": story.lost_here(st), "state": st.state}
            for st in story.steps
        ],
        "messages": [_message(m) for m in story.messages],
        "writes": writes,
    }


def _message(m: Message) -> dict[str, Any]:
    """One copy for the page: a copy lost on arrival also says at which step (``lost``) and
    why, so the page keeps it in flight until then (:func:`~replicalab.viz.faults.in_flight_until`);
    the other copies carry no such keys, so a run without one has the data it always had."""
    out = {"label": m.label, "src": m.src, "dst": m.dst, "sent": m.sent_step,
           "sent_t": m.sent_time, "got": m.delivered_step, "due": m.due, "dropped": m.dropped}
    if faults.lost_on_arrival(m):
        out |= {"lost": m.lost_step, "why": faults.drop_why(m)}
    return out


def _json_for_script(data: Any) -> str:
    """JSON safe inside ``<script>``: sorted keys, and ``<``, ``>``, ``&`` escaped."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


STYLE = """
:root { --ink: #222; --grey: #666; --lost: #D55E00; --line: #ddd; --hi: #FFE9A8; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 "DejaVu Sans", Verdana, Arial, sans-serif; color: var(--ink); }
header { padding: 12px 16px 4px; }
h1 { font-size: 20px; margin: 0 0 4px; }
.sub { color: var(--grey); margin: 0; }
main { display: flex; gap: 16px; align-items: flex-start; padding: 8px 16px 16px; }
#diagram { flex: 1 1 auto; overflow: auto; max-height: 92vh; border: 1px solid var(--line); }
#diagram svg { display: block; }
#panel { flex: 0 0 480px; position: sticky; top: 8px; max-height: 96vh; overflow: auto; }
.controls { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
.controls button { font: inherit; padding: 4px 10px; border: 1px solid #888; border-radius: 4px;
  background: #f6f6f6; cursor: pointer; }
.controls button:disabled { opacity: .4; cursor: default; }
.controls button:focus-visible { outline: 2px solid #0072B2; }
#position { font-weight: bold; margin-left: 6px; }
#note { margin: 8px 0; padding: 8px; background: #f6f6f6; border-left: 4px solid #0072B2;
  white-space: pre-wrap; }
#note.lost { border-left-color: var(--lost); background: #fff1e8; }
h2 { font-size: 15px; margin: 14px 0 6px; }
.replica { border: 1px solid var(--line); border-radius: 4px; padding: 6px 8px; margin: 6px 0; }
.replica.acting { border-color: #0072B2; box-shadow: 0 0 0 2px #cfe3f3; }
.replica h3 { font-size: 14px; margin: 0 0 2px; }
.clock { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px;
  color: var(--grey); }
table { border-collapse: collapse; width: 100%; font-size: 12px; margin: 4px 0; }
th, td { text-align: left; padding: 2px 4px; border-bottom: 1px solid #eee; vertical-align: top; }
td.value { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; word-break: break-word; }
td.by { color: var(--grey); }
caption { text-align: left; font-size: 12px; color: var(--grey); }
.verdict-silently-lost { color: var(--lost); font-weight: bold; }
.why { color: var(--grey); font-size: 11px; font-weight: normal; }
.keys { color: var(--grey); font-size: 12px; }
#diagram rect.row.on { fill: var(--hi); }
#diagram .future { opacity: .15; }
#diagram g.msg.inflight line { stroke-dasharray: 5 3; }
#diagram g.step.on text { font-weight: bold; }
@media (max-width: 820px) {
  /* A phone, or a page column: the panel goes under the diagram, which keeps its size and
     scrolls inside its box rather than shrinking to a sliver. */
  main { flex-direction: column; gap: 8px; padding: 6px 8px 12px; }
  header { padding: 8px 8px 2px; }
  #diagram { flex: none; width: 100%; max-height: 55vh; }
  #panel { flex: none; width: 100%; position: static; max-height: none; overflow: visible; }
  #ledger td, #ledger th { word-break: break-word; }
}
"""

SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("replicalab-data").textContent);
  var steps = data.steps, last = steps.length, replicas = data.replicas;
  var states = [], clocks = [];
  var items = {}, clock = {};
  replicas.forEach(function (r) {
    items[r] = data.initial ? data.initial[r] : null;
    clock[r] = {vector: {}, lamport: 0};
  });
  states.push(items); clocks.push(clock);
  steps.forEach(function (s) {
    items = Object.assign({}, items); clock = Object.assign({}, clock);
    if (s.replica !== null) {
      if (s.state) { items[s.replica] = s.state; }
      clock[s.replica] = {vector: s.vector, lamport: s.lamport};
    }
    states.push(items); clocks.push(clock);
  });
  var current = 0;

  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (k) {
      if (k === "text") { node.textContent = props[k]; }
      else if (k === "className") { node.className = props[k]; }
      else { node.setAttribute(k, props[k]); }
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }
  function vc(v) {
    var keys = Object.keys(v).sort();
    return "{" + keys.map(function (k) { return k + ": " + v[k]; }).join(", ") + "}";
  }
  function writesIn(state) {
    var held = {};
    if (!state) { return held; }
    Object.keys(state).forEach(function (key) {
      state[key].forEach(function (version) {
        Object.keys(version.cells).forEach(function (a) { held[version.cells[a][1]] = true; });
      });
    });
    return held;
  }

  function renderItems(state) {
    var box = el("div", {className: "items"});
    if (!state) {
      box.appendChild(el("p", {className: "keys",
        text: "item contents unavailable for this run (the trace could not be replayed)"}));
      return box;
    }
    Object.keys(state).sort().forEach(function (key) {
      var versions = state[key];
      versions.forEach(function (version, i) {
        var rows = Object.keys(version.cells).sort().map(function (a) {
          return el("tr", {"data-attribute": a}, [
            el("td", {text: a}),
            el("td", {className: "value", text: JSON.stringify(version.cells[a][0])}),
            el("td", {className: "by", text: version.cells[a][1]})]);
        });
        var label = key + (versions.length > 1 ? " — sibling " + (i + 1) + " of " +
          versions.length : "") + " (version from " + version.write + ")" +
          (Object.keys(version.clock).length ? " vv " + vc(version.clock) : "");
        box.appendChild(el("table", {className: "item", "data-key": key,
          "data-sibling": String(i + 1)}, [el("caption", {text: label}),
          el("thead", {}, [el("tr", {}, [el("th", {text: "attribute"}),
            el("th", {text: "value"}), el("th", {text: "set by"})])]),
          el("tbody", {}, rows)]));
      });
    });
    return box;
  }

  function renderLedger(k) {
    var body = el("tbody");
    data.writes.forEach(function (w) {
      if (w.step === null || w.step > k) { return; }
      var holders = replicas.filter(function (r) { return writesIn(states[k][r])[w.write]; });
      var drops = [];
      for (var i = 0; i < k; i++) {
        steps[i].losses.forEach(function (x) {
          if (x.write === w.write) { drops.push(steps[i].replica + " (step " + steps[i].n + ")"); }
        });
      }
      var verdict = el("td", {className: "verdict-" + w.verdict});
      verdict.innerHTML = data.icons[w.verdict] || "";
      verdict.appendChild(document.createTextNode(" " + w.verdict));
      if (w.why) { verdict.appendChild(el("div", {className: "why", text: w.why})); }
      body.appendChild(el("tr", {"data-write": w.write}, [
        el("td", {}, [el("b", {text: w.write}), el("div", {className: "why",
          text: w.client + "@" + w.replica + " t=" + w.time + " sets " +
            Object.keys(w.attributes).sort().join(", ")})]),
        el("td", {className: "held", text: data.initial ? (holders.join(", ") || "nobody") : "?"}),
        el("td", {className: "dropped", text: drops.join(", ") || "-"}),
        verdict]));
    });
    return el("table", {id: "ledger"}, [el("thead", {}, [el("tr", {}, [
      el("th", {text: "write"}), el("th", {text: "held by now"}),
      el("th", {text: "dropped so far"}), el("th", {text: "final verdict"})])]), body]);
  }

  function renderDiagram(k) {
    var svg = document.querySelector("#diagram svg");
    if (!svg) { return; }
    svg.querySelectorAll("rect.row").forEach(function (r) {
      var on = k > 0 && +r.getAttribute("data-first") <= k && k <= +r.getAttribute("data-last");
      r.classList.toggle("on", on);
      if (on && r.scrollIntoView) { r.scrollIntoView({block: "nearest", inline: "nearest"}); }
    });
    svg.querySelectorAll("g.step").forEach(function (g) {
      var n = +g.getAttribute("data-step");
      g.classList.toggle("on", n === k);
      g.classList.toggle("future", n > k);
    });
    svg.querySelectorAll("g.msg").forEach(function (g) {
      // In flight from its send until the step that delivered it or lost it on arrival.
      var sent = +g.getAttribute("data-sent"), got = g.getAttribute("data-got");
      var end = got !== null ? got : g.getAttribute("data-lost");
      g.classList.toggle("future", sent > k);
      g.classList.toggle("inflight", sent <= k && (end === null || +end > k));
    });
  }

  function render() {
    var k = current, s = k > 0 ? steps[k - 1] : null;
    document.getElementById("step-number").textContent = String(k);
    document.getElementById("where").textContent =
      s ? " · t=" + s.t + " · " + (s.replica || "network") : " · before the run";
    var note = document.getElementById("note");
    note.textContent = s ? s.n + ". " + s.note +
      (s.lost_here.length ? "\n→ " + s.lost_here.join(", ") + " silently lost here" : "")
      : "Before the run: every replica holds the initial items.";
    note.className = s && s.lost_here.length ? "lost" : "";
    document.getElementById("first").disabled = document.getElementById("prev").disabled = k === 0;
    document.getElementById("next").disabled = document.getElementById("last").disabled = k === last;
    // A copy is in flight from its send until the step that delivered it or lost it on
    // arrival (m.lost); one lost on the way never was. Lost at this step: said first.
    var flight = data.messages.filter(function (m) {
      var end = m.got !== null ? m.got : (m.lost !== undefined ? m.lost : null);
      return m.sent <= k && (!m.dropped || m.lost !== undefined) && (end === null || end > k);
    }).map(function (m) {
      return m.label + ": " + m.src + " → " + m.dst + " (sent t=" + m.sent_t +
        (m.due !== null ? ", arrives t=" + m.due : "") + ")";
    });
    var lost = data.messages.filter(function (m) { return m.lost === k; }).map(function (m) {
      return "✗ " + m.label + ": " + m.src + " → " + m.dst + " (sent t=" + m.sent_t +
        ") lost on arrival at t=" + s.t + ": " + m.why;
    });
    var more = flight.length > 12 ? ["… and " + (flight.length - 12) + " more"] : [];
    var shown = lost.concat(flight.slice(0, 12), more);
    document.getElementById("inflight").textContent = shown.length ? shown.join("\n") : "none";
    var box = document.getElementById("replicas");
    box.textContent = "";
    replicas.forEach(function (r) {
      var c = clocks[k][r];
      box.appendChild(el("section", {className: "replica" + (s && s.replica === r ? " acting" : ""),
        "data-replica": r}, [el("h3", {text: r}),
        el("div", {className: "clock", text: "vector " + vc(c.vector) + " · Lamport " + c.lamport}),
        renderItems(states[k][r])]));
    });
    var ledger = document.getElementById("ledger");
    ledger.parentNode.replaceChild(renderLedger(k), ledger);
    renderDiagram(k);
  }

  function go(k) {
    current = Math.max(0, Math.min(last, k));
    render();
    try { history.replaceState(null, "", "#step=" + current); } catch (e) { /* file: URLs */ }
  }
  function fromHash() {
    var m = /step=(\d+)/.exec(location.hash);
    return m ? parseInt(m[1], 10) : 0;
  }
  document.getElementById("first").addEventListener("click", function () { go(0); });
  document.getElementById("prev").addEventListener("click", function () { go(current - 1); });
  document.getElementById("next").addEventListener("click", function () { go(current + 1); });
  document.getElementById("last").addEventListener("click", function () { go(last); });
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) { return; }
    var moves = {ArrowRight: 1, ArrowLeft: -1, j: 1, k: -1, n: 1, p: -1};
    if (e.key in moves) { go(current + moves[e.key]); e.preventDefault(); }
    else if (e.key === "Home") { go(0); e.preventDefault(); }
    else if (e.key === "End") { go(last); e.preventDefault(); }
  });
  window.addEventListener("hashchange", function () {
    if (fromHash() !== current) { go(fromHash()); }
  });
  document.documentElement.setAttribute("data-ready", "true");
  go(fromHash());
})();
"""


def _summary(story: Story) -> str:
    if story.summary is None:
        return f"{len(story.steps)} steps, {len(story.messages)} messages (a bare trace)"
    sm = story.summary
    return (f"{sm['acknowledged']} acknowledged · {sm['kept']} kept · {sm['superseded']} "
            f"superseded · {sm['silently_lost']} silently lost · {sm['detected']} detected · "
            f"{sm['rejected']} rejected"
            + (f" · {sm['unreplicated']} unreplicated" if sm.get("unreplicated") else ""))


def to_html(source: Any, *, width: float | None = None) -> str:
    """One self-contained HTML page with the diagram and a step control. Same run, same bytes.

    ``width`` draws the diagram in its page layout (see :func:`~replicalab.viz.svg.diagram`),
    for a page embedded in a narrow column; on a narrow screen the panel goes under it.
    """
    story = source if isinstance(source, Story) else build(source)
    svg = diagram(story, width=width).to_svg()
    title = s.esc(f"replicalab — {story.title}")
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{s.esc(story.title)}</h1>",
        f'<p class="sub">{s.esc(_summary(story))}</p>',
        "</header>",
        "<main>",
        f'<div id="diagram">{svg}</div>',
        '<div id="panel">',
        '<div class="controls" role="toolbar" aria-label="step through the run">',
        '<button id="first" type="button" title="first (Home)">« first</button>',
        '<button id="prev" type="button" title="previous (← or k)">‹ prev</button>',
        '<button id="next" type="button" title="next (→ or j)">next ›</button>',
        '<button id="last" type="button" title="last (End)">last »</button>',
        '<span id="position" aria-live="polite">step <span id="step-number">0</span> of '
        f'{len(story.steps)}<span id="where"></span></span>',
        "</div>",
        '<div id="note">Enable JavaScript to step through the run; the diagram shows all of it.</div>',
        "<h2>In flight</h2>",
        '<div id="inflight" class="clock" style="white-space: pre-wrap">-</div>',
        "<h2>Replicas (items, clocks)</h2>",
        '<div id="replicas"></div>',
        "<h2>Ledger as of this step</h2>",
        '<table id="ledger"></table>',
        "</div>",
        "</main>",
        f'<script type="application/json" id="replicalab-data">'
        f"{_json_for_script(page_data(story))}</script>",
        f"<script>{SCRIPT}</script>",
        "</body>",
        "</html>",
        "",
    ])


def html_fragment(source: Any) -> str:
    """Static HTML (no script) for Jupyter's ``_repr_html_``: the diagram and the ledger."""
    story = source if isinstance(source, Story) else build(source)
    rows = []
    for write, entry in story.entries.items():
        why = f'<div style="color:#666;font-size:11px">{s.esc(entry.why)}</div>' if entry.why else ""
        colour = ' style="color:#D55E00;font-weight:bold"' if entry.verdict == "silently-lost" else ""
        rows.append(
            f"<tr><td>{s.esc(write)}</td><td>{s.esc(entry.client)}@{s.esc(entry.replica)}</td>"
            f"<td>{s.esc(', '.join(sorted(entry.attributes)))}</td>"
            f"<td{colour}>{_icon(entry.verdict)} {s.esc(entry.verdict)}{why}</td></tr>")
    table = ""
    if rows:
        table = ("<table><thead><tr><th>write</th><th>by</th><th>sets</th><th>verdict</th></tr>"
                 "</thead><tbody>" + "".join(rows) + "</tbody></table>")
    return (f'<div class="replicalab-run"><div style="overflow:auto">{diagram(story).to_svg()}'
            f"</div>{table}</div>")
