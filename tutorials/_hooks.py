"""mkdocs hook: draw the pictures the tutorials show from real runs, at build time.

Each picture is replicalab's own SVG output for a seeded run, so the pages
always show what the library does today. Files are written only when their
bytes change, so `mkdocs serve` does not rebuild in a loop.

The exercises page gets its table from the exercise registry, so it lists
exactly the exercises `replicalab exercise list` does.
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


#: Where exercises.md wants the generated table.
EXERCISE_TABLE = "<!-- exercise-table -->"


def exercise_table() -> str:
    """A Markdown table of every built-in exercise, from the registry."""
    from replicalab import exercises

    rows = ["| id | exercise | concepts | time | points | checks |",
            "|---|---|---|---|---|---|"]
    for spec in exercises.catalog([]).values():
        if not spec.builtin:
            continue
        kinds = ", ".join(sorted({c.kind for c in spec.checks}))
        rows.append(f"| `{spec.id}` | {spec.title} | {', '.join(spec.concepts)} | "
                    f"{spec.minutes} min | {spec.points} | {kinds} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, page, **_kwargs) -> str:
    if EXERCISE_TABLE in markdown:
        return markdown.replace(EXERCISE_TABLE, exercise_table())
    return markdown
