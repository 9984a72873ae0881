"""The step-through page in a real browser: headless Chromium loads it, steps, and shows the truth.

Needs the Debian package ``chromium`` (CI installs it); without it these tests
skip and say so. Chromium runs with no network, no sync, a throw-away profile.
The page is checked three ways:

* a deep link ``#step=N`` opens the run at step N (``--dump-dom``);
* a copy of the page with a small script appended presses the page's own
  buttons and keys, and records what the page shows after each move;
* a screenshot is not blank, and the silently-lost mark's colour is on it.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import attrs
import pytest

from replicalab import scenarios
from replicalab.viz import faults, to_html
from replicalab.viz.story import Story, build

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium not installed: apt-get install chromium (CI's .ci/run installs it)")


def chromium(tmp_path: Path, url: str, *extra: str) -> str:
    """Run headless Chromium on ``url`` with the flags for a sealed, network-free run."""
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}", *extra, url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def state_at(story: Story, step: int, replica: str) -> dict:
    """What the page should show for ``replica`` after ``step`` (0: before the run)."""
    state = story.initial[replica]
    for s in story.steps[:step]:
        if s.replica == replica and s.state is not None:
            state = s.state
    return state


def shown_replica(dom: str, replica: str) -> dict[str, tuple[str, str]]:
    """``{attribute: (value as shown, set by)}`` in the replica's card of a dumped DOM."""
    card = re.search(rf'<section class="replica[^"]*" data-replica="{re.escape(replica)}">(.*?)'
                     r"</section>", dom, re.S)
    assert card, f"no card for {replica}"
    rows = re.findall(r'<tr data-attribute="([^"]+)"><td>[^<]*</td><td class="value">(.*?)</td>'
                      r'<td class="by">(.*?)</td></tr>', card.group(1))
    return {a: (html.unescape(v), html.unescape(b)) for a, v, b in rows}


def text_of(dom: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', dom, re.S)
    assert found, element_id
    return html.unescape(found.group(1))


@pytest.fixture(scope="module")
def london():
    result = scenarios.run("london", merge="item-lww", seed=0)
    return result, build(result)


def test_a_deep_link_opens_the_run_at_that_step(london, tmp_path):
    result, story = london
    page = tmp_path / "london.html"
    page.write_text(to_html(result), encoding="utf-8")
    loss = next(s for s in story.steps if s.kind == "merge" and story.lost_here(s))
    dom = chromium(tmp_path, f"{page.as_uri()}#step={loss.index}", "--dump-dom")
    assert 'data-ready="true"' in dom, "the page's script did not run"
    assert text_of(dom, "step-number") == str(loss.index)
    assert text_of(dom, "where") == f" · t={loss.time} · {loss.replica}"
    assert "w1 silently lost here" in text_of(dom, "note")
    assert re.search(rf'class="replica acting" data-replica="{loss.replica}"', dom)
    for replica in story.replicas:
        expected = state_at(story, loss.index, replica)["sub_42"][0]["cells"]
        assert shown_replica(dom, replica) == {
            a: (json.dumps(v, ensure_ascii=False), by) for a, (v, by) in expected.items()}
    # us-east-1 has already dropped the London address; eu-west-1 still shows it.
    assert shown_replica(dom, "us-east-1")["delivery_address"] == (
        '"7 Canal Street, Manchester"', "initial")
    assert shown_replica(dom, "eu-west-1")["delivery_address"] == ('"12 High Street, London"', "w1")
    ledger = re.search(r'<tr data-write="w1">(.*?)</tr>', dom, re.S).group(1)
    assert f"{loss.replica} (step {loss.index})" in ledger and "silently-lost" in ledger


PRESS = """
<script>
(function () {
  var log = [];
  function look() {
    var cards = {};
    document.querySelectorAll("section.replica").forEach(function (c) {
      var row = c.querySelector('tr[data-attribute="delivery_address"] td.value');
      cards[c.getAttribute("data-replica")] = row ? row.textContent : null;
    });
    var on = document.querySelector("#diagram rect.row.on");
    log.push({step: +document.getElementById("step-number").textContent, address: cards,
              hash: location.hash, row: on ? +on.getAttribute("data-first") : 0,
              prevDisabled: document.getElementById("prev").disabled,
              nextDisabled: document.getElementById("next").disabled});
  }
  function key(k) { document.dispatchEvent(new KeyboardEvent("keydown", {key: k, bubbles: true})); }
  look();
  for (var i = 0; i < STEPS; i++) { document.getElementById("next").click(); look(); }
  document.getElementById("next").click(); look();
  key("ArrowLeft"); look();
  key("Home"); look();
  key("j"); look();
  key("End"); look();
  document.getElementById("first").click(); look();
  var out = document.createElement("pre");
  out.id = "test-log";
  out.textContent = JSON.stringify(log);
  document.body.appendChild(out);
})();
</script>
"""


def test_buttons_and_keys_step_through_the_run(london, tmp_path):
    result, story = london
    last = len(story.steps)
    page = tmp_path / "press.html"
    page.write_text(to_html(result).replace("</body>", PRESS.replace("STEPS", str(last)) + "</body>"),
                    encoding="utf-8")
    dom = chromium(tmp_path, page.as_uri(), "--dump-dom")
    log = json.loads(html.unescape(re.search(r'<pre id="test-log">(.*?)</pre>', dom, re.S).group(1)))
    steps = [entry["step"] for entry in log]
    # 0..last by "next", "next" at the end stays, ←, Home, j, End, "first".
    assert steps == [*range(last + 1), last, last - 1, 0, 1, last, 0]
    for entry in log:
        k = entry["step"]
        assert entry["hash"] == f"#step={k}"
        assert entry["prevDisabled"] == (k == 0) and entry["nextDisabled"] == (k == last)
        assert entry["row"] == k, "the diagram highlights the row of the current step"
        for replica in story.replicas:
            value = state_at(story, k, replica)["sub_42"][0]["cells"]["delivery_address"][0]
            assert entry["address"][replica] == json.dumps(value), (k, replica)


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA PNG (what Chromium writes): width, height, rows of pixel bytes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    idat = b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IDAT":
            idat += body
        else:
            chunks.setdefault(kind, body)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert depth == 8 and colour in (2, 6) and interlace == 0, "unexpected PNG flavour"
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, [bytes(r[i:i + 3]) for r in rows for i in range(0, stride, bpp)]


def test_a_screenshot_of_the_page_is_not_blank(london, tmp_path):
    result, _ = london
    page = tmp_path / "shot.html"
    page.write_text(to_html(result), encoding="utf-8")
    shot = tmp_path / "shot.png"
    chromium(tmp_path, page.as_uri() + "#step=1", f"--screenshot={shot}", "--window-size=1000,700")
    width, height, pixels = png_pixels(shot.read_bytes())
    assert (width, height) == (1000, 700)
    colours = set(pixels)
    assert len(colours) > 20, "a blank (or nearly blank) page"
    ink = sum(1 for p in pixels if p != b"\xff\xff\xff")
    assert ink > 0.02 * len(pixels)
    vermillion = [p for p in colours if abs(p[0] - 0xD5) < 12 and abs(p[1] - 0x5E) < 12 and p[2] < 20]
    assert vermillion, "the silently-lost mark (vermillion) is not on screen"


WALK = """
<script>
(function () {
  var log = [];
  for (var k = 0; k <= STEPS; k++) {
    if (k > 0) { document.getElementById("next").click(); }
    var lost = [];
    document.querySelectorAll("#diagram g.msg[data-lost]").forEach(function (g) {
      if (g.querySelector("path")) {
        lost.push({sent: +g.getAttribute("data-sent"), lost: +g.getAttribute("data-lost"),
                   inflight: g.classList.contains("inflight")});
      }
    });
    log.push({step: +document.getElementById("step-number").textContent,
              inflight: document.getElementById("inflight").textContent, drawn: lost});
  }
  var out = document.createElement("pre");
  out.id = "test-log";
  out.textContent = JSON.stringify(log);
  document.body.appendChild(out);
})();
</script>
"""


def _copies_from_the_trace(story: Story) -> list[tuple[int, int | None, str]]:
    """The oracle, from the trace events alone: per copy sent (in trace order), the step that
    sent it, the step whose ``Delivered`` or ``Dropped`` event ended it (None: never), and how."""
    copies: list[list] = []
    by_id: dict[int, list] = {}
    for step in story.steps:
        for e in step.events:
            if e.kind in ("Sent", "Duplicated") and step.replica is not None:
                copy = [step.index, None, "in flight"]
                copies.append(copy)
                by_id[e.get("id")] = copy
            elif e.kind in ("Delivered", "Dropped") and e.get("id") in by_id:
                copy = by_id[e.get("id")]
                copy[1], copy[2] = step.index, "delivered" if e.kind == "Delivered" else "dropped"
    return [tuple(c) for c in copies]


def _one_way_cut() -> scenarios.Result:
    from replicalab.sim.faults import Heal, OneWayCut

    scenario = attrs.evolve(scenarios.get("london"),
                            faults=(OneWayCut(100, "eu-west-1", "us-east-1"), Heal(400)))
    return scenario.run("causal", 0)


@pytest.mark.parametrize("case", ["one-way cut", "crash"])
def test_a_message_lost_on_arrival_is_in_flight_until_it_arrives_then_shown_lost(case, tmp_path):
    """Lesson: a copy sent towards a node that is cut off (or down) when it gets there travels
    like any other. Stepping through, a learner must see it in flight until its arrival time
    and lost there, on the receiver's line — not vanish at the moment it was sent."""
    result = _one_way_cut() if case == "one-way cut" else scenarios.run("crash", merge="item-lww", seed=0)
    story = build(result)
    copies = _copies_from_the_trace(story)
    assert len(copies) == len(story.messages)
    assert any(how == "dropped" and end != sent for sent, end, how in copies), "the case loses a copy on arrival"
    last = len(story.steps)
    page = tmp_path / "walk.html"
    page.write_text(to_html(result).replace("</body>", WALK.replace("STEPS", str(last)) + "</body>"),
                    encoding="utf-8")
    dom = chromium(tmp_path, page.as_uri(), "--dump-dom")
    log = json.loads(html.unescape(re.search(r'<pre id="test-log">(.*?)</pre>', dom, re.S).group(1)))
    assert [entry["step"] for entry in log] == list(range(last + 1))
    for entry in log:
        k = entry["step"]
        lines = entry["inflight"].splitlines() if entry["inflight"] != "none" else []
        flying = [story.messages[n] for n, (sent, end, how) in enumerate(copies)
                  if sent <= k and (end is None or end > k) and not (how == "dropped" and end == sent)]
        lost = [story.messages[n] for n, (sent, end, how) in enumerate(copies)
                if how == "dropped" and end == k and end != sent]
        expected = [f"✗ {m.label}: {m.src} → {m.dst} (sent t={m.sent_time}) lost on arrival at "
                    f"t={story.step(k).time}: {faults.drop_why(m)}" for m in lost]
        expected += [f"{m.label}: {m.src} → {m.dst} (sent t={m.sent_time}, arrives t={m.due})"
                     for m in flying][:12]
        if len(flying) > 12:
            expected.append(f"… and {len(flying) - 12} more")
        assert lines == expected, k
        # In the diagram, a lost copy is drawn in flight (dashed) until the step that lost it.
        assert all(d["inflight"] == (d["sent"] <= k < d["lost"]) for d in entry["drawn"]), k
    assert any(entry["drawn"] for entry in log)
