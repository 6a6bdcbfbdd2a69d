"""Report: the database -> one self-contained HTML file (Jinja2, autoescaped, no network).

Everything a reader needs is in the HTML itself; the one inline script only adds filters and
search. A Content-Security-Policy in the page forbids any fetch and any script but that one
(pinned by its hash), so even text that slipped past escaping could not run or call out.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
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
    """The sentence before and the one after [start, end) in the same paragraph."""
    spans = _sentences(text)
    before = [s for s in spans if s[1] <= start and "\n\n" not in text[s[1]:start]]
    after = [s for s in spans if s[0] >= end and "\n\n" not in text[end:s[0]]]
    return (text[slice(*before[-1])] if before else "", text[slice(*after[0])] if after else "")


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
    the review controls and their script, and may call back to the server that served it."""
    script = page_script(bool(live))
    return _environment().get_template("report.html").render(script=script, script_hash=script_hash(script),
                                                            live=live, **report_context(db))


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


def write_report(db_path: str | Path, out_path: str | Path) -> Path:
    db = store.open_db(db_path)
    try:
        html = render(db)
    finally:
        db.conn.close()
    out_path = Path(out_path)
    write_atomic(out_path, html)
    return out_path
