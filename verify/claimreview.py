"""ClaimReview: the database -> schema.org ClaimReview JSON-LD, one review per cluster.

Each cluster is one reviewed claim: its representative text is `claimReviewed`, its status
(corroborated | single-source | conflicting) the rating, the articles that carry it the Claim's
appearances, and its pending or confirmed conflicts `additionalProperty` values. The review
lives in the HTML report, at the cluster's anchor (`#cluster-<id>`).

Only store's read functions are used; everything here is grouping and wording.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from urllib.parse import quote, urldefrag, urlsplit

from verify import cluster as cluster_stage
from verify import ingest, names, segment, store

REVIEWER = {"@type": "Organization", "name": "verify"}

# A speaker that names several parties or a group of people is not one Person.
_GROUP_RE = re.compile(
    r"\b(?:and|both|officials|chiefs|states|countries|nations|members|sides|allies|partners|authorities|"
    r"leaders|lawmakers|diplomats|analysts|experts|sources|prosecutors|ministers|envoys)\b|&",
    re.IGNORECASE,
)
# One person by their office: "Kremlin spokesman Dmitry Peskov", "The U.S. official".
_PERSON_ROLE_RE = re.compile(
    r"\b(?:spokes(?:wo)?man|spokesperson|minister|secretary|president|official|envoy|ambassador|leader|"
    r"commander|chief|director|chairman|chairwoman|general|premier|senator|governor|mayor)\b",
    re.IGNORECASE,
)


def claim_reviews(db, base_url: str | None = None, db_path: str | Path | None = None) -> list[dict]:
    """One ClaimReview (a JSON-LD dict) per cluster, in store.clusters' order.

    `base_url` is where the reviews live (the HTML report); by default the file URI of the
    `index.html` beside the database at `db_path` (or the file `db` is connected to).
    """
    base = urldefrag(base_url)[0] if base_url else _default_base_url(db, db_path)
    build = store.last_build(db)
    reviewed_on = build["started_at"][:10] if build and build.get("started_at") else None
    articles = {a["id"]: a for a in store.articles(db)}
    claims = {c["id"]: c for c in store.claims(db)}
    conflicts = _conflicts_by_cluster(store.conflicts(db))

    reviews = []
    for k in store.clusters(db):
        members = [claims[i] for i in k["claim_ids"] if i in claims]
        # The representative claim first (its speaker is the claim's author when it has one).
        members.sort(key=lambda c: c["text"] != k["label"])
        mine = _own_conflicts(conflicts.get(k["id"], []), k["claim_ids"], k["label"])
        review = {
            "@context": "https://schema.org",
            "@type": "ClaimReview",
            "url": f"{base}#cluster-{k['id']}",
            "claimReviewed": k["label"],
        }
        if reviewed_on:
            review["datePublished"] = reviewed_on
        review["author"] = dict(REVIEWER)
        review["reviewRating"] = {
            "@type": "Rating",
            "alternateName": k["status"],
            "ratingExplanation": _explanation(k, [other for _, other in mine]),
        }
        review["itemReviewed"] = _item_reviewed(members, articles)
        if mine:
            review["additionalProperty"] = [
                {"@type": "PropertyValue", "name": "conflict", "value": x["explanation"],
                 "identifier": x["id"], "description": other["text"]}
                for x, other in mine
            ]
        reviews.append(review)
    return reviews


def _default_base_url(db, db_path: str | Path | None) -> str:
    if db_path is None:
        files = [row[2] for row in db.conn.execute("PRAGMA database_list") if row[1] == "main"]
        if not files or not files[0]:
            raise ValueError("an in-memory database has no report beside it; pass base_url")
        db_path = files[0]
    return (Path(db_path).parent / "index.html").resolve().as_uri()


# ---------------------------------------------------------------------------
# Conflicts
# ---------------------------------------------------------------------------


def _conflicts_by_cluster(rows: list[dict]) -> dict[str, list[dict]]:
    """Pending and confirmed conflicts by the cluster of either claim (a dismissed one is none)."""
    found: dict[str, list[dict]] = {}
    for x in rows:
        if x["review"] == "dismissed":
            continue
        for cluster_id in dict.fromkeys(c["cluster_id"] for c in x["claims"] if c and c.get("cluster_id")):
            found.setdefault(cluster_id, []).append(x)
    return found


def _own_conflicts(rows: list[dict], member_ids: list[str], label: str) -> list[tuple[dict, dict]]:
    """(conflict, the other claim) for a cluster. When both claims are members, the other claim
    is the one that does not read as the cluster's representative."""
    ids = set(member_ids)
    pairs = []
    for x in rows:
        a, b = x["claims"]
        if a is None or b is None:
            continue
        if a["id"] in ids and b["id"] in ids:
            other = a if b["text"] == label and a["text"] != label else b
        else:
            other = b if a["id"] in ids else a
        pairs.append((x, other))
    return pairs


# ---------------------------------------------------------------------------
# Wording
# ---------------------------------------------------------------------------


def _explanation(k: dict, others: list[dict]) -> str:
    n = k["n_origins"] or len(k["sources"])
    named = [s for s in k["sources"] if not s.startswith("unattributed:")]
    unnamed = len(k["sources"]) - len(named)
    if unnamed:
        named.append("an unattributed article" if unnamed == 1 else f"{unnamed} unattributed articles")
    sentence = f"Carried by {n} independent origin{'' if n == 1 else 's'}"
    if named:
        sentence += f" ({_join(named)})"
    texts = list(dict.fromkeys(o["text"] for o in others))
    if k["status"] == cluster_stage.CONFLICTING and texts:
        sentence += (f" and in conflict with {len(texts)} claim{'' if len(texts) == 1 else 's'}: "
                     + _join([f"\u201c{t.rstrip('.')}\u201d" for t in texts]))
    return sentence.rstrip(".") + "."


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def speaker_type(speaker: str) -> str:
    """"Person" or "Organization" for a speaker as written ("Austin", "Seoul's defense ministry")."""
    if _GROUP_RE.search(speaker):
        return "Organization"
    if _PERSON_ROLE_RE.search(speaker):
        return "Person"
    bare = re.sub(r"^(?:the|a|an)\s+", "", speaker.strip(), flags=re.IGNORECASE)
    if (segment.is_organisation(speaker) or names.canonical_text(bare) in names.party_names()
            or ingest.known_outlet(bare)):
        return "Organization"
    return "Person"


# ---------------------------------------------------------------------------
# The claim and where it appeared
# ---------------------------------------------------------------------------


def _item_reviewed(members: list[dict], articles: dict[str, dict]) -> dict:
    item: dict = {"@type": "Claim"}
    speaker = next((c["speaker"] for c in members if c.get("speaker")), None)
    if speaker:
        item["author"] = {"@type": speaker_type(speaker), "name": speaker}
    appearances = []
    for article_id in dict.fromkeys(c["article_id"] for c in members):
        if article_id in articles:
            appearances.append(_appearance(articles[article_id]))
    item["appearance"] = appearances
    if appearances:
        item["firstAppearance"] = _earliest(appearances)
    return item


def _appearance(a: dict) -> dict:
    work: dict = {"@type": "CreativeWork", "url": article_url(a)}
    if a.get("title"):
        work["headline"] = a["title"]
    if published := iso_date(a.get("published")):
        work["datePublished"] = published
    if a.get("outlet"):
        work["publisher"] = {"@type": "Organization", "name": a["outlet"]}
    if a.get("origin"):
        work["sourceOrganization"] = {"@type": "Organization", "name": a["origin"]}
    return work


def article_url(a: dict) -> str:
    """The article's own web address when it has one, else a file URI for where it was read
    (`corpus.jsonl#12`, a row of a corpus file, becomes the file's URI with fragment 12)."""
    url = (a.get("url") or "").strip()
    if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc:
        return url
    path = a["path"]
    if not Path(path).is_file() and "#" in path:
        # The row id follows the file's path after a '#'; either may hold a '#' of its own.
        for i in [m.start() for m in re.finditer("#", path)]:
            if Path(path[:i]).is_file():
                return Path(path[:i]).resolve().as_uri() + "#" + quote(path[i + 1:], safe="")
        head, _, row = path.rpartition("#")
        return Path(head).resolve().as_uri() + "#" + quote(row, safe="")
    return Path(path).resolve().as_uri()


def iso_date(value: str | None) -> str | None:
    """`value` when it is an ISO 8601 date or date-time (what schema.org expects), else None."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return value


def _earliest(appearances: list[dict]) -> dict:
    dated = [w for w in appearances if w.get("datePublished")]
    if not dated:
        return appearances[0]
    return min(dated, key=lambda w: _instant(w["datePublished"]))


def _instant(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is not None:  # compare every date as UTC; a bare date or time counts as UTC
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment
