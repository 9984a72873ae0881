"""The built tutorials site in a real browser: chapter 4 shows its diagram and logs no errors.

Builds the site with ``mkdocs build --strict`` (the ``docs`` extra), serves it on
127.0.0.1 and loads chapter 4 in headless Chromium (Debian's ``chromium``, which
CI installs). Without mkdocs or chromium these tests skip and say why.
"""

from __future__ import annotations

import functools
import html
import http.server
import importlib.util
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: apt-get install chromium"),
    pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None,
                       reason="mkdocs not installed: pip install -e '.[docs]'"),
]


def load(url: str, profile: Path) -> tuple[str, list[str]]:
    """The DOM after load, and every console line the page logged."""
    profile.mkdir(exist_ok=True)
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--dump-dom", url],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


class Quiet(http.server.SimpleHTTPRequestHandler):
    """Serves the site; a POST to it is a report from a page under test."""

    reports: queue.Queue = queue.Queue()

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Quiet.reports.put(body.decode())
        self.send_response(204)
        self.end_headers()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(out)],
                   cwd=ROOT, check=True, capture_output=True, timeout=600,
                   env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    handler = functools.partial(Quiet, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", out
    server.shutdown()


def test_chapter_4_shows_the_diagram_and_logs_no_console_errors(site, tmp_path):
    url, out = site
    dom, console = load(f"{url}/04-lww-london/", tmp_path / "profile")
    assert 'src="../generated/london-item-lww.svg"' in dom
    assert (out / "generated" / "london-item-lww.svg").read_text().lstrip().startswith("<")
    assert console == [], console


def test_the_console_check_catches_a_page_that_errors(site, tmp_path):
    """Self-check: a page that throws shows up in the console lines."""
    url, out = site
    (out / "broken.html").write_text("<script>undefinedFunction()</script>")
    _, console = load(f"{url}/broken.html", tmp_path / "profile")
    assert any("undefinedFunction" in line for line in console)


# ---------------------------------------------------------------- every page, two screens

#: Material's desktop layout and a phone.
SCREENS = {"desktop": (1366, 900), "phone": (390, 844)}
#: The least text size (px) a picture may render at in the column.
MIN_TEXT_PX = 11.0
#: Overflow (px) below this is rounding, not a cut-off.
SLACK = 3

HARNESS = """<!doctype html><html><body>
<iframe id="f" style="width:WIDTHpx;height:HEIGHTpx;border:0"></iframe>
<script>
(async function () {
  var pages = PAGES, out = [], frame = document.getElementById("f");
  for (var i = 0; i < pages.length; i++) {
    await new Promise(function (done) { frame.onload = done; frame.src = pages[i]; });
    await new Promise(function (done) { setTimeout(done, 400); });
    var d = frame.contentDocument, w = frame.contentWindow;
    var article = d.querySelector("article.md-content__inner") || d.body;
    var col = article.getBoundingClientRect();
    var page = {page: pages[i], column: col.width, overflows: [], images: [], copied: [],
                resources: w.performance.getEntriesByType("resource").map(function (e) {
                  return e.name; })};
    d.querySelectorAll("pre > code, .md-typeset__scrollwrap, table").forEach(function (el) {
      var r = el.getBoundingClientRect();
      var over = Math.max(el.scrollWidth - el.clientWidth, r.right - d.documentElement.clientWidth);
      if (over > SLACK) page.overflows.push({what: el.tagName + "." + el.className, px: over,
                                             text: el.textContent.slice(0, 60)});
    });
    article.querySelectorAll("img").forEach(function (img) {
      var link = img.closest("a[href]");
      page.images.push({src: img.src, width: img.getBoundingClientRect().width,
                        link: link ? link.href : null});
    });
    d.querySelectorAll(".language-pycon code, .language-console code").forEach(function (code) {
      code.setAttribute("data-md-copying", "");
      page.copied.push(code.innerText.replace(/\\s+$/, ""));
      code.removeAttribute("data-md-copying");
    });
    out.push(page);
  }
  var pre = document.createElement("pre");
  pre.id = "measured";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script></body></html>
"""


def measure(url: str, out: Path, screen: str, profile: Path) -> tuple[list[dict], list[str]]:
    """Every page of the site in an iframe of the screen's size: what overflows, the pictures'
    rendered widths, what the copy button would copy, what was requested; and the console."""
    pages = sorted(str(p.parent.relative_to(out)) for p in out.rglob("index.html")
                   if p.parent.name not in ("search", "assets"))
    width, height = SCREENS[screen]
    page = (HARNESS.replace("PAGES", json.dumps([f"{url}/{p}/".replace("/./", "/")
                                                  for p in pages]))
            .replace("WIDTH", str(width)).replace("HEIGHT", str(height))
            .replace("SLACK", str(SLACK)))
    (out / f"measure-{screen}.html").write_text(page)
    profile.mkdir(exist_ok=True)
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         # Nothing may leave 127.0.0.1: any other host fails to resolve (and would log).
         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
         f"--window-size={width + 20},{height}", f"--user-data-dir={profile}",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=120000", "--dump-dom",
         f"{url}/measure-{screen}.html"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="measured">(.*?)</pre>', done.stdout, re.S)
    assert found, "the harness did not finish: " + done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return json.loads(html.unescape(found.group(1))), console


def smallest_text(svg: str) -> float:
    """The smallest font size in an SVG, in its own units."""
    sizes = [float(x) for x in re.findall(r'font-size="([\d.]+)"', svg)]
    sizes += [float(x) for x in re.findall(r"font-size:\s*([\d.]+)px", svg)]
    return min(sizes)


def view_box_width(svg: str) -> float:
    return float(re.search(r'viewBox="[\d.-]+ [\d.-]+ ([\d.]+) [\d.]+"', svg).group(1))


@pytest.fixture(scope="module")
def measured(site, tmp_path_factory):
    url, out = site
    return {screen: measure(url, out, screen, tmp_path_factory.mktemp(f"profile-{screen}"))
            for screen in SCREENS}


def test_every_page_was_measured_on_both_screens(measured, site):
    _, out = site
    for screen, (pages, _) in measured.items():
        assert len(pages) == len(list((ROOT / "tutorials").rglob("*.md"))), (screen, len(pages))
        assert all(p["column"] > 300 for p in pages), screen


@pytest.mark.parametrize("screen", SCREENS)
def test_no_code_block_or_table_overflows_its_column(measured, screen):
    pages, _ = measured[screen]
    cut = {p["page"]: p["overflows"] for p in pages if p["overflows"]}
    assert cut == {}, cut


@pytest.mark.parametrize("screen", SCREENS)
def test_the_console_is_clean_and_nothing_leaves_127_0_0_1(measured, site, screen):
    url, _ = site
    pages, console = measured[screen]
    assert console == [], console
    outside = sorted({r for p in pages for r in p["resources"] if not r.startswith(url)})
    assert outside == [], outside


@pytest.mark.parametrize("screen", SCREENS)
def test_every_picture_reads_at_11px_in_the_column_and_links_to_its_full_size(measured, site,
                                                                              screen):
    url, out = site
    pages, _ = measured[screen]
    images = [(p["page"], img) for p in pages for img in p["images"]]
    assert len({img["src"] for _, img in images if "/generated/" in img["src"]}) >= 12
    for page, img in images:
        assert img["link"], f"{page}: {img['src']} links to no full-size view"
        if not img["src"].endswith(".svg"):
            continue
        svg = (out / img["src"].removeprefix(url + "/")).read_text()
        px = smallest_text(svg) * img["width"] / view_box_width(svg)
        assert px >= MIN_TEXT_PX, f"{page}: {img['src']} text renders at {px:.1f} px"
        assert img["link"].endswith("-full.svg") and (out / img["link"].removeprefix(url + "/")).exists()


def test_every_chapter_has_a_picture(measured):
    pages, _ = measured["desktop"]
    chapters = [p for p in pages if re.search(r"/\d\d-[\w-]+/$", p["page"])]
    assert len(chapters) >= 12
    assert [p["page"] for p in chapters if not p["images"]] == []


def test_copying_a_session_copies_only_its_code(measured):
    pages, _ = measured["desktop"]
    quickstart = next(p for p in pages if p["page"].endswith("/01-quickstart/"))
    assert quickstart["copied"][1] == 'result.ledger.verdicts()\nprint(result.ledger["w1"].why)'
    for page in pages:
        for text in page["copied"]:
            assert ">>>" not in text and not text.startswith("$"), (page["page"], text)


def test_the_measure_sees_an_overflow(site, tmp_path):
    """Self-check: a page with a wide unwrapped block is reported."""
    url, out = site
    wide = out / "wide"
    wide.mkdir()
    (wide / "index.html").write_text(
        '<article class="md-content__inner" style="width:300px">'
        '<pre><code style="display:block;overflow:auto;white-space:pre">' + "x" * 400
        + "</code></pre></article>")
    try:
        pages, _ = measure(url, out, "phone", tmp_path / "profile")
    finally:
        (wide / "index.html").unlink()
        wide.rmdir()
    assert [p["overflows"] for p in pages if p["page"].endswith("/wide/")][0]


def test_the_reference_reads_as_written_one_page_per_area(site):
    """Sphinx roles became links, doctest examples highlighted pycon blocks, not quotes."""
    _, out = site
    pages = sorted((out / "reference").glob("*/index.html"))
    assert len(pages) >= 8
    links = 0
    for page in pages:
        text = page.read_text()
        assert not re.search(r":(class|func|meth|attr|mod|data|exc):`", text), page
        assert "<blockquote>" not in text, page
        assert "&gt;&gt;&gt;" not in re.sub(r'<div class="language-pycon highlight">.*?</div>', "",
                                            text, flags=re.S), f"{page}: a >>> outside pycon"
        links += text.count('class="autorefs autorefs-internal"')
    assert links > 50


PHONE_PRESS = """<script>
(function () {
  for (var i = 0; i < 4; i++) { document.getElementById("next").click(); }
  var view = document.documentElement.clientWidth;
  function box(id) { var r = document.getElementById(id).getBoundingClientRect();
                     return {left: r.left, right: r.right, width: r.width}; }
  var out = document.createElement("pre");
  out.id = "phone-log";
  out.textContent = JSON.stringify({view: view, page: document.documentElement.scrollWidth,
    step: +document.getElementById("step-number").textContent,
    note: document.getElementById("note").textContent,
    diagram: box("diagram"), panel: box("panel"), next: box("next"), last: box("last")});
  (window.parent === window ? document : window.parent.document).body.appendChild(out);
})();
</script>"""


def test_the_step_through_page_is_embedded_and_works_on_a_phone(site, tmp_path):
    """Chapter 4 folds the run's step-through page under its picture; at 390 px the diagram
    keeps a usable width, the panel and buttons fit the screen, and stepping works."""
    url, out = site
    chapter = (out / "04-lww-london" / "index.html").read_text()
    assert '<details class="stepper">' in chapter
    assert 'src="../generated/london-item-lww-steps.html"' in chapter
    page = (out / "generated" / "london-item-lww-steps.html").read_text()
    (out / "phone-steps.html").write_text(page.replace("</body>", PHONE_PRESS + "</body>"))
    # Headless Chromium will not make a window narrower than 500 px: a 390 px frame is the phone.
    (out / "phone.html").write_text('<iframe src="phone-steps.html" style="width:390px;'
                                    'height:844px;border:0"></iframe>')
    profile = tmp_path / "profile"
    profile.mkdir()
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1", "--window-size=600,900",
         f"--user-data-dir={profile}", "--dump-dom", f"{url}/phone.html"],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    log = json.loads(html.unescape(re.search(r'<pre id="phone-log">(.*?)</pre>', done.stdout,
                                             re.S).group(1)))
    assert log["view"] == 390
    assert log["step"] == 4 and "w1 silently lost here" in log["note"]
    assert log["diagram"]["width"] >= 0.9 * log["view"], "the diagram shrank to a sliver"
    for part in ("panel", "next", "last"):
        assert 0 <= log[part]["left"] and log[part]["right"] <= log["view"] + SLACK, part
    assert log["page"] <= log["view"] + SLACK, "the page scrolls sideways"


RUN_LONDON = """<!doctype html><iframe id="f" src="04-lww-london/" style="width:1366px;height:900px">
</iframe><script>
var f = document.getElementById("f");
f.onload = async function () {
  var d = f.contentDocument, w = f.contentWindow;
  var block = Array.prototype.find.call(d.querySelectorAll("div.language-pycon.highlight"),
    function (b) { return b.textContent.indexOf('scenarios.run("london", merge="item-lww")') >= 0; });
  var expected = block.querySelector("code").textContent.split("\\n").filter(function (l) {
    return l && !/^(>>>|\\.\\.\\.)( |$)/.test(l); }).join("\\n");
  block.nextElementSibling.querySelector("button").click();
  var start = Date.now(), panel = null, state = null;
  while (Date.now() - start < 200000) {
    await new Promise(function (done) { setTimeout(done, 250); });
    panel = d.querySelector(".playground");
    state = panel && panel.getAttribute("data-state");
    if (state === "done" || state === "error") { break; }
  }
  await fetch("/report", {method: "POST", body: JSON.stringify({
    state: state, expected: expected, seconds: (Date.now() - start) / 1000,
    output: panel ? panel.querySelector(".playground-output").textContent : null,
    resources: w.performance.getEntriesByType("resource").map(function (e) { return e.name; })
  })});
};
</script>"""


def test_run_on_the_london_block_prints_the_ledger_the_page_shows(site, tmp_path):
    """Chapter 4 in the browser: Run on the London block executes it with Pyodide served by the
    site (no other host), and prints exactly the output the page shows."""
    url, out = site
    if not (out / "playground" / "wheels" / "wheels.json").exists():
        pytest.skip("Pyodide is not vendored: npm ci --prefix .ci/pyodide (CI's .ci/run does)")
    (out / "run-london.html").write_text(RUN_LONDON)
    profile = tmp_path / "profile"
    profile.mkdir()
    while not Quiet.reports.empty():
        Quiet.reports.get_nowait()
    browser = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1", "--window-size=1400,900",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
         f"{url}/run-london.html"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        report = json.loads(Quiet.reports.get(timeout=240))
    finally:
        browser.terminate()
        _, stderr = browser.communicate(timeout=30)
    assert report["state"] == "done", report["output"]
    assert report["output"].strip() == report["expected"].strip()
    assert "{'w1': 'silently-lost', 'w2': 'kept'}" in report["output"]
    assert all(r.startswith(url) for r in report["resources"]), report["resources"]
    assert any(r.endswith("/playground/pyodide/pyodide.asm.wasm") for r in report["resources"])
    errors = [line for line in stderr.splitlines() if ":CONSOLE" in line and "error" in line.lower()]
    assert errors == [], errors


def test_without_javascript_the_page_still_reads(site):
    """Without JavaScript a reader gets the HTML as served: chapter 4's code, its output as
    tables and its pictures are all in it; the Run buttons are the script's additions only."""
    url, out = site
    served = (out / "04-lww-london" / "index.html").read_text()
    assert "playground-bar" not in served and "<button" not in served.split("<article", 1)[1]
    assert 'class="language-pycon highlight"' in served and "silently-lost" in served
    assert 'src="../generated/london-item-lww.svg"' in served
    assert '<table class="output">' in (out / "05-skew" / "index.html").read_text()


RUN_EVERYTHING = """<!doctype html><iframe id="f" style="width:1366px;height:900px"></iframe><script>
(async function () {
  var pages = PAGES, f = document.getElementById("f"), results = [];
  function sleep(ms) { return new Promise(function (done) { setTimeout(done, ms); }); }
  for (var p = 0; p < pages.length; p++) {
    await new Promise(function (done) { f.onload = done; f.src = pages[p]; });
    var d = f.contentDocument;
    var bars = Array.prototype.slice.call(d.querySelectorAll(".playground-bar"));
    for (var i = 0; i < bars.length; i++) {
      var block = bars[i].previousElementSibling;
      var shown = block.querySelector("code").textContent.split("\\n").filter(function (l) {
        return l && !/^(>>>|\\.\\.\\.)( |$)/.test(l); }).join("\\n");
      var after = bars[i].nextElementSibling;
      var table = after && after.classList.contains("output-table") ?
        Array.prototype.map.call(after.querySelectorAll("th, td"), function (c) {
          return c.textContent; }) : null;
      bars[i].querySelector("button").click();
      var panel = null, state = null, start = Date.now();
      while (Date.now() - start < 120000) {
        await sleep(100);
        panel = bars[i].nextElementSibling;
        state = panel && panel.classList.contains("playground") && panel.getAttribute("data-state");
        if (state === "done" || state === "error") { break; }
      }
      results.push({page: pages[p], block: i, session: block.classList.contains("language-pycon"),
                    state: state, shown: shown, table: table,
                    output: panel ? panel.querySelector(".playground-output").textContent : ""});
      if (state === "error") { break; }
    }
  }
  await fetch("/report", {method: "POST", body: JSON.stringify(results)});
})();
</script>"""

#: Pages whose code needs what a browser cannot give: Hypothesis (a compiled module now) for
#: chapter 8, and a subprocess per graded check on the exercises page.
NOT_IN_A_BROWSER = {"08-own-crdt": "No module named 'hypothesis'",
                    # the seeds half runs; the sockets half starts OS processes and says it cannot
                    "16-sweeps-and-sockets": "which a browser cannot do",
                    "exercises": ""}


def test_every_block_on_every_page_runs_in_the_browser_and_prints_what_the_page_shows(site,
                                                                                       tmp_path):
    """The whole site in Pyodide: every Run button, in page order; each session's output is
    the output the page shows (the doctests, run again in the reader's browser)."""
    url, out = site
    if not (out / "playground" / "wheels" / "wheels.json").exists():
        pytest.skip("Pyodide is not vendored: npm ci --prefix .ci/pyodide (CI's .ci/run does)")
    pages = sorted(p.parent.name for p in out.glob("*/index.html")
                   if p.parent.name not in ("search", "assets", "reference"))
    pages = [f"{url}/{p}/" for p in pages] + [f"{url}/"]
    (out / "run-everything.html").write_text(RUN_EVERYTHING.replace("PAGES", json.dumps(pages)))
    profile = tmp_path / "profile"
    profile.mkdir()
    while not Quiet.reports.empty():
        Quiet.reports.get_nowait()
    browser = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1", "--window-size=1400,900",
         f"--user-data-dir={profile}", f"{url}/run-everything.html"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        results = json.loads(Quiet.reports.get(timeout=600))
    finally:
        browser.terminate()
        browser.wait(timeout=30)
    blocks = {page: len(re.findall(r'class="language-(?:python|pycon) highlight"',
                                   (out / page.removeprefix(url).strip("/") / "index.html")
                                   .read_text())) for page in pages}
    ran: dict[str, int] = {}
    for r in results:
        ran[r["page"]] = ran.get(r["page"], 0) + 1
    for page, count in blocks.items():
        if page.removeprefix(url).strip("/") not in NOT_IN_A_BROWSER:
            assert ran.get(page, 0) == count, (page, ran.get(page), count)
    assert sum(ran.values()) > 80
    for r in results:
        page = r["page"].removeprefix(url).strip("/")
        if page in NOT_IN_A_BROWSER and r["state"] == "error":
            assert NOT_IN_A_BROWSER[page] in r["output"], r
            continue
        assert r["state"] == "done", (page, r["block"], r["output"][-800:])
        if not r["session"]:
            continue
        if r["table"] is None:
            assert r["output"].rstrip() == (r["shown"].rstrip() or "(no output)"), (page, r["block"])
        else:  # the page shows the printed table as a table: every line and cell is in the output
            for piece in [*r["shown"].splitlines(), *r["table"]]:
                assert piece.strip() in r["output"], (page, r["block"], piece)


def test_every_chapter_has_predict_and_try_this_callouts_and_a_notebook(site):
    _, out = site
    chapters = sorted(p for p in out.glob("[0-9][0-9]-*/index.html"))
    assert len(chapters) == len(list((ROOT / "tutorials").glob("[0-9][0-9]-*.md")))
    for page in chapters:
        text = page.read_text()
        source = (ROOT / "tutorials" / f"{page.parent.name}.md").read_text()
        assert text.count('class="admonition question"') == source.count("**Predict**"), page
        assert 'class="admonition tip"' in text, page
        notebook = out / "notebooks" / f"{page.parent.name}.ipynb"
        assert f'href="../notebooks/{notebook.name}"' in text and json.loads(notebook.read_text())


def test_the_exercises_table_follows_the_chapters_and_links_them(site):
    _, out = site
    text = (out / "exercises" / "index.html").read_text()
    chapters = [int(n) for n in re.findall(r'<a href="\.\./(\d\d)-[\w-]+/">chapter \d+</a>', text)]
    assert len(chapters) >= 14 and chapters == sorted(chapters)
