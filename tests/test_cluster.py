"""Cluster: k-NN edges, average-linkage groups without chaining, status by independent origins."""

from __future__ import annotations

import numpy as np
import pytest

from verify import cluster
from verify.cluster import (CORROBORATED, SINGLE_SOURCE, build_clusters, cluster_id, group_claims,
                            Similarity, lexical_vectors, nearest_neighbour_edges, source_key, status_for)


def unit(*rows) -> np.ndarray:
    v = np.asarray(rows, dtype=np.float64)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def from_gram(gram) -> np.ndarray:
    """Unit vectors whose pairwise cosine similarities are exactly `gram`."""
    return np.linalg.cholesky(np.asarray(gram, dtype=np.float64)).astype(np.float32)


def random_unit(n: int, dims: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dims))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


# ---------------------------------------------------------------------------
# nearest_neighbour_edges
# ---------------------------------------------------------------------------


def test_edges_are_ordered_pairs_above_the_floor():
    vectors = random_unit(60, 6, seed=1)
    edges = nearest_neighbour_edges(vectors, k=4, min_similarity=0.3)
    assert edges, "random 6-d vectors have some neighbours above 0.3"
    for sim, i, j in edges:
        assert 0 <= i < j < 60
        assert sim >= 0.3
        assert sim == pytest.approx(float(vectors[i] @ vectors[j]), abs=1e-5)
    assert [e[0] for e in edges] == sorted((e[0] for e in edges), reverse=True)
    assert len({(i, j) for _, i, j in edges}) == len(edges)


def test_edges_are_the_k_nearest_neighbours_of_each_row():
    vectors = random_unit(50, 16, seed=2)
    k, floor = 3, 0.0
    sims = vectors.astype(np.float64) @ vectors.T.astype(np.float64)
    np.fill_diagonal(sims, -np.inf)
    expected = set()
    for i in range(len(vectors)):
        for j in np.argsort(-sims[i])[:k]:
            if sims[i, j] >= floor:
                expected.add((min(i, int(j)), max(i, int(j))))
    got = {(i, j) for _, i, j in nearest_neighbour_edges(vectors, k=k, min_similarity=floor)}
    assert got == expected


def test_no_edges_for_fewer_than_two_vectors():
    assert nearest_neighbour_edges(np.zeros((0, 4), dtype=np.float32)) == []
    assert nearest_neighbour_edges(unit([1, 0, 0])) == []


def test_identical_vectors_make_one_edge_of_similarity_one():
    (edge,) = nearest_neighbour_edges(unit([1, 2, 3], [1, 2, 3]))
    assert edge[1:] == (0, 1)
    assert edge[0] == pytest.approx(1.0, abs=1e-5)


def test_far_vectors_make_no_edges():
    assert nearest_neighbour_edges(unit([1, 0, 0], [0, 1, 0], [0, 0, 1]), min_similarity=0.5) == []


# ---------------------------------------------------------------------------
# group_claims
# ---------------------------------------------------------------------------


def test_near_duplicates_grouped_far_ones_apart():
    vectors = unit(
        [1, 0.02, 0, 0], [1, -0.03, 0.01, 0], [1, 0, 0.02, 0.01],  # three near e1
        [0, 1, 0.02, 0], [0.01, 1, 0, 0.03],                        # two near e2
        [0, 0, 0, 1],                                               # alone
    )
    assert group_claims(vectors, threshold=0.75) == [[0, 1, 2], [3, 4], [5]]


def test_singletons_are_included():
    assert group_claims(unit([1, 0, 0], [0, 1, 0], [0, 0, 1])) == [[0], [1], [2]]
    assert group_claims(unit([1, 0])) == [[0]]


def test_average_linkage_does_not_chain():
    # a-b 0.8, b-c 0.8, a-c 0.3: the k-NN graph at 0.75 connects all three, the groups must not.
    vectors = from_gram([[1, 0.8, 0.3], [0.8, 1, 0.8], [0.3, 0.8, 1]])
    edges = {(i, j) for _, i, j in nearest_neighbour_edges(vectors, min_similarity=0.75)}
    assert edges == {(0, 1), (1, 2)}
    groups = group_claims(vectors, threshold=0.75)
    assert sorted(len(g) for g in groups) == [1, 2]
    assert [0, 1, 2] not in groups


def test_groups_merge_while_mean_similarity_stays_above_threshold():
    # a-b 0.9, c-d 0.9, cross pairs 0.8: mean 0.8 >= 0.75, so the two pairs join.
    gram = [[1, 0.9, 0.8, 0.8], [0.9, 1, 0.8, 0.8], [0.8, 0.8, 1, 0.9], [0.8, 0.8, 0.9, 1]]
    assert group_claims(from_gram(gram), threshold=0.75) == [[0, 1, 2, 3]]
    assert group_claims(from_gram(gram), threshold=0.85) == [[0, 1], [2, 3]]


# ---------------------------------------------------------------------------
# Status and sources
# ---------------------------------------------------------------------------


def test_status_for():
    assert status_for({"Yonhap"}) == SINGLE_SOURCE
    assert status_for({"Yonhap", "Reuters"}) == CORROBORATED
    assert status_for(set()) == SINGLE_SOURCE


def test_source_key_prefers_origin_then_outlet_then_unattributed():
    assert source_key({"id": "a1", "origin": "Reuters", "outlet": "Daily Maverick"}) == "Reuters"
    assert source_key({"id": "a1", "origin": None, "outlet": "Daily Maverick"}) == "Daily Maverick"
    assert source_key({"id": "a1", "origin": None, "outlet": None}) == "unattributed:a1"
    assert source_key({"id": "b2"}) == "unattributed:b2"


def _claims(*article_ids):
    return [{"id": f"c{i}", "article_id": a, "text": f"claim {i}"} for i, a in enumerate(article_ids)]


def test_same_origin_twice_is_single_source():
    articles = {"y1": {"id": "y1", "origin": "Yonhap", "outlet": "Yonhap"},
                "y2": {"id": "y2", "origin": "Yonhap", "outlet": None}}
    claims = _claims("y1", "y2")
    (k,) = build_clusters(claims, unit([1, 0, 0], [1, 0.01, 0]), articles)
    assert k["status"] == SINGLE_SOURCE
    assert k["sources"] == ["Yonhap"]
    assert (k["size"], k["n_articles"], k["n_origins"]) == (2, 2, 1)


def test_two_origins_corroborate():
    articles = {"r": {"id": "r", "origin": "Reuters", "outlet": "Daily Maverick"},
                "y": {"id": "y", "origin": "Yonhap", "outlet": "Yonhap"},
                "u": {"id": "u", "origin": None, "outlet": None}}
    claims = _claims("r", "y", "u")
    clusters = build_clusters(claims, unit([1, 0, 0], [1, 0.01, 0], [0, 0, 1]), articles)
    assert [(k["status"], k["sources"]) for k in clusters] == [
        (CORROBORATED, ["Reuters", "Yonhap"]),
        (SINGLE_SOURCE, ["unattributed:u"]),
    ]
    assert claims[0]["cluster_id"] == claims[1]["cluster_id"] == clusters[0]["id"]
    assert claims[2]["cluster_id"] == clusters[1]["id"]
    assert clusters[0]["label"] == "claim 0"


def test_unattributed_articles_are_independent_of_each_other():
    articles = {"a": {"id": "a"}, "b": {"id": "b"}}
    (k,) = build_clusters(_claims("a", "b"), unit([1, 0], [1, 0.01]), articles)
    assert k["status"] == CORROBORATED
    assert k["sources"] == ["unattributed:a", "unattributed:b"]


def test_cluster_id_is_stable_and_order_free():
    assert cluster_id(["b", "a"]) == cluster_id(["a", "b"])
    assert cluster_id(["a", "b"]) != cluster_id(["a", "c"])
    assert cluster_id(["a"]).startswith("k") and len(cluster_id(["a"])) == 12


def test_statuses_are_the_three_of_the_contract():
    assert cluster.STATUSES == ("corroborated", "single-source", "conflicting")


def test_mutual_best_as_a_mask_picks_the_pairs_the_loop_picks():
    """`_mutual_best_mask` (arrays, the build's) and `_mutual_best` (a dict, the reference) agree,
    ties included: similarities drawn from a few values, so many (claim, article) keys have
    several equally similar neighbours and the first visited must win in both."""
    import numpy as np

    from verify.cluster import _mutual_best, _mutual_best_mask

    rng = np.random.default_rng(7)
    for trial in range(20):
        n = 60
        article_of = [f"a{rng.integers(0, 12)}" for _ in range(n)]
        pairs = {(int(min(a, b)), int(max(a, b))) for a, b in rng.integers(0, n, size=(300, 2)) if a != b}
        pairs = sorted(pairs, key=lambda p: rng.random())
        sims = rng.choice([0.5, 0.6, 0.7, 0.8], size=len(pairs))
        edges = [(float(s), i, j) for s, (i, j) in zip(sims, pairs)]
        rows = np.asarray([i for i, _ in pairs], dtype=np.int64)
        cols = np.asarray([j for _, j in pairs], dtype=np.int64)
        mask = _mutual_best_mask(np.asarray(sims), rows, cols, article_of)
        assert {p for p, m in zip(pairs, mask) if m} == _mutual_best(edges, article_of)
    assert _mutual_best_mask(np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), []).shape == (0,)


def test_find_root_follows_a_chain_and_shortens_it():
    from verify.unionfind import find_root

    parent = [0, 0, 1, 2, 3, 5]  # a chain 4 -> 3 -> 2 -> 1 -> 0, and 5 on its own
    assert find_root(parent, 4) == 0
    assert find_root(parent, 5) == 5
    assert parent[4] == 2 and parent[2] == 0  # path halving: each visited node skips one
    assert [find_root(parent, i) for i in range(5)] == [0] * 5


def test_sparse_rows_of_average_linkage_compute_as_scipy_does():
    """`cluster._SparseRow` stands for a canonical 1-row CSR matrix in `average_linkage`: its
    products' sums and its additions must equal scipy's to the last bit, along chains of merges."""
    import numpy as np
    import scipy.sparse as sp

    from verify.cluster import _SparseRow

    rng = np.random.default_rng(3)
    matrix = sp.random(60, 400, density=0.04, format="csr", random_state=4, dtype=np.float32)
    matrix.data = np.abs(matrix.data) + np.float32(1e-3)
    matrix = sp.vstack([matrix[:5], sp.csr_matrix((1, 400), dtype=np.float32), matrix[6:]], format="csr")  # a row without words
    matrix.eliminate_zeros()
    assert matrix.has_canonical_format

    def mine(g):
        lo, hi = matrix.indptr[g], matrix.indptr[g + 1]
        return _SparseRow(matrix.indices[lo:hi].astype(np.int64), matrix.data[lo:hi].astype(np.float64))

    ours = {g: mine(g) for g in range(60)}
    theirs = {g: matrix[g].astype(np.float64) for g in range(60)}
    checked = 0
    for _ in range(300):
        a, b = rng.choice(sorted(ours), 2, replace=False)
        mean_ours = float(ours[a].multiply(ours[b]).sum())
        mean_theirs = float(theirs[a].multiply(theirs[b]).sum())
        assert mean_ours == mean_theirs  # exactly
        checked += mean_ours > 0
        if rng.random() < 0.3 and len(ours) > 2:  # merge b into a, as a grouping does
            ours[a], theirs[a] = ours[a] + ours.pop(b), theirs[a] + theirs.pop(b)
            assert np.array_equal(ours[a].indices, theirs[a].indices)
            assert np.array_equal(ours[a].data, theirs[a].data)
    assert checked > 50



def test_a_paraphrase_in_other_words_joins_as_a_mutual_best_match():
    """Two claims of different articles, each the other's best match, whose meaning (embedding)
    clears the mutual threshold while their few shared words pull the mixed similarity under it,
    share a cluster; as few shared words and a meaning under the threshold do not."""
    texts = ["Navy sailors found the balloon off the coast.", "The Navy managed to find what was left of the balloon.",
             "Officials spoke about budgets.", "A committee debated taxes."]
    article_of = ["a", "b", "c", "d"]

    def grouped(dense: float) -> bool:
        vectors = unit([1.0, 0.0, 0.0], [dense, (1 - dense ** 2) ** 0.5, 0.0], [0.0, 0.0, 1.0], [0.0, 0.2, 0.98])
        mixed = Similarity(vectors, lexical_vectors(texts)).pairs(np.array([0]), np.array([1]))[0]
        mutual = round(mixed + 0.03, 3)  # the mixed similarity is just under it, within the merge margin
        assert mixed < mutual and mixed >= mutual - cluster.MEAN_MARGIN
        assert (dense >= mutual) == (dense == 0.8)
        groups = group_claims(vectors, threshold=0.95, texts=texts, article_of=article_of, mutual_threshold=mutual)
        return [0, 1] in [sorted(g) for g in groups]

    assert grouped(0.8)      # the embedding alone clears the mutual threshold
    assert not grouped(0.4)  # neither does


def test_phrases_are_runs_of_words_most_of_which_carry_content():
    assert ("complex", "consisted", "of", "250", "apartments") in cluster.phrases(
        "The 12-storey complex consisted of 250 apartments.")
    # Runs of function and reporting words are any sentence's, not one statement's.
    assert cluster.phrases("He said on Monday that it was in the end") == set()
    assert cluster.phrases("Too short to count") == set()


def test_a_mutual_pair_sharing_a_phrase_joins_below_every_floor():
    """Two claims of different articles, each the other's best match, that share five words in a
    row share a cluster though their similarity is under the mutual threshold and the merge floor;
    the same vectors with the words rewritten stay apart."""
    other = ["Officials spoke about budgets.", "A committee debated taxes."]
    vectors = unit([1.0, 0.0, 0.0], [0.45, 0.89, 0.0], [0.0, 0.0, 1.0], [0.0, -0.2, 0.98])
    article_of = ["a", "b", "c", "d"]

    def grouped(second: str) -> bool:
        texts = ["The 12-storey Renaissance complex consisted of 250 apartments in Antakya.", second] + other
        mixed = Similarity(vectors, lexical_vectors(texts)).pairs(np.array([0]), np.array([1]))[0]
        assert mixed < 0.6 - cluster.MEAN_MARGIN
        groups = group_claims(vectors, threshold=0.95, texts=texts, article_of=article_of, mutual_threshold=0.6)
        return [0, 1] in [sorted(g) for g in groups]

    assert grouped("The Rönesans Residence, whose complex consisted of 250 apartments in Antakya, collapsed.")
    assert not grouped("The Rönesans Residence, with 250 flats in all in Antakya, collapsed.")


def test_a_shared_phrase_does_not_join_claims_of_one_article():
    texts = ["The complex consisted of 250 apartments in Antakya.", "Its complex consisted of 250 apartments in Antakya."]
    vectors = unit([1.0, 0.0], [0.45, 0.89])
    assert group_claims(vectors, threshold=0.95, texts=texts, article_of=["a", "a"], mutual_threshold=0.6) == [[0], [1]]
