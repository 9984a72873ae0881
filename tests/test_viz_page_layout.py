"""Pictures laid out for a page column: readable at their own size, busy runs summarised."""

import re

import pytest

from replicalab import scenarios
from replicalab.merkle import MerkleTree
from replicalab.viz import merkle_diff_svg, to_html, to_svg
from replicalab.viz.story import build
from replicalab.viz.svg import PAGE_MIN_TEXT, diagram


def sizes(svg: str) -> list[float]:
    return [float(x) for x in re.findall(r'font-size="([\d.]+)"', svg)]


def width(svg: str) -> float:
    return float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))


@pytest.mark.parametrize("options", [dict(merge="item-lww"), dict(merge="causal"),
                                     dict(mode="mrsc")], ids=str)
def test_a_page_layout_fits_the_column_with_no_text_under_11px(options):
    result = scenarios.run("london", seed=0, **options)
    full, page = to_svg(result), to_svg(result, width=680)
    assert width(full) > 1000 and min(sizes(full)) < PAGE_MIN_TEXT  # what the issue measured
    assert width(page) == 680 and min(sizes(page)) >= PAGE_MIN_TEXT
    # The same run: every step and every message is still drawn.
    assert page.count('class="step"') == full.count('class="step"')
    assert page.count('class="msg"') == full.count('class="msg"')


def test_long_lane_labels_wrap_instead_of_running_into_the_next_lane():
    page = diagram(scenarios.run("london", seed=0), width=680)
    assert any(">drops<" in line for line in page.body)
    assert any(">w1.delivery_address<" in line for line in page.body)


def test_a_busy_run_is_summarised_on_the_page_and_keeps_every_write_and_fault():
    result = scenarios.run("partition", seed=0, merge="causal")
    story = build(result)
    full, page = diagram(result), diagram(result, width=680)
    assert page.height < full.height / 2
    svg = page.to_svg()
    folded = re.findall(r"⋯ (\d+) routine steps? folded", svg)
    shown = {int(n) for n in re.findall(r'class="step" data-step="(\d+)"', svg)}
    faults = [step for step in story.steps if step.replica is None]  # drawn as a line across
    assert sum(map(int, folded)) + len(shown) + len(faults) == len(story.steps)
    for step in story.steps:
        if step.kind in ("write", "merge") or "repaired" in step.note:
            assert step.index in shown, step.note
    assert "network: Partitioned" in svg and "network: Healed" in svg
    assert min(sizes(svg)) >= PAGE_MIN_TEXT
    # Folding is a choice: off, the page layout draws every step.
    unfolded = diagram(result, width=680, fold=False).to_svg()
    assert "routine steps folded" not in unfolded


def test_the_step_through_page_can_carry_the_page_layout():
    result = scenarios.run("london", seed=0)
    assert 'viewBox="0 0 680 ' in to_html(result, width=680)
    assert 'viewBox="0 0 680 ' not in to_html(result)


def test_a_merkle_picture_fits_the_column_with_no_text_under_11px():
    mine = {f"k{i}": f"v{i}".encode() for i in range(100)}
    theirs = {**mine, "k7": b"changed", "k200": b"new"}
    del theirs["k50"]
    a, b = MerkleTree.build(mine, fanout=4, depth=3), MerkleTree.build(theirs, fanout=4, depth=3)
    page, full = merkle_diff_svg(a, b, width=680), merkle_diff_svg(a, b)
    assert width(page) == 680 and min(sizes(page)) >= 11
    assert width(full) > 680
    assert re.findall(r"bucket \d+: \S+", page) == re.findall(r"bucket \d+: \S+", full)
