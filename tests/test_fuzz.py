"""Fuzzing: generated files of every accepted kind go through ingest -> segment -> report.

Random bytes, mixed and broken encodings, HTML with unclosed, deeply nested and scripted tags,
JSON lines of every JSON type, ragged and badly quoted CSV, huge single lines, zero-width and
bidi control characters. For every file:

- nothing raises: an unusable file is one `Problem` of one line naming the file;
- the work is bounded: each file is read and segmented within a time linear in its size;
- every claim's offsets are exact (`article["text"][start:end] == claim["text"]`);
- the report rendered from the result holds no script, tag or event handler from the text:
  its only <script> is its own.

The report is rendered from rows (one cluster per distinct claim text, one conflict between the
first two claims) into an in-memory database: no embedding model is loaded, so ~1,000 examples
run in well under a minute. Profiles: `ci` (derandomized, the default when CI is set) and `dev`
(random); neither keeps an example database. `VERIFY_FUZZ_SCALE=10` runs ten times the examples.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import tempfile
import time
from datetime import timedelta
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verify import cluster, conflicts, ingest, report, segment, store

# The deadline is a ceiling for any one example; through_the_pipeline checks the tighter,
# size-linear bound on ingest and segment.
_COMMON = dict(database=None, deadline=timedelta(seconds=20), print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("ci", derandomize=True, **_COMMON)
settings.register_profile("dev", **_COMMON)
settings.load_profile(os.environ.get("VERIFY_FUZZ_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))

SCALE = int(os.environ.get("VERIFY_FUZZ_SCALE", "1"))


def examples(n: int):
    return settings(max_examples=n * SCALE)


# Time for one file: a fixed part (the first HTML extraction imports trafilatura's modules) and a
# part linear in the size, both generous for a machine shared with other builds. A quadratic
# step on the larger examples (100,000+ characters) blows through it.
BASE_SECONDS = 3.0
SECONDS_PER_MB = 40.0

# ---------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------

ZERO_WIDTH_AND_BIDI = ("\u200b\u200c\u200d\u2060\ufeff\u00ad\u034f\u180e"  # zero-width, soft hyphen
                       "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"  # bidi
                       "\u00a0\u2028\u2029\u0085\x0b\x0c\x1c\x1d\x1e\r\t")  # odd spaces and line ends
PAYLOADS = [
    "<script>alert(1)</script>", "<SCRIPT SRC=//x.example/a.js></SCRIPT>", "<img src=x onerror=alert(1)>",
    "<svg onload=alert(2)>", "<iframe src=javascript:alert(3)></iframe>", "\"><script>alert(4)</script>",
    "'><b onmouseover=alert(5)>", "</textarea><script>alert(6)</script>", "<!--", "-->", "]]>", "{{ 7*7 }}",
    "{% raw %}", "&lt;script&gt;", "&#60;script&#62;", "javascript:alert(7)", "</article></main></body>",
    "<scr<script>ipt>alert(8)</script>", "\u202eevil\u202c", "\x00",
]
SUBJECTS = ["The minister", "A spokesman for the ministry", "Officials in Seoul", "The agency", "Analysts",
            "Mr. Kim", "The U.S. envoy", "Police", "\u201cWe will respond,\u201d the general"]
VERBS = ["said on Tuesday that", "told reporters that", "announced that", "denied that", "warned that"]
OBJECTS = ["the shipments had resumed", "prices rose by 4 percent in March", "three people were injured",
           "the talks would continue next week", "the border crossing was closed overnight",
           "North Korea sent artillery shells to Russia", "no agreement had been reached"]


@st.composite
def sentences(draw, hostile: bool = True) -> str:
    words = f"{draw(st.sampled_from(SUBJECTS))} {draw(st.sampled_from(VERBS))} {draw(st.sampled_from(OBJECTS))}".split()
    if hostile and draw(st.booleans()):
        words.insert(draw(st.integers(0, len(words))), draw(st.sampled_from(PAYLOADS)))
    return " ".join(words) + draw(st.sampled_from([".", ".", "!", "?", "", ".\u201d", "...", " (Yonhap)."]))


@st.composite
def prose(draw, hostile: bool = True, max_paragraphs: int = 8) -> str:
    paragraphs = draw(st.lists(st.lists(sentences(hostile), min_size=1, max_size=5), min_size=1, max_size=max_paragraphs))
    return draw(st.sampled_from(["\n\n", "\n", "\r\n", " "])).join(" ".join(p) for p in paragraphs)


@st.composite
def sprinkled(draw, text: str, alphabet: str = ZERO_WIDTH_AND_BIDI) -> str:
    """`text` with characters of `alphabet` inserted at random places."""
    chars = list(text)
    for _ in range(draw(st.integers(0, 30))):
        chars.insert(draw(st.integers(0, len(chars))), draw(st.sampled_from(alphabet)))
    return "".join(chars)


# A headline and a byline first, as saved pages have them.
def page_text(body: str, title: str = "Officials meet in Seoul over the border crossing") -> str:
    return f"{title}\nBy Jane Doe\n{body}\n"


anything = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)

# ---------------------------------------------------------------------------
# Ingest -> segment -> report, with every check
# ---------------------------------------------------------------------------


class _Tags(HTMLParser):
    """Every start tag of a page, with its attributes, and the text of each <script>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []  # what a reader sees, character references decoded
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        if tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False


def _parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser


TEMPLATE_TAGS = {tag for f in resources.files("verify").joinpath("templates").iterdir() if f.name.endswith(".html")
                 for tag, _ in _parse(f.read_text("utf-8")).tags}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "srcdoc", "data", "poster", "xlink:href"}
REPORT_SCRIPT = resources.files("verify").joinpath("templates/report.js").read_text("utf-8")


@pytest.fixture(scope="module")
def memory_db():
    """An in-memory database for the examples, and the report's Jinja environment made once:
    `report.render` builds a new one each time (right for one report a build), which recompiles
    the templates, 0.2 s an example here."""
    db = store.open_db(":memory:")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(report, "_environment", functools.lru_cache(maxsize=1)(report._environment))
        yield db
    db.conn.close()


def rendered(db, articles: list[dict], claims: list[dict]) -> str:
    """The report of `articles` and `claims`: one cluster per distinct claim text (so a sentence
    two files share is corroborated), a conflict between the first two claims with cue words."""
    by_text: dict[str, list[dict]] = {}
    for c in claims:
        by_text.setdefault(c["text"], []).append(c)
    by_id = {a["id"]: a for a in articles}
    clusters = []
    for members in by_text.values():
        cid = cluster.cluster_id([c["id"] for c in members])
        origins = {cluster.source_key(by_id[c["article_id"]]) for c in members}
        for c in members:
            c["cluster_id"] = cid
        clusters.append({"id": cid, "status": cluster.status_for(origins), "size": len(members),
                         "n_articles": len({c["article_id"] for c in members}), "n_origins": len(origins),
                         "sources": sorted(origins), "label": members[0]["text"]})
    found = []
    if len(claims) >= 2:
        a, b = claims[0], claims[1]
        key = conflicts.pair_key(a["text"], b["text"])
        found.append({"id": "x" + key[:11], "claim_a": a["id"], "claim_b": b["id"], "pair_key": key,
                      "kind": "negation", "score": 0.9, "explanation": f"{a['text'][:40]} vs {b['text'][:40]}",
                      "cues": {"a": a["text"].split()[:2], "b": b["text"].split()[-2:]}, "attribution": "outlets"})
    store.replace_corpus(db, articles, claims, clusters, found)
    return report.render(db)


def assert_no_script_from_the_text(html: str, claims: list[dict]) -> None:
    page = _parse(html)
    shown = "".join(page.text)
    for c in claims:  # each claim is on the page as text a reader sees, escaped, not dropped
        assert c["text"] in shown, c["text"]
    assert page.scripts == [REPORT_SCRIPT]  # the report's own script, nothing else
    assert html.lower().count("<script") == 1
    names = {tag for tag, _ in page.tags}
    assert names <= TEMPLATE_TAGS, names - TEMPLATE_TAGS
    for tag, attrs in page.tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name, value)
            if name in URL_ATTRIBUTES:
                assert not (value or "").strip().lower().startswith("javascript:"), (tag, name, value)


def through_the_pipeline(db, path: Path, render: bool = True) -> tuple[list[dict], list[dict]]:
    size = path.stat().st_size
    started = time.perf_counter()
    articles, problems = ingest.read_articles([path])
    for problem in problems:
        assert isinstance(problem, ingest.Problem)
        assert problem.path == str(path)
        line = str(problem)
        assert line.startswith(f"{path}: ") and len(line) > len(str(path)) + 5
        assert "\n" not in line and "\r" not in line
    claims = segment.segment_articles(articles)
    seconds = time.perf_counter() - started
    assert seconds < BASE_SECONDS + SECONDS_PER_MB * size / 1e6, (size, seconds)

    texts = {a["id"]: a["text"] for a in articles}
    for a in articles:
        assert a["text"].strip() and a["path"].startswith(str(path))
    for c in claims:
        text = texts[c["article_id"]]
        assert 0 <= c["start"] < c["end"] <= len(text)
        assert text[c["start"]:c["end"]] == c["text"] == c["text"].strip()
    for article_id in texts:
        mine = [c for c in claims if c["article_id"] == article_id]
        assert [c["position"] for c in mine] == list(range(len(mine)))
        assert all(x["end"] <= y["start"] for x, y in zip(mine, mine[1:]))
        assert len({c["text"] for c in mine}) == len(mine)  # a repeated sentence is one claim
    if render and articles:
        assert_no_script_from_the_text(rendered(db, articles, claims), claims)
    return articles, claims


def write(folder: str, name: str, data: bytes | str) -> Path:
    path = Path(folder) / name
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


SUFFIXES = sorted(ingest.SUPPORTED_SUFFIXES)

# ---------------------------------------------------------------------------
# Bytes and encodings
# ---------------------------------------------------------------------------


@examples(200)
@given(suffix=st.sampled_from(SUFFIXES), data=st.binary(max_size=3000))
def test_random_bytes_of_every_kind(memory_db, suffix, data):
    with tempfile.TemporaryDirectory() as folder:
        through_the_pipeline(memory_db, write(folder, f"random{suffix}", data))


ENCODINGS = ["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16", "utf-16-le", "cp949", "shift_jis", "koi8-r", "gb18030"]


@examples(150)
@given(suffix=st.sampled_from(SUFFIXES), body=prose(),
       extras=st.lists(st.tuples(st.text(alphabet="éàüßøñ한국어日本語Привет€“”", min_size=1, max_size=20),
                                 st.sampled_from(ENCODINGS)), max_size=4),
       cut=st.integers(0, 40))
def test_mixed_encodings_and_truncated_utf8(memory_db, suffix, body, extras, cut):
    """Prose in UTF-8 with pieces in other encodings spliced in, cut short inside a character."""
    data = page_text(body).encode("utf-8")
    for text, encoding in extras:
        piece = text.encode(encoding, errors="ignore")
        data = data[: len(data) // 2] + piece + data[len(data) // 2:]
    data = data[: len(data) - cut] if cut else data
    if suffix == ".jsonl":
        data = b'{"text": "' + data.replace(b"\\", b"").replace(b'"', b"'").replace(b"\n", b" ") + b'"}\n'
    elif suffix == ".csv":
        data = b'id,text\n1,"' + data.replace(b'"', b'""') + b'"\n'
    with tempfile.TemporaryDirectory() as folder:
        through_the_pipeline(memory_db, write(folder, f"mixed{suffix}", data))


@examples(150)
@given(data=st.data(), suffix=st.sampled_from([".txt", ".text", ".jsonl", ".csv"]), body=prose(),
       title=st.sampled_from(PAYLOADS))
def test_zero_width_and_bidi_characters_and_hostile_metadata(memory_db, data, suffix, body, title):
    text = data.draw(sprinkled(page_text(body, f"Officials {title} meet in Seoul over the crossing")))
    if suffix == ".jsonl":
        row = {"id": title, "text": text, "title": title, "outlet": title, "byline": title, "origin": title,
               "url": "javascript:alert(9)", "published": title}
        content = json.dumps(row, ensure_ascii=data.draw(st.booleans())) + "\n"
    elif suffix == ".csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["id", "title", "outlet", "byline", "text"])
        writer.writerow([title, title, title, title, text])
        content = out.getvalue()
    else:
        content = text
    with tempfile.TemporaryDirectory() as folder:
        through_the_pipeline(memory_db, write(folder, f"bidi{suffix}", content))


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

TAGS = ["div", "p", "span", "b", "a", "article", "section", "main", "header", "footer", "nav", "aside", "script",
        "style", "noscript", "template", "svg", "iframe", "img", "br", "table", "tr", "td", "ul", "li", "h1",
        "title", "head", "body", "html", "form", "textarea", "select", "button", "math", "object", "pre",
        "blockquote", "figure", "figcaption", "meta", "base", "xmp", "plaintext", "time"]
ATTRIBUTES = ['onclick="alert(1)"', "onerror=alert(2)", "onload='alert(3)'", 'href="javascript:alert(4)"',
              'src="//x.example/a.js"', 'class="article-body"', 'style="display:none"', 'srcdoc="<script>x</script>"',
              'name="author" content="<b>Eve</b>"', 'property="og:title" content="<script>t</script>"',
              'id="main"', "data-x=\"'\"", 'broken="unterminated']


@st.composite
def html_tokens(draw) -> str:
    kind = draw(st.sampled_from(["open", "open", "close", "text", "text", "prose", "void", "comment", "entity"]))
    tag = draw(st.sampled_from(TAGS))
    if kind == "open":
        attrs = " ".join(draw(st.lists(st.sampled_from(ATTRIBUTES), max_size=3)))
        return f"<{tag}{' ' + attrs if attrs else ''}>"
    if kind == "close":
        return f"</{tag}>"
    if kind == "void":
        return f"<{tag}/>"
    if kind == "comment":
        return draw(st.sampled_from(["<!-- note -->", "<!--", "-->", "<![CDATA[x]]>", "<!doctype html>", "<?xml ?>"]))
    if kind == "entity":
        return draw(st.sampled_from(["&lt;script&gt;alert(1)&lt;/script&gt;", "&#60;img src=x onerror=alert(1)&#62;",
                                     "&amp;", "&#99999999;", "&#x0;", "&nbsp;", "&", "&#"]))
    if kind == "prose":
        return f"<p>{draw(prose(max_paragraphs=2))}</p>"
    return draw(anything)


@st.composite
def html_pages(draw) -> str:
    depth = draw(st.sampled_from([0, 0, 0, 1, 10, 300, 3000]))
    inner = "".join(draw(st.lists(html_tokens(), max_size=40)))
    closed = draw(st.booleans())
    head = draw(st.sampled_from(["", "<!doctype html>", "<html><head><title>Ministers meet</title></head><body>"]))
    return head + "<div>" * depth + inner + ("</div>" * depth if closed else "")


@examples(200)
@given(page=html_pages(), suffix=st.sampled_from([".html", ".htm"]))
def test_html_unclosed_nested_scripted(memory_db, page, suffix):
    with tempfile.TemporaryDirectory() as folder:
        through_the_pipeline(memory_db, write(folder, f"page{suffix}", page))


# ---------------------------------------------------------------------------
# Corpora
# ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | anything,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(
        ["text", "body", "id", "title", "outlet", "origin", "url", "published", "byline", "x"]) | anything, children,
        max_size=5),
    max_leaves=12,
)


@st.composite
def jsonl_lines(draw) -> str:
    kind = draw(st.sampled_from(["value", "row", "row", "broken", "blank"]))
    if kind == "value":
        return json.dumps(draw(json_values), ensure_ascii=draw(st.booleans()))
    if kind == "row":
        row = draw(st.dictionaries(st.sampled_from(["id", "title", "outlet", "origin", "url", "published", "byline"]),
                                   json_values, max_size=4))
        row[draw(st.sampled_from(["text", "body"]))] = draw(st.one_of(prose(), json_values))
        return json.dumps(row, ensure_ascii=draw(st.booleans()))
    if kind == "broken":
        return draw(st.sampled_from(['{"text": "unterminated', "{'text': 'single quotes'}", "[1, 2", "NaN", "{}}",
                                     '{"text": "a"} trailing', "\x00", "[" * 5_000, "1" * 5_000,
                                     '{"text": "Police said \\ud800 on Tuesday that the shipments had resumed.",'
                                     ' "title": "\\udfff"}']))
    return draw(st.sampled_from(["", "   ", "\t"]))


@examples(150)
@given(lines=st.lists(jsonl_lines(), max_size=8), end=st.sampled_from(["\n", "\r\n"]))
def test_jsonl_of_every_json_type(memory_db, lines, end):
    with tempfile.TemporaryDirectory() as folder:
        through_the_pipeline(memory_db, write(folder, "rows.jsonl", end.join(lines)))


csv_fields = st.one_of(prose(max_paragraphs=2), anything, st.sampled_from(['"', '""', 'a "quoted" word', "a,b", "\n", ""]))


@examples(180)
@given(header=st.lists(st.sampled_from(["text", "body", "id", "title", "outlet", "Text", " BODY ", "", "x"]), min_size=0,
                       max_size=5),
       rows=st.lists(st.lists(csv_fields, max_size=7), max_size=5),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONE, "raw"]),
       bom=st.booleans())
def test_csv_with_ragged_rows_and_quotes(memory_db, header, rows, quoting, bom):
    raw = "\n".join(",".join(r) for r in [header, *rows])  # joined by hand: quotes left unbalanced
    content = raw
    if quoting != "raw":
        out = io.StringIO()
        writer = csv.writer(out, quoting=quoting, escapechar="\\", quotechar=None if quoting == csv.QUOTE_NONE else '"')
        try:
            writer.writerows([header, *rows])
            content = out.getvalue()
        except csv.Error:  # the writer refuses some rows without quotes ("a single empty field")
            pass
    with tempfile.TemporaryDirectory() as folder:
        through_the_pipeline(memory_db, write(folder, "rows.csv", ("\ufeff" if bom else "") + content))


# ---------------------------------------------------------------------------
# Huge single lines
# ---------------------------------------------------------------------------


@examples(20)
@given(suffix=st.sampled_from([".txt", ".html", ".jsonl", ".csv"]), sentence=sentences(),
       filler=st.sampled_from(["", " word", "x", "U.S. ", "\u200b", "<b>"]), n=st.integers(500, 5_000))
def test_huge_single_lines(memory_db, suffix, sentence, filler, n):
    """One line of up to ~350,000 characters: a sentence (or a filler without any sentence end)
    repeated, in every kind of file."""
    line = (sentence + " " + filler) * n if filler != "x" else "x" * (60 * n)
    if suffix == ".html":
        content = f"<html><body><p>{line}</p></body></html>"
    elif suffix == ".jsonl":
        content = json.dumps({"text": line}) + "\n"
    elif suffix == ".csv":
        content = 'text\n"' + line.replace('"', '""') + '"\n'
    else:
        content = line
    with tempfile.TemporaryDirectory() as folder:
        articles, claims = through_the_pipeline(memory_db, write(folder, f"huge{suffix}", content))
    for a in articles:
        # The line was no more than a few distinct sentences: as many claims, not thousands. Where
        # a piece (see segment.MAX_PIECE_CHARS) had to be cut inside a sentence, its two ends are
        # claims of their own: at most two more a piece.
        pieces = len(line) // (segment.MAX_PIECE_CHARS // 2) + 1
        assert len([c for c in claims if c["article_id"] == a["id"]]) <= 12 + 2 * pieces


# ---------------------------------------------------------------------------
# Cases the generators reach only by luck, pinned
# ---------------------------------------------------------------------------


def test_article_in_20000_nested_divs_goes_through_to_the_report(memory_db):
    page = "<html><head><title>Deep</title></head><body>" + "<div>" * 20_000 + "".join(
        f"<p>{s}</p>" for s in ["The minister said on Tuesday that the shipments had resumed.",
                                "Officials in Seoul told reporters that &lt;script&gt;alert(1)&lt;/script&gt; was found."]
    ) + "</div>" * 20_000 + "</body></html>"
    with tempfile.TemporaryDirectory() as folder:
        articles, claims = through_the_pipeline(memory_db, write(folder, "deep.html", page))
    assert [c["text"] for c in claims] == ["The minister said on Tuesday that the shipments had resumed.",
                                           "Officials in Seoul told reporters that <script>alert(1)</script> was found."]


def test_jsonl_line_with_a_raw_line_separator_inside_a_string_is_one_row(memory_db):
    text = "The minister said on Tuesday\u2028that the shipments had resumed at the port.\u2029Police confirmed it."
    with tempfile.TemporaryDirectory() as folder:
        articles, _ = through_the_pipeline(memory_db, write(folder, "rows.jsonl", json.dumps({"text": text}, ensure_ascii=False)))
    assert len(articles) == 1
