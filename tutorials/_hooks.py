"""mkdocs hook: draw the pictures the tutorials show from real runs, at build time.

Each picture is replicalab's own SVG output for a seeded run, so the pages
always show what the library does today. Files are written only when their
bytes change, so `mkdocs serve` does not rebuild in a loop.
"""

from __future__ import annotations

from pathlib import Path

PICTURES = {
    "london-item-lww.svg": dict(merge="item-lww"),
    "london-attribute-lww.svg": dict(merge="attribute-lww"),
    "london-causal.svg": dict(merge="causal"),
    "london-mrsc.svg": dict(mode="mrsc"),
    "skew.svg": dict(name="skew"),
    "skew-hlc.svg": dict(name="skew", stamps="hlc"),
}


def on_pre_build(config, **_kwargs) -> None:
    from replicalab import scenarios

    out = Path(config["docs_dir"]) / "generated"
    out.mkdir(exist_ok=True)
    for filename, options in PICTURES.items():
        options = dict(options)
        name = options.pop("name", "london")
        svg = scenarios.run(name, seed=0, **options).to_svg()
        path = out / filename
        if not path.exists() or path.read_text() != svg:
            path.write_text(svg)
