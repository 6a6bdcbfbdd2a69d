"""Store: one SQLite database through sqlite-utils, schema changed only by numbered migrations.

Migrations are small functions applied in order when a database is opened, each recorded in
`_verify_migrations` (the pattern of simonw/llm's embeddings_migrations.py). The database opens
in Datasette as it is: plain tables, foreign keys, full-text search on claims.

A build replaces the corpus tables (articles, claims, clusters, conflicts) but keeps two things
that outlive any corpus: the embedding cache, keyed by (model, text hash), and reviews, keyed by
the content of the two claims of a conflict.

Writes are atomic at the file level: `atomic_database(path)` hands out a copy of the database in
the same folder, and only replaces the original when the whole build succeeded.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import stat
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import sqlite_utils

MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = []


def migration(fn: Callable[[sqlite_utils.Database], None]):
    MIGRATIONS.append(fn)
    return fn


@migration
def m001_initial(db: sqlite_utils.Database) -> None:
    db["articles"].create(
        {"id": str, "path": str, "url": str, "title": str, "outlet": str, "origin": str,
         "published": str, "byline": str, "text": str, "dateline_end": int},
        pk="id",
    )
    db["clusters"].create(
        {"id": str, "status": str, "size": int, "n_articles": int, "n_origins": int,
         "sources": str, "label": str},
        pk="id",
    )
    db["claims"].create(
        {"id": str, "article_id": str, "position": int, "text": str, "start": int, "end": int,
         "speaker": str, "verb": str, "cluster_id": str},
        pk="id",
        foreign_keys=[("article_id", "articles", "id"), ("cluster_id", "clusters", "id")],
    )
    db["claims"].create_index(["article_id"])
    db["claims"].create_index(["cluster_id"])
    db["claims"].enable_fts(["text", "speaker"], create_triggers=True)
    db["embeddings"].create(
        {"model": str, "content_hash": str, "embedding": bytes, "dims": int},
        pk=("model", "content_hash"),
    )
    db["conflicts"].create(
        {"id": str, "claim_a": str, "claim_b": str, "pair_key": str, "kind": str, "score": float,
         "explanation": str, "cues": str},
        pk="id",
        foreign_keys=[("claim_a", "claims", "id"), ("claim_b", "claims", "id")],
    )
    # Keyed by the content of the two claims, so a review outlives rebuilds and row ids.
    db["reviews"].create(
        {"pair_key": str, "decision": str, "note": str, "reviewed_at": str},
        pk="pair_key",
    )


@migration
def m002_builds(db: sqlite_utils.Database) -> None:
    db["builds"].create(
        {"id": int, "started_at": str, "seconds": float, "model": str, "paths": str,
         "n_articles": int, "n_claims": int, "n_clusters": int, "n_encoded": int},
        pk="id",
    )


class StoreError(Exception):
    """The database file cannot be used; the message names it."""


@migration
def m003_conflict_attribution(db: sqlite_utils.Database) -> None:
    # Who disagrees: "parties" (a party disputes another, whoever reports it) or "outlets"
    # (two outlets assert incompatible facts in their own voice).
    db["conflicts"].add_column("attribution", str)
    # A cluster's status without conflicts (corroborated | single-source), so that confirming or
    # dismissing a conflict can recompute `status` without a rebuild.
    db["clusters"].add_column("corroboration", str)
    db.execute("update clusters set corroboration = status where status != 'conflicting'")
    db["conflicts"].create_index(["pair_key"])


@migration
def m004_article_copy_of(db: sqlite_utils.Database) -> None:
    # An uncredited word-for-word copy of another article takes that article's origin; this
    # names the article it copies, so that the report can say why two outlets count as one.
    db["articles"].add_column("copy_of", str)


def open_db(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed) and bring the schema up to date."""
    conn = sqlite3.connect(str(path))
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        db = sqlite_utils.Database(conn)
        migrate(db)
    except sqlite3.DatabaseError as err:
        conn.close()
        raise StoreError(f"{path}: not a usable SQLite database ({err})") from None
    return db


def migrate(db: sqlite_utils.Database) -> None:
    table = db["_verify_migrations"]
    if not table.exists():
        table.create({"name": str, "applied_at": str}, pk="name")
    done = {row["name"] for row in table.rows}
    for fn in MIGRATIONS:
        if fn.__name__ not in done:
            with db.conn:
                fn(db)
                table.insert({"name": fn.__name__, "applied_at": _now()})


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@contextlib.contextmanager
def atomic_database(path: str | Path) -> Iterator[sqlite_utils.Database]:
    """A working copy of the database at `path`; it replaces `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    # mkstemp makes 0600; keep the mode of the database being replaced, else the usual 0644.
    os.chmod(tmp, stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644)
    try:
        work = sqlite3.connect(tmp)
        if path.exists():
            source = sqlite3.connect(str(path))
            try:
                source.backup(work)  # consistent copy, embeddings and reviews included
            except sqlite3.DatabaseError as err:
                raise StoreError(f"{path}: not a usable SQLite database ({err})") from None
            finally:
                source.close()
                work.close()
        else:
            work.close()
        db = open_db(tmp)
        yield db
        db.conn.commit()
        db.conn.close()
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# ---------------------------------------------------------------------------
# Writes
# ---------------------------------------------------------------------------


def load_embeddings(db: sqlite_utils.Database, model: str, hashes: list[str]) -> dict[str, np.ndarray]:
    """Cached vectors of `model` for those of `hashes` that have one."""
    found: dict[str, np.ndarray] = {}
    wanted = sorted(set(hashes))
    for i in range(0, len(wanted), 500):  # stay under SQLite's bound-parameter limit
        chunk = wanted[i : i + 500]
        sql = f"select content_hash, embedding from embeddings where model = ? and content_hash in ({','.join('?' * len(chunk))})"
        for row in db.query(sql, [model, *chunk]):
            found[row["content_hash"]] = np.frombuffer(row["embedding"], dtype=np.float32)
    return found


def save_embeddings(db: sqlite_utils.Database, model: str, vectors: dict[str, np.ndarray]) -> None:
    db["embeddings"].insert_all(
        ({"model": model, "content_hash": h, "embedding": v.astype(np.float32).tobytes(), "dims": int(v.shape[0])}
         for h, v in vectors.items()),
        replace=True,
        batch_size=1000,
    )


def replace_corpus(db: sqlite_utils.Database, articles: list[dict], claims: list[dict], clusters: list[dict],
                   conflicts: list[dict] | None = None) -> None:
    """Swap in a new corpus in one transaction. Embeddings and reviews stay."""
    article_cols = {"id", "path", "url", "title", "outlet", "origin", "published", "byline", "text", "dateline_end", "copy_of"}
    claim_cols = {"id", "article_id", "position", "text", "start", "end", "speaker", "verb", "cluster_id"}
    with db.conn:
        for table in ("conflicts", "claims", "clusters", "articles"):
            db.execute(f"delete from [{table}]")
        db["articles"].insert_all(({k: a.get(k) for k in article_cols} for a in articles), batch_size=500)
        db["clusters"].insert_all(
            ({**c, "sources": json.dumps(c["sources"]), "corroboration": c["status"]} for c in clusters), batch_size=1000
        )
        db["claims"].insert_all(({k: c.get(k) for k in claim_cols} for c in claims), batch_size=1000)
        if conflicts:
            db["conflicts"].insert_all(({**c, "cues": json.dumps(c.get("cues") or {})} for c in conflicts), batch_size=1000)
        refresh_statuses(db)


def refresh_statuses(db: sqlite_utils.Database) -> None:
    """A cluster is conflicting while a pending or confirmed conflict touches one of its claims."""
    db.execute(
        """
        update clusters set status = case when exists (
            select 1 from conflicts
            join claims on claims.id in (conflicts.claim_a, conflicts.claim_b)
            left join reviews on reviews.pair_key = conflicts.pair_key
            where claims.cluster_id = clusters.id and coalesce(reviews.decision, 'pending') != 'dismissed'
        ) then 'conflicting' else corroboration end
        """
    )


REVIEW_DECISIONS = ("confirmed", "dismissed")


def review(db: sqlite_utils.Database, conflict_id: str, decision: str, note: str | None = None) -> dict:
    """Record a reviewer's decision on a conflict (id or unique prefix). Stored by the content of
    the two claims, so it holds for the same pair in any later build."""
    if decision not in REVIEW_DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(REVIEW_DECISIONS)}")
    rows = list(db.query("select id, pair_key from conflicts where substr(id, 1, length(?)) = ? limit 3",
                         [conflict_id, conflict_id]))
    exact = [r for r in rows if r["id"] == conflict_id]
    if exact:
        rows = exact
    if not rows:
        raise LookupError(f"no conflict with id '{conflict_id}'")
    if len(rows) > 1:
        raise LookupError(f"'{conflict_id}' matches several conflicts: {', '.join(r['id'] for r in rows)}")
    with db.conn:
        db["reviews"].upsert({"pair_key": rows[0]["pair_key"], "decision": decision, "note": note,
                              "reviewed_at": _now()}, pk="pair_key")
        refresh_statuses(db)
    return next(c for c in conflicts(db) if c["id"] == rows[0]["id"])


def record_build(db: sqlite_utils.Database, **fields) -> None:
    db["builds"].insert({"started_at": _now(), **fields})


# ---------------------------------------------------------------------------
# Reads (what the CLI, the report and the export show)
# ---------------------------------------------------------------------------

CLAIM_VIEW = """
select claims.id, claims.article_id, claims.position, claims.text, claims.start, claims."end",
       claims.speaker, claims.verb, claims.cluster_id, clusters.status,
       articles.outlet, articles.origin, articles.title, articles.path, articles.published
from claims
join articles on articles.id = claims.article_id
left join clusters on clusters.id = claims.cluster_id
"""


def articles(db: sqlite_utils.Database) -> list[dict]:
    return list(db.query(
        "select articles.id, path, url, title, outlet, origin, copy_of, published, byline, "
        "(select count(*) from claims where claims.article_id = articles.id) as n_claims "
        "from articles order by path"
    ))


def claims(db: sqlite_utils.Database, article: str | None = None, status: str | None = None) -> list[dict]:
    where, params = [], []
    if article:
        where.append("substr(claims.article_id, 1, length(?)) = ?")  # a prefix, never a LIKE pattern
        params += [article, article]
    if status:
        where.append("clusters.status = ?")
        params.append(status)
    sql = CLAIM_VIEW + (" where " + " and ".join(where) if where else "") + " order by articles.path, claims.position"
    return list(db.query(sql, params))


def clusters(db: sqlite_utils.Database, status: str | None = None) -> list[dict]:
    sql = "select * from clusters" + (" where status = ?" if status else "") + " order by n_origins desc, size desc, id"
    rows = list(db.query(sql, [status] if status else []))
    members: dict[str, list[str]] = {}
    for row in db.query("select id, cluster_id from claims order by article_id, position"):
        members.setdefault(row["cluster_id"], []).append(row["id"])
    for row in rows:
        row["sources"] = json.loads(row["sources"] or "[]")
        row["claim_ids"] = members.get(row["id"], [])
    return rows


def cluster(db: sqlite_utils.Database, cluster_id: str) -> dict | None:
    rows = list(db.query("select * from clusters where id = ?", [cluster_id]))
    if not rows:
        return None
    row = rows[0]
    row["sources"] = json.loads(row["sources"] or "[]")
    row["claims"] = list(db.query(CLAIM_VIEW + " where claims.cluster_id = ? order by articles.origin, articles.path, claims.position", [cluster_id]))
    row["claim_ids"] = [c["id"] for c in row["claims"]]
    ids = set(row["claim_ids"])
    row["conflicts"] = [c for c in conflicts(db) if c["claim_a"] in ids or c["claim_b"] in ids]
    return row


def claim(db: sqlite_utils.Database, claim_id: str) -> dict | None:
    rows = list(db.query(CLAIM_VIEW + " where claims.id = ?", [claim_id]))
    return rows[0] if rows else None


def resolve_id(db: sqlite_utils.Database, prefix: str) -> tuple[str, str] | None:
    """('cluster'|'claim', full id) for an id or unique id prefix; None if unknown.

    Raises ValueError when the prefix matches more than one row.
    """
    hits = []
    for table in ("clusters", "claims"):
        for row in db.query(f"select id from {table} where substr(id, 1, length(?)) = ? limit 3", [prefix, prefix]):
            hits.append((table[:-1], row["id"]))
    exact = [h for h in hits if h[1] == prefix]
    if exact:
        return exact[0]
    if len(hits) > 1:
        raise ValueError(f"'{prefix}' matches several ids: {', '.join(h[1] for h in hits)}")
    return hits[0] if hits else None


def search(db: sqlite_utils.Database, text: str, limit: int = 50) -> list[dict]:
    """Full-text search over claims (SQLite FTS, words quoted so user input is never syntax)."""
    terms = " ".join('"' + word.replace('"', '""') + '"' for word in text.split())
    if not terms:
        return []
    sql = CLAIM_VIEW + " join claims_fts on claims_fts.rowid = claims.rowid where claims_fts match ? order by claims_fts.rank limit ?"
    return list(db.query(sql, [terms, limit]))


def conflicts(db: sqlite_utils.Database, review: str | None = None, kind: str | None = None) -> list[dict]:
    """Conflicts with their review state and both claims (text, outlet, origin, speaker, cluster)."""
    sql = """
        select conflicts.*, coalesce(reviews.decision, 'pending') as review, reviews.note, reviews.reviewed_at
        from conflicts left join reviews on reviews.pair_key = conflicts.pair_key
    """
    where, params = [], []
    if review:
        where.append("coalesce(reviews.decision, 'pending') = ?")
        params.append(review)
    if kind:
        where.append("conflicts.kind = ?")
        params.append(kind)
    sql += (" where " + " and ".join(where) if where else "") + " order by score desc, conflicts.id"
    rows = list(db.query(sql, params))
    claim_rows = {}
    ids = sorted({r[k] for r in rows for k in ("claim_a", "claim_b")})
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for c in db.query(CLAIM_VIEW + f" where claims.id in ({','.join('?' * len(chunk))})", chunk):
            claim_rows[c["id"]] = c
    for row in rows:
        row["claim_ids"] = [row["claim_a"], row["claim_b"]]
        row["cues"] = json.loads(row["cues"] or "{}")
        row["claims"] = [claim_rows.get(row["claim_a"]), claim_rows.get(row["claim_b"])]
    return rows


def export(db: sqlite_utils.Database) -> dict:
    """The export contract other tools rely on (see README)."""
    return {
        "articles": [
            {k: a[k] for k in ("id", "path", "title", "outlet", "origin", "published", "byline")}
            for a in articles(db)
        ],
        "claims": [
            {k: c[k] for k in ("id", "article_id", "text", "speaker", "cluster_id", "start", "end")}
            for c in claims(db)
        ],
        "clusters": [
            {"id": c["id"], "status": c["status"], "claim_ids": c["claim_ids"], "sources": c["sources"]}
            for c in clusters(db)
        ],
        "conflicts": [
            {"id": c["id"], "claim_ids": c["claim_ids"], "kind": c["kind"], "score": c["score"],
             "review": c["review"], "note": c["note"]}
            for c in conflicts(db)
        ],
    }


def last_build(db: sqlite_utils.Database) -> dict | None:
    rows = list(db.query("select * from builds order by id desc limit 1"))
    return rows[0] if rows else None
