"""Nearest neighbours through the persisted index (cluster.NeighbourIndex), and what a build
over a grown corpus reuses."""

from __future__ import annotations

import numpy as np
import pytest

from verify import cluster
from verify.cluster import NeighbourIndex, nearest_neighbour_edges

from conftest import SEEDS


def grouped(n_groups: int, per_group: int, dims: int = 32, seed: int = 0, spread: float = 0.05):
    """Unit vectors in tight, well separated groups, and a key per vector: (vectors, keys, group)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_groups, dims))
    rows, keys, group = [], [], []
    for g in range(n_groups):
        for m in range(per_group):
            rows.append(centres[g] / np.linalg.norm(centres[g]) + rng.normal(scale=spread, size=dims))
            keys.append(f"s{seed}-g{g}-m{m}")
            group.append(g)
    v = np.asarray(rows)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32), keys, group


def pairs(edges):
    return {(i, j) for _, i, j in edges}


def within_groups(group):
    return {(i, j) for i in range(len(group)) for j in range(i + 1, len(group)) if group[i] == group[j]}


def test_index_finds_the_same_neighbours_as_the_exact_search():
    vectors, keys, group = grouped(80, 4)
    index = NeighbourIndex(exact_limit=0)
    assert index.prepare(vectors, keys)
    exact = nearest_neighbour_edges(vectors, k=5, min_similarity=0.8)
    through = nearest_neighbour_edges(vectors, k=5, min_similarity=0.8, index=index)
    assert pairs(exact) == within_groups(group) == pairs(through)
    for (s, i, j) in through:
        assert s == pytest.approx(float(vectors[i] @ vectors[j]), abs=1e-4)
    # One search serves a smaller k (the conflict candidates' 12 under the clusters' 20).
    assert pairs(nearest_neighbour_edges(vectors, k=1, min_similarity=0.8, index=index)) == \
        pairs(nearest_neighbour_edges(vectors, k=1, min_similarity=0.8))


def test_claims_with_one_input_share_a_vector_and_are_each_others_neighbours():
    vectors, keys, group = grouped(60, 2)
    # Every vector twice, as reprints give: same key, same vector.
    vectors2 = np.concatenate([vectors, vectors])
    keys2, group2 = keys + keys, group + group
    index = NeighbourIndex(exact_limit=0)
    index.prepare(vectors2, keys2)
    assert index.graph.ntotal == len(keys)  # one vector per distinct input
    got = pairs(nearest_neighbour_edges(vectors2, k=5, min_similarity=0.8, index=index))
    assert got == within_groups(group2) == pairs(nearest_neighbour_edges(vectors2, k=5, min_similarity=0.8))


def test_small_corpus_stays_on_the_exact_search_and_writes_nothing(tmp_path):
    vectors, keys, _ = grouped(10, 3)
    index = NeighbourIndex(tmp_path / "x.faiss", "m", exact_limit=100)
    assert not index.prepare(vectors, keys)
    assert not index.ready_for(vectors, 5)
    assert not (tmp_path / "x.faiss").exists()


def test_index_is_persisted_and_a_grown_corpus_adds_only_its_new_vectors(tmp_path):
    path = tmp_path / "verify.db.faiss"
    vectors, keys, group = grouped(50, 3, seed=1)
    first = NeighbourIndex(path, "model-a", exact_limit=0)
    first.prepare(vectors, keys)
    assert path.exists() and first.n_added == len(keys) and first.rebuilt

    more, more_keys, more_group = grouped(10, 3, seed=2)
    grown = np.concatenate([vectors, more])
    again = NeighbourIndex(path, "model-a", exact_limit=0)
    assert again.keys == keys  # read back from the file
    again.prepare(grown, keys + more_keys)
    assert again.n_added == len(more_keys) and not again.rebuilt
    all_groups = group + [g + 1000 for g in more_group]
    assert pairs(nearest_neighbour_edges(grown, k=4, min_similarity=0.8, index=again)) == within_groups(all_groups)

    # Nothing new: nothing added, the file is left as it was.
    stamp = path.stat().st_mtime_ns
    third = NeighbourIndex(path, "model-a", exact_limit=0)
    third.prepare(grown, keys + more_keys)
    assert third.n_added == 0 and path.stat().st_mtime_ns == stamp
    # Another model's vectors are never mixed in: the graph is made anew.
    other = NeighbourIndex(path, "model-b", exact_limit=0)
    assert other.keys == []
    other.prepare(grown, keys + more_keys)
    assert other.rebuilt and other.n_added == len(keys) + len(more_keys)


def test_texts_that_left_the_corpus_are_skipped_then_dropped(tmp_path):
    path = tmp_path / "verify.db.faiss"
    vectors, keys, group = grouped(40, 3, seed=3)
    NeighbourIndex(path, "m", exact_limit=0).prepare(vectors, keys)
    # A third of the corpus removed: the stale vectors stay in the graph, never in a result.
    keep = [i for i in range(len(keys)) if group[i] % 3 != 0]
    index = NeighbourIndex(path, "m", exact_limit=0)
    index.prepare(vectors[keep], [keys[i] for i in keep])
    assert not index.rebuilt and index.graph.ntotal == len(keys)
    got = pairs(nearest_neighbour_edges(vectors[keep], k=4, min_similarity=0.8, index=index))
    assert got == within_groups([group[i] for i in keep])
    # Most of it removed: the graph is made anew from what is left.
    few = [i for i in range(len(keys)) if group[i] < 10]
    index = NeighbourIndex(path, "m", exact_limit=0)
    index.prepare(vectors[few], [keys[i] for i in few])
    assert index.rebuilt and index.graph.ntotal == len(few)


def test_an_unreadable_index_file_is_made_anew(tmp_path):
    path = tmp_path / "verify.db.faiss"
    path.write_bytes(b"not an index")
    vectors, keys, group = grouped(20, 3, seed=4)
    index = NeighbourIndex(path, "m", exact_limit=0)
    index.prepare(vectors, keys)
    assert index.rebuilt and NeighbourIndex(path, "m").keys == keys


def test_build_through_the_index_gives_the_seed_clusters(seed_build, monkeypatch, tmp_path):
    """The seeds (~1,800 claims) built with the index forced on: same clusters and conflicts as
    the exact search, and a second build adds nothing to the index."""
    from verify import pipeline, store

    monkeypatch.setattr(cluster, "EXACT_LIMIT", 0)
    db_path = tmp_path / "verify.db"
    pipeline.build([SEEDS], db_path)
    index_path = pipeline.neighbour_index_path(db_path)
    assert index_path.exists()

    def memberships(path):
        db = store.open_db(path)
        try:
            groups: dict[str, set] = {}
            for row in db.query("select id, cluster_id from claims"):
                groups.setdefault(row["cluster_id"], set()).add(row["id"])
            keys = {row["pair_key"] for row in db.query("select pair_key from conflicts")}
            return {frozenset(g) for g in groups.values()}, keys
        finally:
            db.conn.close()

    assert memberships(db_path) == memberships(seed_build["db"])
    stamp = index_path.stat().st_mtime_ns
    pipeline.build([SEEDS], db_path)
    assert index_path.stat().st_mtime_ns == stamp  # every vector was in it already


# ---------------------------------------------------------------------------
# A build over a grown, changed or shrunk corpus: unchanged articles are not segmented again
# (store.segment_cache), and the result is the full build's of the same inputs.
# ---------------------------------------------------------------------------

REPRINT_ROW = {
    "id": "herald-arms",
    "outlet": "Korea Herald",
    "origin": "Korea Herald",
    "title": "Seoul and Washington warn over Pyongyang's arms for Moscow",
    "text": ("South Korea and the United States said on Thursday that North Korea has shipped "
             "artillery shells and missiles to Russia for its war in Ukraine.\n\n"
             "Defence Minister Shin Won-sik and U.S. Defense Secretary Lloyd Austin met in Seoul for "
             "their annual security talks, the ministry said.\n\n"
             "North Korea denied supplying any weapons to Russia, its foreign ministry said in a statement.\n\n"
             "The two ministers agreed to strengthen extended deterrence against the North."),
}
CHANGED_ARTICLE = (
    "Central bank lifts interest rates again\n"
    "By Jane Doe\n"
    "The central bank raised its main interest rate by a full point on Thursday, officials said.\n"
    "Markets rose sharply after the announcement, with the main index gaining more than two percent.\n"
    "Analysts had expected a smaller increase given the slowdown in consumer spending this winter.\n"
)


def snapshot(db_path) -> dict:
    """What a build decides: articles and their origins, claims and their clusters, cluster
    statuses, conflicts by their content pair key."""
    from verify import store

    db = store.open_db(db_path)
    try:
        q = lambda sql: sorted(tuple(r.values()) for r in db.query(sql))
        return {
            "articles": q("select id, path, outlet, origin, copy_of from articles"),
            "claims": q("select id, article_id, position, text, speaker, cluster_id from claims"),
            "clusters": q("select id, status, size, n_articles, n_origins, sources from clusters"),
            "conflicts": q("select pair_key, kind, score from conflicts"),
        }
    finally:
        db.conn.close()


def cached_segments(db_path) -> int:
    from verify import store

    db = store.open_db(db_path)
    try:
        return db["segment_cache"].count
    finally:
        db.conn.close()


@pytest.fixture
def segment_calls(monkeypatch):
    """The articles segmented (not taken from the cache), by id."""
    from verify import segment

    calls: list[str] = []
    real = segment.segment_article

    def counting(article):
        calls.append(article["id"])
        return real(article)

    monkeypatch.setattr(segment, "segment_article", counting)
    return calls


def test_a_grown_changed_and_shrunk_corpus_builds_as_a_full_build_does(tmp_path, make_file, make_jsonl,
                                                                      segment_calls, seed_build):
    from verify import pipeline

    from conftest import GOOD_ARTICLE

    db_path = tmp_path / "verify.db"
    pipeline.build([SEEDS], db_path)
    n_seed_articles = len(snapshot(db_path)["articles"])
    assert len(segment_calls) == n_seed_articles == cached_segments(db_path)
    assert snapshot(db_path) == snapshot(seed_build["db"])

    # Grown: two new articles, one of them about what the seeds report.
    extra = make_file("bank.txt", GOOD_ARTICLE, folder="extra").parent
    make_jsonl("herald.jsonl", [REPRINT_ROW], folder="extra")
    segment_calls.clear()
    pipeline.build([SEEDS, extra], db_path)
    assert len(segment_calls) == 2  # only the new articles
    grown = snapshot(db_path)
    pipeline.build([SEEDS, extra], tmp_path / "fresh.db")
    assert grown == snapshot(tmp_path / "fresh.db")
    # The new article joined what the seeds report: a cluster holds claims of both.
    (herald,) = [a[0] for a in grown["articles"] if "herald.jsonl" in a[1]]
    by_cluster: dict[str, set] = {}
    for _, article_id, _, _, _, cluster_id in grown["claims"]:
        by_cluster.setdefault(cluster_id, set()).add(article_id)
    assert any(herald in a and len(a) > 1 for a in by_cluster.values())
    assert any(c[1] == herald for c in grown["claims"]) and len(grown["conflicts"]) > len(snapshot(seed_build["db"])["conflicts"])

    # Changed: the one changed file is segmented again, its old claims are gone.
    make_file("bank.txt", CHANGED_ARTICLE, folder="extra")
    segment_calls.clear()
    pipeline.build([SEEDS, extra], db_path)
    assert len(segment_calls) == 1
    changed = snapshot(db_path)
    pipeline.build([SEEDS, extra], tmp_path / "fresh2.db")
    assert changed == snapshot(tmp_path / "fresh2.db") != grown
    assert any("full point" in c[3] for c in changed["claims"])
    assert not any("half a point" in c[3] for c in changed["claims"])
    assert cached_segments(db_path) == n_seed_articles + 2  # the changed file's old entry dropped

    # Shrunk: back to the seeds alone, nothing segmented, the seed build's result.
    segment_calls.clear()
    pipeline.build([SEEDS], db_path)
    assert segment_calls == []
    assert snapshot(db_path) == snapshot(seed_build["db"])
    assert cached_segments(db_path) == n_seed_articles


def test_a_new_segmenter_segments_everything_again(tmp_path, monkeypatch, segment_calls):
    from verify import pipeline

    db_path = tmp_path / "verify.db"
    pipeline.build([SEEDS], db_path)
    first = snapshot(db_path)
    segment_calls.clear()
    pipeline.build([SEEDS], db_path)
    assert segment_calls == []
    monkeypatch.setattr(pipeline, "_segmenter_version", lambda: "a-changed-segmenter")
    pipeline.build([SEEDS], db_path)
    assert len(segment_calls) == len(first["articles"])
    assert snapshot(db_path) == first
