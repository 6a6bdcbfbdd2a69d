"""The build on the seeds: clusters across outlets, rebuilds, failures, export, migrations."""

from __future__ import annotations

import os
import shutil
import stat

import pytest

from conftest import GOOD_ARTICLE, SEEDS, YONHAP, YONHAP_REPRINT, open_store
from verify import cluster, pipeline, store
from verify.ingest import read_articles
from verify.segment import segment_article

ARTICLE_KEYS = {"id", "path", "title", "outlet", "origin", "published", "byline"}
CLAIM_KEYS = {"id", "article_id", "text", "speaker", "cluster_id", "start", "end"}
CLUSTER_KEYS = {"id", "status", "claim_ids", "sources"}
CONFLICT_KEYS = {"id", "claim_ids", "kind", "score", "review", "note"}


@pytest.fixture(scope="module")
def claim_rows(seed_db):
    return store.claims(seed_db)


@pytest.fixture(scope="module")
def clusters_by_id(seed_db):
    return {k["id"]: k for k in store.clusters(seed_db)}


def claims_with(claim_rows, *fragments):
    return [c for c in claim_rows if any(f in c["text"] for f in fragments)]


@pytest.fixture(scope="module")
def touched_clusters(seed_db):
    """Clusters of the claims of every pending or confirmed conflict (those are "conflicting")."""
    cluster_of = {c["id"]: c["cluster_id"] for c in store.claims(seed_db)}
    return {cluster_of[cid] for x in store.conflicts(seed_db) if x["review"] != "dismissed" for cid in x["claim_ids"]}


# ---------------------------------------------------------------------------
# The seed build
# ---------------------------------------------------------------------------


def test_build_result(seed_build, seed_db):
    result = seed_build["result"]
    assert result.n_articles == 5
    assert result.n_claims == seed_db["claims"].count > 50
    assert result.n_clusters == seed_db["clusters"].count
    assert set(result.statuses) <= set(cluster.STATUSES)
    assert result.statuses.get("corroborated", 0) >= 4
    assert result.problems == []
    assert result.report_path == seed_build["report"] and result.report_path.is_file()
    assert f"{result.n_articles} articles, {result.n_claims} claims" in result.summary()
    assert f"{result.n_conflicts} conflicts flagged" in result.summary()
    assert result.n_conflicts == len(store.conflicts(seed_db)) > 0


def test_the_build_embeds_claims_and_explicitly_denied_objects(seed_build, seed_db):
    from verify import embed, names

    articles = [dict(r) for r in seed_db.query("select id, text from articles")]
    claim_hashes = {embed.text_hash(t) for t in pipeline.embedding_inputs(articles, store.claims(seed_db))}
    stored = {row["content_hash"] for row in seed_db.query("select content_hash from embeddings")}
    denied = embed.text_hash(names.canonical_text("North Korea Russia any arms deals"))
    assert claim_hashes | {denied} <= stored
    assert denied not in claim_hashes
    assert len(stored) > len(claim_hashes) == seed_build["result"].n_claims


def test_fresh_build_counts_every_text_it_encoded(seed_build, seed_db):
    stored = {row["content_hash"] for row in seed_db.query("select content_hash from embeddings")}
    assert seed_build["result"].n_encoded == len(stored)


def test_build_is_recorded(seed_build, seed_db):
    build = store.last_build(seed_db)
    result = seed_build["result"]
    assert (build["n_articles"], build["n_claims"], build["n_clusters"], build["n_encoded"]) == (
        result.n_articles, result.n_claims, result.n_clusters, result.n_encoded)
    assert build["model"] == "all-MiniLM-L6-v2+onnx-fp32"  # the model and the default backend


@pytest.mark.parametrize("fragments, origins, status", [
    # Austin's accusation and his "troubled by" remark are what the Kremlin calls unfounded.
    (["We are deeply concerned that the PRC and Russia"], {"Reuters", "Yonhap"}, "conflicting"),
    (["troubled by the recent growth in military cooperation"], {"Reuters", "Yonhap"}, "conflicting"),
    (["The UNC was established in July 1950", "Established in 1950, the UNC"], {"Reuters", "Yonhap"}, "corroborated"),
    (["first visit by Secretary Blinken since the launch of the Yoon Seok-yeol government",
      "visit to Korea is the first since the launch of the Yoon Seok-yeol government"], {None, "Dong-A Ilbo"},
     "corroborated"),
], ids=["deeply-concerned", "troubled", "unc-1950", "blinken-first-visit"])
def test_cross_outlet_paraphrases_share_a_corroborated_cluster(claim_rows, clusters_by_id, touched_clusters,
                                                               fragments, origins, status):
    members = claims_with(claim_rows, *fragments)
    assert len(members) == 2, [c["text"] for c in members]
    assert {c["origin"] for c in members} == origins
    assert members[0]["article_id"] != members[1]["article_id"]
    assert members[0]["cluster_id"] == members[1]["cluster_id"]
    k = clusters_by_id[members[0]["cluster_id"]]
    assert k["corroboration"] == "corroborated"
    assert k["status"] == status
    assert (k["id"] in touched_clusters) == (status == "conflicting")
    assert {c["id"] for c in members} <= set(k["claim_ids"])


@pytest.mark.parametrize("fragment", ["6,700 containers", "17 countries"])
def test_single_outlet_facts_stay_single_source(claim_rows, clusters_by_id, fragment):
    (claim,) = claims_with(claim_rows, fragment)
    k = clusters_by_id[claim["cluster_id"]]
    assert k["corroboration"] == "single-source"
    assert k["status"] == "single-source"  # no conflict touches these
    assert len(k["sources"]) == 1


def test_corroboration_needs_two_distinct_sources(seed_db, clusters_by_id, claim_rows, touched_clusters):
    articles = {a["id"]: a for a in store.articles(seed_db)}
    corroborated = [k for k in clusters_by_id.values() if k["status"] == "corroborated"]
    assert corroborated
    assert touched_clusters
    for k in clusters_by_id.values():
        members = [c for c in claim_rows if c["cluster_id"] == k["id"]]
        keys = sorted({cluster.source_key(articles[c["article_id"]]) for c in members})
        assert k["sources"] == keys
        assert k["n_origins"] == len(keys)
        assert k["corroboration"] == ("corroborated" if len(keys) >= 2 else "single-source")
        assert k["status"] == ("conflicting" if k["id"] in touched_clusters else k["corroboration"])


def test_the_two_yonhap_files_alone_never_corroborate(seed_db, clusters_by_id, claim_rows):
    yonhap_ids = {a["id"] for a in store.articles(seed_db)
                  if os.path.basename(a["path"]) in (YONHAP, YONHAP_REPRINT)}
    assert len(yonhap_ids) == 2
    for k in clusters_by_id.values():
        members = [c for c in claim_rows if c["cluster_id"] == k["id"]]
        if {c["article_id"] for c in members} <= yonhap_ids:
            assert k["corroboration"] == "single-source", [c["text"] for c in members]
            assert k["status"] in {"single-source", "conflicting"}
        if k["corroboration"] == "corroborated":
            assert len(set(k["sources"])) >= 2


# ---------------------------------------------------------------------------
# Rebuilds and failures
# ---------------------------------------------------------------------------


@pytest.fixture
def db_copy(seed_build, tmp_path):
    """A copy of the seed database alone in its own folder."""
    folder = tmp_path / "db"
    folder.mkdir()
    path = folder / "verify.db"
    shutil.copyfile(seed_build["db"], path)
    return path


def _export(db_path):
    db = open_store(db_path)
    try:
        return store.export(db)
    finally:
        db.conn.close()


def test_rebuild_encodes_nothing_and_keeps_cluster_ids(db_copy, seed_export):
    result = pipeline.build([SEEDS], db_copy, None)
    assert result.n_encoded == 0
    assert result.report_path is None
    after = _export(db_copy)
    assert sorted(k["id"] for k in after["clusters"]) == sorted(k["id"] for k in seed_export["clusters"])
    assert after == seed_export


def test_rebuild_with_one_new_article_encodes_only_its_claims(db_copy, make_file, seed_export):
    extra = make_file("extra.txt", GOOD_ARTICLE)
    (article,), _ = read_articles([extra])
    new_claims = segment_article(article)
    new_texts = pipeline.embedding_inputs([article], new_claims)
    assert len(new_claims) == 3
    result = pipeline.build([SEEDS, extra], db_copy, None)
    assert result.n_articles == 6
    assert result.n_claims == len(seed_export["claims"]) + 3
    assert result.n_encoded == len(set(new_texts)) == 3
    ids_before = {k["id"] for k in seed_export["clusters"]}
    after = _export(db_copy)
    ids_after = {k["id"] for k in after["clusters"]}
    # An unrelated story joins no seed cluster, and leaves the seed clusters as they were but for
    # a pair at the edge of the mutual threshold: the word weights (TF-IDF) are refitted on the
    # grown corpus, which moves a similarity by a few thousandths.
    new_ids = {c["id"] for c in after["claims"] if c["text"] in {x["text"] for x in new_claims}}
    for k in after["clusters"]:
        members = {c["id"] for c in after["claims"] if c["cluster_id"] == k["id"]}
        assert not (members & new_ids) or members <= new_ids
    assert len(ids_before & ids_after) >= 0.9 * len(ids_before)


def test_failing_builds_leave_the_database_as_it_was(db_copy, tmp_path, make_file):
    before_bytes = db_copy.read_bytes()
    before_export = _export(db_copy)
    before_files = sorted(os.listdir(db_copy.parent))
    out_dir = tmp_path / "out"

    empty = tmp_path / "empty-folder"
    empty.mkdir()
    bad = make_file("korean.txt", "북한은 미사일을 발사했다.".encode("cp949"))
    with pytest.raises(pipeline.NothingToBuild) as nothing:
        pipeline.build([empty, bad], db_copy, out_dir)
    assert sorted(p.path for p in nothing.value.problems) == sorted([str(empty), str(bad)])

    with pytest.raises(RuntimeError) as failure:
        pipeline.build([SEEDS], db_copy, out_dir, model=str(tmp_path / "no-such-model"))
    assert "no-such-model" in str(failure.value)

    assert db_copy.read_bytes() == before_bytes
    # The build lock's file stays (an flock on it, dropped by the kernel); nothing else appears.
    assert before_files == ["verify.db"]
    assert sorted(os.listdir(db_copy.parent)) == ["verify.db", "verify.db.lock"]
    assert not out_dir.exists()
    assert _export(db_copy) == before_export


def test_nothing_to_build_does_not_create_a_database(tmp_path, make_file):
    bad = make_file("empty.txt", b"")
    db_path = tmp_path / "new" / "verify.db"
    with pytest.raises(pipeline.NothingToBuild):
        pipeline.build([bad], db_path, None)
    assert not db_path.exists()


def test_rebuild_keeps_the_database_file_mode(db_copy):
    os.chmod(db_copy, 0o644)
    pipeline.build([SEEDS], db_copy, None)
    assert stat.S_IMODE(os.stat(db_copy).st_mode) == 0o644


# ---------------------------------------------------------------------------
# Export contract and migrations
# ---------------------------------------------------------------------------


def test_export_matches_the_contract(seed_export):
    assert set(seed_export) == {"articles", "claims", "clusters", "conflicts"}
    assert len(seed_export["articles"]) == 5
    for a in seed_export["articles"]:
        assert set(a) == ARTICLE_KEYS
    for c in seed_export["claims"]:
        assert set(c) == CLAIM_KEYS
        assert isinstance(c["start"], int) and isinstance(c["end"], int) and c["start"] < c["end"]
    for k in seed_export["clusters"]:
        assert set(k) == CLUSTER_KEYS
        assert k["status"] in {"corroborated", "single-source", "conflicting"}
        assert isinstance(k["sources"], list) and k["sources"]
        assert k["claim_ids"]
    for x in seed_export["conflicts"]:
        assert set(x) == CONFLICT_KEYS
        assert len(x["claim_ids"]) == 2
        assert x["review"] in {"pending", "confirmed", "dismissed"}


def test_export_every_claim_in_exactly_one_cluster(seed_export):
    claim_ids = [c["id"] for c in seed_export["claims"]]
    listed = [cid for k in seed_export["clusters"] for cid in k["claim_ids"]]
    assert sorted(listed) == sorted(claim_ids)
    assert len(set(listed)) == len(listed)
    owner = {cid: k["id"] for k in seed_export["clusters"] for cid in k["claim_ids"]}
    for c in seed_export["claims"]:
        assert owner[c["id"]] == c["cluster_id"]
    article_ids = {a["id"] for a in seed_export["articles"]}
    assert {c["article_id"] for c in seed_export["claims"]} == article_ids


def test_export_unattributed_source_names_the_article(seed_export):
    blinken = [a for a in seed_export["articles"] if a["origin"] is None and a["outlet"] is None]
    assert len(blinken) == 1
    keys = {s for k in seed_export["clusters"] for s in k["sources"]}
    assert f"unattributed:{blinken[0]['id']}" in keys


def test_migrations_are_applied_once(tmp_path):
    path = tmp_path / "m.db"
    for _ in range(3):
        db = open_store(path)
        db.conn.close()
    db = open_store(path)
    names = [row["name"] for row in db.query("select name from _verify_migrations order by name")]
    db.conn.close()
    assert names == sorted(fn.__name__ for fn in store.MIGRATIONS) == [
        "m001_initial", "m002_builds", "m003_conflict_attribution", "m004_article_copy_of",
        "m005_claim_sightings", "m006_review_history", "m007_segment_cache", "m008_build_cache"]


def test_seed_db_has_the_documented_tables(seed_db):
    tables = set(seed_db.table_names())
    assert {"articles", "claims", "claims_fts", "clusters", "embeddings", "conflicts", "reviews", "builds",
            "claim_sightings", "review_history", "_verify_migrations", "build_cache"} <= tables
    names = [row["name"] for row in seed_db.query("select name from _verify_migrations")]
    assert sorted(names) == ["m001_initial", "m002_builds", "m003_conflict_attribution", "m004_article_copy_of",
        "m005_claim_sightings", "m006_review_history", "m007_segment_cache", "m008_build_cache"]
    assert {"attribution"} <= set(seed_db["conflicts"].columns_dict)
    assert {"copy_of"} <= set(seed_db["articles"].columns_dict)
    assert {"corroboration"} <= set(seed_db["clusters"].columns_dict)


def test_m003_upgrades_an_older_database(tmp_path):
    """A database made before m003 gets attribution/corroboration columns, statuses kept."""
    import sqlite3

    import sqlite_utils

    path = tmp_path / "old.db"
    conn = sqlite3.connect(str(path))
    db = sqlite_utils.Database(conn)
    db["_verify_migrations"].create({"name": str, "applied_at": str}, pk="name")
    for fn in store.MIGRATIONS[:2]:
        fn(db)
        db["_verify_migrations"].insert({"name": fn.__name__, "applied_at": "2024-01-01T00:00:00+00:00"})
    for cid, status in (("k1", "corroborated"), ("k2", "single-source")):
        db["clusters"].insert({"id": cid, "status": status, "size": 1, "n_articles": 1, "n_origins": 1,
                               "sources": "[]", "label": cid})
    conn.commit()
    conn.close()

    db = open_store(path)
    try:
        rows = {r["id"]: (r["status"], r["corroboration"]) for r in db.query("select * from clusters")}
        applied = sorted(r["name"] for r in db.query("select name from _verify_migrations"))
        assert "attribution" in db["conflicts"].columns_dict
    finally:
        db.conn.close()
    assert rows == {"k1": ("corroborated", "corroborated"), "k2": ("single-source", "single-source")}
    assert applied == ["m001_initial", "m002_builds", "m003_conflict_attribution", "m004_article_copy_of",
        "m005_claim_sightings", "m006_review_history", "m007_segment_cache", "m008_build_cache"]


def _pid_and_square(x: int) -> tuple[int, int]:
    return os.getpid(), x * x


def test_local_map_runs_in_worker_processes_and_keeps_order(monkeypatch):
    from verify import workers

    monkeypatch.setenv("VERIFY_CORES", "2")
    out = workers.local_map(_pid_and_square, list(range(50)), min_items=10)
    assert [sq for _, sq in out] == [x * x for x in range(50)]
    assert os.getpid() not in {pid for pid, _ in out}  # computed in the workers
    below = workers.local_map(_pid_and_square, list(range(5)), min_items=10)
    assert {pid for pid, _ in below} == {os.getpid()}  # too few items: here
    monkeypatch.setenv("VERIFY_CORES", "1")
    assert {pid for pid, _ in workers.local_map(_pid_and_square, list(range(50)), min_items=10)} == {os.getpid()}


def test_segmenting_and_analysing_in_worker_processes_builds_the_same_corpus(seed_export, tmp_path, monkeypatch):
    """The seeds segmented and their claims' conflict cues read on two worker processes give the
    database a build doing both here gives."""
    from concurrent.futures import ProcessPoolExecutor

    from verify import incremental, workers

    pools = []

    class CountedPool(ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(args)
            super().__init__(*args, **kwargs)

    import concurrent.futures

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", CountedPool)
    monkeypatch.setenv("VERIFY_CORES", "2")
    monkeypatch.setattr(pipeline, "SEGMENT_PROCESSES_FROM", 1)
    monkeypatch.setattr(incremental, "ANALYSE_PROCESSES_FROM", 1)
    monkeypatch.setattr(incremental, "EMBEDDING_INPUTS_PROCESSES_FROM", 1)
    monkeypatch.setattr(incremental, "REFERENCE_PROCESSES_FROM", 1)
    monkeypatch.setattr(incremental, "SHINGLES_PROCESSES_FROM", 1)
    pipeline.build([SEEDS], tmp_path / "verify.db", None)
    # the shingles, the segmenting, the embedding inputs, the cues and the articles' dates ran in
    # worker processes
    assert len(pools) >= 5
    assert _export(tmp_path / "verify.db") == seed_export
    assert workers.PROCESS_MAP_FROM > 1


def test_a_build_runs_with_fewer_collections_and_restores_the_collectors_thresholds(tmp_path, monkeypatch):
    """`pipeline.build` runs with the collector at GC_THRESHOLDS and leaves it as it found it,
    also when the build fails."""
    import gc

    from verify import pipeline

    seen = []
    real = pipeline.ingest.read_articles
    monkeypatch.setattr(pipeline.ingest, "read_articles", lambda *a, **kw: seen.append(gc.get_threshold()) or real(*a, **kw))
    before = gc.get_threshold()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(pipeline.NothingToBuild):
        pipeline.build([empty], tmp_path / "verify.db")
    assert seen == [pipeline.GC_THRESHOLDS]
    assert gc.get_threshold() == before
