"""Store: one SQLite database through sqlite-utils, schema changed only by numbered migrations.

Migrations are small functions applied in order when a database is opened, each recorded in
`_verify_migrations` (the pattern of simonw/llm's embeddings_migrations.py). The database opens
in Datasette as it is: plain tables, foreign keys, full-text search on claims.

A build replaces the corpus tables (articles, claims, clusters, conflicts), writing only the rows
that changed (`update_corpus`), but keeps what outlives any corpus: the embedding cache, keyed by (model, text hash), reviews (and their
history), keyed by the content of the two claims of a conflict, and when each claim text was
first seen.

Concurrency: the database is in WAL mode, so readers (the CLI, `verify serve`) never wait for a
writer, and writers wait for each other (busy timeout) instead of failing. A build writes in
place: the embedding cache commits as it goes, and the new corpus replaces the old one in one
short `BEGIN IMMEDIATE ... COMMIT` at the end, so a build killed at any point leaves the last
good corpus, and a review written during a build is kept (it is keyed by content, so it applies
to the conflicts the build produces). One build at a time: `build_lock` holds an flock on
`<db>.lock`, which the OS drops when the process dies, however it dies.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import sqlite3
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


@migration
def m005_claim_sightings(db: sqlite_utils.Database) -> None:
    # When a build first saw each claim text (by content hash): the date of a claim whose article
    # carries none, for the cluster timeline. Kept across rebuilds like reviews.
    db["claim_sightings"].create({"content_hash": str, "first_seen": str}, pk="content_hash")


@migration
def m006_review_history(db: sqlite_utils.Database) -> None:
    # Every review write with the state it replaced, so that a review can be undone.
    db["review_history"].create(
        {"id": int, "pair_key": str, "decision": str, "note": str, "changed_at": str,
         "previous_decision": str, "previous_note": str, "previous_reviewed_at": str, "undone": int},
        pk="id",
    )
    db["review_history"].create_index(["pair_key"])


@migration
def m007_segment_cache(db: sqlite_utils.Database) -> None:
    # Each article's claims as the segmenter made them, keyed by all that segmentation reads
    # (pipeline.segment_key): an unchanged article of a grown corpus is not segmented again.
    db["segment_cache"].create({"key": str, "claims": str}, pk="key")


@migration
def m008_build_cache(db: sqlite_utils.Database) -> None:
    # What a build computes per claim text or per candidate pair that is a pure function of its
    # key (verify/incremental.py): conflict cues of a text, the scored features of a pair, the
    # clustering's state. `kind` names the computation and the version of its code, so a change
    # to the code never reads an old value.
    db["build_cache"].create({"kind": str, "key": str, "value": str}, pk=("kind", "key"))
    # A build's inputs as a list (`paths` joins them with spaces) and its options, both JSON, so
    # that `verify add` can build them again with more.
    db["builds"].add_column("path_list", str)
    db["builds"].add_column("options", str)


BUSY_TIMEOUT_S = 30  # a writer waits this long for another's transaction (a build's is seconds)


def open_db(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed) in WAL mode and bring the schema up to date."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        db = sqlite_utils.Database(conn)
        db.enable_wal()  # persistent in the file; a no-op once set
        migrate(db)
    except sqlite3.DatabaseError as err:
        conn.close()
        raise StoreError(f"{path}: not a usable SQLite database ({err})") from None
    return db


@contextlib.contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One write transaction that takes the write lock at once (waiting up to the busy timeout),
    so that it never fails half-way on a lock another writer holds. sqlite-utils' own writes
    inside it nest as savepoints, so nothing commits before the end of the block."""
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def migrate(db: sqlite_utils.Database) -> None:
    applied = lambda: ({row["name"] for row in db.query("select name from _verify_migrations")}
                       if db["_verify_migrations"].exists() else set())
    done = applied()
    if all(fn.__name__ in done for fn in MIGRATIONS):
        return  # the usual case: a read, no write lock taken
    for fn in MIGRATIONS:
        if fn.__name__ in done:
            continue
        with write_transaction(db):
            if not db["_verify_migrations"].exists():
                db["_verify_migrations"].create({"name": str, "applied_at": str}, pk="name")
            if fn.__name__ in applied():  # another process applied it while we waited
                continue
            fn(db)
            db["_verify_migrations"].insert({"name": fn.__name__, "applied_at": now()})


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@contextlib.contextmanager
def opened(path: str | Path) -> Iterator[sqlite_utils.Database]:
    """`open_db` for the length of a block (creating the folder), closed after it."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = open_db(path)
    try:
        yield db
    finally:
        db.conn.close()


class BuildLocked(StoreError):
    """Another build holds the database."""


def lock_path(db_path: str | Path) -> Path:
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".lock")


@contextlib.contextmanager
def build_lock(db_path: str | Path) -> Iterator[Path]:
    """Hold the one-build-at-a-time lock of the database at `db_path`, or raise BuildLocked.

    An flock on `<db>.lock`: the kernel releases it when the holder exits or is killed, so a dead
    build never blocks the next one and nothing has to be cleaned up. The file itself stays (it
    is empty but for the holder's pid); deleting lock files is what makes lock schemes racy."""
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise BuildLocked(f"{db_path}: another `verify build` (pid {holder}) is building this database; "
                              "wait for it to finish") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield path
    finally:
        os.close(fd)  # drops the flock


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
    """Commits at once (its own short transaction): the cache is worth keeping even if the build
    that computed it dies before its corpus lands. One executemany (sqlite-utils' insert_all
    built each row's statement in Python: ~2 s for 40k vectors)."""
    if not vectors:
        return
    with write_transaction(db):
        db.conn.executemany("insert or replace into embeddings (model, content_hash, embedding, dims) values (?, ?, ?, ?)",
                            ((model, h, v.astype(np.float32).tobytes(), int(v.shape[0])) for h, v in vectors.items()))


def load_segments(db: sqlite_utils.Database, keys: list[str]) -> dict[str, list[dict]]:
    """Cached claim rows of the articles whose segment keys are in `keys`."""
    found: dict[str, list[dict]] = {}
    wanted = sorted(set(keys))
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        sql = f"select key, claims from segment_cache where key in ({','.join('?' * len(chunk))})"
        for row in db.query(sql, chunk):
            found[row["key"]] = json.loads(row["claims"])
    return found


def save_segments(db: sqlite_utils.Database, new: dict[str, list[dict]], keep: set[str]) -> None:
    """Add `new` and drop what the build no longer uses (not in `keep`), in one short transaction of
    its own: like the embeddings, a cache worth keeping even if the build dies before its corpus lands."""
    with write_transaction(db):
        stale = [row["key"] for row in db.query("select key from segment_cache") if row["key"] not in keep]
        for i in range(0, len(stale), 500):
            chunk = stale[i : i + 500]
            db.execute(f"delete from segment_cache where key in ({','.join('?' * len(chunk))})", chunk)
        if new:
            db["segment_cache"].insert_all(({"key": k, "claims": json.dumps(v)} for k, v in new.items()),
                                           replace=True, batch_size=500)


def load_cached(db: sqlite_utils.Database, kind: str, keys) -> dict[str, str]:
    """Values of `build_cache` of `kind` for those of `keys` it holds (None: all of the kind)."""
    if keys is None:
        return {row[0]: row[1] for row in db.conn.execute("select key, value from build_cache where kind = ?", [kind])}
    found: dict[str, str] = {}
    wanted = sorted(set(keys))
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        sql = f"select key, value from build_cache where kind = ? and key in ({','.join('?' * len(chunk))})"
        found.update((row[0], row[1]) for row in db.conn.execute(sql, [kind, *chunk]))
    return found


def save_cached(db: sqlite_utils.Database, kind: str, new: dict[str, str], keep: set[str] | None = None,
                family: str | None = None) -> None:
    """Add `new` to `build_cache` under `kind`, in one short transaction of its own (a cache worth
    keeping if the build dies). With `keep`, drop the keys of `kind` not in it; with `family`
    (a prefix of kinds: "analyse:"), drop the other kinds of that family (older code versions)."""
    older = family is not None and _other_kind_of_family(db, family, kind)
    stale = [] if keep is None else [row[0] for row in db.conn.execute("select key from build_cache where kind = ?", [kind])
                                     if row[0] not in keep]
    if not (older or stale or new):
        return  # nothing to write: no transaction (a build that changed nothing leaves the file as it was)
    with write_transaction(db):
        if older:
            db.execute("delete from build_cache where substr(kind, 1, length(?)) = ? and kind != ?", [family, family, kind])
        if stale:
            for i in range(0, len(stale), 500):
                chunk = stale[i : i + 500]
                db.execute(f"delete from build_cache where kind = ? and key in ({','.join('?' * len(chunk))})",
                           [kind, *chunk])
        if new:
            db.conn.executemany("insert or replace into build_cache (kind, key, value) values (?, ?, ?)",
                                ((kind, k, v) for k, v in new.items()))


def _other_kind_of_family(db: sqlite_utils.Database, family: str, kind: str) -> bool:
    """Whether `build_cache` holds a kind other than `kind` starting with `family` (an ASCII
    prefix): two seeks on the primary key's index, below and above `kind` among the kinds from
    `family` up to the next prefix, where `substr(kind, ...) = family` read the whole table."""
    if not kind.startswith(family) or not family.isascii():
        return db.conn.execute("select 1 from build_cache where substr(kind, 1, length(?)) = ? and kind != ? limit 1",
                               [family, family, kind]).fetchone() is not None
    end = family[:-1] + chr(ord(family[-1]) + 1)  # "pair:" -> "pair;": every kind starting with "pair:" is below it
    below = db.conn.execute("select 1 from build_cache where kind >= ? and kind < ? limit 1", [family, kind]).fetchone()
    above = db.conn.execute("select 1 from build_cache where kind > ? and kind < ? limit 1", [kind, end]).fetchone()
    return bool(below or above)


def content_hash(text: str) -> str:
    """A claim text's key in `claim_sightings`."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def replace_corpus(db: sqlite_utils.Database, articles: list[dict], claims: list[dict], clusters: list[dict],
                   conflicts: list[dict] | None = None, seen_at: str | None = None,
                   build: dict | None = None) -> None:
    """Swap in a new corpus in one write transaction (with the `build` record when given).
    Embeddings, reviews and first sightings stay; claims never seen before are recorded as first
    seen at `seen_at` (default: now)."""
    article_cols = {"id", "path", "url", "title", "outlet", "origin", "published", "byline", "text", "dateline_end", "copy_of"}
    claim_cols = {"id", "article_id", "position", "text", "start", "end", "speaker", "verb", "cluster_id"}
    seen_at = seen_at or now()
    with write_transaction(db):
        for table in ("conflicts", "claims", "clusters", "articles"):
            db.execute(f"delete from [{table}]")
        db["articles"].insert_all(({k: a.get(k) for k in article_cols} for a in articles), batch_size=500)
        db["clusters"].insert_all(
            ({**c, "sources": json.dumps(c["sources"]), "corroboration": c["status"]} for c in clusters), batch_size=1000
        )
        db["claims"].insert_all(({k: c.get(k) for k in claim_cols} for c in claims), batch_size=1000)
        if conflicts:
            db["conflicts"].insert_all(({**c, "cues": json.dumps(c.get("cues") or {})} for c in conflicts), batch_size=1000)
        db.conn.executemany("insert or ignore into claim_sightings (content_hash, first_seen) values (?, ?)",
                            ((content_hash(c["text"]), seen_at) for c in claims))
        refresh_statuses(db)
        if build is not None:
            record_build(db, **build)


ARTICLE_COLUMNS = ("id", "path", "url", "title", "outlet", "origin", "published", "byline", "text", "dateline_end", "copy_of")
CLAIM_COLUMNS = ("id", "article_id", "position", "text", "start", "end", "speaker", "verb", "cluster_id")
CLUSTER_COLUMNS = ("id", "status", "size", "n_articles", "n_origins", "sources", "label", "corroboration")
CONFLICT_COLUMNS = ("id", "claim_a", "claim_b", "pair_key", "kind", "score", "explanation", "cues", "attribution")


def _rows_for(table: str, items: list[dict]) -> dict[str, tuple]:
    """The rows `replace_corpus` would write for `items`, as id -> tuple of the table's columns."""
    if table == "articles":
        return {a["id"]: tuple(a.get(k) for k in ARTICLE_COLUMNS) for a in items}
    if table == "claims":
        return {c["id"]: tuple(c.get(k) for k in CLAIM_COLUMNS) for c in items}
    if table == "clusters":
        return {c["id"]: tuple(json.dumps(c["sources"]) if k == "sources" else c["status"] if k == "corroboration"
                               else c.get(k) for k in CLUSTER_COLUMNS) for c in items}
    return {c["id"]: tuple(json.dumps(c.get("cues") or {}) if k == "cues" else c.get(k) for k in CONFLICT_COLUMNS)
            for c in items}


def _stored_rows(db: sqlite_utils.Database, table: str, columns: tuple[str, ...]) -> dict[str, tuple]:
    cols = ", ".join(f"[{k}]" for k in columns)
    # `status` is what refresh_statuses derives; a cluster row is compared on what the build wrote.
    return {row[0]: tuple(row) for row in db.conn.execute(f"select {cols} from [{table}]")}


def _same(table: str, old: tuple, new: tuple) -> bool:
    if table == "clusters":  # status is derived (refresh_statuses): compare all but it
        return old[:1] + old[2:] == new[:1] + new[2:]
    if table == "conflicts":  # scores are stored as REAL: compare them as floats
        return old[:5] + old[6:] == new[:5] + new[6:] and float(old[5] or 0) == float(new[5] or 0)
    return old == new


def update_corpus(db: sqlite_utils.Database, articles: list[dict], claims: list[dict], clusters: list[dict],
                  conflicts: list[dict] | None = None, seen_at: str | None = None,
                  build: dict | None = None) -> dict[str, int]:
    """What `replace_corpus` does, writing only the difference with the corpus in the database:
    rows that left are deleted, new rows inserted, changed rows replaced; an unchanged row is not
    touched (so neither are its full-text index entries). The same one short write transaction,
    and the same tables afterwards (row order aside: new rows come after the ones kept).
    Returns the number of rows written (inserted, deleted or replaced) per table."""
    seen_at = seen_at or now()
    conflicts = conflicts or []
    columns = {"articles": ARTICLE_COLUMNS, "claims": CLAIM_COLUMNS, "clusters": CLUSTER_COLUMNS,
               "conflicts": CONFLICT_COLUMNS}
    items = {"articles": articles, "claims": claims, "clusters": clusters, "conflicts": conflicts}
    written: dict[str, int] = {}
    with write_transaction(db):
        plan = {}
        for table, cols in columns.items():
            old, new = _stored_rows(db, table, cols), _rows_for(table, items[table])
            gone = [k for k in old if k not in new]
            added = [row for k, row in new.items() if k not in old]
            changed = [row for k, row in new.items() if k in old and not _same(table, old[k], row)]
            if table == "conflicts":  # nothing points at a conflict: replaced, as its claims may go first
                gone += [row[0] for row in changed]
                added, changed = added + changed, []
            plan[table] = (gone, added, changed, cols)
            written[table] = len(gone) + len(added) + len(changed)

        def delete(table: str) -> None:
            gone = plan[table][0]
            for i in range(0, len(gone), 500):
                chunk = gone[i : i + 500]
                db.execute(f"delete from [{table}] where id in ({','.join('?' * len(chunk))})", chunk)

        def insert(table: str) -> None:
            _, added, changed, cols = plan[table]
            if added:
                db.conn.executemany(f"insert into [{table}] ({', '.join(f'[{k}]' for k in cols)}) "
                                    f"values ({', '.join('?' * len(cols))})", added)
            if changed:  # updated in place: rows that point at them stay valid
                db.conn.executemany(f"update [{table}] set {', '.join(f'[{k}] = ?' for k in cols[1:])} where id = ?",
                                    (row[1:] + row[:1] for row in changed))

        # Parents before children when inserting, children before parents when deleting (foreign keys):
        # a claim kept is moved to its new cluster before the old cluster goes.
        delete("conflicts")
        insert("articles")
        insert("clusters")
        insert("claims")
        delete("claims")
        delete("clusters")
        delete("articles")
        insert("conflicts")
        new_claims = {row[0] for row in plan["claims"][1]}
        db.conn.executemany("insert or ignore into claim_sightings (content_hash, first_seen) values (?, ?)",
                            ((content_hash(c["text"]), seen_at) for c in claims if c["id"] in new_claims))
        refresh_statuses(db)
        if build is not None:
            record_build(db, **build)
    return written


def refresh_statuses(db: sqlite_utils.Database) -> None:
    """A cluster is conflicting while a pending or confirmed conflict touches one of its claims.

    The clusters touched are found once (each conflict's two claims by primary key), and only
    rows whose status changes are written: a query per cluster over every conflict took seconds
    at 40k claims, and rewriting every row made each build's transaction long."""
    db.execute(
        """
        with touched(cluster_id) as (
            select claims.cluster_id from conflicts
            join claims on claims.id in (conflicts.claim_a, conflicts.claim_b)
            left join reviews on reviews.pair_key = conflicts.pair_key
            where coalesce(reviews.decision, 'pending') != 'dismissed'
        )
        update clusters set status = case when id in (select cluster_id from touched)
                                          then 'conflicting' else corroboration end
        where status is not (case when id in (select cluster_id from touched) then 'conflicting' else corroboration end)
        """
    )


REVIEW_DECISIONS = ("confirmed", "dismissed")
# "pending" is a decision too where a note is kept on a conflict nobody has decided on yet.
REVIEW_STATES = ("pending", *REVIEW_DECISIONS)


def find_conflict(db: sqlite_utils.Database, conflict_id: str) -> dict:
    """The conflict row of an id or unique id prefix; LookupError naming the problem."""
    rows = list(db.query("select id, pair_key from conflicts where substr(id, 1, length(?)) = ? limit 3",
                         [conflict_id, conflict_id]))
    exact = [r for r in rows if r["id"] == conflict_id]
    if exact:
        rows = exact
    if not rows:
        raise LookupError(f"no conflict with id '{conflict_id}'")
    if len(rows) > 1:
        raise LookupError(f"'{conflict_id}' matches several conflicts: {', '.join(r['id'] for r in rows)}")
    return rows[0]


def review(db: sqlite_utils.Database, conflict_id: str, decision: str, note: str | None = None) -> dict:
    """Record a reviewer's decision on a conflict (id or unique prefix). Stored by the content of
    the two claims, so it holds for the same pair in any later build. The state it replaces goes
    to `review_history`, for `undo_review`."""
    if decision not in REVIEW_STATES:
        raise ValueError(f"decision must be one of {', '.join(REVIEW_STATES)}")
    with write_transaction(db):
        row = find_conflict(db, conflict_id)
        before = next(iter(db.query("select decision, note, reviewed_at from reviews where pair_key = ?",
                                    [row["pair_key"]])), None) or {}
        at = now()
        db["reviews"].upsert({"pair_key": row["pair_key"], "decision": decision, "note": note,
                              "reviewed_at": at}, pk="pair_key")
        db["review_history"].insert({"pair_key": row["pair_key"], "decision": decision, "note": note, "changed_at": at,
                                     "previous_decision": before.get("decision"), "previous_note": before.get("note"),
                                     "previous_reviewed_at": before.get("reviewed_at"), "undone": 0})
        refresh_statuses(db)
    return conflict(db, row["id"])


def undo_review(db: sqlite_utils.Database, conflict_id: str) -> dict:
    """Put back the decision and note a conflict had before its last (not yet undone) review."""
    with write_transaction(db):
        row = find_conflict(db, conflict_id)
        last = next(iter(db.query("select * from review_history where pair_key = ? and undone = 0 order by id desc limit 1",
                                  [row["pair_key"]])), None)
        if last is None:
            raise LookupError(f"conflict '{row['id']}' has no review to undo")
        if last["previous_decision"] is None:
            db.execute("delete from reviews where pair_key = ?", [row["pair_key"]])
        else:
            db["reviews"].upsert({"pair_key": row["pair_key"], "decision": last["previous_decision"],
                                  "note": last["previous_note"], "reviewed_at": last["previous_reviewed_at"]},
                                 pk="pair_key")
        db.execute("update review_history set undone = 1 where id = ?", [last["id"]])
        refresh_statuses(db)
    return conflict(db, row["id"])


def conflict(db: sqlite_utils.Database, conflict_id: str) -> dict | None:
    return next((c for c in conflicts(db, ids=[conflict_id])), None)


def record_build(db: sqlite_utils.Database, **fields) -> None:
    db["builds"].insert({"started_at": now(), **fields})


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
    row["timeline"] = timelines(db, [cluster_id]).get(cluster_id, [])
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


def conflicts(db: sqlite_utils.Database, review: str | None = None, kind: str | None = None,
              ids: list[str] | None = None) -> list[dict]:
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
    if ids is not None:
        where.append(f"conflicts.id in ({','.join('?' * len(ids))})")
        params += list(ids)
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


def origin_name(origin: str | None, path: str) -> str:
    """An article's origin, or where none is known, which file it came from."""
    return origin or f"unattributed ({Path(path).name})"


def timelines(db: sqlite_utils.Database, cluster_ids: list[str] | None = None) -> dict[str, list[dict]]:
    """The timeline of each cluster: when each origin first carried it, then its conflicts and
    denials, in date order (an origin's events before a conflict's on the same date).

    A claim's date is its article's publication date, else when a build first saw its text
    (`claim_sightings`). A conflict dates from the later of its two claims: it exists once both
    have been said. Events without any date come last."""
    sightings = {r["content_hash"]: r["first_seen"] for r in db.query("select * from claim_sightings")}
    every = {c["id"]: c for c in db.query(CLAIM_VIEW)}

    def dated(c: dict) -> dict:
        if c["published"]:
            return {"when": c["published"], "dated_by": "published"}
        seen = sightings.get(content_hash(c["text"]))
        return {"when": seen, "dated_by": "first seen by a build" if seen else None}

    members: dict[str, list[dict]] = {}
    for c in every.values():
        if cluster_ids is None or c["cluster_id"] in cluster_ids:
            members.setdefault(c["cluster_id"], []).append(c)
    touching: dict[str, list[dict]] = {}
    for x in conflicts(db):
        for mine, other in ((x["claim_a"], x["claim_b"]), (x["claim_b"], x["claim_a"])):
            if mine in every and other in every and every[mine]["cluster_id"] in members:
                touching.setdefault(every[mine]["cluster_id"], []).append({**x, "mine": every[mine], "other": every[other]})

    side = lambda c: {k: c[k] for k in ("id", "text", "outlet", "origin", "speaker", "cluster_id", "article_id")}
    result = {}
    for cluster_id, claims_of in members.items():
        events, first = [], {}
        for c in claims_of:
            origin = origin_name(c["origin"], c["path"])
            when = dated(c)
            if origin not in first or (when["when"] or "~") < (first[origin]["when"] or "~"):
                first[origin] = {"type": "carried", "origin": origin, **when, "claim": side(c)}
        events += first.values()
        for x in touching.get(cluster_id, []):
            a, b = dated(x["mine"]), dated(x["other"])
            later = max((a, b), key=lambda d: d["when"] or "~")
            events.append({"type": "denial" if x["kind"] == "denial" else "conflict", "origin": origin_name(
                x["other"]["origin"], x["other"]["path"]), **later, "conflict_id": x["id"], "kind": x["kind"],
                "review": x["review"], "score": x["score"], "claim": side(x["mine"]), "other": side(x["other"])})
        order = {"carried": 0, "conflict": 1, "denial": 1}
        events.sort(key=lambda e: (e["when"] is None, e["when"] or "", order[e["type"]], e["origin"]))
        result[cluster_id] = events
    return result


def last_build(db: sqlite_utils.Database) -> dict | None:
    rows = list(db.query("select * from builds order by id desc limit 1"))
    return rows[0] if rows else None
