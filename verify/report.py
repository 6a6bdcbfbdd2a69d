"""Report: the database -> one self-contained HTML file (Jinja2, autoescaped, no network)."""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from verify import cluster as cluster_stage
from verify import store

STATUS_ORDER = (cluster_stage.CONFLICTING, cluster_stage.CORROBORATED, cluster_stage.SINGLE_SOURCE)


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("verify", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def report_context(db) -> dict:
    articles = store.articles(db)
    claims = store.claims(db)
    clusters = store.clusters(db)
    claims_by_cluster = defaultdict(list)
    claims_by_article = defaultdict(list)
    for c in claims:
        claims_by_cluster[c["cluster_id"]].append(c)
        claims_by_article[c["article_id"]].append(c)
    grouped = {status: [] for status in STATUS_ORDER}
    for k in clusters:
        k["claims"] = claims_by_cluster[k["id"]]
        grouped.setdefault(k["status"], []).append(k)
    counts = {status: len(grouped.get(status, [])) for status in STATUS_ORDER}
    conflicts = store.conflicts(db)
    conflicts_by_cluster = defaultdict(list)
    for x in conflicts:
        a, b = x["claims"]
        for mine, other in ((a, b), (b, a)):
            if mine and other:
                conflicts_by_cluster[mine["cluster_id"]].append({**x, "other": other})
    return {
        "articles": articles,
        "claims_by_article": claims_by_article,
        "grouped": grouped,
        "counts": counts,
        "n_claims": len(claims),
        "conflicts": conflicts,
        "conflicts_by_cluster": conflicts_by_cluster,
        "build": store.last_build(db),
    }


def render(db) -> str:
    return _environment().get_template("report.html").render(**report_context(db))


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is for reading
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
