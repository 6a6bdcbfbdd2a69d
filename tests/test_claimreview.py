"""`verify export --format claimreview`: schema.org ClaimReview JSON-LD, one review per cluster."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from cli_helpers import ok, run
from conftest import MAVERICK, article_named, open_store
from verify import store
from verify.claimreview import claim_reviews, speaker_type

STATUSES = {"corroborated", "single-source", "conflicting"}
BASE = "https://example.org/report.html"


def _no_constants(name):
    raise ValueError(f"non-JSON constant {name}")


def strict_loads(text: str):
    """json.loads that refuses NaN and Infinity, which Python's json accepts by default."""
    return json.loads(text, parse_constant=_no_constants)


def cluster_of(review: dict) -> str:
    return review["url"].rsplit("#cluster-", 1)[1]


@pytest.fixture(scope="module")
def reviews(seed_build, seed_db):
    return claim_reviews(seed_db, db_path=seed_build["db"])


@pytest.fixture(scope="module")
def by_cluster(reviews):
    return {cluster_of(r): r for r in reviews}


@pytest.fixture(scope="module")
def seed_clusters(seed_db):
    return {k["id"]: k for k in store.clusters(seed_db)}


# ---------------------------------------------------------------------------
# On the seed build
# ---------------------------------------------------------------------------


def test_one_claim_review_per_cluster(reviews, by_cluster, seed_clusters):
    assert len(reviews) == len(seed_clusters) > 0
    assert set(by_cluster) == set(seed_clusters)
    for cid, r in by_cluster.items():
        assert r["@context"] == "https://schema.org"
        assert r["@type"] == "ClaimReview"
        assert r["claimReviewed"] == seed_clusters[cid]["label"]
        assert r["reviewRating"]["alternateName"] == seed_clusters[cid]["status"]


def test_fields_fact_check_markup_requires_are_present(reviews):
    for r in reviews:
        assert isinstance(r["url"], str) and r["url"]
        assert isinstance(r["claimReviewed"], str) and r["claimReviewed"].strip()
        assert r["author"] == {"@type": "Organization", "name": "verify"}
        rating = r["reviewRating"]
        assert rating["@type"] == "Rating"
        assert rating["alternateName"] in STATUSES
        assert isinstance(rating["ratingExplanation"], str) and rating["ratingExplanation"].strip()
        item = r["itemReviewed"]
        assert item["@type"] == "Claim"
        assert isinstance(item["appearance"], list) and item["appearance"]
        for work in item["appearance"]:
            assert work["@type"] == "CreativeWork"
            assert isinstance(work["url"], str) and work["url"]
        assert item["firstAppearance"] in item["appearance"]
    # The seeds have clusters of every status, so every rating value is exercised.
    assert {r["reviewRating"]["alternateName"] for r in reviews} == STATUSES


def test_date_published_is_the_last_build_as_an_iso_date(reviews, seed_db):
    started = store.last_build(seed_db)["started_at"]
    for r in reviews:
        assert r["datePublished"] == started[:10]
        assert dt.date.fromisoformat(r["datePublished"]).isoformat() == r["datePublished"]


def test_explanation_counts_independent_origins(by_cluster, seed_clusters):
    for cid, r in by_cluster.items():
        n = seed_clusters[cid]["n_origins"]
        assert r["reviewRating"]["ratingExplanation"].startswith(f"Carried by {n} independent origin{'' if n == 1 else 's'}")


def test_conflicting_clusters_name_their_conflicts(by_cluster, seed_clusters, seed_db):
    conflicts = {x["id"]: x for x in store.conflicts(seed_db)}
    conflicting = [cid for cid, k in seed_clusters.items() if k["status"] == "conflicting"]
    assert conflicting
    for cid, r in by_cluster.items():
        if cid not in conflicting:
            assert "additionalProperty" not in r
            assert "conflict" not in r["reviewRating"]["ratingExplanation"]
            continue
        members = set(seed_clusters[cid]["claim_ids"])
        props = r["additionalProperty"]
        assert props
        for p in props:
            assert p["@type"] == "PropertyValue" and p["name"] == "conflict"
            x = conflicts[p["identifier"]]  # a conflict that exists
            assert x["review"] != "dismissed"
            assert members & set(x["claim_ids"])
            assert p["value"] == x["explanation"]
            other = next(c for c in x["claims"] if c["id"] not in members)
            assert p["description"] == other["text"]
            assert other["text"].rstrip(".") in r["reviewRating"]["ratingExplanation"]
        # Every live conflict touching the cluster is listed.
        touching = {i for i, x in conflicts.items() if members & set(x["claim_ids"]) and x["review"] != "dismissed"}
        assert {p["identifier"] for p in props} == touching


def test_daily_maverick_appearance(by_cluster, seed_db, seed_clusters):
    maverick = article_named(store.articles(seed_db), MAVERICK)
    claims = {c["id"]: c for c in store.claims(seed_db)}
    with_maverick = [cid for cid, k in seed_clusters.items()
                     if any(claims[i]["article_id"] == maverick["id"] for i in k["claim_ids"])]
    assert with_maverick
    for cid in with_maverick:
        found = [w for w in by_cluster[cid]["itemReviewed"]["appearance"]
                 if w["url"] == Path(maverick["path"]).resolve().as_uri()]
        assert len(found) == 1
        work = found[0]
        assert work["publisher"] == {"@type": "Organization", "name": "Daily Maverick"}
        assert work["sourceOrganization"] == {"@type": "Organization", "name": "Reuters"}
        assert work["datePublished"] == "2023-11-14"
        assert work["headline"] == maverick["title"]


def test_appearances_are_the_member_articles_once_each(by_cluster, seed_clusters, seed_db):
    articles = {a["id"]: a for a in store.articles(seed_db)}
    claims = {c["id"]: c for c in store.claims(seed_db)}
    for cid, r in by_cluster.items():
        expected = {Path(articles[claims[i]["article_id"]]["path"]).resolve().as_uri()
                    for i in seed_clusters[cid]["claim_ids"]}
        urls = [w["url"] for w in r["itemReviewed"]["appearance"]]
        assert len(urls) == len(set(urls)) == seed_clusters[cid]["n_articles"]
        assert set(urls) == expected


def test_first_appearance_is_the_earliest_dated(reviews):
    for r in reviews:
        item = r["itemReviewed"]
        dates = [w["datePublished"] for w in item["appearance"] if "datePublished" in w]
        if dates:
            assert item["firstAppearance"]["datePublished"] == min(dates)
        else:
            assert item["firstAppearance"] == item["appearance"][0]


def test_claim_author_is_a_member_speaker(by_cluster, seed_clusters, seed_db):
    claims = {c["id"]: c for c in store.claims(seed_db)}
    with_author = 0
    for cid, r in by_cluster.items():
        speakers = {claims[i]["speaker"] for i in seed_clusters[cid]["claim_ids"]} - {None, ""}
        author = r["itemReviewed"].get("author")
        if not speakers:
            assert author is None
            continue
        with_author += 1
        assert author["name"] in speakers
        assert author["@type"] in {"Person", "Organization"}
    assert with_author


@pytest.mark.parametrize("speaker, kind", [
    ("Austin", "Person"),
    ("Kremlin spokesman Dmitry Peskov", "Person"),
    ("The U.S. official", "Person"),
    ("Seoul's defense ministry", "Organization"),
    ("the Pentagon", "Organization"),
    ("China", "Organization"),
    ("Washington", "Organization"),
    ("North Korea and Russia", "Organization"),
    ("Seoul officials", "Organization"),
])
def test_speaker_type(speaker, kind):
    assert speaker_type(speaker) == kind


def test_default_url_is_the_report_beside_the_database(reviews, seed_build):
    report = (Path(seed_build["db"]).parent / "index.html").resolve().as_uri()
    for r in reviews:
        assert r["url"] == f"{report}#cluster-{cluster_of(r)}"


def test_base_url_is_used(seed_db, seed_clusters):
    found = claim_reviews(seed_db, base_url=BASE)
    assert [r["url"] for r in found] == [f"{BASE}#cluster-{cid}" for cid in seed_clusters]


def test_output_is_strict_json(reviews):
    text = json.dumps(reviews, ensure_ascii=False, allow_nan=False)
    assert strict_loads(text) == reviews


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------


def test_cli_writes_the_file(runner, seed_build, reviews, tmp_path):
    out = tmp_path / "sub" / "claimreview.json"
    result = ok(runner, "export", "--db", seed_build["db"], "--format", "claimreview", "-o", out)
    assert result.stdout == ""
    assert str(out) in result.stderr
    assert strict_loads(out.read_text(encoding="utf-8")) == reviews


def test_cli_base_url_to_stdout(runner, seed_build, seed_db):
    result = ok(runner, "export", "--db", seed_build["db"], "--format", "claimreview", "--base-url", BASE)
    data = strict_loads(result.stdout)
    assert data == claim_reviews(seed_db, base_url=BASE)
    assert data and all(r["url"].startswith(BASE + "#cluster-") for r in data)


def test_cli_missing_database(runner, tmp_path):
    missing = tmp_path / "nowhere" / "verify.db"
    result = run(runner, "export", "--db", missing, "--format", "claimreview")
    assert result.exit_code == 1
    assert str(missing) in result.stderr
    assert not missing.exists()


# ---------------------------------------------------------------------------
# A hand-made corpus: corpus rows, web addresses, dates, reviews, no build
# ---------------------------------------------------------------------------


def _article(aid, path, **fields):
    return {"id": aid, "path": str(path), "text": "text", "dateline_end": 0, **fields}


def _claim(cid, aid, text, cluster_id, speaker=None, position=0):
    return {"id": cid, "article_id": aid, "position": position, "text": text, "start": 0, "end": len(text),
            "speaker": speaker, "verb": "said" if speaker else None, "cluster_id": cluster_id}


def _cluster(kid, label, sources, size, n_articles):
    return {"id": kid, "status": "corroborated" if len(sources) > 1 else "single-source", "size": size,
            "n_articles": n_articles, "n_origins": len(sources), "sources": sources, "label": label}


def _conflict(xid, a, b, explanation):
    return {"id": xid, "claim_a": a, "claim_b": b, "pair_key": f"pk-{xid}", "kind": "negation", "score": 0.9,
            "explanation": explanation, "cues": {}, "attribution": "outlets"}


@pytest.fixture
def made(tmp_path):
    corpus = tmp_path / "my corpus.jsonl"
    corpus.write_text("{}\n", encoding="utf-8")
    page = tmp_path / "page.txt"
    page.write_text("x\n", encoding="utf-8")
    articles = [
        _article("a1", f"{corpus}#12", title="Row twelve", outlet="Outlet A", origin="Wire",
                 published="2024-03-02T10:00:00+09:00"),
        _article("a2", page, url="https://news.example/story?id=7", outlet="Outlet B", origin="Wire",
                 published="2024-03-01T23:00:00-05:00"),  # later than a1 once both are in UTC
        _article("a3", f"{corpus}#row 3", published="March 1, 2024"),  # not ISO: left out
        _article("a4", page.with_name("gone.txt")),
    ]
    claims = [
        _claim("c1", "a1", "The bridge was closed on Monday.", "k1", speaker="Seoul's defense ministry"),
        _claim("c2", "a2", "The bridge was closed on Monday.", "k1", speaker="Kim"),
        _claim("c3", "a3", "The bridge was not closed on Monday.", "k2"),
        _claim("c4", "a3", "The bridge is open.", "k2", position=1),
        _claim("c5", "a4", "Rain is expected tomorrow in the city.", "k3"),
        _claim("c6", "a4", "The dam holds at full capacity.", "k4", position=1),
        _claim("c7", "a1", "The dam does not hold.", "k4", position=1),
        _claim("c8", "a2", "The port reopened after the storm.", "k5", speaker="Kim", position=1),
        _claim("c9", "a1", "The port reopened once the storm passed.", "k5", speaker="Lee", position=2),
    ]
    clusters = [
        _cluster("k1", "The bridge was closed on Monday.", ["Wire"], 2, 2),
        _cluster("k2", "The bridge was not closed on Monday.", ["unattributed:a3"], 2, 1),
        _cluster("k3", "Rain is expected tomorrow in the city.", ["unattributed:a4"], 1, 1),
        _cluster("k4", "The dam holds at full capacity.", ["Wire", "unattributed:a4"], 2, 2),
        _cluster("k5", "The port reopened after the storm.", ["Wire"], 2, 2),
    ]
    conflicts = [
        _conflict("x1", "c1", "c3", "one side negates the other"),
        _conflict("x2", "c2", "c4", "closed against open"),
        _conflict("x3", "c7", "c6", "within one cluster"),
    ]
    db_path = tmp_path / "made.db"
    db = open_store(db_path)
    store.replace_corpus(db, articles, claims, clusters, conflicts)
    yield {"db": db, "db_path": db_path, "corpus": corpus, "page": page}
    db.conn.close()


def test_made_corpus_rows_urls_and_dates(made):
    got = {cluster_of(r): r for r in claim_reviews(made["db"], db_path=made["db_path"])}
    assert set(got) == {"k1", "k2", "k3", "k4", "k5"}
    for r in got.values():
        assert "datePublished" not in r  # no build recorded, so no review date
        assert r["url"].startswith((made["db_path"].parent / "index.html").resolve().as_uri() + "#cluster-")

    k1 = got["k1"]["itemReviewed"]
    urls = [w["url"] for w in k1["appearance"]]
    assert urls == [made["corpus"].resolve().as_uri() + "#12", "https://news.example/story?id=7"]
    assert "my%20corpus.jsonl" in urls[0]
    assert k1["appearance"][0]["headline"] == "Row twelve"
    assert k1["appearance"][0]["publisher"] == {"@type": "Organization", "name": "Outlet A"}
    assert k1["appearance"][0]["sourceOrganization"] == {"@type": "Organization", "name": "Wire"}
    # 2024-03-01T23:00-05:00 is 04:00 UTC on the 2nd, after 2024-03-02T10:00+09:00 (01:00 UTC).
    assert k1["firstAppearance"] == k1["appearance"][0]
    assert k1["author"] == {"@type": "Organization", "name": "Seoul's defense ministry"}

    # The representative claim (k5's label, from a2) comes first: its speaker is the author, its
    # article the first appearance; the earliest is still a1's, by instant and not by string.
    k5 = got["k5"]["itemReviewed"]
    assert k5["author"] == {"@type": "Person", "name": "Kim"}
    assert [w["url"] for w in k5["appearance"]] == ["https://news.example/story?id=7", urls[0]]
    assert k5["firstAppearance"] == k5["appearance"][1]

    k2 = got["k2"]["itemReviewed"]
    assert [w["url"] for w in k2["appearance"]] == [made["corpus"].resolve().as_uri() + "#row%203"]
    assert "datePublished" not in k2["appearance"][0]
    assert {"headline", "publisher", "sourceOrganization"}.isdisjoint(k2["appearance"][0])
    assert k2["firstAppearance"] == k2["appearance"][0]
    assert "author" not in k2

    k3 = got["k3"]["itemReviewed"]
    assert k3["appearance"][0]["url"] == made["page"].with_name("gone.txt").resolve().as_uri()


def test_made_conflicts_and_explanations(made):
    got = {cluster_of(r): r for r in claim_reviews(made["db"], base_url=BASE + "#top")}
    assert got["k1"]["url"] == f"{BASE}#cluster-k1"  # a fragment of the base is replaced
    assert "additionalProperty" not in got["k3"]
    assert got["k3"]["reviewRating"] == {
        "@type": "Rating", "alternateName": "single-source",
        "ratingExplanation": "Carried by 1 independent origin (an unattributed article)."}

    k1 = got["k1"]
    assert k1["reviewRating"]["alternateName"] == "conflicting"
    assert [(p["identifier"], p["description"], p["value"]) for p in k1["additionalProperty"]] == [
        ("x1", "The bridge was not closed on Monday.", "one side negates the other"),
        ("x2", "The bridge is open.", "closed against open"),
    ]
    assert k1["reviewRating"]["ratingExplanation"] == (
        "Carried by 1 independent origin (Wire) and in conflict with 2 claims: "
        "\u201cThe bridge was not closed on Monday\u201d and \u201cThe bridge is open\u201d.")

    # Both claims of x3 are in k4: the other claim is the one that is not the cluster's label.
    k4 = got["k4"]
    assert [(p["identifier"], p["description"]) for p in k4["additionalProperty"]] == [("x3", "The dam does not hold.")]
    assert k4["reviewRating"]["ratingExplanation"].startswith("Carried by 2 independent origins (Wire and an unattributed article)")


def test_dismissed_conflicts_are_not_listed(made):
    store.review(made["db"], "x1", "dismissed")
    store.review(made["db"], "x2", "confirmed")
    got = {cluster_of(r): r for r in claim_reviews(made["db"], base_url=BASE)}
    assert [p["identifier"] for p in got["k1"]["additionalProperty"]] == ["x2"]
    assert got["k1"]["reviewRating"]["alternateName"] == "conflicting"
    store.review(made["db"], "x2", "dismissed")
    got = {cluster_of(r): r for r in claim_reviews(made["db"], base_url=BASE)}
    assert "additionalProperty" not in got["k1"] and "additionalProperty" not in got["k2"]
    assert got["k1"]["reviewRating"]["alternateName"] == "single-source"
    assert "conflict" not in got["k1"]["reviewRating"]["ratingExplanation"]


def test_in_memory_database_needs_a_base_url():
    db = open_store(":memory:")
    try:
        with pytest.raises(ValueError):
            claim_reviews(db)
        assert claim_reviews(db, base_url=BASE) == []
    finally:
        db.conn.close()
