"""Ingest: files -> article rows with cleaned text and provenance.

Plain functions over text, in the manner of trafilatura: `read_articles(paths)` walks files and
folders and returns `(articles, problems)`. Every article row carries the cleaned text that
claim offsets index into, plus title, outlet, origin, published date and byline, all detected
from the text itself (datelines, credits, source and copyright lines), never from file names.

Bad input never raises out of `read_articles`: each unusable file becomes one `Problem` whose
`str()` is a one-line message naming the file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from verify import provenance
# The outlet gazetteer lives with the credit reading; these names are part of ingest's API too.
from verify.provenance import canonical_outlet, known_outlet, outlet_table  # noqa: F401

TEXT_SUFFIXES = {".txt", ".text"}
HTML_SUFFIXES = {".html", ".htm"}
CORPUS_SUFFIXES = {".jsonl", ".csv"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | CORPUS_SUFFIXES

# One article's text may be at most this many bytes of UTF-8: some 300,000 words, ten times the
# longest news feature. Above it a .txt file, an HTML page's text or a corpus row is refused with
# one line naming the file and the limit, before any work is spent on it: a file that size is a
# book or many articles run together, and cutting it into pieces would only give pieces mixing
# several stories' credits. Every stage below is linear in the text, so the limit bounds the
# time one input can take (segmenting is the slowest, 4 to 10 seconds a MB).
MAX_ARTICLE_BYTES = 2_000_000
# An HTML page carries markup, scripts and styles besides its text; the extractor reads about a
# MB a second and a half.
MAX_HTML_BYTES = 10_000_000


@dataclass(frozen=True)
class Problem:
    """An input that could not be used, as one line for the user."""

    path: str
    message: str

    def __str__(self) -> str:
        # A file name may hold a line break or other control characters: shown escaped
        # ("a\\nb.txt"), so that the message stays one line.
        path = self.path if self.path.isprintable() else repr(self.path)[1:-1]
        return f"{path}: {self.message}"


class InputError(ValueError):
    """Raised inside this module for one unusable input; turned into a Problem."""


def _size(n_bytes: int) -> str:
    """35000205 -> "35.0 MB", 120000 -> "120.0 KB"."""
    if n_bytes >= 1_000_000:
        return f"{n_bytes / 1_000_000:.1f} MB"
    return f"{n_bytes / 1_000:.1f} KB" if n_bytes >= 1_000 else f"{n_bytes} bytes"


def check_size(n_bytes: int, limit: int | None = None, what: str = "text") -> None:
    """InputError when `n_bytes` of one article's `what` is over `limit` (default
    MAX_ARTICLE_BYTES)."""
    limit = MAX_ARTICLE_BYTES if limit is None else limit
    if n_bytes > limit:
        size, most = _size(n_bytes), _size(limit)
        if size == most:  # 2,000,001 bytes is "2.0 MB" too
            size, most = f"{n_bytes:,} bytes", f"{limit:,} bytes"
        raise InputError(
            f"{what} of {size} is over the {most} limit for one article; "
            "split it into articles (one a file, or one a row of a .jsonl or .csv corpus)"
        )


# ---------------------------------------------------------------------------
# Line classification for plain-text pages
# ---------------------------------------------------------------------------

MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for m in names
}
_MONTH_RE = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"

# "SEOUL, Nov. 14 (Yonhap) --", "WASHINGTON, Nov 14, 2023 (Reuters) -", "(Reuters) -"
DATELINE_RE = re.compile(
    r"^(?:(?P<place>[A-Z][A-Z.' -]{1,40}(?:,\s*[A-Z][A-Za-z.' -]{1,30})?),\s+)?"
    r"(?:(?P<month>" + _MONTH_RE + r")\.?\s+(?P<day>\d{1,2})(?:,\s*(?P<year>\d{4}))?\s*)?"
    r"\((?P<wire>[A-Z][\w.&' -]{1,40})\)\s*(?:--|-|\u2013|\u2014)\s*"
)
# Full dates anywhere on the page ("Nov. 14, 2023", "19 September 2023"): used to find the year
# of a dateline that gives only month and day.
FULL_DATE_RE = re.compile(
    r"\b(?:(?P<m1>" + _MONTH_RE + r")\.?\s+(?P<d1>\d{1,2}),?\s+(?P<y1>(?:19|20)\d\d)"
    r"|(?P<d2>\d{1,2})\s+(?P<m2>" + _MONTH_RE + r")\.?,?\s+(?P<y2>(?:19|20)\d\d))\b"
)
BYLINE_RE = re.compile(r"^By\.?\s+(?P<names>[A-Z][\w.' -]+(?:,\s*[A-Z][\w.' -]+)*(?:\s+and\s+[A-Z][\w.' -]+)?)\s*$")
WIRE_CREDITS_RE = re.compile(r"^\((?:Reporting|Writing|Additional reporting) by (?P<names>[^;)]+)")
COPYRIGHT_RE = re.compile(r"(?:\(C\)|\u00a9|Copyright)\s*(?:\d{4}\s*)?(?P<name>[A-Z][\w.&' -]{1,60}?)[.,]?\s*(?:All [Rr]ights [Rr]eserved|$)")
SELF_PROMO_RE = re.compile(r"\b(?:Support|Subscribe to|keep|Be a|Join)\s+(?P<name>[A-Z][\w-]+(?:\s+[A-Z][\w-]+){0,3})")
TRAILING_CREDIT_RE = re.compile(r"\s*\((?P<name>[A-Z][\w.&' -]{1,40})\)\s*$")

# Photo captions: photo words, agency photo credits, position markers, table pipes and
# bullet glyphs that sites put in front of captions.
CAPTION_RE = re.compile(
    r"\bphotos?\b|\bpictured\b|\bfile photo\b|\(Provided by|\bEPA(?:-EFE)?\b|/(?:AFP|AP|Reuters|KCNA)\b|Getty Images"
    r"|\((?:L|R|C|left|right|center|centre)\)|\((?:\d+(?:st|nd|rd|th) )?from [LR]\b|^[|\u25b2\u25b3\u25b6\u25ba]|\|\s*$|^!\["
    # An agency's notes to editors ("ATTENTION EDITORS - THIS IMAGE WAS PROVIDED BY A THIRD
    # PARTY"), and a picture told by where it was seen from ("Gas leak as seen on 27 September").
    r"|\bATTENTION EDITORS\b|\bTHIS IMAGE WAS PROVIDED\b|\bas seen (?:on|from)\b",
    re.IGNORECASE,
)
# Site chrome that is junk wherever it stands.
JUNK_LINE_RE = re.compile(
    r"^(?:[-\u2013\u2014\s]*advertisement[-\u2013\u2014\s]*|share this(?: post| article| story)?|no menu items!?"
    r"|back to top|most (?:popular|read|commented|viewed|shared|emailed)|latest(?: news)?|top stories"
    r"|related(?: posts| articles| stories| news| content)?|subscribe(?: now)?|sign up.*|newsletter.*"
    r"|comments?(?: -.*)?|please .*comment.*|.*\bcomments? can be posted\b.*|read more.*|click here.*"
    r"|follow us.*|payment options|support [A-Z].*|\[%%.*%%\]|!\[\]\(.*|.*all rights reserved\.?"
    r"|\(END\)|tags?:.*|print|email|facebook|twitter|whatsapp|linkedin|log ?in|menu|search|home)$",
    re.IGNORECASE,
)
# Lines that close an article: whatever follows them is the site's, not the story's.
END_MARKER_RE = re.compile(
    r"^(?:\(END\)|\((?:Reporting|Writing|Additional reporting) by .*|Reporting by .*;.*editing by.*|Related (?:Posts|Articles|Stories|News).*"
    r"|Comments?(?: -.*)?|Most (?:Popular|Read|Commented|Viewed)|MOST POPULAR|LATEST NEWS|About the authors?|Continue reading.*"
    r"|Read more at .*|(?:\(C\)|\u00a9|Copyright).*|Payment options|Please .*comment.*)$",
    re.IGNORECASE,
)
# Page furniture that carries provenance but is not story text, wherever it stands: bylines,
# publication stamps, reading times, credit and source lines, a lone newsroom name.
META_LINE_RE = re.compile(
    r"^(?:By[.:]?\s+\S.{0,100}|(?:Published|Posted|Updated|Last updated|First published|Modified)\b.{0,100}"
    r"|.{0,60}\b\d{1,2}:\d{2}\s*(?:[AP]\.?M\.?)?\s*(?:[A-Z]{2,4})?(?:\s*\|.*)?|[\u00b7\u2022]?\s*\d+\s+min(?:ute)?s?\s+read"
    r"|(?:Source|Sources|Via|Credit|Courtesy of)\s*[:\-]?\s+.{2,60}|via\s+\S+"
    r"|.{0,80}\b(?:was first published|auto-generated from|originally published (?:on|by|in|at)|Read it at)\b.{0,80}"
    r"|\(?(?:This|The) (?:story|article|report) (?:has not been edited|was written)\b.{0,120})$",
    re.IGNORECASE,
)
# Running prose ends with a full stop (closing quotes allowed after it); headlines end bare, in a
# quote or in a question mark: 'Kremlin says US claims are "absolutely unfounded"'.
_SENTENCE_END_RE = re.compile(r"[.!\u2026][\"'\u201d\u2019)\]]*$")
_ANY_SENTENCE_END_RE = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*$")
_ZERO_WIDTH_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def normalise(text: str) -> str:
    """NFKC (which turns NBSP and other compatibility spaces into plain spaces), no zero-width
    characters, unified line ends, no runs of spaces. Offsets are taken after this step."""
    text = unicodedata.normalize("NFKC", text)
    text = _ZERO_WIDTH_RE.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n"))


def _word_count(line: str) -> int:
    return len(re.findall(r"[A-Za-z\u00c0-\u024f]{2,}", line))


def is_prose(line: str) -> bool:
    """A paragraph of running text: enough words and a sentence ending."""
    core = TRAILING_CREDIT_RE.sub("", line) if _credit_name(line) else line
    return _word_count(core) >= 8 and bool(_SENTENCE_END_RE.search(core.strip()))


def is_caption(line: str) -> bool:
    return bool(CAPTION_RE.search(line))


def is_junk(line: str) -> bool:
    # Chrome is short; a long sentence that happens to start "Support for ..." is story text.
    return bool(JUNK_LINE_RE.match(line.strip())) and (_word_count(line) <= 6 or not is_prose(line))


def is_end_marker(line: str) -> bool:
    # "© Reuters. FILE PHOTO: ..." credits a picture; it does not close the story.
    return bool(END_MARKER_RE.match(line)) and not is_prose(line) and not provenance.is_picture_line(line)


def is_meta(line: str) -> bool:
    return bool(META_LINE_RE.match(line)) and not is_prose(line) or bool(provenance.known_outlet(line.strip(" |-:\u00b7")))


def _credit_name(line: str) -> str | None:
    """The outlet credited in a trailing "(Yonhap)" at the end of a paragraph, if it is one."""
    m = TRAILING_CREDIT_RE.search(line)
    if m:
        return known_outlet(m.group("name"))
    return None


def _bare_credit(line: str) -> re.Match | None:
    """"... on Wednesday. REUTERS": an agency's name in capitals after the last sentence."""
    m = re.search(r"(?<=[.!\"\u201d])\s*(?:--|-|\u2013|\u2014)?\s*(?P<name>[A-Z]{2,}(?:\s+[A-Z]{2,})?)\s*$", line)
    return m if m and known_outlet(m.group("name")) else None


# ---------------------------------------------------------------------------
# Cleaning a page
# ---------------------------------------------------------------------------


@dataclass
class CleanPage:
    text: str
    title: str | None = None
    byline: str | None = None
    published: str | None = None
    origin: str | None = None
    outlet: str | None = None
    dateline_end: int = 0  # offset in `text` after the dateline of the first paragraph


def _iso_date(year: int | None, month: int, day: int) -> str | None:
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        return None
    return f"{year:04d}-{month:02d}-{day:02d}" if year else None


def _page_year(text: str) -> int | None:
    years = Counter()
    for m in FULL_DATE_RE.finditer(text):
        years[int(m.group("y1") or m.group("y2"))] += 1
    return years.most_common(1)[0][0] if years else None


def clean_page(raw: str, *, has_header: bool = True, outlet: str | None = None) -> CleanPage:
    """Strip site junk from a plain-text page and read its provenance.

    `has_header`: the text may open with headline, byline and captions before the story (a saved
    web page); corpus rows whose body is already the story pass False, and a headline-like line
    among them stays as story text (headlines assert things too). `outlet`: the publisher when
    the input names it, so that a credit naming the publisher itself is not taken for a wire.
    """
    text = normalise(raw)
    lines = [line for line in text.split("\n") if line]

    # 1. Where the story starts: the first paragraph of running prose that is not a caption.
    start = 0
    if has_header:
        start = next(
            (i for i, line in enumerate(lines)
             if is_prose(line) and not is_caption(line) and not is_junk(line) and not is_meta(line)),
            len(lines),
        )
    header, rest = lines[:start], lines[start:]

    # 2. Where it ends: the first closing line (wire credits, "(END)", comment boxes, "MOST
    #    POPULAR", an author bio...). Everything after belongs to the site.
    end = next((i for i, line in enumerate(rest) if i > 0 and is_end_marker(line)), len(rest))
    body, footer = rest[:end], rest[end:]

    page = CleanPage(text="")
    chrome: list[str] = []  # lines removed as site furniture, where the publisher names itself

    # Header: title, byline; captions and labels are dropped.
    titles = []
    for line in header:
        if m := BYLINE_RE.match(line):
            page.byline = m.group("names").strip()
        elif is_caption(line) or is_meta(line):
            continue
        elif is_junk(line):
            chrome.append(line)
        elif 3 <= _word_count(line) <= 30 and not line.endswith("."):
            titles.append(line)
        else:
            chrome.append(line)
    if titles:
        # Section labels ("US official-N Korea", "North Korea") are short; the headline is the
        # longest headline-like line.
        page.title = max(titles, key=_word_count)

    # Footer: credits and bylines; the rest is the site's.
    for line in footer:
        if m := WIRE_CREDITS_RE.match(line):
            page.byline = page.byline or re.sub(r"\s+", " ", m.group("names")).strip()
        elif m := BYLINE_RE.match(line):
            page.byline = page.byline or m.group("names").strip()
        else:
            chrome.append(line)

    # Body: keep story text, headlines and captions that assert something included; drop junk,
    # provenance furniture, picture descriptions and short leftovers (tags, headings).
    kept: list[str] = []
    kept_at: list[int] = []  # index in `lines` of each kept paragraph
    for at, line in enumerate(body, start=start):
        ends_sentence = bool(_ANY_SENTENCE_END_RE.search(line))
        if is_meta(line):
            if m := BYLINE_RE.match(line):
                page.byline = page.byline or m.group("names").strip()
            continue
        if is_junk(line) or (is_caption(line) and (not ends_sentence or provenance.is_picture_line(line))):
            chrome.append(line)
            continue
        if _word_count(line) < (8 if has_header else 6) and not ends_sentence:
            chrome.append(line)  # tags, headings, leftovers; "It was 11 miles deep." stays
            continue
        if _credit_name(line):
            # "... it added. (Yonhap)": the credit names the origin and is not story text.
            line = TRAILING_CREDIT_RE.sub("", line)
        kept.append(line)
        kept_at.append(at)
    # "... made homeless by the earthquake. AFP": a bare agency name after the last full stop
    # closes the story on its last paragraph; anywhere else it closes a picture's caption.
    credited = [i for i, line in enumerate(kept) if _bare_credit(line)]
    for i in reversed(credited):
        if i == len(kept) - 1:
            kept[i] = kept[i][:_bare_credit(kept[i]).start()].rstrip()
        else:
            chrome.append(kept.pop(i))
            kept_at.pop(i)
    page.text = "\n\n".join(kept)

    # Origin: the newsroom the page's own credits name (datelines, bylines, credit lines...).
    page.origin, _ = provenance.credited_origin(lines, kept_at[-1] if kept_at else -1, outlet)

    # Dateline of an opening paragraph: where the claim text starts, and the date when the page
    # gives its year.
    offset = 0
    for paragraph in kept[:3]:
        if m := DATELINE_RE.match(paragraph):
            page.dateline_end = offset + m.end()
            if m.group("month"):
                year = int(m.group("year")) if m.group("year") else _page_year(text)
                page.published = _iso_date(year, MONTHS[m.group("month").lower().rstrip(".")], int(m.group("day")))
            break
        if (m := provenance.DATELINE_RE.match(paragraph)) and provenance.outlets_named(m.group("credit")):
            page.dateline_end = offset + m.end()
            break
        offset += len(paragraph) + 2

    # Outlet: a copyright notice, else the news organisation the site furniture names most.
    names = Counter()
    for line in chrome:
        if m := COPYRIGHT_RE.search(line):
            if name := canonical_outlet(m.group("name")):
                names[name] += 3
        for m in outlet_table()["pattern"].finditer(line):
            names[canonical_outlet(m.group(1))] += 1
        if m := SELF_PROMO_RE.search(line):
            if name := known_outlet(m.group("name")):
                names[name] += 1
    if names:
        page.outlet = names.most_common(1)[0][0]
    return page


# ---------------------------------------------------------------------------
# Reading files
# ---------------------------------------------------------------------------


def _content_id(*parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:12]


def decode(data: bytes) -> str:
    """Bytes -> text, or InputError saying why the file is not usable text."""
    if not data.strip():
        raise InputError("empty file")
    if b"\x00" in data[:8192]:
        raise InputError("binary file, not text (it contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(
            f"not UTF-8 text (invalid byte 0x{data[err.start]:02x} at offset {err.start}); re-save it as UTF-8"
        ) from None


def _article_row(path: str, key: str, page: CleanPage, meta: dict) -> dict:
    if len(page.text.split()) < 5:
        raise InputError("no article text found after removing page furniture")
    outlet = canonical_outlet(meta.get("outlet")) or page.outlet
    origin = canonical_outlet(meta.get("origin")) or page.origin or outlet
    return {
        "id": meta.get("id") or _content_id(key),
        "path": path,
        "url": meta.get("url"),
        "title": meta.get("title") or page.title,
        "outlet": outlet,
        "origin": origin,
        "published": meta.get("published") or page.published,
        "byline": meta.get("byline") or page.byline,
        "text": page.text,
        "dateline_end": page.dateline_end,
    }


def parse_text(path: str, text: str) -> dict:
    check_size(len(text.encode("utf-8")))
    return _article_row(path, text, clean_page(text), {})


class _PageText(HTMLParser):
    """The visible text of an HTML page, one block element a line, and its <title> and <meta>
    values. html.parser reads tags as a flat stream of events and keeps no tree, so a page nested
    20,000 <div>s deep, or never closing its tags, costs what a flat one does."""

    BLOCKS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "article", "section",
              "main", "header", "footer", "nav", "aside", "blockquote", "pre", "tr", "td", "th", "table",
              "figure", "figcaption", "dd", "dt", "hr", "address", "body"}
    # Never text for a reader: code, styles, templates, drawings, form controls.
    HIDDEN = {"script", "style", "noscript", "template", "svg", "math", "select", "button", "textarea",
              "iframe", "object", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self.meta: dict[str, str] = {}
        self.hidden = 0
        self.in_title = False

    def handle_starttag(self, tag, attrs):
        if tag == "meta":
            values = {k: v for k, v in attrs if v}
            key = (values.get("name") or values.get("property") or "").lower()
            if key and "content" in values:
                self.meta.setdefault(key, values["content"])
        elif tag in self.HIDDEN:
            self.hidden += 1
            self.in_title = self.in_title or tag == "title"
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_startendtag(self, tag, attrs):
        # <br/>, <meta .../>, <div/>: a void element opens nothing that must be closed.
        if tag == "meta" or tag in self.BLOCKS:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self.hidden:
            self.hidden -= 1
            self.in_title = self.in_title and tag != "title"
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if self.in_title:
            self.title.append(data)
        elif not self.hidden:
            # A line break in the source is a space on the page; lines are made by block elements.
            self.parts.append(data.replace("\r", " ").replace("\n", " "))


def html_text(html: str) -> tuple[str, dict]:
    """Fallback extraction: (the page's visible text, one block a line; {"title", "byline",
    "published", "url", "outlet"} from <title> and <meta> tags)."""
    reader = _PageText()
    reader.feed(html)
    reader.close()
    meta = reader.meta
    title = " ".join("".join(reader.title).split()) or meta.get("og:title")
    return "".join(reader.parts), {
        "title": title or None,
        "byline": meta.get("author") or meta.get("article:author"),
        "published": (meta.get("article:published_time") or "")[:10] or None,
        "url": meta.get("og:url"),
        "outlet": meta.get("og:site_name"),
    }


def parse_html(path: str, html: str) -> dict:
    """Boilerplate removal by trafilatura, then the same provenance reading as plain text.

    When trafilatura finds nothing (lxml stops building the tree a few thousand elements deep, so
    an article inside 20,000 nested <div>s is lost to it), the page's visible text is read with
    the standard library's flat HTML tokenizer and cleaned like a saved .txt page."""
    import trafilatura

    doc = trafilatura.bare_extraction(
        html, include_comments=False, include_tables=False, favor_precision=True, with_metadata=True,
        # Only dates the page states (meta tags, time elements), not a year guessed from "Copyright 2024".
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    if doc is not None and (getattr(doc, "text", None) or "").strip():
        check_size(len(doc.text.encode("utf-8")), what="article text")
        page = clean_page(doc.text, has_header=False)
        meta = {
            "title": doc.title,
            "byline": doc.author,
            "published": doc.date,
            "url": doc.url,
            "outlet": doc.sitename,
        }
        return _article_row(path, html, page, meta)
    text, meta = html_text(html)
    if not text.strip():
        raise InputError("no article text found in the HTML (no visible text outside scripts and styles)")
    check_size(len(text.encode("utf-8")), what="visible text")
    try:
        return _article_row(path, html, clean_page(text), meta)
    except InputError:
        raise InputError("no article text found in the HTML (its visible text is all page furniture)") from None


def parse_corpus_row(path: str, row: dict, line_no: int) -> dict:
    body = row.get("text") or row.get("body")
    if not isinstance(body, str) or not body.strip():
        raise InputError(f"line {line_no}: no 'text' or 'body'")
    try:
        check_size(len(body.encode("utf-8")))
    except InputError as err:
        raise InputError(f"line {line_no}: {err}") from None
    meta = {k: (str(row[k]) if row.get(k) not in (None, "") else None)
            for k in ("id", "title", "outlet", "origin", "url", "published", "byline")}
    page = clean_page(body, has_header=False, outlet=canonical_outlet(meta.get("outlet")))
    row_path = f"{path}#{meta['id'] or line_no}"
    meta["id"] = _content_id(path, meta["id"]) if meta["id"] else None
    try:
        return _article_row(row_path, body, page, meta)
    except InputError as err:
        raise InputError(f"line {line_no}: {err}") from None


_LONE_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _corpus_rows(path: Path, text: str):
    if path.suffix.lower() == ".jsonl":
        # Lines end at "\n" only: str.splitlines() would also cut at U+2028, U+0085 and other
        # characters a JSON string may hold raw, breaking a valid row in two.
        for line_no, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                yield line_no, InputError(f"line {line_no}: not JSON ({err.msg})")
                continue
            except RecursionError:
                yield line_no, InputError(f"line {line_no}: not usable JSON (nested too deeply)")
                continue
            except ValueError as err:  # an integer of more than 4,300 digits
                yield line_no, InputError(f"line {line_no}: not usable JSON ({str(err).split(':')[0]})")
                continue
            if not isinstance(row, dict):
                yield line_no, InputError(f"line {line_no}: not a JSON object")
                continue
            # "\ud800" is valid JSON but no character: a lone surrogate cannot be stored or hashed.
            yield line_no, {k: _LONE_SURROGATE_RE.sub("\ufffd", v) if isinstance(v, str) else v for k, v in row.items()}
    else:
        csv.field_size_limit(1 << 30)
        # newline="": line ends inside quoted fields are the csv module's to read, as it asks.
        reader = csv.DictReader(io.StringIO(text, newline=""))
        try:
            fields = {f.strip().lower() for f in reader.fieldnames or []}
            if not fields & {"text", "body"}:
                raise InputError("CSV has no 'text' or 'body' column")
            for line_no, row in enumerate(reader, start=2):
                yield line_no, {(k or "").strip().lower(): v for k, v in row.items()}
        except csv.Error as err:
            # What follows a malformed line cannot be trusted to line up with the header.
            yield reader.line_num, InputError(f"line {reader.line_num}: not valid CSV ({err}); rows after it are not read")


# Rows of a corpus file from which they are cleaned in worker processes (workers.local_map).
CORPUS_PROCESSES_FROM = 300


def _parsed_row(item: tuple) -> tuple[str, dict | str]:
    """("article", the row's article) or ("problem", what is wrong with it) of one corpus row."""
    path, row, line_no = item
    try:
        if isinstance(row, Exception):
            raise row
        return "article", parse_corpus_row(path, row, line_no)
    except InputError as err:
        return "problem", str(err)


def read_file(path: Path) -> tuple[list[dict], list[Problem]]:
    """Articles of one file; problems name the file (and row for corpora)."""
    suffix = path.suffix.lower()
    try:
        # Refused before it is read: a 35 MB .txt costs a stat, not minutes of segmenting.
        if suffix in TEXT_SUFFIXES:
            check_size(path.stat().st_size)
        elif suffix in HTML_SUFFIXES:
            check_size(path.stat().st_size, MAX_HTML_BYTES, "page")
        text = decode(path.read_bytes())
        if suffix in TEXT_SUFFIXES:
            return [parse_text(str(path), text)], []
        if suffix in HTML_SUFFIXES:
            return [parse_html(str(path), text)], []
        if suffix in CORPUS_SUFFIXES:
            from verify import workers

            articles, problems = [], []
            rows = [(str(path), row, line_no) for line_no, row in _corpus_rows(path, text)]
            # A big corpus's rows are cleaned on all cores: a row's article is a function of the row.
            for kind, value in workers.local_map(_parsed_row, rows, CORPUS_PROCESSES_FROM):
                if kind == "article":
                    articles.append(value)
                else:
                    problems.append(Problem(str(path), value))
            if not articles and not problems:
                problems.append(Problem(str(path), "no rows"))
            return articles, problems
        raise InputError(f"unsupported file type '{suffix or path.name}' (use .txt, .html, .jsonl or .csv)")
    except InputError as err:
        return [], [Problem(str(path), str(err))]
    except OSError as err:
        return [], [Problem(str(path), f"cannot read ({err.strerror or err})")]


def iter_input_files(paths: list[Path]) -> tuple[list[Path], list[Problem]]:
    """Expand folders (sorted, hidden files skipped); name missing paths and empty folders."""
    files, problems = [], []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*")
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
                and p.suffix.lower() in SUPPORTED_SUFFIXES
            )
            if not found:
                problems.append(Problem(str(path), "folder holds no articles (.txt, .html, .jsonl or .csv)"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            problems.append(Problem(str(path), "no such file or folder"))
    return files, problems


def read_articles(paths: list[Path | str], read=None) -> tuple[list[dict], list[Problem]]:
    """All articles under `paths`, de-duplicated by id, and the problems met on the way.
    `read(path)`: what reads one file (default `read_file`; a build passes one that reads its cache)."""
    files, problems = iter_input_files([Path(p) for p in paths])
    articles: dict[str, dict] = {}
    for path in files:
        found, file_problems = (read or read_file)(path)
        problems.extend(file_problems)
        for article in found:
            articles.setdefault(article["id"], article)
    return list(articles.values()), problems
