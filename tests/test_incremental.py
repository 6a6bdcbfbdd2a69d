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
