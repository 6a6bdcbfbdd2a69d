"""The report at the size of a real story (~30 outlets) in Debian's Chromium: nothing scrolls
sideways at 1280 px (neither the page nor any box in it), the page itself does not at 390 px (a
phone), and every origin of a source row is visible or one click away.

Run on the seeds always, and on a development story (../shared/stories/<first>/) when that folder
is there (it is beside this checkout in development; a clean clone elsewhere skips it).
Screenshots of the story's report at both widths go to reports/screenshots/ (not committed).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT
from test_browser import CHROMIUM, browser  # noqa: F401 (browser: the module-scoped Chromium fixture)
from verify import pipeline

STORIES = ROOT.parent / "shared" / "stories"
SCREENSHOTS = ROOT / "reports" / "screenshots"
WIDE, PHONE = (1280, 900), (390, 844)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (CI installs it in .ci/run)")

# Elements that would scroll sideways: content wider than the box and overflow-x that scrolls.
SIDEWAYS_BOXES_JS = """() => Array.from(document.querySelectorAll('body *')).filter(el => {
    const o = getComputedStyle(el).overflowX;
    return (o === 'auto' || o === 'scroll') && el.scrollWidth > el.clientWidth + 1;
}).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className ? '.' + el.className : ''))"""
PAGE_OVERFLOW_JS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def story_folder() -> Path | None:
    folders = sorted(p for p in STORIES.glob("*") if (p / "articles.jsonl").is_file()) if STORIES.is_dir() else []
    return folders[0] if folders else None


@pytest.fixture(scope="module")
def story_report(tmp_path_factory):
    folder = story_folder()
    if folder is None:
        pytest.skip(f"no development story under {STORIES}")
    out = tmp_path_factory.mktemp("story")
    result = pipeline.build([folder / "articles.jsonl"], out / "story.db", out / "report")
    assert result.n_articles >= 20  # a story of the size this layout is for
    return {"name": folder.name, "report": result.report_path}


def open_page(browser, path: Path, size: tuple[int, int]):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(Path(path).resolve().as_uri())
    return context, page


def expand_everything(page) -> None:
    """Open every <details> so hidden content is laid out too (it must not overflow either)."""
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")


@pytest.mark.parametrize("which", ["seeds", "story"])
def test_nothing_scrolls_sideways_at_1280(browser, seed_build, request, which):
    report = seed_build["report"] if which == "seeds" else request.getfixturevalue("story_report")["report"]
    context, page = open_page(browser, report, WIDE)
    try:
        assert page.evaluate(PAGE_OVERFLOW_JS) <= 0
        assert page.evaluate(SIDEWAYS_BOXES_JS) == []
        expand_everything(page)
        assert page.evaluate(PAGE_OVERFLOW_JS) <= 0
        assert page.evaluate(SIDEWAYS_BOXES_JS) == []
    finally:
        context.close()


@pytest.mark.parametrize("which", ["seeds", "story"])
def test_the_page_does_not_scroll_sideways_on_a_phone(browser, seed_build, request, which):
    report = seed_build["report"] if which == "seeds" else request.getfixturevalue("story_report")["report"]
    context, page = open_page(browser, report, PHONE)
    try:
        expand_everything(page)
        assert page.evaluate(PAGE_OVERFLOW_JS) <= 0
        # Conflict sides stack: the second side starts below the first, not beside it.
        sides = page.locator("#conflicts article.conflict").first.locator(".side")
        if sides.count() == 2:
            a, b = sides.nth(0).bounding_box(), sides.nth(1).bounding_box()
            assert b["y"] >= a["y"] + a["height"] - 1
    finally:
        context.close()


def test_first_screen_shows_counts_and_rows_with_origins(browser, story_report):
    context, page = open_page(browser, story_report["report"], WIDE)
    try:
        height = WIDE[1]
        counts = page.locator("#counts").bounding_box()
        assert counts["y"] + counts["height"] <= height
        first_row = page.locator("#source-rows li.source-row").first
        box = first_row.bounding_box()
        assert box["y"] < height  # the first row starts on the first screen
        assert first_row.locator(".chip").first.bounding_box()["y"] < height
        # A readable claim: the claim text gets most of the row's width, not a strip.
        claim = first_row.locator(".row-claim").bounding_box()
        assert claim["width"] >= 0.7 * box["width"]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"story-{story_report['name']}-1280.png"))
    finally:
        context.close()
    context, page = open_page(browser, story_report["report"], PHONE)
    try:
        page.screenshot(path=str(SCREENSHOTS / f"story-{story_report['name']}-390.png"))
    finally:
        context.close()


def test_every_origin_of_a_row_is_visible_or_one_click_away(browser, story_report):
    context, page = open_page(browser, story_report["report"], WIDE)
    try:
        rows = page.locator("#source-rows li.source-row")
        assert rows.count() > 0
        folded = 0
        for i in range(rows.count()):
            row = rows.nth(i)
            want = set(row.get_attribute("data-origins").split("|"))
            assert int(row.get_attribute("data-n-origins")) == len(want)
            chips = row.locator(".chip-origin")
            assert set(chips.all_text_contents()) == want
            more = row.locator("details.more-chips")
            if more.count():
                folded += 1
                row.scroll_into_view_if_needed()
                hidden = more.locator(".chip-origin")
                assert not hidden.first.is_visible()
                more.locator("summary").click()  # the one click
                for j in range(hidden.count()):
                    assert hidden.nth(j).is_visible()
            for j in range(row.locator(":scope > .row-body > ul.chips .chip-origin").count()):
                assert row.locator(":scope > .row-body > ul.chips .chip-origin").nth(j).is_visible()
        # Wires first: on every row, no non-wire chip comes before a wire chip.
        order = page.evaluate("""() => Array.from(document.querySelectorAll('#source-rows li.source-row')).map(
            r => Array.from(r.querySelectorAll('.chip')).map(c => c.classList.contains('wire')))""")
        for flags in order:
            assert flags == sorted(flags, reverse=True)
    finally:
        context.close()


def test_rows_sort_by_first_appearance_and_single_origin_rows_are_findable(browser, story_report):
    context, page = open_page(browser, story_report["report"], WIDE)
    try:
        counts = page.eval_on_selector_all("#source-rows li.source-row", "els => els.map(e => +e.dataset.nOrigins)")
        assert counts == sorted(counts, reverse=True)  # first order: most independent origins first
        page.select_option("#row-sort", "first")
        dates = page.eval_on_selector_all("#source-rows li.source-row", "els => els.map(e => e.dataset.first)")
        dated = [d for d in dates if d]
        assert dated == sorted(dated) and dates[: len(dated)] == dated  # dated rows first, in order
        page.check("#row-single")
        shown = page.eval_on_selector_all("#source-rows li.source-row",
                                          "els => els.filter(e => e.checkVisibility()).map(e => e.dataset.nOrigins)")
        assert set(shown) <= {"1"}
        assert len(shown) == counts.count(1)
    finally:
        context.close()
