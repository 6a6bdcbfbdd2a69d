"""The HTML report: one self-contained file, all corpus text escaped."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser

import pytest

from conftest import open_store
from verify import pipeline, report, store

EXTERNAL = re.compile(r"""(?:src|href|action|srcset)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


@pytest.fixture(scope="module")
def seed_html(seed_build):
    return seed_build["report"].read_text(encoding="utf-8")


def test_seed_report_is_one_self_contained_file(seed_build, seed_html):
    files = sorted(p.name for p in seed_build["out"].iterdir())
    assert files == ["index.html"]
    assert seed_html.startswith("<!doctype html>")
    assert seed_html.rstrip().endswith("</html>")
    assert not EXTERNAL.search(seed_html)
    assert "http://" not in seed_html and "https://" not in seed_html
    assert not re.search(r"<link\b", seed_html, re.I)
    assert not re.search(r"@import|url\(", seed_html, re.I)
    assert "<style>" in seed_html
    # One script, inline, and the only one the page's CSP lets run.
    scripts = _scripts(seed_html)
    assert len(scripts) == 1
    attrs, body = scripts[0]
    assert attrs == []
    assert body.strip()
    assert len(re.findall(r"<script\b", seed_html, re.I)) == 1
    names = {tag for tag, _ in _tags(seed_html)}
    assert not names & {"iframe", "object", "embed", "img", "frame", "svg", "link", "base"}


def test_seed_report_script_is_pinned_by_the_csp(seed_html):
    policy = _csp(seed_html)
    directives = dict((d.split()[0], d.split()[1:]) for d in (p.strip() for p in policy.split(";")) if d)
    assert directives["default-src"] == ["'none'"]
    assert directives["connect-src"] == ["'none'"]
    assert directives["img-src"] == ["'none'"]
    assert len(directives["script-src"]) == 1  # no 'unsafe-inline', no host, no second hash
    (_, body), = _scripts(seed_html)
    digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
    assert directives["script-src"] == [f"'sha256-{digest}'"]
    # The shipped script file itself, byte for byte.
    from importlib import resources

    assert body == resources.files("verify").joinpath("templates/report.js").read_text("utf-8")


def test_seed_report_shows_the_corpus(seed_db, seed_html):
    articles = store.articles(seed_db)
    clusters = store.clusters(seed_db)
    assert f"{len(articles)} articles" in seed_html
    for status in ("corroborated", "single-source", "conflicting"):
        n = sum(1 for k in clusters if k["status"] == status)
        assert n > 0
        assert seed_html.count(f'<article class="card {status}" id="cluster-') == n
        assert len(re.findall(rf'<article class="card {status}" id="cluster-[0-9a-z]+" data-status="{status}"',
                              seed_html)) == n
    for k in clusters:
        assert f'id="cluster-{k["id"]}"' in seed_html
    conflicts = store.conflicts(seed_db)
    assert conflicts
    assert seed_html.count('<article class="card conflict"') == len(conflicts)
    for x in conflicts:
        assert f'<article class="card conflict" id="conflict-{x["id"]}"' in seed_html
    assert f"<li><b>{len(conflicts)}</b>flagged conflicts</li>" in seed_html
    for a in articles:
        assert f'id="article-{a["id"]}"' in seed_html
    # Every internal link points at something in the page.
    targets = set(re.findall(r'id="([^"]+)"', seed_html))
    for anchor in re.findall(r'href="#([^"]+)"', seed_html):
        assert anchor in targets


def test_seed_report_is_readable_by_others(seed_build):
    assert seed_build["report"].stat().st_mode & 0o044 == 0o044


def test_report_command_rewrites_it(seed_build, tmp_path):
    path = report.write_report(seed_build["db"], tmp_path / "again" / "index.html")
    again, first = path.read_text(encoding="utf-8"), seed_build["report"].read_text(encoding="utf-8")
    for card in ('<article class="card ', '<article class="card conflict"'):
        assert again.count(card) == first.count(card) > 0
    assert sorted(p.name for p in path.parent.iterdir()) == ["index.html"]


HOSTILE_TXT = (
    "<b>Hostile</b> headline about a scripted test story\n"
    "Officials said the attackers tried to run <script>alert(1)</script> inside the page of the ministry on Tuesday.\n"
    "The security team found an image tag <img src=x onerror=alert(1)> hidden in a comment field of the site.\n"
    "Investigators said a link labelled javascript:alert(1) was also posted in the forum of the agency last week.\n"
)
HOSTILE_ROW = {
    "id": "<script>id</script>",
    "title": "<i onmouseover=alert(2)>Row title</i>",
    "outlet": "<svg onload=alert(3)>",
    "byline": "<u>Mallory</u>",
    "text": "Researchers said the attackers posted <iframe src=javascript:alert(4)></iframe> on the agency site.",
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    folder = base / "in"
    folder.mkdir()
    (folder / "hostile.txt").write_text(HOSTILE_TXT, encoding="utf-8")
    (folder / "rows.jsonl").write_text(json.dumps(HOSTILE_ROW) + "\n", encoding="utf-8")
    result = pipeline.build([folder], base / "verify.db", base / "out")
    db = open_store(base / "verify.db")
    claims = store.claims(db)
    articles = store.articles(db)
    db.conn.close()
    return {"result": result, "html": result.report_path.read_text(encoding="utf-8"), "claims": claims,
            "articles": articles}


def test_hostile_corpus_is_built(hostile):
    assert hostile["result"].n_articles == 2
    texts = " ".join(c["text"] for c in hostile["claims"])
    assert "<script>alert(1)</script>" in texts  # the claims keep their words...
    assert "<img src=x onerror=alert(1)>" in texts
    titles = {a["title"] for a in hostile["articles"]}
    assert titles == {"<b>Hostile</b> headline about a scripted test story", HOSTILE_ROW["title"]}


@pytest.mark.parametrize("raw", [
    "<script>alert", "<script>id", "<img src=x", "<b>Hostile", "<i onmouseover", "<svg onload", "<u>Mallory",
    "<iframe", "onerror=alert(1)>",
])
def test_hostile_markup_never_appears_unescaped(hostile, raw):
    assert raw not in hostile["html"]


@pytest.mark.parametrize("escaped", [
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&lt;img src=x onerror=alert(1)&gt;",
    "&lt;b&gt;Hostile&lt;/b&gt; headline about a scripted test story",
    "&lt;iframe src=javascript:alert(4)&gt;&lt;/iframe&gt;",
])
def test_hostile_markup_is_shown_escaped(hostile, escaped):
    assert escaped in hostile["html"]


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.scripts: list[tuple[list[tuple[str, str | None]], str]] = []  # (attributes, text)
        self._script: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        if tag == "script":
            self._script = []
            self.scripts.append((attrs, ""))

    def handle_data(self, data):
        if self._script is not None:
            self._script.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts[-1] = (self.scripts[-1][0], "".join(self._script))
            self._script = None


def _parsed(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser


def _tags(html: str):
    return _parsed(html).tags


def _scripts(html: str):
    """Every <script> as (attributes, text exactly as in the file: what the browser hashes)."""
    return _parsed(html).scripts


def _csp(html: str) -> str:
    metas = [dict(attrs) for tag, attrs in _tags(html) if tag == "meta"]
    policies = [m["content"] for m in metas if (m.get("http-equiv") or "").lower() == "content-security-policy"]
    assert len(policies) == 1
    return policies[0]


def _template_tags() -> set[str]:
    """Every tag the report template itself can write (whatever a given corpus makes it show)."""
    from importlib import resources

    # report.html and the parts it includes (chips, review controls, timelines...).
    folder = resources.files("verify").joinpath("templates")
    return {tag for f in folder.iterdir() if f.name.endswith(".html") for tag, _ in _tags(f.read_text("utf-8"))}


def test_template_tags_cover_the_seed_report(seed_html):
    assert {tag for tag, _ in _tags(seed_html)} <= _template_tags()
    assert {"p", "b", "article", "details"} <= _template_tags()


def test_hostile_report_has_only_template_tags(hostile):
    # Compared with the template, not with the seed report: a corpus with no conflicting or
    # corroborated cluster shows "<p>None.</p>" where the seeds (which now have conflicting
    # clusters) show none, and that <p> comes from the template.
    tags = _tags(hostile["html"])
    names = {tag for tag, _ in tags}
    assert names <= _template_tags()  # nothing the template does not write itself
    # The header counts only: every <b> opens one of its items (status counts, conflicts, to review).
    n_bold = [tag for tag, _ in tags].count("b")
    assert n_bold >= len(report.STATUS_ORDER) + 1
    assert n_bold == len(re.findall(r"<li[^>]*><b>", hostile["html"]))
    assert "p" in names and '<p class="muted">None.</p>' in hostile["html"]
    assert not names & {"img", "iframe", "svg", "i", "u", "object", "embed"}
    # The only script is the report's own, pinned by the CSP; none came from the corpus.
    scripts = _scripts(hostile["html"])
    assert len(scripts) == 1 and scripts[0][0] == []
    digest = base64.b64encode(hashlib.sha256(scripts[0][1].encode("utf-8")).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in _csp(hostile["html"])
    assert "alert" not in scripts[0][1]
    for tag, attrs in tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name, value)
            if name in ("href", "src"):
                assert (value or "").startswith("#"), (tag, name, value)
    assert "javascript:alert(1)" in hostile["html"]  # shown as text only
