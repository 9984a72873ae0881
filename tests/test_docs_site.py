"""The built tutorials site in a real browser: chapter 4 shows its diagram and logs no errors.

Builds the site with ``mkdocs build --strict`` (the ``docs`` extra), serves it on
127.0.0.1 and loads chapter 4 in headless Chromium (Debian's ``chromium``, which
CI installs). Without mkdocs or chromium these tests skip and say why.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
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


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(out)],
                   cwd=ROOT, check=True, capture_output=True, timeout=600,
                   env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
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
