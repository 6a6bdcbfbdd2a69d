"""Report: the database -> self-contained HTML (Jinja2, autoescaped, no network).

Up to SINGLE_FILE_CLAIMS claims the report is one file, index.html. A bigger corpus gets an
index.html that opens at once (counts, sources per claim, the first conflict cards, the error rate,
the sources table and a list of pages) and pages beside it in `pages-<random>/`: cluster cards,
articles and the remaining conflicts, a few MB at most each, linked to by page and anchor.
Everything a reader needs is in the HTML itself; the one inline script only adds filters and
search (on each page, for that page). A Content-Security-Policy in every page forbids any fetch
and any script but that one (pinned by its hash), so even text that slipped past escaping could
not run or call out.
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import fcntl
import hashlib
import os
import posixpath
import re
import secrets
import shutil
import tempfile
from functools import lru_cache
from collections import Counter, defaultdict
from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from verify import cluster as cluster_stage
from verify import stats as review_stats
from verify import provenance, segment, store
from verify.provenance import canonical_outlet

STATUS_ORDER = (cluster_stage.CONFLICTING, cluster_stage.CORROBORATED, cluster_stage.SINGLE_SOURCE)
MATRIX_ROWS = 200  # the source view lists at most this many clusters, most widely carried first
CHIPS_SHOWN = 12   # origins shown on a source row before "+N more" (one click shows the rest)
INDEX = "index.html"
# A bigger report is an index page plus pages (see render_pages); sizes chosen by
# benchmarks/report_load.py --pages: each page a few MB at most, the index painting in well under 1 s.
SINGLE_FILE_CLAIMS = 5000  # up to this many claims everything stays in one index.html
CLUSTERS_PER_PAGE = 500
ARTICLES_PER_PAGE = 100
CONFLICTS_ON_INDEX = 500   # conflict cards on index.html; the rest on conflicts-NNN.html
PAGE_BUDGET = 2_000_000    # about this many characters of corpus text on one page at most
SOURCES_ON_INDEX = 3000    # rows of the sources table on a paged index (the articles with most claims)
ORIGINS_ON_INDEX = 2000    # origins in the index's filter and per-origin counts (those with most claims)


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("verify", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def marked(text: str, cues: list[str] | None) -> list[tuple[str, bool]]:
    """`text` cut into (piece, is_cue) so the template can wrap cue words in <mark> while every
    piece stays autoescaped."""
    words = [c for c in (cues or []) if c and c.strip()]
    if not words:
        return [(text, False)]
    pattern = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.IGNORECASE)
    pieces, last = [], 0
    for m in pattern.finditer(text):
        if m.start() > last:
            pieces.append((text[last:m.start()], False))
        pieces.append((m.group(0), True))
        last = m.end()
    pieces.append((text[last:], False))
    return [p for p in pieces if p[0]]


def article_pieces(text: str, claims: list[dict]) -> list[tuple[str, dict | None]]:
    """The cleaned text cut at claim offsets: (piece, claim or None)."""
    pieces, last = [], 0
    for c in sorted(claims, key=lambda c: c["start"]):
        if c["start"] < last:
            continue
        if c["start"] > last:
            pieces.append((text[last:c["start"]], None))
        pieces.append((text[c["start"]:c["end"]], c))
        last = c["end"]
    pieces.append((text[last:], None))
    return [p for p in pieces if p[0]]


@lru_cache(maxsize=256)
def _sentences(text: str) -> tuple[tuple[int, int], ...]:
    return tuple(segment.split_sentences(text))


def sentence_context(text: str, start: int, end: int) -> tuple[str, str]:
    """The sentence before and the one after [start, end) in the same paragraph (only that
    paragraph is split into sentences: a conflict's context costs its paragraph, not its article)."""
    p0 = text.rfind("\n\n", 0, start)
    p0 = 0 if p0 < 0 else p0 + 2
    p1 = text.find("\n\n", end)
    p1 = len(text) if p1 < 0 else p1
    spans = [(s + p0, e + p0) for s, e in _sentences(text[p0:p1])]
    # Spans are in order and do not overlap: the sentence before is the last one ending by
    # `start`, the one after the first starting from `end` (found by bisection: a paragraph of
    # thousands of sentences, each tested against the text between, took seconds), each kept
    # when no paragraph break lies between.
    i = bisect.bisect_right([e for _, e in spans], start) - 1
    j = bisect.bisect_left([s for s, _ in spans], end)
    before = spans[i] if i >= 0 and "\n\n" not in text[spans[i][1]:start] else None
    after = spans[j] if j < len(spans) and "\n\n" not in text[end:spans[j][0]] else None
    return (text[slice(*before)] if before else "", text[slice(*after)] if after else "")


def origin_chips(by_origin, article_by_id: dict, wires: set[str]) -> list[dict]:
    """One chip per independent origin of a cluster: the origin, the outlets that ran its copy
    (folded under it) and how many articles carry the claim. Wires come first: they are what a
    reader checks first, and their reprints are the outlets a 30-outlet story is full of."""
    chips = []
    for origin, members in by_origin:
        arts = {c["article_id"] for c in members}
        outlets = sorted({article_by_id[a]["outlet"] or "unnamed site" for a in arts})
        reprinted_by = [o for o in outlets if canonical_outlet(o) != canonical_outlet(origin)]
        chips.append({"origin": origin, "reprinted_by": reprinted_by, "n_articles": len(arts),
                      "wire": canonical_outlet(origin) in wires})
    return sorted(chips, key=lambda c: (not c["wire"], -c["n_articles"], c["origin"].lower()))


def report_context(db) -> dict:
    articles = store.articles(db)
    texts = {r["id"]: r for r in db.query("select id, text, published from articles")}
    claims = store.claims(db)
    clusters = store.clusters(db)
    conflicts = store.conflicts(db)
    timelines = store.timelines(db)
    by_cluster, by_article = defaultdict(list), defaultdict(list)
    for c in claims:
        by_cluster[c["cluster_id"]].append(c)
        by_article[c["article_id"]].append(c)

    # Who carries what: origins as columns (their outlets grouped under them), clusters as rows.
    origin_of = lambda a: a["origin"] or f"unattributed ({Path(a['path']).name})"
    outlets_by_origin: dict[str, set[str]] = defaultdict(set)
    for a in articles:
        outlets_by_origin[origin_of(a)].add(a["outlet"] or "unnamed site")
    article_by_id = {a["id"]: a for a in articles}
    claims_per_origin = Counter(origin_of(article_by_id[c["article_id"]]) for c in claims)
    origins = sorted(outlets_by_origin, key=lambda o: (-claims_per_origin[o], o))

    conflicts_by_cluster = defaultdict(list)
    for x in conflicts:
        a, b = x["claims"]
        for side, mine, other in (("a", a, b), ("b", b, a)):
            if mine and other:
                conflicts_by_cluster[mine["cluster_id"]].append({**x, "other": other})
        x["sides"] = []
        for side, c in (("a", a), ("b", b)):
            if c is None:
                continue
            before, after = sentence_context(texts[c["article_id"]]["text"], c["start"], c["end"])
            x["sides"].append({**c, "pieces": marked(c["text"], x["cues"].get(side)), "before": before, "after": after,
                               "origin_name": origin_of(article_by_id[c["article_id"]])})

    grouped = {status: [] for status in STATUS_ORDER}
    for k in clusters:
        members = by_cluster[k["id"]]
        by_origin = defaultdict(list)
        for c in members:
            by_origin[origin_of(article_by_id[c["article_id"]])].append(c)
        k["by_origin"] = sorted(by_origin.items())
        k["origin_names"] = sorted(by_origin)
        dated = [(texts[c["article_id"]]["published"], c) for c in members if texts[c["article_id"]]["published"]]
        k["first"] = min(dated, key=lambda d: d[0]) if dated else None
        k["conflicts"] = conflicts_by_cluster.get(k["id"], [])
        k["kinds"] = sorted({x["kind"] for x in k["conflicts"]})
        k["carriers"] = {o: len({c["article_id"] for c in cs}) for o, cs in by_origin.items()}
        k["timeline"] = timelines.get(k["id"], [])
        grouped.setdefault(k["status"], []).append(k)

    matrix = sorted((k for k in clusters if k["n_articles"] > 1 or k["status"] == cluster_stage.CONFLICTING),
                    key=lambda k: (-len(k["carriers"]), -k["size"], k["id"]))
    wires = provenance.outlet_table()["wires"]
    for k in matrix:
        k["chips"] = origin_chips(k["by_origin"], article_by_id, wires)
        k["first_date"] = k["first"][0] if k["first"] else ""
        k["order"] = len(k["chips"])
    single_origin = {o: 0 for o in origins}
    for k in clusters:
        if len(k["carriers"]) == 1:
            single_origin[next(iter(k["carriers"]))] += 1

    for a in articles:
        a["pieces"] = article_pieces(texts[a["id"]]["text"], by_article[a["id"]])
        a["origin_name"] = origin_of(a)

    return {
        "articles": articles,
        "grouped": grouped,
        "counts": {status: len(grouped.get(status, [])) for status in STATUS_ORDER},
        "n_claims": len(claims),
        "conflicts": conflicts,
        "kinds": sorted({x["kind"] for x in conflicts}),
        "origins": origins,
        "outlets_by_origin": {o: sorted(v) for o, v in outlets_by_origin.items()},
        "matrix": matrix[:MATRIX_ROWS],
        "matrix_total": len(matrix),
        "chips_shown": CHIPS_SHOWN,
        "single_origin": single_origin,
        "build": store.last_build(db),
        "copied_outlet": {a["id"]: a["outlet"] or "an unnamed site" for a in articles},
        "stats": review_stats.error_rate(db),
        "to_review": sum(1 for x in conflicts if x["review"] == "pending"),
    }


def _script(name: str = "report.js") -> str:
    return resources.files("verify").joinpath(f"templates/{name}").read_text("utf-8")


def script_hash(script: str) -> str:
    """The CSP source that allows exactly this inline script."""
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()


def page_script(live: bool = False) -> str:
    """The page's one inline script: filters, and on the live page the review controls."""
    return _script() + ("\n" + _script("serve.js") if live else "")


def render(db, live: dict | None = None) -> str:
    """The report page. `live` ({"csrf_token": ...}) is set by `verify serve`: the page then gets
    the review controls and their script, and may call back to the server that served it.
    Everything is on this one page (the live page and small reports)."""
    script = page_script(bool(live))
    context = report_context(db)
    return _environment().get_template("report.html").render(
        script=script, script_hash=script_hash(script), live=live, at=Links(), pages=None,
        conflicts_here=context["conflicts"], sources_rows=context["articles"], **context)


class Links:
    """Where each cluster, article, claim and conflict is, as a link from the page `here`.

    `place` maps ("cluster" | "article" | "conflict", id) to the file (relative to the report's
    folder) that holds it; what is not in it is on the page itself (a one-page report)."""

    def __init__(self, place: dict | None = None, here: str = INDEX):
        self.place, self.here = place or {}, here

    def to(self, target: str, anchor: str = "") -> str:
        if target == self.here:
            return f"#{anchor}" if anchor else "#main"
        href = posixpath.relpath(target, posixpath.dirname(self.here) or ".")
        return f"{href}#{anchor}" if anchor else href

    def _at(self, kind: str, key: str, anchor: str) -> str:
        return self.to(self.place.get((kind, key), self.here), anchor)

    def cluster(self, cluster_id: str) -> str:
        return self._at("cluster", cluster_id, f"cluster-{cluster_id}")

    def article(self, article_id: str) -> str:
        return self._at("article", article_id, f"article-{article_id}")

    def claim(self, claim: dict) -> str:
        return self._at("article", claim["article_id"], f"claim-{claim['id']}")

    def conflict(self, conflict_id: str) -> str:
        return self._at("conflict", conflict_id, f"conflict-{conflict_id}")


def _chunks(items: list, size: int, budget: int, weight) -> list[list]:
    """`items` cut into pages of at most `size` items and about `budget` characters of text each
    (an item bigger than the budget gets a page of its own): a page's file stays a few MB
    however long the articles are."""
    pages, page, used = [], [], 0
    for item in items:
        w = weight(item)
        if page and (len(page) >= size or used + w > budget):
            pages.append(page)
            page, used = [], 0
        page.append(item)
        used += w
    if page:
        pages.append(page)
    return pages


def _cluster_weight(k: dict) -> int:
    return len(k["label"]) + sum(len(c["text"]) + 80 for _, members in k["by_origin"] for c in members) \
        + sum(len(x["other"]["text"]) for x in k["conflicts"]) + 400


def _article_weight(a: dict) -> int:
    return sum(len(piece) + (120 if c else 0) for piece, c in a["pieces"]) + 400


def _conflict_weight(x: dict) -> int:
    return sum(len(s["text"]) + len(s["before"]) + len(s["after"]) + 300 for s in x["sides"]) + 600


def render_pages(db, cluster_page_size: int = CLUSTERS_PER_PAGE, article_page_size: int = ARTICLES_PER_PAGE,
                 conflicts_on_index: int = CONFLICTS_ON_INDEX, page_budget: int = PAGE_BUDGET,
                 single_file_claims: int = SINGLE_FILE_CLAIMS, folder: str = "") -> dict[str, str]:
    """The static report as files: {relative path: html}. A corpus of at most `single_file_claims`
    claims is one page, index.html, with everything on it. A bigger one gets an index.html with
    the header, the source rows, the first `conflicts_on_index` conflict cards, the error rate,
    the sources table and the list of pages; the cluster cards, the articles and the remaining
    conflicts go to pages of their own under `folder`: clusters-001.html ... with at most
    `cluster_page_size` clusters, articles-001.html ... with at most `article_page_size`
    articles, conflicts-001.html ..., each also capped at about `page_budget` characters of text."""
    script = page_script()
    env = _environment()
    common = {"script": script, "script_hash": script_hash(script), "live": None}
    context = report_context(db)
    if context["n_claims"] <= single_file_claims:
        html = env.get_template("report.html").render(at=Links(), pages=None, conflicts_here=context["conflicts"],
                                                      sources_rows=context["articles"], **common, **context)
        return {INDEX: html}

    clusters = [k for status in context["grouped"] for k in context["grouped"][status]]
    conflicts = context["conflicts"]
    books = {  # kind -> (heading, its pages)
        "clusters": ("Clusters", _chunks(clusters, cluster_page_size, page_budget, _cluster_weight)),
        "articles": ("Articles", _chunks(context["articles"], article_page_size, page_budget, _article_weight)),
        "conflicts": ("Flagged conflicts", _chunks(conflicts[conflicts_on_index:], cluster_page_size, page_budget,
                                                   _conflict_weight)),
    }
    place: dict[tuple[str, str], str] = {("conflict", x["id"]): INDEX for x in conflicts[:conflicts_on_index]}
    files: dict[str, list[str]] = {}
    for kind, (_, pages) in books.items():
        files[kind] = [posixpath.join(folder, f"{kind}-{i:03d}.html") for i in range(1, len(pages) + 1)]
        for name, items in zip(files[kind], pages):
            for item in items:
                place[(kind[:-1], item["id"])] = name

    def describe(kind: str, items: list) -> str:
        if kind == "clusters":
            n = Counter(k["status"] for k in items)
            return ", ".join(f"{n[s]} {s}" for s in STATUS_ORDER if n[s])
        if kind == "articles":
            return f"{items[0]['title'] or items[0]['path']} … {items[-1]['title'] or items[-1]['path']}"[:200]
        return f"{len(items)} conflicts"

    def listing(kind: str, here: str) -> list[dict]:
        at = Links(place, here)
        return [{"href": at.to(name), "title": f"{books[kind][0]}, page {i}", "current": name == here,
                 "summary": f"{len(items)} {kind}: {describe(kind, items)}" if kind != "conflicts" else describe(kind, items)}
                for i, (name, items) in enumerate(zip(files[kind], books[kind][1]), start=1)]

    # What grows with the corpus is capped on the index, so that it stays a couple of MB at any
    # size: the sources table (every article is on its page anyway) and the origins listed.
    position = {a["id"]: i for i, a in enumerate(context["articles"])}
    sources_rows = sorted(context["articles"], key=lambda a: (-a["n_claims"], position[a["id"]]))[:SOURCES_ON_INDEX]
    sources_rows.sort(key=lambda a: position[a["id"]])
    out = {INDEX: env.get_template("report.html").render(
        at=Links(place, INDEX), pages={kind: listing(kind, INDEX) for kind in books if files[kind]}, pages_folder=folder,
        conflicts_here=conflicts[:conflicts_on_index], sources_rows=sources_rows, **common,
        **{**context, "origins": context["origins"][:ORIGINS_ON_INDEX]})}
    template = env.get_template("page.html")
    for kind, (heading, pages) in books.items():
        for i, (name, items) in enumerate(zip(files[kind], pages)):
            at = Links(place, name)
            origins = sorted({o for item in items for o in _origins_of(kind, item)})
            page = {"kind": kind, "heading": heading, "title": f"page {i + 1}", "of": len(pages),
                    "summary": f"{len(items)} {kind}" + (f" ({describe(kind, items)})" if kind == "clusters" else ""),
                    "index": at.to(INDEX), "prev": at.to(files[kind][i - 1]) if i else None,
                    "next": at.to(files[kind][i + 1]) if i + 1 < len(pages) else None,
                    "siblings": listing(kind, name)}
            grouped = {}
            if kind == "clusters":
                for k in items:
                    grouped.setdefault(k["status"], []).append(k)
            out[name] = template.render(
                **common, at=at, page=page, grouped=grouped, articles=items if kind == "articles" else [],
                conflicts=items if kind == "conflicts" else [], open_articles=True, counts=context["counts"],
                origins=origins, kinds=context["kinds"], copied_outlet=context["copied_outlet"],
                n_articles=len(context["articles"]), n_claims=context["n_claims"])
    return out


def _origins_of(kind: str, item: dict) -> list[str]:
    if kind == "clusters":
        return item["origin_names"]
    if kind == "articles":
        return [item["origin_name"]]
    return [s["origin_name"] for s in item["sides"]]

def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the new one, never half.

    The new text goes to an unnamed file in the same folder (O_TMPFILE), which only gets a name
    once complete, and is then renamed over `path`: a writer killed while writing leaves no
    temporary file behind (the kernel frees an unnamed one). Where the filesystem has no
    O_TMPFILE, a named temporary file is used instead."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    try:
        fd = os.open(path.parent, os.O_TMPFILE | os.O_WRONLY, 0o644)
    except (AttributeError, OSError):
        fd = None
    unnamed = fd is not None
    if unnamed:
        tmp = str(path.parent / f".{path.name}.{os.getpid()}.tmp")
    else:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), 0o644)  # a report is for reading (mkstemp makes 0600)
            if unnamed:  # named only now, and renamed over `path` at once
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
                try:  # a dir fd makes CPython call linkat(AT_SYMLINK_FOLLOW), which names the open file
                    os.link(f"/proc/self/fd/{fh.fileno()}", os.path.basename(tmp), dst_dir_fd=folder)
                finally:
                    os.close(folder)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


PAGES_FOLDER = re.compile(r"(?:pages-[0-9a-f]{12}|\.pages-[0-9a-f]{12}\.tmp)")


def write_report(db_path: str | Path, out_path: str | Path, **page_options) -> Path:
    """Write the report to `out_path` (index.html) and, for a big corpus, its pages beside it.

    The pages of one report are one set, written and replaced as a whole, so that a reader never
    follows a link from an index into pages of another build and a killed writer leaves no
    partial report: they are written into a hidden folder `.pages-<random>.tmp`, which is renamed
    to `pages-<random>` (one atomic rename) once every page is in it; only then is index.html,
    the one file whose links name that folder, replaced atomically (write_atomic). A crash
    before that rename leaves the previous index and its folder untouched; after it, the new
    index and its complete folder. Folders of earlier reports (and a crashed writer's hidden
    folder) are removed afterwards. A lock on the report's folder keeps two writers (a build and
    `verify review`) from removing each other's pages. Keyword options go to render_pages."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    db = store.open_db(db_path)
    try:
        name = f"pages-{secrets.token_hex(6)}"
        files = render_pages(db, folder=name, **page_options)
    finally:
        db.conn.close()
    folder = os.open(out_path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        pages = {path: html for path, html in files.items() if path != INDEX}
        if pages:
            staging = out_path.parent / f".{name}.tmp"
            staging.mkdir(mode=0o755)
            for path, html in pages.items():
                (staging / posixpath.basename(path)).write_text(html, encoding="utf-8")
            os.chmod(staging, 0o755)
            os.replace(staging, out_path.parent / name)
        write_atomic(out_path, files[INDEX])
        for old in out_path.parent.iterdir():
            if PAGES_FOLDER.fullmatch(old.name) and old.name != name and old.is_dir() and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)
    finally:
        os.close(folder)  # releases the lock
    return out_path


def report_files(out_path: str | Path) -> list[Path]:
    """index.html and the pages it links to: the files of the report written at `out_path`."""
    out_path = Path(out_path)
    found = re.search(r'<meta name="verify-pages" content="(pages-[0-9a-f]{12})">',
                      out_path.read_text(encoding="utf-8")[:4000])
    pages = sorted((out_path.parent / found.group(1)).glob("*.html")) if found else []
    return [out_path, *pages]
