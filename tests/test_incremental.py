"""Nearest neighbours through the persisted index (cluster.NeighbourIndex), and what a build
over a grown corpus reuses."""

from __future__ import annotations

import numpy as np
import pytest

from verify import cluster
from verify.cluster import NeighbourIndex, nearest_neighbour_edges

from conftest import DONGA, SEEDS, YONHAP, open_store


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
    assert again.n_searched == len(more_keys)  # the others' rows: last build's, merged with the new vectors
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
            # Every column, and the full-text index, as the delta write leaves them.
            "rows": {table: q(f"select * from {table}") for table in ("articles", "claims", "clusters", "conflicts")},
            "fts": q("select claims.id from claims join claims_fts on claims_fts.rowid = claims.rowid "
                     "where claims_fts match 'korea OR bank OR rate'"),
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
                                                                      segment_calls, seed_build, monkeypatch):
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
    from verify import incremental

    monkeypatch.setattr(incremental, "DETAILS", True)
    pipeline.build([SEEDS], db_path)  # again, noting every pair's similarity
    before = incremental.LAST["conflicts"]["similarity"]
    segment_calls.clear()
    pipeline.build([SEEDS, extra], db_path)
    assert len(segment_calls) == 2  # only the new articles
    grown = snapshot(db_path)
    # Only candidate pairs with a new claim (or a new similarity: a denial's targets are the
    # closest few, new claims can push one out) were compared; the others' verdicts came from the cache.
    stats = incremental.LAST["conflicts"]
    new_claims = {c[0] for c in grown["claims"]} - {c[0] for c in snapshot(seed_build["db"])["claims"]}
    assert 0 < stats["scored"] < stats["pairs"] / 3
    # and the pairs read from the cache whose word overlap stayed in its band kept their scores
    assert stats["scored"] <= stats["rescored"] < stats["pairs"] / 2
    for a, b in stats["scored_pairs"]:
        assert a in new_claims or b in new_claims or before.get((a, b)) != stats["similarity"][(a, b)]
    assert incremental.LAST["analyses"]["computed"] == len(new_claims)
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


def test_the_conflict_stage_flags_the_same_pairs_whatever_its_block_size(tmp_path, seed_build, seed_db, monkeypatch):
    """The conflict stage reads the candidate pairs a block at a time (conflicts.pair_blocks): a
    block of 7 pairs gives the default block's build, from scratch and from the pair cache, with
    the blocks' pairs scored three blocks a call (incremental.SCORE_ROWS) or all in one."""
    from verify import conflict_model, conflicts, embed, incremental, pipeline, store

    monkeypatch.setattr(conflicts, "PAIR_BLOCK", 7)
    monkeypatch.setattr(incremental, "SCORE_ROWS", 20)
    # Each block's new claims' slots read on two worker processes.
    monkeypatch.setattr(incremental, "SLOTS_PROCESSES_FROM", 3)
    monkeypatch.setattr(incremental, "PAIRS_PROCESSES_FROM", 4)  # and the new pairs of most blocks there too
    monkeypatch.setenv("VERIFY_CORES", "2")
    from verify import workers

    on_workers = []
    real_pool_map = workers.pool_map
    monkeypatch.setattr(workers, "pool_map", lambda *args, **kw: on_workers.append(args[2]) or real_pool_map(*args, **kw))
    db_path = tmp_path / "verify.db"
    pipeline.build([SEEDS], db_path)
    assert incremental.LAST["conflicts"]["pairs"] > 20 * 7  # many blocks
    assert on_workers.count(incremental._forked_pair_values) > 10
    assert snapshot(db_path) == snapshot(seed_build["db"])
    # Again over its own cache: every pair's value read back in blocks of another size.
    monkeypatch.setattr(conflicts, "PAIR_BLOCK", 11)
    monkeypatch.setattr(incremental, "SCORE_ROWS", 10**9)
    pipeline.build([SEEDS], db_path)
    assert incremental.LAST["conflicts"]["scored"] == 0
    assert snapshot(db_path) == snapshot(seed_build["db"])

    # The uncached path (`find_conflicts`, as a build with a user's NLI model takes): the same
    # rows, every field, for a block of 5 pairs and for one block holding every pair.
    articles = [dict(r) for r in seed_db.query("select * from articles")]
    claims = [dict(r) for r in seed_db.query("select * from claims order by article_id, position")]
    texts = pipeline.embedding_inputs(articles, claims)
    cached = store.load_embeddings(seed_db, embed.model_key(None, None), [embed.text_hash(t) for t in texts])
    vectors, new = embed.embed_texts(texts, None, cached)
    assert not new  # all from the seed build's cache: nothing encoded here
    scorer = conflict_model.load()
    small = conflicts.find_conflicts(articles, claims, vectors, cluster.source_key, scorer=scorer, block=5)
    whole = conflicts.find_conflicts(articles, claims, vectors, cluster.source_key, scorer=scorer, block=10**9)
    assert small and small == whole


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


# ---------------------------------------------------------------------------
# Incremental builds: only what changed is clustered and compared again
# (verify/incremental.py), with the full computation's result.
# ---------------------------------------------------------------------------

WORDS = ("harbour ferry tariff glacier senate orchard reactor lantern convoy drought vaccine quarry "
         "pipeline bridge satellite tunnel election turbine refinery border").split()


def synthetic_claims(n_groups: int, per_group: int, seed: int, prefix: str):
    """Claims of tight groups (vectors and words alike within a group), one article per member
    index: (claims, vectors, vector keys, articles by id)."""
    vectors, keys, group = grouped(n_groups, per_group, dims=32, seed=seed, spread=0.12)
    claims = []
    for n, (key, g) in enumerate(zip(keys, group)):
        words = [WORDS[(g * 3 + x) % len(WORDS)] for x in range(3)] + [f"w{seed}x{n}"]
        claims.append({"id": f"{prefix}{n}", "article_id": f"{prefix}-a{n % per_group}", "text": " ".join(words),
                       "speaker": None, "position": n})
    articles = {c["article_id"]: {"id": c["article_id"], "origin": c["article_id"]} for c in claims}
    return claims, vectors, keys, articles


def full_grouping(claims, vectors, state, threshold, mutual_threshold):
    """cluster's own average linkage over the whole graph, with the TF-IDF of `state`: the reference."""
    from verify import incremental

    lexical = incremental.lexical_transform(state["vocabulary"], state["idf"], [c["text"] for c in claims],
                                            state["stop_words"])
    sim = cluster.Similarity(vectors, lexical)
    texts = [c["text"] for c in claims]
    edges, mean_floor, bonds = cluster.linkage_edges(vectors, sim, threshold, cluster.NEIGHBOURS,
                                                     [c["article_id"] for c in claims], mutual_threshold, texts=texts)
    groups = cluster.average_linkage(len(claims), edges, vectors, sim, mean_floor, bonds)
    return {frozenset(claims[i]["id"] for i in g) for g in groups}


def groups_of(claims):
    by: dict[str, set] = {}
    for c in claims:
        by.setdefault(c["cluster_id"], set()).add(c["id"])
    return {frozenset(g) for g in by.values()}


def test_the_tfidf_rows_are_scikit_learns(seed_claims):
    """The clustering's TF-IDF rows, computed without scikit-learn, are its own bit for bit."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from verify import incremental

    texts = [c["text"] for c in seed_claims] + ["", "the and of", "Pyongyang's 5,383 shells, Kuzhenkino -- again"]
    vocabulary, idf, stop_words = incremental.lexical_fit(texts[:40])
    mine = incremental.lexical_transform(vocabulary, [float(x) for x in idf], texts, stop_words)
    theirs = TfidfVectorizer(stop_words="english", sublinear_tf=True, dtype=np.float32).fit(texts[:40]).transform(texts)
    assert mine.dtype == theirs.dtype == np.float32
    assert (mine.indptr == theirs.indptr).all() and (mine.indices == theirs.indices).all()
    assert (mine.data == theirs.data).all()
    # On the texts it was fitted on: the fit's own rows (indices sorted).
    whole = TfidfVectorizer(stop_words="english", sublinear_tf=True, dtype=np.float32).fit_transform(texts)
    whole.sort_indices()
    vocabulary, idf, stop_words = incremental.lexical_fit(texts)
    again = incremental.lexical_transform(vocabulary, [float(x) for x in idf], texts, stop_words)
    assert (again.indices == whole.indices).all() and (again.data == whole.data).all()


def test_tfidf_rows_read_back_are_the_transforms_own(tmp_path, seed_claims, monkeypatch):
    """The rows of texts an earlier build transformed come from the database (only new texts are
    transformed), and the matrix equals `lexical_transform` of all the texts, value for value,
    repeats, reordering and removals included."""
    from verify import incremental, store

    texts = [c["text"] for c in seed_claims]
    vocabulary, idf, stop_words = incremental.lexical_fit(texts)
    state = {"vocabulary": vocabulary, "idf": [float(x) for x in idf], "stop_words": stop_words, "model": "m1"}
    transformed: list[int] = []
    real = incremental.lexical_transform

    def counting(vocabulary, idf, texts, stop_words):
        transformed.append(len(texts))
        return real(vocabulary, idf, texts, stop_words)

    monkeypatch.setattr(incremental, "lexical_transform", counting)
    db = store.open_db(tmp_path / "v.db")

    def check(these):
        got = incremental.lexical_rows_cached(db, state, these)
        want = real(vocabulary, state["idf"], these, stop_words)
        assert got.shape == want.shape and got.dtype == want.dtype == np.float32
        assert (got.indptr == want.indptr).all() and (got.indices == want.indices).all() and (got.data == want.data).all()

    first = texts[:60]
    check(first)
    assert transformed == [len(set(first))]
    grown = texts[:80] + texts[:3]  # 20 new texts, and repeats
    check(grown)
    assert transformed[-1] == 20
    transformed.clear()
    shuffled = list(reversed(texts[10:80]))  # removed and reordered: nothing new
    check(shuffled)
    assert transformed == []
    # Other word weights: nothing is read back.
    check_state = dict(state, model="m2")
    incremental.lexical_rows_cached(db, check_state, shuffled)
    assert transformed == [len(set(shuffled))]
    db.conn.close()


def test_word_overlaps_from_cached_word_sets_are_the_per_pair_ones(tmp_path, seed_claims, monkeypatch):
    """The conflict scorer's word overlaps with the word sets of earlier builds read back (only
    new texts read): each pair's value is `conflict_model.word_overlap` with the corpus's IDF."""
    from verify import conflict_model, incremental, store

    texts = [c["text"] for c in seed_claims]
    read: list[int] = []
    real = incremental.word_sets

    def counting(these, vocabulary=None):
        read.append(len(these))
        return real(these, vocabulary)

    monkeypatch.setattr(incremental, "word_sets", counting)
    db = store.open_db(tmp_path / "v.db")
    rng = np.random.default_rng(3)

    def check(these):
        overlaps = incremental.WordOverlaps(these, incremental.word_sets_cached(db, these))
        pairs = [(int(i), int(j), 0.5) for i, j in rng.integers(0, len(these), size=(300, 2))]
        idf = conflict_model.corpus_idf(these)
        want = [conflict_model.word_overlap(these[i], these[j], idf) for i, j, _ in pairs]
        assert np.allclose(overlaps.of(pairs), want, rtol=0, atol=1e-12)
        assert any(w > 0 for w in want)

    check(texts[:50])
    assert read == [len(set(texts[:50]))]
    check(texts[:70] + texts[:5])  # grown, with repeats
    assert read[-1] == 20
    read.clear()
    check(list(reversed(texts[30:70])))  # shrunk and reordered: every text read back
    assert read == [0]
    check(texts[70:])  # most of it gone: made anew
    assert read[-1] == len(set(texts[70:]))
    db.conn.close()


def test_clusters_of_a_grown_and_shrunk_graph_are_the_whole_graphs(tmp_path, monkeypatch):
    """Only the components a change touches are grouped again, and the groups are those of the
    average linkage over the whole graph with the same word weights (the last fit's)."""
    import json

    from verify import incremental, store

    monkeypatch.setattr(incremental, "REFIT_SHARE", 0.5)
    threshold, mutual = 0.8, 0.6
    base, vb, kb, ab = synthetic_claims(40, 4, seed=11, prefix="a")
    more, vm, km, am = synthetic_claims(3, 4, seed=12, prefix="b")
    db = store.open_db(tmp_path / "v.db")

    def run(claims, vectors, keys, articles):
        claims = [dict(c) for c in claims]
        rows = incremental.build_clusters_cached(db, claims, vectors, keys, articles, threshold, mutual, frozen_from=0)
        state = json.loads(store.load_cached(db, "cluster:" + incremental.code_version("cluster"), ["state"])["state"])
        return claims, rows, state

    claims, rows, state = run(base, vb, kb, ab)
    assert incremental.LAST["clusters"]["refit"]
    first = groups_of(claims)
    assert any(len(g) > 1 for g in first) and len(rows) == len(first)

    # Grown: three groups of new claims, and one new claim that joins an existing group.
    joiner = dict(base[0], id="j0", article_id="b-join", text=base[0]["text"])
    grown = base + more + [joiner]
    vg = np.concatenate([vb, vm, vb[:1]])
    kg = kb + km + ["joiner-key"]
    claims, rows, state2 = run(grown, vg, kg, {**ab, **am, "b-join": {"id": "b-join", "origin": "b-join"}})
    stats = incremental.LAST["clusters"]
    assert not stats["refit"] and state2["model"] == state["model"]
    assert 0 < stats["regrouped"] < stats["components"] / 4  # most components kept their groups
    assert groups_of(claims) == full_grouping(grown, vg, state, threshold, mutual)
    assert any("j0" in g and "a0" in g for g in groups_of(claims))

    # Shrunk: a group of the base removed, and the joiner gone again.
    keep = [i for i, c in enumerate(base) if not c["id"] in {"a4", "a5", "a6", "a7"}]
    shrunk = [base[i] for i in keep] + more
    vs = np.concatenate([vb[keep], vm])
    claims, rows, state3 = run(shrunk, vs, [kb[i] for i in keep] + km, {**ab, **am})
    assert not incremental.LAST["clusters"]["refit"]
    assert groups_of(claims) == full_grouping(shrunk, vs, state, threshold, mutual)

    # Past REFIT_SHARE of the fitted corpus changed: the words are weighed again, all is grouped.
    monkeypatch.setattr(incremental, "REFIT_SHARE", 0.01)
    claims, rows, state4 = run(grown, vg, kg, {**ab, **am, "b-join": {"id": "b-join", "origin": "b-join"}})
    assert incremental.LAST["clusters"]["refit"] and incremental.LAST["clusters"]["regrouped"] == incremental.LAST["clusters"]["components"]
    assert groups_of(claims) == full_grouping(grown, vg, state4, threshold, mutual)
    db.conn.close()


def test_verify_add_builds_the_last_builds_paths_and_the_new_ones(runner, tmp_path, make_file, make_jsonl):
    from cli_helpers import ok, run
    from conftest import GOOD_ARTICLE

    from verify import pipeline

    db_path, fresh = tmp_path / "verify.db", tmp_path / "fresh.db"
    assert run(runner, "add", SEEDS, "--db", db_path).exit_code == 1  # nothing to add to yet
    ok(runner, "build", SEEDS, "--db", db_path, "--out", tmp_path / "out", "--threshold", "0.8")
    bank = make_file("bank.txt", GOOD_ARTICLE, folder="extra")
    herald = make_jsonl("herald.jsonl", [REPRINT_ROW], folder="more")
    result = ok(runner, "add", bank, herald.parent, "--db", db_path, "--out", tmp_path / "out")
    assert "7 articles" in result.stdout
    assert pipeline.last_inputs(db_path) == ([str(SEEDS), str(bank), str(herald.parent)],
                                             {"model": None, "backend": None, "threshold": 0.8,
                                              "mutual_threshold": cluster.DEFAULT_MUTUAL_THRESHOLD, "nli_model": None})
    ok(runner, "build", SEEDS, bank, herald.parent, "--db", fresh, "--out", tmp_path / "out2", "--threshold", "0.8")
    assert snapshot(db_path) == snapshot(fresh)
    # Adding what the corpus already holds changes nothing.
    ok(runner, "add", bank, "--db", db_path, "--out", tmp_path / "out")
    assert snapshot(db_path) == snapshot(fresh)
    assert pipeline.last_inputs(db_path)[0] == [str(SEEDS), str(bank), str(herald.parent)]


def test_with_the_last_fits_word_weights_every_change_builds_as_a_full_build_with_them(tmp_path, make_jsonl,
                                                                                      monkeypatch, seed_build):
    """The seeds as a corpus big enough to keep its TF-IDF between builds: one article added, one
    changed, one removed; each build equals a build from scratch of the same inputs given the
    same word weights (and nothing else of the earlier builds)."""
    import json
    import shutil

    from verify import incremental, pipeline, store

    monkeypatch.setattr(incremental, "FROZEN_FROM", 0)
    monkeypatch.setattr(incremental, "REFIT_SHARE", 0.9)
    kind = "cluster:" + incremental.code_version("cluster")
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    extra = make_jsonl("herald.jsonl", [REPRINT_ROW], folder="extra")
    db_path = tmp_path / "verify.db"
    pipeline.build([seeds], db_path)
    assert incremental.LAST["clusters"]["refit"]
    mine, seed = snapshot(db_path), snapshot(seed_build["db"])
    assert [mine[k] for k in ("claims", "clusters", "conflicts")] == [seed[k] for k in ("claims", "clusters", "conflicts")]

    def state():
        db = store.open_db(db_path)
        try:
            return json.loads(store.load_cached(db, kind, ["state"])["state"])
        finally:
            db.conn.close()

    def reference(paths, weights, name):
        """A build from scratch with the word weights (and the refit count) of `weights`."""
        path = tmp_path / f"{name}.db"
        db = store.open_db(path)
        store.save_cached(db, kind, {"state": json.dumps({**weights, "components": {}})})
        db.conn.close()
        pipeline.build(paths, path)
        assert not incremental.LAST["clusters"]["refit"]
        assert incremental.LAST["clusters"]["regrouped"] == incremental.LAST["clusters"]["components"]
        return snapshot(path)

    steps = [("added", lambda: None, [seeds, extra]),
             ("changed", lambda: (seeds / YONHAP).write_text((seeds / YONHAP).read_text() + "\n\nThe talks ended on Wednesday with a joint statement.\n"), [seeds, extra]),
             ("removed", lambda: (seeds / DONGA).unlink(), [seeds, extra])]
    for name, change, paths in steps:
        weights = state()
        change()
        pipeline.build(paths, db_path)
        stats = incremental.LAST
        assert not stats["clusters"]["refit"] and state()["model"] == weights["model"]
        assert stats["clusters"]["regrouped"] < stats["clusters"]["components"], name
        assert stats["conflicts"]["scored"] < stats["conflicts"]["pairs"], name
        assert snapshot(db_path) == reference(paths, weights, name), name


def test_vectorised_neighbour_expansion_equals_the_loop(tmp_path, monkeypatch):
    """`NeighbourIndex.prepare` expands the claims' neighbours with numpy (`_expand`): the lists
    must be the loop's (`_expand_loop`) for every claim, with twins (claims sharing a text), a
    text more claims share than a row holds, claims next to twins, and vectors of texts the
    corpus no longer holds in the graph."""
    from verify import cluster

    vectors, keys, _ = grouped(80, 4, seed=5)  # 320 vectors
    path = tmp_path / "verify.db.faiss"
    NeighbourIndex(path, "m", exact_limit=0).prepare(vectors, keys)  # the graph holds all 320
    # Now 300 of them (20 gone, stale in the graph), 3 of group 0 twice (twins), one 25 times.
    keep = list(range(300)) + [0, 1, 2] + [5] * 24
    now_vectors, now_keys = vectors[keep], [keys[i] for i in keep]
    looped = []
    real = cluster.NeighbourIndex._expand_loop

    def loop(self, keys, *args):
        looped.append(len(keys))
        return real(self, keys, *args)

    def prepared(loop_only: bool):
        index = NeighbourIndex(path, "m", exact_limit=0)
        if loop_only:
            monkeypatch.setattr(NeighbourIndex, "_expand", loop)
        assert index.prepare(now_vectors, now_keys)
        monkeypatch.undo()
        return index

    fast, slow = prepared(False), prepared(True)
    assert looped == [len(now_keys)]
    assert not fast.rebuilt and len(fast.keys) == 320
    assert np.array_equal(fast._ids, slow._ids)
    assert np.array_equal(fast._sims, slow._sims)
    assert (fast._ids[:, 1] >= 0).all()  # every claim has neighbours
    twins = [i for i, k in enumerate(now_keys) if now_keys.count(k) > 1]
    assert len(twins) == 31 and all(fast._sims[i, 1] == 1.0 for i in twins)
    assert (fast._sims[twins[-1]] == 1.0).all()  # 25 claims of one text fill the row
    # The searches met the stale vectors, and the vectorised rows skipped them.
    stale = set(range(300, 320))
    assert any(int(g) in stale for g in fast._found[1].ravel())


@pytest.mark.parametrize("older", ["pair:0000", "pair:zzzz", None])
def test_saving_a_kind_drops_the_other_kinds_of_its_family_only(tmp_path, older):
    """`store.save_cached(..., family=...)` drops the kinds of the family other than its own (an
    older code version's), whether they sort below or above it, and nothing of other families or
    of kinds that merely share the first letters."""
    from verify import store

    db = open_store(tmp_path / "verify.db")
    try:
        kinds = ["pair;x", "pai", "pair", "paira:1", "analyse:1", "pair:mmmm"] + ([older] if older else [])
        for kind in kinds:
            store.save_cached(db, kind, {"k": "v"})
        store.save_cached(db, "pair:mmmm", {"k2": "v2"}, family="pair:")
        left = {row[0] for row in db.conn.execute("select distinct kind from build_cache")}
        assert left == {"pair;x", "pai", "pair", "paira:1", "analyse:1", "pair:mmmm"}
        assert store.load_cached(db, "pair:mmmm", None) == {"k": "v", "k2": "v2"}
    finally:
        db.conn.close()


def test_conflict_cues_kept_in_parts_read_back_as_computed(tmp_path, seed_claims, monkeypatch):
    """`analyses_cached` adds a part with the cues of a build's new texts, reads every part back
    as `conflicts.analyse` gives them, and writes the cues of the build's texts as one part when
    too many stored texts left the corpus or the parts are too many."""
    from verify import conflicts, incremental, store

    texts = list(dict.fromkeys(c["text"] for c in seed_claims))
    assert len(texts) > 60
    db = store.open_db(tmp_path / "verify.db")

    def parts():
        kind = next(r[0] for r in db.conn.execute("select distinct kind from build_cache where kind like 'analyse:%'"))
        return store.load_cached(db, kind, None)

    def check(batch, computed, n_parts):
        got = incremental.analyses_cached(db, batch)
        assert got == [conflicts.analyse(t) for t in batch]
        assert incremental.LAST["analyses"]["computed"] == computed
        assert len(parts()) == n_parts

    check(texts[:40], 40, 1)
    check(texts[:40] + texts[40:50], 10, 2)         # a part for the 10 new texts
    check(texts[:50], 0, 2)                         # nothing new: nothing written
    check(texts[5:55] + texts[:2], 5, 3)            # 3 stored texts gone: a part more
    check(texts[30:60], 5, 1)                       # 25 of 55 gone: all in one part again
    assert sorted(loads_part(p) for p in parts().values()) == [sorted(incremental.text_hash(t) for t in texts[30:60])]
    monkeypatch.setattr(incremental, "ANALYSE_PARTS", 2)
    check(texts[30:61], 1, 2)
    check(texts[30:62], 1, 1)                       # a third part would be too many
    db.conn.close()


def loads_part(raw):
    from verify import incremental

    return sorted(incremental.loads(raw)[0])


def test_edge_similarities_read_back_are_the_pairs_own(tmp_path, seed_claims):
    """`EdgeSimilarities` gives `Similarity.pairs` of any pairs, bit for bit, computing only the
    pairs of claims (by vector key and text) an earlier build did not, whatever their order."""
    from verify import incremental, store

    texts = [c["text"] for c in seed_claims]
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(len(texts), 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    sim = cluster.Similarity(vectors, cluster.lexical_vectors(texts))
    idents = [f"v{n}" + incremental.text_hash(t) for n, t in enumerate(texts)]
    rows = rng.integers(0, len(texts), 400)
    cols = rng.integers(0, len(texts), 400)
    keep = rows < cols
    rows, cols = rows[keep], cols[keep]
    _, unique = np.unique(rows * len(texts) + cols, return_index=True)
    rows, cols = rows[unique], cols[unique]
    db = store.open_db(tmp_path / "verify.db")

    def run(order, rows, cols, vectors=vectors):
        s = cluster.Similarity(vectors[order], sim.lexical[order])
        cached = incremental.EdgeSimilarities(db, "edges:test", [idents[n] for n in order], s.pairs)
        got = cached(rows, cols)
        assert got.tobytes() == s.pairs(rows, cols).tobytes()
        cached.save()
        return cached

    assert run(np.arange(len(texts)), rows, cols).computed == len(rows)
    assert run(np.arange(len(texts)), rows, cols).value is None  # nothing new: nothing written
    # Claims in another order (the same pairs, renumbered), and a few pairs more.
    order = rng.permutation(len(texts))
    where = np.argsort(order)
    known = set(zip(rows.tolist(), cols.tolist()))
    more = [(n, n + 40) for n in range(10) if (n, n + 40) not in known]
    more_r, more_c = np.array([r for r, _ in more]), np.array([c for _, c in more])
    new_r = np.concatenate([where[rows], where[more_r]])
    new_c = np.concatenate([where[cols], where[more_c]])
    assert run(order, new_r, new_c).computed == len(more) > 0
    # A claim's vector changed (another key): its pairs are computed again.
    changed = idents[rows[0]]
    idents[rows[0]] = "changed" + changed
    assert run(np.arange(len(texts)), rows, cols).computed == int((rows == rows[0]).sum() + (cols == rows[0]).sum())
    db.conn.close()


def test_phrase_bonds_read_back_are_the_pairs_own(tmp_path):
    """`PhraseBonds` gives `cluster.share_phrase` of any pairs, computing only the pairs of texts
    an earlier build did not ask about."""
    from verify import incremental, store

    texts = ["The complex consisted of 250 apartments in Antakya.", "Its complex consisted of 250 apartments in Antakya.",
             "Officials spoke about budgets on Monday.", "A complex of 250 flats stood in Antakya.",
             "Officials spoke about budgets on Monday, again."]
    idents = [f"v{n}" + incremental.text_hash(t) for n, t in enumerate(texts)]
    rows, cols = np.array([0, 0, 2, 1]), np.array([1, 3, 4, 3])
    db = store.open_db(tmp_path / "verify.db")

    def run(rows, cols):
        bonds = incremental.PhraseBonds(db, idents, texts)
        got = bonds(rows, cols)
        assert got.tolist() == cluster.share_phrase(rows, cols, texts).tolist()
        bonds.save()
        return got.tolist(), bonds.computed

    assert run(rows, cols) == ([True, False, True, False], 4)
    assert run(rows, cols)[1] == 0
    assert run(np.array([0, 3]), np.array([4, 4]))[1] == 2
    db.conn.close()


def test_connected_components_are_the_union_finds(tmp_path):
    """`incremental._components` (scipy's labels) gives what a union-find over the edges gives:
    each component under its smallest member, components in that order, members in index order
    and edges in their order (the clustering fingerprints components by them)."""
    from verify import incremental
    from verify.unionfind import find_root

    def reference(n, edges):
        parent = list(range(n))
        for _, i, j in edges:
            a, b = find_root(parent, i), find_root(parent, j)
            if a != b:
                parent[max(a, b)] = min(a, b)
        found = {}
        for i in sorted({i for _, i, _ in edges} | {j for _, _, j in edges}):
            found.setdefault(find_root(parent, i), ([], []))[0].append(i)
        for e in edges:
            found[find_root(parent, e[1])][1].append(e)
        return found

    rng = np.random.default_rng(5)
    for _ in range(200):
        n = int(rng.integers(1, 60))
        edges = sorted({(float(rng.random()), int(min(i, j)), int(max(i, j)))
                        for i, j in rng.integers(0, n, size=(int(rng.integers(0, 80)), 2)) if i != j}, reverse=True)
        assert list(incremental._components(n, edges).items()) == list(reference(n, edges).items())


def test_a_pairs_score_is_the_same_for_any_word_overlap_in_its_band():
    """What lets a build keep a cached pair's score (`incremental.overlap_thresholds`): with the
    other features equal, two word overlaps with as many of the trees' overlap thresholds under
    them give the same score, bit for bit; overlaps in other bands do move scores."""
    from verify import conflict_model, incremental

    scorer = conflict_model.load()
    thresholds = incremental.overlap_thresholds(scorer)
    assert len(thresholds) > 3
    rng = np.random.default_rng(11)
    rows = rng.random((3000, len(conflict_model.FEATURES))) * rng.choice([1.0, 3.0, 30.0], size=len(conflict_model.FEATURES))
    rows[rng.random(rows.shape) < 0.3] = 0.0
    band = rng.integers(0, len(thresholds) + 1, size=len(rows))
    low = np.where(band > 0, thresholds[np.maximum(band - 1, 0)], -0.5)
    high = np.where(band < len(thresholds), thresholds[np.minimum(band, len(thresholds) - 1)], 1.5)
    one, other = rows.copy(), rows.copy()
    one[:, incremental.WORD_OVERLAP] = low + (high - low) * rng.uniform(0.01, 0.99, size=len(rows))
    other[:, incremental.WORD_OVERLAP] = low + (high - low) * rng.uniform(0.01, 0.99, size=len(rows))
    bands = [np.searchsorted(thresholds, np.round(x[:, incremental.WORD_OVERLAP], 9), side="left") for x in (one, other)]
    same = bands[0] == bands[1]
    assert same.mean() > 0.95
    assert scorer.probability(one[same]).tobytes() == scorer.probability(other[same]).tobytes()
    shifted = rows.copy()
    shifted[:, incremental.WORD_OVERLAP] = np.where(band > 0, low, 1.5)  # the band below (or the last)
    assert (scorer.probability(shifted) != scorer.probability(one)).any()
