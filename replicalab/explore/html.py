"""A forking step-through page: the explored state graph, and you choose what happens next.

:func:`stepper_html` writes one self-contained HTML page (inline data, script and styles; no
CDN, no fonts, no network) for an explored :class:`~replicalab.explore.space.Space`. At
every state the page lists the steps possible there — each message in flight that could
be delivered next, the next client request — as buttons; pick one and watch each
replica's items, the messages in flight and the ledger *as of that moment* change. Back
and Restart undo. Every state also says how its future splits: of the schedules from
here, how many end with each write kept or lost — so a reader can predict, then choose.

Use a space explored with ``reduce=False`` to offer every order (the CLI does); a reduced
space offers one order per class of schedules, and the page says so.

    >>> from replicalab import explore
    >>> page = stepper_html(explore.scenario("london", reduce=False))
    >>> page.startswith("<!DOCTYPE html>") and " src=" not in page and "<link" not in page
    True
"""

from __future__ import annotations

import html
import json
from collections import Counter
from typing import Any

from replicalab.errors import ConfigError
from replicalab.explore.driver import replay
from replicalab.explore.space import Space

__all__ = ["MAX_PAGE_STATES", "graph_data", "stepper_html"]

#: The most states a page embeds (each carries every replica's items and the ledger).
MAX_PAGE_STATES = 3_000


def _view(prepared: Any) -> dict[str, Any]:
    """What the page shows at one state: items, messages in flight, the ledger as of now."""
    sim = prepared.sim
    result = prepared.result()
    items = {rid: {key: item.to_plain() for key, item in sorted(r.items.items())}
             for rid, r in sorted(sim.replicas.items())}
    ledger = [{"write": e.write, "verdict": e.verdict, "why": e.why} for e in result.ledger]
    return {"time": sim.now, "items": items, "ledger": ledger,
            "stale": list(result.stale_reads)}


def graph_data(space: Space) -> dict[str, Any]:
    """The plain data the page reads: every state's view, its steps out, and its future."""
    if len(space.nodes) > MAX_PAGE_STATES:
        raise ConfigError(f"the page would embed {len(space.nodes)} states, more than "
                          f"MAX_PAGE_STATES={MAX_PAGE_STATES}; explore a smaller scope")
    out: list[list[dict[str, Any]]] = [[] for _ in space.nodes]
    for edge in space.edges:
        out[edge.source].append({"label": edge.step.label, "kind": edge.step.kind,
                                 "to": edge.target})
    # Each state's future: over the schedules from it, how often each write gets each verdict.
    final = {o.state: o for o in space.outcomes}
    future: list[Counter[str]] = [Counter() for _ in space.nodes]
    runs: list[int] = [0] * len(space.nodes)
    for index in sorted(range(len(space.nodes)), key=lambda i: -space.nodes[i]["depth"]):
        if not out[index]:
            outcome = final[space.nodes[index]["state"]]
            runs[index] = 1
            future[index] = Counter(f"{w}:{v}" for w, v in outcome.verdicts.items())
            continue
        for choice in out[index]:
            runs[index] += runs[choice["to"]]
            future[index].update(future[choice["to"]])
    states = []
    for index, node in enumerate(space.nodes):
        prepared = replay(space.scenario, space.merge, space.seed, space.options, node["steps"])
        states.append({**_view(prepared), "depth": node["depth"], "out": out[index],
                       "schedules": runs[index], "future": dict(sorted(future[index].items()))})
    return {"scenario": space.scenario.name, "story": space.scenario.story,
            "merge": space.summary()["merge"], "reduce": space.reduce,
            "schedules": space.schedules, "count": len(space.nodes), "states": states}


def _json_for_script(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


STYLE = """
:root { --ink: #222; --grey: #666; --lost: #D55E00; --kept: #009E73; --line: #ddd; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 "DejaVu Sans", Verdana, Arial, sans-serif; color: var(--ink); }
header { padding: 12px 16px 4px; }
h1 { font-size: 20px; margin: 0 0 4px; }
.sub { color: var(--grey); margin: 0; }
main { display: flex; gap: 16px; align-items: flex-start; padding: 8px 16px 16px; flex-wrap: wrap; }
section { flex: 1 1 300px; min-width: 0; }
h2 { font-size: 15px; margin: 14px 0 6px; }
button { font: inherit; padding: 4px 10px; border: 1px solid #888; border-radius: 4px;
  background: #f6f6f6; cursor: pointer; margin: 2px 0; text-align: left; }
button:disabled { opacity: .4; cursor: default; }
button:focus-visible { outline: 2px solid #0072B2; }
#choices button { display: block; width: 100%; }
#choices button.next { border-color: #0072B2; }
#choices button.drop, #choices button.duplicate { border-style: dashed; }
.future { color: var(--grey); font-size: 12px; }
ol#path { padding-left: 22px; font-size: 13px; }
table { border-collapse: collapse; width: 100%; font-size: 12px; margin: 4px 0; }
th, td { text-align: left; padding: 2px 4px; border-bottom: 1px solid #eee; vertical-align: top; }
td.value { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; word-break: break-word; }
.verdict-silently-lost { color: var(--lost); font-weight: bold; }
.verdict-kept { color: var(--kept); }
.why { color: var(--grey); font-size: 11px; }
#end { margin: 8px 0; padding: 8px; background: #f6f6f6; border-left: 4px solid #0072B2; }
"""

SCRIPT = r"""
(function () {
  const data = JSON.parse(document.getElementById('replicalab-graph').textContent);
  let path = [0], labels = [];
  const $ = (id) => document.getElementById(id);
  const esc = (t) => String(t).replace(/[&<>"]/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]));
  function futureText(state) {
    const parts = Object.entries(state.future).map(([k, n]) => k.replace(':', ' ') + ' in ' + n);
    return state.schedules + ' schedule' + (state.schedules === 1 ? '' : 's') + ' from here: ' + parts.join(', ');
  }
  function render() {
    const here = data.states[path[path.length - 1]];
    $('position').textContent = 'step ' + (path.length - 1) + ', t=' + here.time;
    $('future').textContent = futureText(here);
    $('path').innerHTML = labels.map((l) => '<li>' + esc(l) + '</li>').join('');
    $('choices').innerHTML = here.out.map((e, i) =>
      '<button class="' + e.kind + '" data-i="' + i + '">' + esc(e.label) +
      '<br><span class="future">' + esc(futureText(data.states[e.to])) + '</span></button>').join('');
    $('end').hidden = here.out.length > 0;
    $('end').textContent = here.out.length ? '' : 'The run is over: every message delivered (or lost). This is one of ' + data.schedules + ' schedules.';
    let rows = '';
    for (const [replica, items] of Object.entries(here.items)) {
      for (const [key, value] of Object.entries(items)) {
        rows += '<tr><td>' + esc(replica) + '</td><td>' + esc(key) + '</td><td class="value">' + esc(JSON.stringify(value)) + '</td></tr>';
      }
    }
    $('items').innerHTML = '<tr><th>replica</th><th>key</th><th>item</th></tr>' + rows;
    $('ledger').innerHTML = '<tr><th>write</th><th>verdict (as of now)</th></tr>' + here.ledger.map((e) =>
      '<tr><td>' + esc(e.write) + '</td><td><span class="verdict-' + esc(e.verdict) + '">' + esc(e.verdict) +
      '</span><div class="why">' + esc(e.why) + '</div></td></tr>').join('') +
      (here.stale.length ? '<tr><td colspan="2">stale strong reads: ' + esc(here.stale.join(', ')) + '</td></tr>' : '');
    $('back').disabled = path.length === 1;
    $('restart').disabled = path.length === 1;
  }
  $('choices').addEventListener('click', (event) => {
    const button = event.target.closest('button');
    if (!button) return;
    const edge = data.states[path[path.length - 1]].out[Number(button.dataset.i)];
    path.push(edge.to); labels.push(edge.label); render();
  });
  $('back').addEventListener('click', () => { if (path.length > 1) { path.pop(); labels.pop(); render(); } });
  $('restart').addEventListener('click', () => { path = [0]; labels = []; render(); });
  render();
})();
"""


def stepper_html(space: Space) -> str:
    """The forking step-through page for ``space`` (see the module docs)."""
    data = graph_data(space)
    title = f"All the ways it can go: {data['scenario']} under {data['merge']}"
    note = ("" if not data["reduce"] else
            " One order per class of schedules (explored with the reduction): deliveries to "
            "different replicas are offered in one order only.")
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<header><h1>{html.escape(title)}</h1>",
        f'<p class="sub">{html.escape(data["story"])} {data["schedules"]} schedules, '
        f'{data["count"]} states.{html.escape(note)}</p></header>',
        "<main><section>",
        '<h2>What happens next? <span id="position"></span></h2>',
        '<p><button id="back">Back</button> <button id="restart">Restart</button></p>',
        '<p class="future" id="future"></p>',
        '<div id="choices"></div><div id="end" hidden></div>',
        '<h2>So far</h2><ol id="path"></ol>',
        "</section><section>",
        '<h2>Items at each replica</h2><table id="items"></table>',
        '<h2>Ledger</h2><table id="ledger"></table>',
        "</section></main>",
        f'<script type="application/json" id="replicalab-graph">{_json_for_script(data)}</script>',
        f"<script>{SCRIPT}</script>",
        "</body></html>",
    ]) + "\n"
