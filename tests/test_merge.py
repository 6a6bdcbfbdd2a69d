"""Merge verifier (verify/merge.py) and the clustering's use of it (cluster.linkage_edges)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from verify import cluster, merge


def from_gram(gram) -> np.ndarray:
    return np.linalg.cholesky(np.asarray(gram, dtype=np.float64)).astype(np.float32)


def verifier(threshold: float, **weights) -> merge.MergeVerifier:
    """A verifier scoring only the named features (others weigh 0)."""
    coef = [float(weights.get(name, 0.0)) for name in merge.FEATURES]
    return merge.MergeVerifier(coef, float(weights.get("intercept", 0.0)), threshold, {})


# ---------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------


def test_tokens_read_numbers_names_and_content_words():
    t = merge.tokens("All 10 people on board, including Prigozhin, were killed in 2,023 crashes.")
    assert t.numbers == {"10", "2023"}
    assert "prigozhin" in t.names and "all" not in t.names  # a stop word capitalised at the start is not a name
    assert {"peopl", "board", "kille"} <= t.words and "the" not in t.words


def test_pair_features_count_shared_and_clashing_numbers():
    a, b, c = (merge.tokens(x) for x in ("The quake killed 5,383 people in Hatay.",
                                         "In Hatay 5383 people were killed by the quake.",
                                         "The storm killed 912 people in Hatay."))
    same = dict(zip(merge.FEATURES, merge.pair_features(0.6, 0.6, 0.6, 0, 0, 0.1, a, b, False)))
    other = dict(zip(merge.FEATURES, merge.pair_features(0.6, 0.6, 0.6, 0, 1, 0.1, a, c, True)))
    assert same["numbers_shared"] == 1 and same["numbers_clash"] == 0
    assert other["numbers_shared"] == 0 and other["numbers_clash"] == 1
    assert same["mutual"] == 1 and other["mutual"] == 0 and other["rank_sum"] == 1
    assert same["words_jaccard"] > other["words_jaccard"]
    assert same["denial_differs"] == 0 and other["denial_differs"] == 1


def test_edge_features_rank_each_pair_within_the_other_article():
    # Claim 0 (article a) has two edges into article b: to 1 (0.7) and to 2 (0.5); 1 and 2 see only 0.
    mix = np.array([0.7, 0.5, 0.9])
    cos = mix.copy()
    rows, cols = np.array([0, 0, 1]), np.array([1, 2, 2])
    texts = ["one", "two", "three"]
    f = merge.edge_features(mix, cos, rows, cols, texts, ["a", "b", "b"], [False, False, False], 0.0)
    col = {name: n for n, name in enumerate(merge.FEATURES)}
    assert f[0, col["mutual"]] == 1 and f[0, col["rank_sum"]] == 0
    assert f[1, col["mutual"]] == 0 and f[1, col["rank_sum"]] == 1
    assert f[0, col["margin"]] == pytest.approx((0.7 - 0.5) + (0.7 - (merge.FEATURE_FLOOR - 0.05)))
    assert f[1, col["margin"]] == pytest.approx((0.5 - 0.7) + (0.5 - (merge.FEATURE_FLOOR - 0.05)))
    assert not f[2].any()  # within one article: never asked, no features


# ---------------------------------------------------------------------------
# The verifier
# ---------------------------------------------------------------------------


def test_probability_is_the_logistic_of_the_weighted_features():
    v = verifier(0.5, similarity=4.0, intercept=-2.0)
    x = np.zeros((2, len(merge.FEATURES)))
    x[:, 0] = [0.25, 0.75]
    assert v.probability(x) == pytest.approx(1 / (1 + np.exp(-np.array([-1.0, 1.0]))))


def test_json_round_trip_and_key(tmp_path):
    v = verifier(0.7, similarity=3.0, mutual=1.5, intercept=-1.0)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(v.to_json()))
    back = merge.load(path)
    assert back.coef == v.coef and back.intercept == v.intercept and back.threshold == 0.7
    assert back.key == v.key
    assert v.with_threshold(0.8).key != v.key


def test_a_verifier_of_other_features_is_refused(tmp_path):
    data = verifier(0.5).to_json()
    data["features"] = data["features"][:-1]
    with pytest.raises(ValueError):
        merge.MergeVerifier.from_json(data)
    assert merge.load(tmp_path / "absent.json") is None


def test_fit_learns_which_pairs_say_the_same():
    rng = np.random.default_rng(0)
    x = rng.uniform(0.3, 0.7, size=(200, len(merge.FEATURES)))
    y = (x[:, merge.FEATURES.index("numbers_shared")] > 0.5).astype(int)
    v = merge.fit(x, y, threshold=0.5)
    p = v.probability(x)
    assert ((p >= 0.5) == (y == 1)).mean() > 0.9
    assert v.meta["n_positive"] == int(y.sum())


def test_shipped_verifier_loads_with_its_threshold():
    v = merge.load()
    assert v is not None, "models/merge/model.json is shipped"
    assert 0.0 < v.threshold < 1.0 and len(v.coef) == len(merge.FEATURES)


# ---------------------------------------------------------------------------
# In the clustering
# ---------------------------------------------------------------------------

# Claims 0 (article a) and 1 (article b): cosine 0.6, below any threshold, each the other's best
# match; claim 2 (article b) is 0.3 from both.
GRAM = [[1.0, 0.6, 0.3], [0.6, 1.0, 0.3], [0.3, 0.3, 1.0]]
TEXTS = ["Rescuers pulled 12 people from the rubble in Antakya.",
         "In Antakya 12 people were pulled from the rubble by rescuers.",
         "Markets fell sharply on Tuesday."]


def _group(v, articles, denies, threshold, mutual):
    vectors = from_gram(GRAM)
    sim = cluster.Similarity(vectors, None)  # the embedding alone: similarities are the Gram's
    edges, floor = cluster.linkage_edges(vectors, sim, threshold, 5, articles, mutual, denies, None, TEXTS, v)
    return cluster.average_linkage(len(vectors), edges, vectors, sim, floor)


def test_verifier_joins_a_mutual_pair_below_the_threshold():
    assert _group(verifier(0.5, intercept=5.0), ["a", "b", "b"], None, 0.8, 0.5) == [[0, 1], [2]]


def test_verifier_below_its_threshold_keeps_the_pair_apart():
    assert _group(verifier(0.5, intercept=-5.0), ["a", "b", "b"], None, 0.8, 0.5) == [[0], [1], [2]]


def test_verifier_is_not_asked_below_the_mutual_threshold():
    assert _group(verifier(0.5, intercept=5.0), ["a", "b", "b"], None, 0.8, 0.65) == [[0], [1], [2]]


def test_verifier_never_joins_claims_of_one_article_or_a_denial_to_what_it_denies():
    yes = verifier(0.5, intercept=5.0)
    assert _group(yes, ["a", "a", "b"], None, 0.8, 0.5) == [[0], [1], [2]]
    assert _group(yes, ["a", "b", "b"], [True, False, False], 0.8, 0.5) == [[0], [1], [2]]


def test_verifier_weights_decide_the_pair():
    # Weighted on shared numbers: claims 0 and 1 share "12"; the same pair with no shared number stays apart.
    v = verifier(0.5, numbers_shared=10.0, intercept=-5.0)
    assert _group(v, ["a", "b", "b"], None, 0.8, 0.5) == [[0, 1], [2]]
    TEXTS[1] = "In Antakya people were pulled from the rubble by rescuers."
    try:
        assert _group(v, ["a", "b", "b"], None, 0.8, 0.5) == [[0], [1], [2]]
    finally:
        TEXTS[1] = "In Antakya 12 people were pulled from the rubble by rescuers."


def test_pairs_from_the_threshold_join_whatever_the_verifier_says():
    assert _group(verifier(0.5, intercept=-5.0), ["a", "b", "b"], None, 0.55, 0.5) == [[0, 1], [2]]


def test_a_rebuild_with_another_verifier_groups_again(tmp_path):
    from verify import incremental, store

    vectors = from_gram(GRAM)
    claims = [{"id": f"c{n}", "article_id": a, "text": t, "speaker": None, "position": n}
              for n, (a, t) in enumerate(zip(["a", "b", "b"], TEXTS))]
    articles = {a: {"id": a, "origin": a} for a in "ab"}
    db = store.open_db(tmp_path / "v.db")
    try:
        def grouped(v):
            rows = incremental.build_clusters_cached(db, [dict(c) for c in claims], vectors, ["k0", "k1", "k2"],
                                                     articles, 0.8, 0.5, [False] * 3, verifier=v)
            return sorted(r["size"] for r in rows)

        assert grouped(verifier(0.5, intercept=5.0)) == [1, 2]
        assert grouped(verifier(0.5, intercept=-5.0)) == [1, 1, 1]  # not the cached grouping of the first
        assert grouped(verifier(0.5, intercept=5.0)) == [1, 2]
    finally:
        db.conn.close()


def test_the_verifiers_mean_floor_stops_groups_chaining():
    # a-b and b-c are paraphrase-like (0.6), a-c far (0.35): each article holds one claim, so every
    # pair is a mutual best match and the verifier (always yes) accepts a-b and b-c.
    vectors = from_gram([[1.0, 0.6, 0.35], [0.6, 1.0, 0.6], [0.35, 0.6, 1.0]])
    sim = cluster.Similarity(vectors, None)
    texts = ["one thing", "another thing", "a third thing"]

    def grouped(v):
        edges, floor = cluster.linkage_edges(vectors, sim, 0.8, 5, ["a", "b", "c"], 0.5, None, None, texts, v)
        return cluster.average_linkage(3, edges, vectors, sim, floor)

    yes = verifier(0.5, intercept=5.0)
    assert grouped(yes) == [[0, 1, 2]]  # mean of {a, b} with c: (0.35 + 0.6) / 2 >= 0.5 - MEAN_MARGIN
    kept_apart = grouped(yes.with_threshold(0.5, 0.5))
    assert len(kept_apart) == 2 and not any({0, 2} <= set(g) for g in kept_apart)
    assert yes.with_threshold(0.5, 0.5).key != yes.key
    assert merge.MergeVerifier.from_json(yes.with_threshold(0.5, 0.5).to_json()).mean_floor == 0.5
