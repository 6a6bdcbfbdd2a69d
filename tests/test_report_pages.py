"""A big report as index.html plus pages: written with tiny page sizes so the seeds span pages.

Links from the index reach the right page and anchor, every page is a full self-contained page
under the same strict CSP, readable with JavaScript off, a set of pages is replaced as a whole
(older sets and a crashed writer's folder removed, a failed write leaves the previous report
whole), and no file is over a size bound."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import open_store
from verify import report, store

TINY = {"single_file_claims": 0, "cluster_page_size": 2, "article_page_size": 2, "conflicts_on_index": 1}
SIZE_BOUND = 2_000_000  # the seeds' pages are far below this; the 39k benchmark's largest is 1.25 MB


class Anchors(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag == "script":
            self.scripts += 1


def parse(path: Path) -> Anchors:
    a = Anchors()
    a.feed(path.read_text(encoding="utf-8"))
    return a


@pytest.fixture(scope="module")
def paged(seed_build, tmp_path_factory):
    out = tmp_path_factory.mktemp("paged") / "index.html"
    report.write_report(seed_build["db"], out, **TINY)
    db = open_store(seed_build["db"])
    try:
        truth = {"clusters": store.clusters(db), "articles": store.articles(db), "conflicts": store.conflicts(db)}
    finally:
        db.conn.close()
    return {"index": out, "files": report.report_files(out), **truth}


def _pages_folders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir())


def test_pages_hold_every_cluster_and_article_once(paged):
    files = paged["files"]
    names = [f.name for f in files[1:]]
    n_clusters, n_articles = len(paged["clusters"]), len(paged["articles"])
    assert names.count("clusters-002.html") == 1
    assert len([n for n in names if n.startswith("clusters-")]) == -(-n_clusters // 2)
    assert len([n for n in names if n.startswith("articles-")]) == -(-n_articles // 2)
    assert len([n for n in names if n.startswith("conflicts-")]) >= 1
    ids = [i for f in files[1:] for i in parse(f).ids]
    for k in paged["clusters"]:
        assert ids.count(f"cluster-{k['id']}") == 1
    for a in paged["articles"]:
        assert ids.count(f"article-{a['id']}") == 1
    index_ids = parse(paged["index"]).ids
    for x in paged["conflicts"]:  # the first on the index, the rest on conflict pages
        assert (f"conflict-{x['id']}" in index_ids) + ids.count(f"conflict-{x['id']}") == 1
    assert not any(i.startswith(("cluster-", "article-")) for i in index_ids)
    # Only index.html and one pages folder beside it.
    assert sorted(p.name for p in paged["index"].parent.iterdir()) == ["index.html", files[1].parent.name]


def test_every_link_reaches_an_existing_page_and_anchor(paged):
    parsed = {f.resolve(): parse(f) for f in paged["files"]}
    n = 0
    for path, page in parsed.items():
        for href in page.hrefs:
            url = urlsplit(href)
            assert not url.scheme and not url.netloc, href  # relative, local
            target = (path.parent / url.path).resolve() if url.path else path
            assert target in parsed, (path.name, href)
            if url.fragment and url.fragment != "main":
                assert url.fragment in parsed[target].ids, (path.name, href)
            n += 1
    assert n > 100
    index = parse(paged["index"]).hrefs
    assert any(re.fullmatch(r"pages-[0-9a-f]{12}/clusters-\d{3}\.html#cluster-k[0-9a-f]+", h) for h in index)
    assert any(re.fullmatch(r"pages-[0-9a-f]{12}/articles-\d{3}\.html#article-[0-9a-z]+", h) for h in index)


def test_every_page_is_self_contained_under_the_strict_csp(paged):
    script = resources.files("verify").joinpath("templates/report.js").read_text("utf-8")
    digest = "sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    for f in paged["files"]:
        html = f.read_text(encoding="utf-8")
        assert f.stat().st_size < SIZE_BOUND
        assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
        assert f"script-src '{digest}'" in html and "connect-src 'none'" in html and "default-src 'none'" in html
        assert parse(f).scripts == 1 and f"<script>{script}</script>" in html
        assert "http://" not in html and "https://" not in html and not re.search(r"<link\b|url\(", html, re.I)
        assert f.stat().st_mode & 0o044 == 0o044
    for f in paged["files"][1:]:
        assert 'href="../index.html"' in f.read_text(encoding="utf-8")


def test_a_set_of_pages_is_replaced_whole(seed_build, tmp_path):
    out = tmp_path / "index.html"
    report.write_report(seed_build["db"], out, **TINY)
    first = _pages_folders(tmp_path)
    (tmp_path / ".pages-0123456789ab.tmp").mkdir()  # a writer killed before its rename
    (tmp_path / "pages-keepme").mkdir()             # not a name the report makes: left alone
    report.write_report(seed_build["db"], out, **TINY)
    second = _pages_folders(tmp_path)
    assert len(second) == 2 and "pages-keepme" in second and first[0] not in second
    assert report.report_files(out)[1].parent.name in second
    # Small enough for one page again: the pages go.
    report.write_report(seed_build["db"], out)
    assert _pages_folders(tmp_path) == ["pages-keepme"]
    assert report.report_files(out) == [out]


def test_a_write_that_fails_leaves_the_previous_report_whole(seed_build, tmp_path, monkeypatch):
    out = tmp_path / "index.html"
    report.write_report(seed_build["db"], out, **TINY)
    before = {f: f.read_bytes() for f in report.report_files(out)}

    def crash(path, text):
        raise OSError("disk full")

    monkeypatch.setattr(report, "write_atomic", crash)
    with pytest.raises(OSError):
        report.write_report(seed_build["db"], out, **TINY)
    monkeypatch.undo()
    assert {f: f.read_bytes() for f in report.report_files(out)} == before
    report.write_report(seed_build["db"], out, **TINY)  # the next write clears the orphan
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 1


# ---------------------------------------------------------------------------
# In Chromium

from test_browser import CHROMIUM, browser  # noqa: E402,F401 (browser: the module-scoped Chromium fixture)

browser_only = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)")


def _open(browser, path: Path, js: bool):
    context = browser.new_context(java_script_enabled=js, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.resolve().as_uri())
    return context, page, errors, requests


@browser_only
def test_links_from_the_index_open_a_cluster_on_page_2_and_an_article_page_without_javascript(browser, paged):
    from playwright.sync_api import expect

    context, page, errors, requests = _open(browser, paged["index"], js=False)
    try:
        expect(page.locator("#conflicts article.card.conflict")).to_have_count(1)
        expect(page.locator("#filters")).to_be_hidden()  # the script's controls need the script
        link = page.locator('#source-rows a[href*="clusters-002.html#cluster-"]').first
        if not link.count():  # no source row on page 2: a conflict side's cluster link
            link = page.locator('#conflicts a[href*="clusters-002.html#cluster-"]').first
        href = link.get_attribute("href")
        link.click()
        page.wait_for_url(re.compile(r"clusters-002\.html#cluster-"))
        card = page.locator(f"#{href.split('#')[1]}")
        expect(card).to_be_visible()
        expect(card).to_be_in_viewport()
        expect(page.locator("#clusters article.card")).to_have_count(2)
        # Back to the overview, then to an article's page from the sources table.
        page.locator('header a[href="../index.html"]').click()
        page.wait_for_url(re.compile(r"/index\.html$"))
        table = page.locator("#sources table")
        expect(table).to_be_hidden()  # folded: a long table costs the index its quick load
        page.locator("#sources summary").click()  # a <details>: opens without a script
        expect(table).to_be_visible()
        row = page.locator('#sources a[href*="articles-"]').nth(2)
        anchor = row.get_attribute("href").split("#")[1]
        row.click()
        page.wait_for_url(re.compile(r"articles-002\.html#article-"))
        article = page.locator(f"#{anchor}")
        expect(article.locator(".article-text")).to_be_visible()  # open without a script
        claim = article.locator("a.claim").first
        expect(claim).to_have_attribute("href", re.compile(r"^clusters-\d{3}\.html#cluster-k[0-9a-f]+$"))
        claim.click()
        page.wait_for_url(re.compile(r"clusters-\d{3}\.html#cluster-"))
        expect(page.locator(":target")).to_be_visible()
        assert errors == []
        assert all(u.startswith("file://") for u in requests)
    finally:
        context.close()


@browser_only
def test_search_on_a_page_filters_that_page(browser, paged):
    from playwright.sync_api import expect

    page_file = next(f for f in paged["files"] if f.name == "clusters-001.html")
    context, page, errors, _ = _open(browser, page_file, js=True)
    try:
        expect(page.locator("#filters")).to_be_visible()
        cards = page.locator("#clusters article.card")
        expect(cards).to_have_count(2)
        word = cards.first.locator("h3").inner_text().split()[-1].strip(".,;:\"'")
        page.fill("#q", "zzzz-no-such-word")
        expect(page.locator("#shown")).to_have_text("0 shown")
        page.fill("#q", word.lower())
        expect(page.locator("#shown")).to_have_text(re.compile(r"^[12] shown$"))
        assert errors == []
    finally:
        context.close()


def test_what_grows_with_the_corpus_is_capped_on_the_index(seed_build, tmp_path, monkeypatch):
    monkeypatch.setattr(report, "SOURCES_ON_INDEX", 2)
    monkeypatch.setattr(report, "ORIGINS_ON_INDEX", 1)
    out = tmp_path / "index.html"
    report.write_report(seed_build["db"], out, **TINY)
    html = out.read_text(encoding="utf-8")
    sources = html[html.index('<section id="sources">'):]
    assert sources.count("<tr data-origins=") == 2
    assert "every article is on the article pages" in sources
    origin_select = html[html.index('<select id="f-origin">'):]
    assert origin_select[:origin_select.index("</select>")].count("<option") == 2  # "any" and one origin


@browser_only
def test_a_search_on_the_index_opens_the_folded_sources_table(browser, paged):
    from playwright.sync_api import expect

    context, page, errors, _ = _open(browser, paged["index"], js=True)
    try:
        title = paged["articles"][1]["title"]
        page.fill("#q", title.lower())
        page.press("#q", "Enter")
        row = page.locator("#sources tr[data-origins]:not([data-hidden])").first
        expect(row).to_be_visible()
        expect(row).to_contain_text(title)
        assert errors == []
    finally:
        context.close()
