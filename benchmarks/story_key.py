"""The answer key of the development stories (../shared/stories/*/) and how a build is scored.

Shared by `benchmarks/stories.py` (the scores) and `tests/test_story_anchors.py` (no sentence
of the key may be lost by ingest + segment). The rules are those of the stories' README:

* an anchor is `(article id, lower-case substring)`; a claim *holds* it when the claim belongs to
  that article and the substring occurs in the claim's text folded like the key (NFKC, curly
  quotes straight, whitespace collapsed, lower case);
* gold article ids are the part of an article's `path` after '#' (verify hashes its own ids);
* origins are compared through `verify.ingest.canonical_outlet`, so "AP" == "Associated Press".

Nothing here embeds or builds: a build is read back from its SQLite database (`read_corpus`).
"""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from verify.ingest import canonical_outlet

# The quote folding of the key's own checker (check_gold.py), a superset of ‘’“”: anchors were
# written through it, so claims must be folded the same way to match them.
QUOTES = {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
          "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
          "\u00ab": '"', "\u00bb": '"'}
_QUOTE_TABLE = str.maketrans(QUOTES)

Anchor = tuple[str, str]  # (gold article id, folded substring)


def fold(text: str) -> str:
    """Text as the key's anchors are written."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTE_TABLE)
    return re.sub(r"\s+", " ", text).strip().lower()


def gold_id(path: str) -> str:
    """The key's id of an article row: corpus rows are read as `<file>#<id>`."""
    return path.rsplit("#", 1)[-1]


def _anchor(pair) -> Anchor:
    article, text = pair
    return article, fold(text)


# ---------------------------------------------------------------------------
# The key
# ---------------------------------------------------------------------------


@dataclass
class Story:
    name: str
    folder: Path
    articles: dict[str, dict]  # gold id -> the jsonl row (outlet as the key sees it)
    gold: dict

    @property
    def articles_path(self) -> Path:
        return self.folder / "articles.jsonl"

    def anchors(self) -> list[tuple[str, str, Anchor]]:
        """Every anchor of the key as (kind, item id, anchor), in the key's order."""
        out = []
        for c in self.gold.get("conflicts", []):
            out += [("conflict", f"{c['id']}.a", _anchor(a)) for a in c["a"]]
            out += [("conflict", f"{c['id']}.b", _anchor(b)) for b in c["b"]]
        for r in self.gold.get("corroborated", []):
            out += [("corroborated", r["id"], _anchor(a)) for a in r["anchors"]]
        for s in self.gold.get("single_source", []):
            out.append(("single_source", s["id"], _anchor(s["anchor"])))
        for t in self.gold.get("agree_traps", []):
            out += [("trap", f"{t['id']}.a", _anchor(t["a"])), ("trap", f"{t['id']}.b", _anchor(t["b"]))]
        return out

    def outlet(self, article: str) -> str | None:
        row = self.articles.get(article) or {}
        return canonical_outlet(row.get("outlet"))


def load_story(folder: str | Path) -> Story:
    folder = Path(folder)
    articles = {}
    with (folder / "articles.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                articles[row["id"]] = row
    gold = json.loads((folder / "gold.json").read_text(encoding="utf-8"))
    return Story(folder.name, folder, articles, gold)


def story_folders(root: str | Path) -> list[Path]:
    """The story folders under `root`: those holding both an articles.jsonl and a gold.json."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir()
                  if (p / "articles.jsonl").is_file() and (p / "gold.json").is_file())


# ---------------------------------------------------------------------------
# Anchors in claims
# ---------------------------------------------------------------------------


def holders(claims: list[dict], anchors) -> dict[Anchor, set[str]]:
    """anchor -> ids of the claims holding it. Claims carry `gold_id` (their article's key id)."""
    folded: dict[str, list[tuple[str, str]]] = {}
    for c in claims:
        folded.setdefault(c["gold_id"], []).append((c["id"], fold(c["text"])))
    return {a: {cid for cid, text in folded.get(a[0], []) if a[1] in text} for a in set(anchors)}


def with_gold_ids(articles: list[dict], claims: list[dict]) -> list[dict]:
    """Claims of `verify.segment` (article ids are verify's hashes) with their key's article id."""
    key_of = {a["id"]: gold_id(a["path"]) for a in articles}
    return [{**c, "gold_id": key_of[c["article_id"]]} for c in claims]


def lost_anchors(story: Story, claims: list[dict]) -> list[tuple[str, str, Anchor]]:
    """(kind, item id, anchor) of every anchor no claim holds; an anchor listed twice in the key
    (one sentence in two items) is reported once, under its first item."""
    listed = story.anchors()
    held = holders(claims, [a for _, _, a in listed])
    seen: set[Anchor] = set()
    lost = []
    for kind, item, anchor in listed:
        if not held[anchor] and anchor not in seen:
            lost.append((kind, item, anchor))
        seen.add(anchor)
    return lost


def nearest_claim(anchor: Anchor, claims: list[dict]) -> str | None:
    """The claim of the anchor's article sharing most of its words, to show *how* a sentence was
    lost (cut in two, glued to a neighbour, or dropped: then nothing shares half its words)."""
    words = set(re.findall(r"\w+", anchor[1]))
    best, best_overlap = None, 0.0
    for c in claims:
        if c["gold_id"] == anchor[0]:
            overlap = len(words & set(re.findall(r"\w+", fold(c["text"])))) / max(len(words), 1)
            if overlap > best_overlap:
                best, best_overlap = c["text"], overlap
    return best if best_overlap >= 0.5 else None


def describe_lost(lost, claims: list[dict]) -> list[str]:
    lines = []
    for kind, item, (article, text) in lost:
        near = nearest_claim((article, text), claims)
        hint = f"closest claim: {near!r}" if near else "no claim shares half its words (dropped?)"
        lines.append(f"{kind} {item} [{article}] {text!r}; {hint}")
    return lines


# ---------------------------------------------------------------------------
# A build, read back from its database
# ---------------------------------------------------------------------------


@dataclass
class Corpus:
    articles: dict[str, dict]  # gold id -> {outlet, origin}
    claims: list[dict]         # {id, gold_id, text, cluster_id}
    n_origins: dict[str, int]  # cluster id -> independent origins
    conflicts: list[dict]      # {id, claim_a, claim_b, kind, score, review}


def read_corpus(db_path: str | Path) -> Corpus:
    """What scoring needs, by plain SQL: the store's read helpers are being edited concurrently."""
    conn = sqlite3.connect(str(db_path))
    conn.row_factory = sqlite3.Row
    try:
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")}
        articles = {gold_id(r["path"]): dict(r) for r in conn.execute("select id, path, outlet, origin from articles")}
        key_of = {a["id"]: g for g, a in articles.items()}
        claims = [{**dict(r), "gold_id": key_of[r["article_id"]]}
                  for r in conn.execute("select id, article_id, text, cluster_id from claims")]
        n_origins = {r["id"]: r["n_origins"] for r in conn.execute("select id, n_origins from clusters")}
        # A review is kept in `reviews` by pair_key today; read a `review` column if one appears.
        columns = {r[1] for r in conn.execute("pragma table_info(conflicts)")}
        if "review" in columns:
            review = "coalesce(conflicts.review, 'pending')"
            join = ""
        elif "reviews" in tables:
            review = "coalesce(reviews.decision, 'pending')"
            join = "left join reviews on reviews.pair_key = conflicts.pair_key"
        else:
            review, join = "'pending'", ""
        conflicts = [dict(r) for r in conn.execute(
            f"select conflicts.id, claim_a, claim_b, kind, score, {review} as review from conflicts {join}")]
    finally:
        conn.close()
    return Corpus(articles, claims, n_origins, conflicts)


# ---------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------

# Counts summed over stories; every ratio is computed from summed counts (`ratios`).
COUNTS = ("conflicts", "found", "flagged", "flagged_gold", "traps", "traps_flagged", "corroborated",
          "corroborated_found", "single", "single_found", "over_merges", "merged_items", "anchors", "lost", "origins",
          "origins_correct", "false_wire")


@dataclass
class Figures:
    counts: dict[str, int]
    details: dict = field(default_factory=dict)


def score(story: Story, corpus: Corpus, flag: float | None = None) -> Figures:
    """The story's figures for one build. `flag`: conflicts scoring below it are not flagged;
    None counts every stored conflict (what the build itself flagged)."""
    gold = story.gold
    listed = story.anchors()
    held = holders(corpus.claims, [a for _, _, a in listed])
    claim = {c["id"]: c for c in corpus.claims}
    cluster_of = {c["id"]: c["cluster_id"] for c in corpus.claims}

    def claims_of(anchors) -> set[str]:
        return set().union(*(held[_anchor(a)] for a in anchors)) if anchors else set()

    flagged = [c for c in corpus.conflicts
               if c["review"] != "dismissed" and (flag is None or c["score"] >= flag)]

    def pairing(side_a: set[str], side_b: set[str]) -> list[str]:
        """Flagged conflicts joining a claim of one side to a claim of the other, either order."""
        return [c["id"] for c in flagged
                if (c["claim_a"] in side_a and c["claim_b"] in side_b)
                or (c["claim_a"] in side_b and c["claim_b"] in side_a)]

    # Conflicts: recall over the key, precision over what was flagged.
    gold_flags: set[str] = set()
    missed = []
    for c in gold.get("conflicts", []):
        hits = pairing(claims_of(c["a"]), claims_of(c["b"]))
        gold_flags.update(hits)
        if not hits:
            missed.append({"id": c["id"], "what": c["what"]})
    not_gold = [{"kind": c["kind"], "score": c["score"],
                 "a": claim[c["claim_a"]]["text"], "b": claim[c["claim_b"]]["text"]}
                for c in flagged if c["id"] not in gold_flags]

    traps_flagged = [{"id": t["id"], "what": t["what"]} for t in gold.get("agree_traps", [])
                     if pairing(claims_of([t["a"]]), claims_of([t["b"]]))]

    # Corroboration: two anchors of the group from different outlets in one multi-origin cluster.
    def group_found(anchors) -> bool:
        for (art_i, text_i), (art_j, text_j) in itertools.combinations(anchors, 2):
            if art_i == art_j or story.outlet(art_i) == story.outlet(art_j):
                continue
            shared = ({cluster_of[c] for c in held[_anchor((art_i, text_i))]}
                      & {cluster_of[c] for c in held[_anchor((art_j, text_j))]})
            if any(corpus.n_origins.get(k, 0) >= 2 for k in shared):
                return True
        return False

    missed_groups = [{"id": r["id"], "what": r["what"]} for r in gold.get("corroborated", [])
                     if not group_found(r["anchors"])]
    missed_single = [{"id": s["id"], "what": s["what"]} for s in gold.get("single_source", [])
                     if not any(corpus.n_origins.get(cluster_of[c]) == 1 for c in claims_of([s["anchor"]]))]

    # Over-merges: one cluster holding statements the key tells apart (two corroborated groups or
    # single-source facts), or both sides of one gold conflict.
    items_in: dict[str, set[str]] = {}
    for r in gold.get("corroborated", []):
        for k in {cluster_of[c] for c in claims_of(r["anchors"])}:
            items_in.setdefault(k, set()).add(r["id"])
    for s in gold.get("single_source", []):
        for k in {cluster_of[c] for c in claims_of([s["anchor"]])}:
            items_in.setdefault(k, set()).add(s["id"])
    merged = {k: sorted(ids) for k, ids in items_in.items() if len(ids) >= 2}
    for c in gold.get("conflicts", []):
        both = ({cluster_of[x] for x in claims_of(c["a"])} & {cluster_of[x] for x in claims_of(c["b"])})
        for k in both:
            merged.setdefault(k, []).append(f"{c['id']} (both sides)")
    over_merges = [{"cluster": k, "items": ids} for k, ids in sorted(merged.items())]

    lost = lost_anchors(story, corpus.claims)

    # Origins: the key lists only articles written by another newsroom; any other article whose
    # detected origin is not its own outlet is a false wire attribution.
    origins = gold.get("origins", {})
    wrong_origins = []
    for art, want in origins.items():
        got = (corpus.articles.get(art) or {}).get("origin")
        if canonical_outlet(got) != canonical_outlet(want):
            wrong_origins.append({"article": art, "want": want, "got": got})
    false_wire = [{"article": art, "outlet": row["outlet"], "origin": row["origin"]}
                  for art, row in sorted(corpus.articles.items())
                  if art not in origins and canonical_outlet(row["origin"]) != canonical_outlet(row["outlet"])]

    counts = {
        "conflicts": len(gold.get("conflicts", [])),
        "found": len(gold.get("conflicts", [])) - len(missed),
        "flagged": len(flagged),
        "flagged_gold": len(gold_flags),
        "traps": len(gold.get("agree_traps", [])),
        "traps_flagged": len(traps_flagged),
        "corroborated": len(gold.get("corroborated", [])),
        "corroborated_found": len(gold.get("corroborated", [])) - len(missed_groups),
        "single": len(gold.get("single_source", [])),
        "single_found": len(gold.get("single_source", [])) - len(missed_single),
        "over_merges": len(over_merges),
        # statements of the key merged into another's cluster: a cluster of n of them counts n - 1
        "merged_items": sum(len(m["items"]) - 1 for m in over_merges),
        "anchors": len({a for _, _, a in listed}),
        "lost": len(lost),
        "origins": len(origins),
        "origins_correct": len(origins) - len(wrong_origins),
        "false_wire": len(false_wire),
    }
    details = {
        "missed_conflicts": missed,
        "flagged_not_gold": not_gold,
        "traps_flagged": traps_flagged,
        "missed_corroborated": missed_groups,
        "missed_single_source": missed_single,
        "over_merges": over_merges,
        "lost_anchors": describe_lost(lost, corpus.claims),
        "wrong_origins": wrong_origins,
        "false_wire": false_wire,
    }
    return Figures(counts, details)


CONFLICT_COUNTS = ("found", "flagged", "flagged_gold", "traps_flagged")
CONFLICT_DETAILS = ("missed_conflicts", "flagged_not_gold", "traps_flagged")


def with_conflicts(base: Figures, other: Figures) -> Figures:
    """`base` with the conflict figures of `other` (the same story built with another scorer)."""
    counts = {**base.counts, **{k: other.counts[k] for k in CONFLICT_COUNTS}}
    details = {**base.details, **{k: other.details[k] for k in CONFLICT_DETAILS}}
    return Figures(counts, details)


def total(counts: list[dict[str, int]]) -> dict[str, int]:
    return {k: sum(c[k] for c in counts) for k in COUNTS}


def _share(n: int, d: int) -> float:
    return n / d if d else 0.0


def ratios(c: dict[str, int]) -> dict[str, float]:
    """Ratios of (summed) counts. Precision with nothing flagged is 0: it earns no F1 either way."""
    recall = _share(c["found"], c["conflicts"])
    precision = _share(c["flagged_gold"], c["flagged"])
    return {
        "recall": recall,
        "precision": precision,
        "f1": 2 * recall * precision / (recall + precision) if recall + precision else 0.0,
        "corroborated": _share(c["corroborated_found"], c["corroborated"]),
        "single_source": _share(c["single_found"], c["single"]),
        "origins": _share(c["origins_correct"], c["origins"]),
    }
