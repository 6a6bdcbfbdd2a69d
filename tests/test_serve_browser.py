"""`verify serve` in a real browser: Debian's Chromium driven by Playwright, offline.

The server runs in a thread on a free port of 127.0.0.1 (tests/serve_helpers.py), each test on
its own copy of the seed database. What is checked is what lands in the database: clicks,
notes and keys become review rows; they survive a rebuild, including one that was running while
the review was made; two tabs reviewing at once both land; a hostile article runs nothing.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from conftest import ROOT, SEEDS, open_store
from serve_helpers import Server, copy_db
from test_browser import CHROMIUM, HOSTILE_TXT, NORMAL_TXT, Log, assert_quiet, browser, open_article  # noqa: F401 (browser: a fixture)
from verify import pipeline, store

SCREENSHOT = ROOT / "reports" / "screenshots" / "serve.png"
TIMEOUT_MS = 10_000

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: install Debian's chromium")


@pytest.fixture
def db_copy(seed_build, tmp_path):
    return copy_db(seed_build["db"], tmp_path / "db" / "verify.db")


@pytest.fixture
def open_page(browser: Browser):
    contexts = []

    def open_(url: str) -> tuple[Page, Log]:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        log = Log(page)
        page.goto(url)
        return page, log

    yield open_
    for context in contexts:
        context.close()


def rows(path) -> dict:
    """{conflict id: (review, note)} as the database has them now."""
    db = open_store(path)
    try:
        return {c["id"]: (c["review"], c["note"]) for c in store.conflicts(db)}
    finally:
        db.conn.close()


def card(page: Page, conflict_id: str):
    return page.locator(f"#conflict-{conflict_id}")


def saved(page: Page, conflict_id: str, text: str) -> None:
    expect(card(page, conflict_id).locator("output.saved")).to_have_text(re.compile(re.escape(text)))


def card_ids(page: Page) -> list[str]:
    return [i.removeprefix("conflict-") for i in
            page.evaluate("() => Array.from(document.querySelectorAll('#conflicts article.conflict')).map(c => c.id)")]


def count(page: Page, key: str) -> int:
    return int(page.locator(f'#counts li[data-count="{key}"] b').inner_text())


# ---------------------------------------------------------------------------
# Clicks and notes, kept across a rebuild
# ---------------------------------------------------------------------------


def test_clicks_and_notes_land_and_survive_a_rebuild(open_page, db_copy):
    before = rows(db_copy)
    with Server(db_copy) as server:
        page, log = open_page(server.url)
        ids = card_ids(page)
        assert len(ids) >= 3 and set(ids) == set(before)
        pending = count(page, "to-review")
        assert pending == sum(1 for r, _ in before.values() if r == "pending")

        first, second, third = ids[:3]
        card(page, first).get_by_role("button", name=re.compile("^Confirm")).click()
        saved(page, first, "saved: confirmed")
        note = card(page, second).locator("input.note")
        note.fill("same statement, quoted twice")
        note.press("Enter")
        saved(page, second, "saved: pending, with note")
        card(page, third).locator("input.note").fill("not a denial of this claim")
        card(page, third).get_by_role("button", name=re.compile("^Dismiss")).click()
        saved(page, third, "saved: dismissed, with note")

        # The page follows without a reload: the card, the queue, the counts, the error rate.
        expect(card(page, first)).to_have_attribute("data-review", "confirmed")
        expect(card(page, first).locator(".review")).to_have_text("confirmed")
        expect(card(page, first).get_by_role("button", name=re.compile("^Confirm"))).to_have_attribute("aria-pressed", "true")
        expect(page.locator(f'#queue-list li[data-conflict="{first}"]')).to_be_hidden()
        expect(page.locator(f'#queue-list li[data-conflict="{second}"]')).to_be_attached()
        assert page.locator(f'#queue-list li[data-conflict="{second}"]').get_attribute("hidden") is None
        expect(page.locator('#counts li[data-count="to-review"] b')).to_have_text(str(pending - 2))
        expect(page.locator("#queue-count")).to_have_text(str(pending - 2))
        expect(page.locator('tr[data-stats-row="kind:denial"] [data-field="confirmed"]')).to_have_text("1")
        expect(page.locator('tr[data-stats-row="kind:denial"] [data-field="dismissed"]')).to_have_text("1")
        assert_quiet(log)

    after = rows(db_copy)
    assert after[first] == ("confirmed", None)
    assert after[second] == ("pending", "same statement, quoted twice")
    assert after[third] == ("dismissed", "not a denial of this claim")

    pipeline.build([SEEDS], db_copy, None)  # the same inputs again: reviews hold by content
    assert {i: rows(db_copy)[i] for i in (first, second, third)} == {i: after[i] for i in (first, second, third)}
    with Server(db_copy) as server:  # and the page shows them after the rebuild
        page, log = open_page(server.url)
        expect(card(page, first)).to_have_attribute("data-review", "confirmed")
        expect(card(page, third).locator("input.note")).to_have_value("not a denial of this claim")


# ---------------------------------------------------------------------------
# The keyboard alone
# ---------------------------------------------------------------------------


def test_keyboard_review_of_three_cards_and_undo(open_page, db_copy):
    with Server(db_copy) as server:
        page, log = open_page(server.url)
        ids = card_ids(page)
        keys = page.keyboard
        keys.press("j")
        expect(card(page, ids[0])).to_have_class(re.compile(r"\bcurrent\b"))
        expect(card(page, ids[0])).to_be_focused()
        keys.press("j")
        keys.press("k")  # back up: still the first
        expect(card(page, ids[0])).to_be_focused()

        keys.press("c")  # confirm, and the queue moves on to the next pending card
        saved(page, ids[0], "saved: confirmed")
        expect(card(page, ids[1])).to_be_focused()
        keys.press("d")
        saved(page, ids[1], "saved: dismissed")
        expect(card(page, ids[2])).to_be_focused()
        keys.press("n")
        expect(card(page, ids[2]).locator("input.note")).to_be_focused()
        keys.type("checked with the desk")
        keys.press("Enter")  # saves the note and hands the keys back to the card
        saved(page, ids[2], "saved: pending, with note")
        expect(card(page, ids[2])).to_be_focused()
        keys.press("c")
        saved(page, ids[2], "saved: confirmed, with note")
        assert rows(db_copy)[ids[2]] == ("confirmed", "checked with the desk")

        keys.press("u")  # undo the last review: back to pending, the note kept
        saved(page, ids[2], "undone: back to pending")
        expect(card(page, ids[2])).to_have_attribute("data-review", "pending")
        assert rows(db_copy)[ids[2]] == ("pending", "checked with the desk")
        keys.press("u")  # and the one before: the note goes too
        saved(page, ids[2], "undone: back to pending")
        expect(card(page, ids[2]).locator("input.note")).to_have_value("")
        assert_quiet(log)

    after = rows(db_copy)
    assert after[ids[0]] == ("confirmed", None)
    assert after[ids[1]] == ("dismissed", None)
    assert after[ids[2]] == ("pending", None)


def test_review_filter_shows_the_queue(open_page, db_copy):
    with Server(db_copy) as server:
        page, log = open_page(server.url)
        ids = card_ids(page)
        card(page, ids[0]).get_by_role("button", name=re.compile("^Dismiss")).click()
        saved(page, ids[0], "saved: dismissed")
        page.locator("#f-review").select_option("pending")
        expect(page.locator("#shown")).to_have_text(f"{len(ids) - 1} shown")
        expect(card(page, ids[0])).to_be_hidden()
        expect(card(page, ids[1])).to_be_visible()
        expect(card(page, ids[1])).to_have_class(re.compile(r"\bcurrent\b"))  # the next one pending
        page.locator("#f-review").evaluate("select => select.blur()")  # keys go to the page again
        page.keyboard.press("k")  # j and k walk the cards the filters leave: the hidden one is skipped
        expect(card(page, ids[1])).to_be_focused()
        page.keyboard.press("j")
        expect(card(page, ids[2])).to_be_focused()
        assert_quiet(log)


def test_two_tabs_reviewing_at_once_both_land(open_page, db_copy):
    with Server(db_copy) as server:
        (one, log_one), (two, log_two) = open_page(server.url), open_page(server.url)
        ids = card_ids(one)
        for i in range(4):  # interleaved, without waiting for each other
            page = one if i % 2 == 0 else two
            card(page, ids[i]).locator("input.note").fill(f"tab {i % 2 + 1}")
            card(page, ids[i]).get_by_role("button", name=re.compile("^Confirm" if i % 2 == 0 else "^Dismiss")).click()
        for i in range(4):
            saved(one if i % 2 == 0 else two, ids[i], "saved:")
        assert_quiet(log_one)
        assert_quiet(log_two)
    after = rows(db_copy)
    assert [after[i] for i in ids[:4]] == [("confirmed", "tab 1"), ("dismissed", "tab 2"),
                                            ("confirmed", "tab 1"), ("dismissed", "tab 2")]


# ---------------------------------------------------------------------------
# A review made while a build runs
# ---------------------------------------------------------------------------


def test_a_review_made_during_a_build_is_kept(open_page, db_copy, tmp_path):
    before = rows(db_copy)
    out = tmp_path / "out"
    with Server(db_copy) as server:
        page, log = open_page(server.url)
        ids = card_ids(page)
        build = subprocess.Popen([str(Path(sys.executable).with_name("verify")), "build", str(SEEDS), "--db", str(db_copy),
                                  "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            # Until the build holds its lock (its pid written in the lock file): it is running.
            # Read, not taken: probing by taking the lock made the build fail when they met.
            lock = store.lock_path(db_copy)
            while True:
                assert build.poll() is None, build.stderr.read()
                if lock.exists() and lock.read_text(encoding="ascii").strip() == str(build.pid):
                    break
                assert time.monotonic() < deadline
                time.sleep(0.05)
            card(page, ids[0]).locator("input.note").fill("reviewed mid-build")
            card(page, ids[0]).get_by_role("button", name=re.compile("^Dismiss")).click()
            saved(page, ids[0], "saved: dismissed, with note")
            card(page, ids[1]).get_by_role("button", name=re.compile("^Confirm")).click()
            saved(page, ids[1], "saved: confirmed")
            assert build.poll() is None, "the build ended before the reviews: nothing was tested"
            _, err = build.communicate(timeout=300)
        finally:
            if build.poll() is None:
                build.kill()
        assert build.returncode == 0, err
        assert_quiet(log)

    after = rows(db_copy)
    assert set(after) == set(before)  # the build's own conflicts (same inputs)
    assert after[ids[0]] == ("dismissed", "reviewed mid-build")
    assert after[ids[1]] == ("confirmed", None)
    # The build applied them: its report, written after its commit, shows both.
    html = (out / "index.html").read_text(encoding="utf-8")
    for conflict_id, review in ((ids[0], "dismissed"), (ids[1], "confirmed")):
        found = re.search(rf'id="conflict-{conflict_id}"[^>]*>\s*<h3>.*?review: <span class="review">(\w+)</span>', html, re.S)
        assert found and found.group(1) == review


# ---------------------------------------------------------------------------
# A hostile article, live
# ---------------------------------------------------------------------------


def test_a_hostile_article_stays_inert_in_the_live_page(open_page, seed_build, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "hostile.txt").write_text(HOSTILE_TXT, encoding="utf-8")
    (folder / "normal.txt").write_text(NORMAL_TXT, encoding="utf-8")
    db_path = tmp_path / "hostile.db"
    pipeline.build([folder], db_path, None)
    with Server(db_path) as server:
        page, log = open_page(server.url)
        title = page.title()
        assert title.startswith("verify report: ")
        expect(page.locator("#filters")).to_be_visible()  # the page's own script ran
        assert page.locator("img, iframe, object, embed, svg").count() == 0
        assert page.locator("script").count() == 1 and page.locator("script[src]").count() == 0
        assert page.locator("[onerror], [onclick], [onload], [onmouseover]").count() == 0
        assert page.locator('a[href^="javascript:" i]').count() == 0
        article = page.locator("details.article").filter(has_text="defaced")
        open_article(article)
        body = article.locator(".article-text")
        expect(body).to_contain_text("<script>document.title='pwned';alert(1)</script>")
        expect(body).to_contain_text('<img src=x onerror="alert(2)">')
        body.get_by_text('<a href="javascript:alert(3)">click</a>').first.click(position={"x": 5, "y": 5})
        page.keyboard.press("j")
        page.keyboard.press("c")  # the keys do nothing harmful on a page without conflicts either
        page.wait_for_timeout(300)
        assert page.title() == title and "pwned" not in page.title()
        assert all(url.startswith(server.url) for url in log.requests), log.requests
        assert_quiet(log)


# ---------------------------------------------------------------------------
# Screenshot
# ---------------------------------------------------------------------------


def test_screenshot_of_the_review_page(open_page, db_copy, record_property, capsys):
    with Server(db_copy) as server:
        page, log = open_page(server.url)
        ids = card_ids(page)
        page.keyboard.press("j")
        page.keyboard.press("c")
        saved(page, ids[0], "saved: confirmed")
        page.keyboard.press("n")
        page.keyboard.type("the Kremlin denies it; Reuters reports the accusation")
        page.keyboard.press("Enter")
        saved(page, ids[1], "with note")
        page.locator("#conflicts").scroll_into_view_if_needed()
        card(page, ids[1]).scroll_into_view_if_needed()
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)  # reports/* is gitignored: never committed
        page.screenshot(path=str(SCREENSHOT))
        assert_quiet(log)
    with capsys.disabled():
        print(f"\nscreenshot of the review page: {SCREENSHOT.resolve()}")
    record_property("screenshot", str(SCREENSHOT.resolve()))
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and SCREENSHOT.stat().st_size > 10 * 1024
