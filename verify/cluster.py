"""Cluster: claim vectors -> groups of claims that say the same thing, and each group's status.

Sub-quadratic in memory: scikit-learn computes similarities a chunk of rows at a time and only
each claim's k nearest neighbours are kept, so no N x N matrix is ever held. The groups are then
formed by average linkage over that sparse graph: the most similar pair is joined first and two
groups merge only while the mean similarity of all their members stays above a floor, which
stops the chaining that plain connected components suffer from.

Two things make paraphrases across outlets meet without merging what merely shares a topic
(both chosen on the development stories, leave-one-story-out: benchmarks/stories.py):

* the similarity mixes the embedding's cosine with the TF-IDF cosine of the words, so that the
  rare words two reports of one fact share ("Kuzhenkino", "5,383", "Bab al-Hawa") count;
* below the threshold, a pair still joins when each claim is the other's best match in the
  other's article and their similarity reaches a lower, separate floor (the mutual threshold):
  an outlet reports a fact once, so its best match elsewhere is its paraphrase when one exists
  (a claim only one outlet carries has no such mutual partner, or a weak one);
* such a mutual pair that shares a phrase word for word (five words in a row, three of them
  not function words: a quote, "regrets the unintended entry of", "from January 18 to 20") is
  bonded: it joins whatever its similarity, because outlets rewrite a sentence around the
  words they take from one statement, and the rewriting pulls the whole sentence's similarity
  under the floor ("The 12-storey Renaissance complex consisted of 250 apartments" / "The
  12-story Rönesans Residence, which has 250 apartments and was completed in 2013 ...").
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from verify.unionfind import find_root

DEFAULT_THRESHOLD = 0.65         # any two claims this similar join (chosen with M on the stories: see README, Benchmarks)
DEFAULT_MUTUAL_THRESHOLD = 0.60  # two claims that are each other's best match across articles join from here
NEIGHBOURS = 20
LEXICAL_WEIGHT = 0.3   # share of the TF-IDF cosine in the similarity of two claims
MEAN_MARGIN = 0.05     # two groups merge while their mean similarity stays above the lower floor - this
# A phrase two claims share word for word: PHRASE_WORDS words in a row, PHRASE_CONTENT of them not
# function words (chosen leave-one-story-out with T and M: 5 and 3 found 38 of 58 corroborated
# groups against 33 without bonds, with the same 37 of 40 single sources kept and 11 statements
# merged against 7; 4 words kept 35 single sources and merged 26, 6 words found 35 groups).
PHRASE_WORDS = 5
PHRASE_CONTENT = 3

CORROBORATED = "corroborated"
SINGLE_SOURCE = "single-source"
CONFLICTING = "conflicting"  # set by the conflict detector, never here
STATUSES = (CORROBORATED, SINGLE_SOURCE, CONFLICTING)


# Nearest neighbours through an index (faiss HNSW), from this many distinct claim vectors on;
# below it the exact search is quick and its results are the reference (the seeds, the stories).
EXACT_LIMIT = 5000
# HNSW graph: chosen on the FNC-1 bodies' 39,000 claim vectors (384 floats) against exact
# search on 2 cores: recall@20 0.991, built in 8 s, all 39,000 searched in 5.6 s (the
# exact search: 27 s with scikit-learn); efSearch 128 gives 0.996 for twice the search time.
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 80, 64
SEARCH_K = NEIGHBOURS  # one search serves every k up to this (clusters: 20, conflict candidates: 12)


class NeighbourIndex:
    """The claims' nearest neighbours by cosine, through a faiss HNSW graph persisted at `path`.

    The graph holds one vector per distinct embedding input (its text hash, `keys`): claims
    with the same input share a vector, and a vector already in the graph is never added again,
    so a build over a grown corpus adds only its new texts. Vectors of texts that left the corpus
    stay in the graph and are skipped in results; the graph is made anew when they outnumber the
    live ones, or when `model` (the embedding model and backend) changes. The file is written
    atomically (a temporary file renamed over it), beside the database: `<db>.faiss`.

    `prepare(vectors, keys)` searches every claim once (k = SEARCH_K); `edges(k, floor)` then
    gives `nearest_neighbour_edges`' result for any k up to that. Below EXACT_LIMIT distinct
    vectors `prepare` does nothing and the exact search runs as before.
    """

    def __init__(self, path: str | Path | None = None, model: str = "", exact_limit: int | None = None):
        self.path = Path(path) if path is not None else None
        self.model = model
        self.exact_limit = EXACT_LIMIT if exact_limit is None else exact_limit
        self.graph = None
        self.keys: list[str] = []
        self.position: dict[str, int] = {}
        self.n_added = 0      # vectors added to the graph by the last prepare
        self.rebuilt = False  # whether the last prepare made the graph anew
        self._n = -1          # claims searched by the last prepare
        self._sims = self._ids = None
        # The last prepare's search, per distinct key: (keys, graph positions, similarities),
        # persisted with the graph so that the next build searches only new keys.
        self._found: tuple[list[str], np.ndarray, np.ndarray] | None = None
        self.n_searched = 0   # distinct keys searched through the graph by the last prepare
        if self.path is not None and self.path.exists():
            self._load()

    def _load(self) -> None:
        import faiss

        try:
            with np.load(self.path, allow_pickle=False) as data:
                if str(data["model"]) != self.model:
                    return
                graph = faiss.deserialize_index(data["index"])
                keys = [str(k) for k in data["keys"]]
                found = (([str(k) for k in data["found_keys"]], data["found_ids"], data["found_sims"])
                         if "found_keys" in data else None)
        except Exception:  # unreadable or from another version: made anew
            return
        if graph.ntotal != len(keys):
            return
        self.graph, self.keys = graph, keys
        self.position = {k: i for i, k in enumerate(keys)}
        self._found = found

    def _save(self) -> None:
        import faiss

        if self.path is None:
            return
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                found = {}
                if self._found is not None:
                    found = {"found_keys": np.array(self._found[0]), "found_ids": self._found[1],
                             "found_sims": self._found[2]}
                np.savez(f, model=np.array(self.model), keys=np.array(self.keys),
                         index=faiss.serialize_index(self.graph), **found)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def prepare(self, vectors: np.ndarray, keys: list[str], runner=None) -> bool:
        """Add the vectors the graph lacks, save it, and search every claim. False (nothing done)
        when the corpus is small enough for the exact search.

        `runner` (verify/workers.py): where the search runs, QUERY_BLOCK claims a task; on a Dask
        cluster the graph is sent to each worker once. Each query's search is its own, so the
        neighbours are the same wherever its block runs. The graph is grown and saved here."""
        import faiss

        self._n, self._sims, self._ids, self.n_added, self.rebuilt = -1, None, None, 0, False
        first: dict[str, int] = {}
        for i, key in enumerate(keys):
            first.setdefault(key, i)
        if len(first) < max(self.exact_limit, 2):
            return False
        stale = sum(1 for k in self.keys if k not in first)
        if self.graph is None or stale > len(first):
            self.graph = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
            self.graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            self.keys, self.position, stale, self.rebuilt = [], {}, 0, True
        new = [k for k in first if k not in self.position]
        if self.rebuilt:
            self._found = None
        if new:
            self.graph.add(np.ascontiguousarray(vectors[[first[k] for k in new]], dtype=np.float32))
            for k in new:
                self.position[k] = len(self.keys)
                self.keys.append(k)
            self.n_added = len(new)
        self.graph.hnsw.efSearch = max(HNSW_EF_SEARCH, SEARCH_K + 1 + min(stale, 32))
        uniq = list(first)
        query = np.ascontiguousarray(vectors[[first[k] for k in uniq]], dtype=np.float32)
        extra = min(stale, 32)  # room for vectors of texts no longer in the corpus
        searched = self._found
        sims, ids = self._search(uniq, query, SEARCH_K + 1 + extra, len(self.keys) - self.n_added, runner)
        if self.n_added or self._found is not searched:
            self._save()
        # Claims sharing an input share a vector: expand each distinct neighbour to its claims,
        # nearest first, the claim itself and its twins (similarity 1) before anything else.
        claims_of: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            claims_of.setdefault(key, []).append(i)
        row_of = {k: r for r, k in enumerate(uniq)}
        n, width = len(keys), SEARCH_K + 1
        out_ids = np.full((n, width), -1, dtype=np.int64)
        out_sims = np.zeros((n, width), dtype=np.float32)
        self._expand(keys, claims_of, row_of, sims, ids, out_ids, out_sims)
        self._n, self._ids, self._sims = n, out_ids, out_sims
        return True

    def _expand(self, keys: list[str], claims_of: dict[str, list[int]], row_of: dict[str, int],
                sims: np.ndarray, ids: np.ndarray, out_ids: np.ndarray, out_sims: np.ndarray) -> None:
        """`prepare`'s expansion of each distinct key's searched neighbours into each claim's row,
        vectorised (`_expand_loop` is the same, a claim at a time; tests/test_incremental.py):
        the claim itself, then the other claims of its text (its twins, similarity 1), then the
        claims of each searched neighbour in search order (all the claims of a text, in claim
        order), skipping empty slots, its own text and texts no claim has any more, up to the
        row's width."""
        n, width = out_ids.shape
        n_graph = len(self.keys)
        size = np.zeros(n_graph + 1, dtype=np.int64)  # graph position -> its claims; last: an empty slot
        members: list[int] = []
        for g, k in enumerate(self.keys):
            got = claims_of.get(k)
            if got:
                size[g] = len(got)
                members += got
        start = np.zeros(n_graph + 1, dtype=np.int64)
        start[1:] = np.cumsum(size[:-1])
        members_arr = np.asarray(members, dtype=np.int64)
        own = np.fromiter((self.position[k] for k in keys), dtype=np.int64, count=n)
        claim = np.arange(n)
        out_ids[:, 0], out_sims[:, 0] = claim, 1.0
        m = size[own]  # claims sharing the claim's text, itself included

        def within(counts: np.ndarray) -> np.ndarray:
            """0..counts[x]-1 for each x, concatenated."""
            total = int(counts.sum())
            return np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)

        # Twins: the other claims of its text, in claim order.
        twins = np.flatnonzero(m > 1)
        if len(twins):
            who = np.repeat(twins, m[twins])
            u = within(m[twins])
            other = members_arr[start[own[who]] + u]
            keep = other != who
            who, other = who[keep], other[keep]
            column = 1 + within(m[twins] - 1)
            fits = column < width
            out_ids[who[fits], column[fits]] = other[fits]
            out_sims[who[fits], column[fits]] = 1.0
        # Neighbours: each searched text's claims, after the claim's own text's.
        rows = np.fromiter((row_of[k] for k in keys), dtype=np.int64, count=n)
        slots = ids[rows]
        slot = np.where(slots < 0, n_graph, slots)
        counts = np.where(slot != own[:, None], size[slot], 0)
        offset = m[:, None] + np.cumsum(counts, axis=1) - counts
        at = np.flatnonzero(counts.ravel())
        if len(at):
            c = counts.ravel()[at]
            who = np.repeat(at // slots.shape[1], c)
            t = within(c)
            column = np.repeat(offset.ravel()[at], c) + t
            other = members_arr[np.repeat(start[slot.ravel()[at]], c) + t]
            found = np.repeat(sims[rows].ravel()[at], c)
            fits = column < width
            out_ids[who[fits], column[fits]] = other[fits]
            out_sims[who[fits], column[fits]] = found[fits]

    def _expand_loop(self, keys: list[str], claims_of: dict[str, list[int]], row_of: dict[str, int],
                     sims: np.ndarray, ids: np.ndarray, out_ids: np.ndarray, out_sims: np.ndarray) -> None:
        """`_expand`, a claim at a time (the reference the tests hold it to)."""
        width = out_ids.shape[1]
        for i, key in enumerate(keys):
            r = row_of[key]
            got = [i] + [j for j in claims_of[key] if j != i][: width - 1]
            got_sims = [1.0] * len(got)
            for s, g in zip(sims[r], ids[r]):
                if len(got) >= width:
                    break
                if g < 0:
                    continue
                other = self.keys[g]
                if other == key or other not in claims_of:
                    continue
                for j in claims_of[other]:
                    if len(got) >= width:
                        break
                    got.append(j)
                    got_sims.append(float(s))
            out_ids[i, : len(got)] = got
            out_sims[i, : len(got)] = got_sims

    def _search(self, uniq: list[str], query: np.ndarray, width: int, n_before: int, runner=None):
        """(similarities, graph positions) of each distinct key's `width` nearest graph vectors.

        A key the last prepare searched (at the same width, in the same graph) is not searched
        again: its row then is merged with the exact similarities to the vectors added since
        (positions from `n_before` on), a new one entering where it is nearer than the row's last.
        Only new keys go through the graph. So a grown corpus costs its new vectors, and a row
        can differ from what a search of the grown graph would give where HNSW is approximate
        (the exact products find what the graph search may miss)."""
        found = self._found
        known: dict[str, int] = {}
        if found is not None and found[1].shape[1] == width:
            known = {k: r for r, k in enumerate(found[0])}
        todo = [r for r, k in enumerate(uniq) if k not in known]
        sims = np.zeros((len(uniq), width), dtype=np.float32)
        ids = np.full((len(uniq), width), -1, dtype=np.int64)
        if todo:
            got_sims, got_ids = search_blocks(self.graph, np.ascontiguousarray(query[todo]), width, runner)
            sims[todo], ids[todo] = got_sims, got_ids
        reused = [r for r, k in enumerate(uniq) if k in known]
        if reused:
            rows = np.fromiter((known[uniq[r]] for r in reused), dtype=np.int64, count=len(reused))
            old_sims, old_ids = found[2][rows], found[1][rows]
            if n_before < len(self.keys):  # vectors added since: exact products, merged in
                added = self.graph.reconstruct_n(n_before, len(self.keys) - n_before)
                positions = np.arange(n_before, len(self.keys), dtype=np.int64)
                for start in range(0, len(reused), QUERY_BLOCK):
                    block = slice(start, start + QUERY_BLOCK)
                    extra = query[np.asarray(reused[block])] @ added.T
                    both_sims = np.concatenate([old_sims[block], extra.astype(np.float32)], axis=1)
                    both_ids = np.concatenate([old_ids[block], np.broadcast_to(positions, extra.shape)], axis=1)
                    both_sims[both_ids < 0] = -np.inf
                    order = np.argsort(-both_sims, axis=1, kind="stable")[:, :width]
                    old_sims[block] = np.take_along_axis(both_sims, order, axis=1)
                    old_ids[block] = np.take_along_axis(both_ids, order, axis=1)
                old_sims[old_ids < 0] = 0.0
            sims[reused], ids[reused] = old_sims, old_ids
        self.n_searched = len(todo)
        if todo or n_before < len(self.keys) or found is None or len(known) != len(uniq):
            self._found = (list(uniq), ids, sims)
        return sims, ids

    def ready_for(self, vectors: np.ndarray, k: int) -> bool:
        return self._ids is not None and self._n == len(vectors) and k <= SEARCH_K

    def edges(self, k: int, min_similarity: float) -> list[tuple[float, int, int]]:
        """(similarity, i, j), i < j, most similar first; a pair both claims list takes the
        similarity of the later row (vectorised: the same as a loop over the rows)."""
        s, lo, hi = self.edge_arrays(k, min_similarity)
        return list(zip(s.tolist(), lo.tolist(), hi.tolist()))

    def edge_arrays(self, k: int, min_similarity: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`edges` as three arrays (similarities, i, j) in the same order: ~20 bytes an edge
        where the list's tuples take ~150 (600k edges at 40k claims)."""
        sims, ids = self._sims[:, : k + 1], self._ids[:, : k + 1]
        rows = np.broadcast_to(np.arange(self._n)[:, None], ids.shape)
        keep = (ids >= 0) & (ids != rows) & (sims >= min_similarity)
        s, i, j = sims[keep], rows[keep], ids[keep]
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        # the last occurrence of each pair (row-major order) wins
        _, last = np.unique((lo * self._n + hi)[::-1], return_index=True)
        pick = len(s) - 1 - last
        s, lo, hi = s[pick], lo[pick], hi[pick]
        order = np.lexsort((hi, lo, s))[::-1]
        return s[order].astype(np.float64), lo[order], hi[order]


# Claims searched a task when the graph is searched through a runner (verify/workers.py).
QUERY_BLOCK = 4096
_worker_graph: dict = {}  # on a Dask worker: the graph last sent to it, read once ("source": a weakref to its bytes, "graph")


def search_graph(query: np.ndarray, graph, k: int, ef_search: int) -> tuple[np.ndarray, np.ndarray]:
    """(similarities, positions) of the k nearest graph vectors to each row of `query`.

    `graph` is the faiss index itself, or on a Dask worker its bytes (`faiss.serialize_index`),
    read once per worker process and kept while the same bytes come with the next block (Dask
    keeps them for the build; held here by a weak reference, they go when it lets them go)."""
    if isinstance(graph, np.ndarray):
        import weakref

        import faiss

        source = _worker_graph.get("source")
        if source is None or source() is not graph:
            _worker_graph.clear()
            _worker_graph.update(source=weakref.ref(graph), graph=faiss.deserialize_index(graph))
        graph = _worker_graph["graph"]
    graph.hnsw.efSearch = ef_search
    return graph.search(query, k)


def search_blocks(graph, query: np.ndarray, k: int, runner=None) -> tuple[np.ndarray, np.ndarray]:
    """`graph.search(query, k)`, QUERY_BLOCK rows a task through `runner` (this process by default)."""
    import faiss

    from verify import workers

    runner = runner or workers.Runner()
    source = graph if runner.local else faiss.serialize_index(graph)
    blocks = [query[start : start + QUERY_BLOCK] for start in range(0, len(query), QUERY_BLOCK)]
    found = runner.map_blocks(search_graph, blocks, source, k, graph.hnsw.efSearch)
    return np.vstack([s for s, _ in found]), np.vstack([i for _, i in found])


def nearest_neighbour_edges(vectors: np.ndarray, k: int = NEIGHBOURS, min_similarity: float = DEFAULT_THRESHOLD,
                            index: NeighbourIndex | None = None) -> list[tuple[float, int, int]]:
    """(similarity, i, j) with i < j for each claim's k nearest neighbours above the floor.

    Through `index` when it has searched these vectors (a large corpus: approximate, see
    NeighbourIndex); otherwise exact: scikit-learn's brute-force search computes distances in
    row chunks bounded by its working_memory setting, so memory stays O(N x k), not O(N^2).
    """
    n = len(vectors)
    if n < 2:
        return []
    if index is not None and index.ready_for(vectors, k):
        return index.edges(k, min_similarity)
    from sklearn.neighbors import NearestNeighbors  # imported only here: seconds a build

    # Vectors are unit length, so Euclidean distance ranks like cosine (|a-b|^2 = 2 - 2cos) and
    # takes scikit-learn's fast dot-product path (3x quicker than metric="cosine" here).
    search = NearestNeighbors(n_neighbors=min(k + 1, n), metric="euclidean", algorithm="brute").fit(vectors)
    distances, neighbours = search.kneighbors(vectors)
    edges: dict[tuple[int, int], float] = {}
    for i, (row_d, row_j) in enumerate(zip(distances, neighbours)):
        for d, j in zip(row_d, row_j):
            similarity = 1.0 - float(d) ** 2 / 2.0
            if j != i and similarity >= min_similarity:
                edges[(min(i, int(j)), max(i, int(j)))] = similarity
    return sorted(((s, i, j) for (i, j), s in edges.items()), reverse=True)


def lexical_vectors(texts: list[str]):
    """TF-IDF rows (L2-normalised, sparse) of the claims, fitted on the corpus itself."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    try:
        return TfidfVectorizer(stop_words="english", sublinear_tf=True, dtype=np.float32).fit_transform(texts)
    except ValueError:  # no word left (every claim is stop words or numbers)
        return None


class Similarity:
    """(1 - w) x embedding cosine + w x TF-IDF cosine, for pairs and blocks of claims."""

    def __init__(self, vectors: np.ndarray, lexical=None, weight: float = LEXICAL_WEIGHT):
        self.vectors, self.lexical = vectors, lexical
        self.weight = weight if lexical is not None else 0.0

    PAIR_BLOCK = 16384  # pairs a pass: the gathered rows of all edges at once grew with N x k x dims

    def pairs(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Similarity of each (rows[n], cols[n]), vectorised block by block (sparse rows are slow
        one by one; gathering every pair's two vectors at once took 0.7 GB at 11k claims)."""
        out = np.empty(len(rows), dtype=np.float64)
        for start in range(0, len(rows), self.PAIR_BLOCK):
            r, c = rows[start:start + self.PAIR_BLOCK], cols[start:start + self.PAIR_BLOCK]
            dense = np.einsum("ij,ij->i", self.vectors[r], self.vectors[c]).astype(np.float64)
            if self.weight:
                lexical = np.asarray(self.lexical[r].multiply(self.lexical[c]).sum(axis=1)).ravel()
                dense = (1 - self.weight) * dense + self.weight * lexical
            out[start:start + len(r)] = dense
        return out

    def mean(self, a: list[int], b: list[int]) -> float:
        dense = float((self.vectors[a] @ self.vectors[b].T).mean())
        if not self.weight:
            return dense
        return (1 - self.weight) * dense + self.weight * float((self.lexical[a] @ self.lexical[b].T).mean())


def _mutual_best(edges: list[tuple[float, int, int]], article_of: list) -> set[tuple[int, int]]:
    """Pairs (i, j) where j is i's most similar neighbour in j's article and i is j's in i's."""
    best: dict[tuple[int, object], tuple[float, int]] = {}
    for sim, i, j in edges:
        for x, y in ((i, j), (j, i)):
            key = (x, article_of[y])
            if key not in best or sim > best[key][0]:
                best[key] = (sim, y)
    return {(i, j) for _, i, j in edges
            if article_of[i] != article_of[j]
            and best[(i, article_of[j])][1] == j and best[(j, article_of[i])][1] == i}


def _mutual_best_mask(sims: np.ndarray, rows: np.ndarray, cols: np.ndarray, article_of: list) -> np.ndarray:
    """`_mutual_best` as a mask over edges given as arrays (in their order): the same pairs,
    without a dict entry per (claim, article) and edge direction (~1M of them, ~200 MB, at 40k
    claims). Each (claim, article) keeps its most similar neighbour there, the first one visited
    among equals, visiting each edge's (i, j) then (j, i) in order, as `_mutual_best` does."""
    n = len(sims)
    if not n:
        return np.zeros(0, dtype=bool)
    numbers: dict = {}
    art = np.fromiter((numbers.setdefault(a, len(numbers)) for a in article_of), dtype=np.int64, count=len(article_of))
    x, y = np.empty(2 * n, dtype=np.int64), np.empty(2 * n, dtype=np.int64)
    x[0::2], x[1::2], y[0::2], y[1::2] = rows, cols, cols, rows
    key = x * len(numbers) + art[y]
    order = np.lexsort((np.arange(2 * n), -np.repeat(sims, 2), key))  # by key, most similar, first visited
    first = np.ones(2 * n, dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    group = np.cumsum(first) - 1
    best = np.empty(2 * n, dtype=np.int64)
    best[order] = y[order[first]][group]  # per visit: its key's best neighbour
    return (art[rows] != art[cols]) & (best[0::2] == cols) & (best[1::2] == rows)


_WORD = re.compile(r"[a-z0-9]+")
# Words that make a run of words a phrase of any sentence ("said on Monday that the"), not of one
# statement; reporting verbs with them, since every outlet reports with its own.
_FUNCTION_WORDS = frozenset(
    "a about after against all also am an and any are as at be because been before being between both but by "
    "can could did do does during each for from had has have he her here him his how i if in into is it its "
    "just may me might more most my no nor not now of off on once only or other our out over own same she "
    "should so some such than that the their them then there these they this those through to too under "
    "until up very was we were what when where which while who whom why will with would you your "
    "said says say saying told tells according added reported stated".split())


def phrases(text: str) -> set[tuple[str, ...]]:
    """Every run of PHRASE_WORDS words of `text` (lower-cased, digits kept) with at least
    PHRASE_CONTENT that are not function words."""
    words = _WORD.findall(text.lower())
    content = [w not in _FUNCTION_WORDS for w in words]
    return {tuple(words[k:k + PHRASE_WORDS]) for k in range(len(words) - PHRASE_WORDS + 1)
            if sum(content[k:k + PHRASE_WORDS]) >= PHRASE_CONTENT}


def share_phrase(rows: np.ndarray, cols: np.ndarray, texts: list[str]) -> np.ndarray:
    """Per pair (rows[n], cols[n]): do the two texts share a phrase (`phrases`)?"""
    seen: dict[int, set] = {}

    def of(i: int) -> set:
        if i not in seen:
            seen[i] = phrases(texts[i])
        return seen[i]

    return np.fromiter((not of(i).isdisjoint(of(j)) for i, j in zip(rows.tolist(), cols.tolist())),
                       dtype=bool, count=len(rows))


def group_claims(vectors: np.ndarray, threshold: float = DEFAULT_THRESHOLD, k: int = NEIGHBOURS,
                 texts: list[str] | None = None, article_of: list | None = None,
                 mutual_threshold: float = DEFAULT_MUTUAL_THRESHOLD, denies: list[bool] | None = None,
                 index: NeighbourIndex | None = None) -> list[list[int]]:
    """Indices of `vectors` grouped by average linkage over the k-NN graph; singletons included.

    With `texts`, similarity mixes in word overlap (TF-IDF); with `article_of` (each claim's
    article), mutual best matches across articles join from `mutual_threshold`, or at any
    similarity when they share a phrase (`phrases`), and groups merge while their mean similarity
    stays above the lower of the two thresholds less MEAN_MARGIN, or along such a bond.
    Without them, every edge and every merge needs `threshold` itself. `denies` (per claim: does
    it deny something?) keeps a denial from joining what it denies by the mutual rule alone: a
    denial is often the best match of the claim it rejects, and never corroborates it.
    `index`: a NeighbourIndex prepared on `vectors` (see nearest_neighbour_edges).
    """
    sim = Similarity(vectors, lexical_vectors(texts) if texts else None)
    edges, mean_floor, bonds = linkage_edges(vectors, sim, threshold, k, article_of, mutual_threshold, denies, index,
                                             texts=texts)
    return average_linkage(len(vectors), edges, vectors, sim, mean_floor, bonds)


def linkage_edges(vectors: np.ndarray, sim: Similarity, threshold: float = DEFAULT_THRESHOLD, k: int = NEIGHBOURS,
                  article_of: list | None = None, mutual_threshold: float = DEFAULT_MUTUAL_THRESHOLD,
                  denies: list[bool] | None = None,
                  index: NeighbourIndex | None = None, similarities=None,
                  texts: list[str] | None = None, phrase_pairs=None) -> tuple[list[tuple[float, int, int]], float, frozenset]:
    """`group_claims`' first half: the edges average linkage joins along, most similar first, the
    floor of the mean similarity of two groups that merge, and the bonds among the edges (pairs
    (i, j), i < j, that merge their groups whatever the mean: mutual best matches sharing a phrase
    of `texts`). `similarities(rows, cols)`: what `sim.pairs` gives for those pairs, and
    `phrase_pairs(rows, cols)` what `share_phrase` gives for them on `texts` (a build reads the
    unchanged ones from its cache)."""
    floor = min(threshold, mutual_threshold) if article_of is not None else threshold
    mean_floor = floor - MEAN_MARGIN if article_of is not None else threshold
    # Dense neighbours first (cheap, sub-quadratic), then the mixed similarity on those only.
    dense_floor = floor - (sim.weight if sim.weight else 0.0)
    # As arrays until the few edges kept: 600k edges as tuples, their mixed similarities and
    # the mutual-best table held together took ~350 MB at 40k claims.
    if index is not None and index.ready_for(vectors, k):
        _, rows, cols = index.edge_arrays(k, dense_floor)
    else:
        dense_edges = nearest_neighbour_edges(vectors, k, dense_floor, index)
        rows = np.fromiter((i for _, i, _ in dense_edges), dtype=np.int64, count=len(dense_edges))
        cols = np.fromiter((j for _, _, j in dense_edges), dtype=np.int64, count=len(dense_edges))
        del dense_edges
    sims = (similarities or sim.pairs)(rows, cols)
    if article_of is not None:
        mutual = _mutual_best_mask(sims, rows, cols, article_of)
        if denies is not None:
            flags = np.asarray(denies, dtype=bool)
            mutual &= flags[rows] == flags[cols]
        # A paraphrase in other words is still each other's best match: its meaning (the
        # embedding alone) may clear the floor where few shared words pull the mixed similarity
        # under it ("Navy sailors had found the balloon" / "The Navy managed to find what was
        # left of it"). Chosen leave-one-story-out with M: as many corroborated groups, half the
        # statements merged into another's cluster.
        below = np.flatnonzero(mutual & (sims < floor))
        meant = np.zeros(len(sims), dtype=bool)
        for start in range(0, len(below), Similarity.PAIR_BLOCK):  # in blocks: ~100k pairs' vectors at once took ~300 MB
            part = below[start:start + Similarity.PAIR_BLOCK]
            meant[part] = np.einsum("ij,ij->i", vectors[rows[part]], vectors[cols[part]]) >= floor
        keep = (sims >= threshold) | (((sims >= floor) | meant) & mutual)
        bonded = np.zeros(len(sims), dtype=bool)
        if texts is not None or phrase_pairs is not None:
            both = np.flatnonzero(mutual)
            shared = phrase_pairs or (lambda r, c: share_phrase(r, c, texts))
            bonded[both] = shared(rows[both], cols[both])
            keep |= bonded
        bonds = frozenset(zip(rows[bonded].tolist(), cols[bonded].tolist()))
    else:
        keep, bonds = sims >= threshold, frozenset()
    edges = sorted(zip(sims[keep].tolist(), rows[keep].tolist(), cols[keep].tolist()), reverse=True)
    return edges, mean_floor, bonds


def average_linkage(n: int, edges: list[tuple[float, int, int]], vectors: np.ndarray, sim: Similarity,
                    mean_floor: float, bonds: frozenset = frozenset()) -> list[list[int]]:
    """`group_claims`' second half: groups of 0..n-1 joined along `edges` (most similar first) while
    the mean similarity of two groups stays at least `mean_floor`, or whatever it is along an edge
    (i, j) in `bonds`; singletons included. Two groups
    merge only along an edge between them, so each connected component of `edges` is grouped
    on its own: the groups of a component depend on its edges (in their order) and its members only."""
    parent = list(range(n))
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    # Each group's summed vectors (dense and TF-IDF): the mean similarity of all pairs across
    # two groups is the dot product of their sums over the product of their sizes, so a merge
    # test costs one dot product, not |a| x |b| (a singleton's sum is its own row).
    dense_sum: dict[int, np.ndarray] = {}
    lexical_sum: dict[int, object] = {}
    # A TF-IDF sum as (sorted column indices, float64 values), the canonical sparse row it stands
    # for: its products and sums below are scipy's on that row (`_SparseRow`), without scipy's
    # per-call overhead. A row that is not canonical keeps the scipy matrix.
    lexical = sim.lexical.tocsr() if sim.weight else None
    canonical = sim.weight and lexical.has_canonical_format

    def sums(g: int):
        if g not in dense_sum:
            dense_sum[g] = vectors[g].astype(np.float64)
            if sim.weight:
                if canonical:
                    lo, hi = lexical.indptr[g], lexical.indptr[g + 1]
                    lexical_sum[g] = _SparseRow(lexical.indices[lo:hi].astype(np.int64),
                                                lexical.data[lo:hi].astype(np.float64))
                else:
                    lexical_sum[g] = sim.lexical[g].astype(np.float64)
        return dense_sum[g], lexical_sum.get(g)

    def mean_similarity(a: int, b: int) -> float:
        (da, la), (db, lb) = sums(a), sums(b)
        size = len(members[a]) * len(members[b])
        dense = float(da @ db) / size
        if not sim.weight:
            return dense
        return (1 - sim.weight) * dense + sim.weight * float(la.multiply(lb).sum()) / size

    def find(i: int) -> int:
        return find_root(parent, i)

    for _, i, j in edges:
        a, b = find(i), find(j)
        if a == b:
            continue
        if mean_similarity(a, b) < mean_floor and (i, j) not in bonds:
            continue
        if len(members[a]) < len(members[b]):
            a, b = b, a
        parent[b] = a
        (da, la), (db, lb) = sums(a), sums(b)
        dense_sum[a] = da + db
        if sim.weight:
            lexical_sum[a] = la + lb
        dense_sum.pop(b), lexical_sum.pop(b, None)
        members[a].extend(members.pop(b))
    return sorted((sorted(m) for m in members.values()), key=lambda m: m[0])


class _SparseRow:
    """One canonical sparse row (sorted distinct column indices, float64 values, no zeros stored)
    with the two operations `average_linkage` needs, computed as scipy computes them on a 1-row
    canonical CSR matrix, so the floats are the same bit for bit (tests/test_cluster.py):
    `multiply(other).sum()` keeps the nonzero products of shared columns in column order and sums
    them with numpy's sum; `+` adds the values of shared columns and keeps the rest, in column
    order, dropping sums that are zero."""

    __slots__ = ("indices", "data")

    def __init__(self, indices: np.ndarray, data: np.ndarray):
        self.indices, self.data = indices, data

    def multiply(self, other: "_SparseRow") -> "_SparseRow":
        _, mine, theirs = np.intersect1d(self.indices, other.indices, assume_unique=True, return_indices=True)
        products = self.data[mine] * other.data[theirs]
        nonzero = products != 0
        return _SparseRow(self.indices[mine][nonzero], products[nonzero])

    def sum(self) -> float:
        return np.sum(self.data) if len(self.data) else np.float64(0.0)

    def __add__(self, other: "_SparseRow") -> "_SparseRow":
        indices = np.union1d(self.indices, other.indices)
        data = np.zeros(len(indices), dtype=np.float64)
        data[np.searchsorted(indices, self.indices)] = self.data
        where = np.searchsorted(indices, other.indices)
        data[where] = data[where] + other.data
        nonzero = data != 0
        return _SparseRow(indices[nonzero], data[nonzero])


def source_key(article: dict) -> str:
    """Who independently stands behind an article: its origin (a wire's reprints share it)."""
    return article.get("origin") or article.get("outlet") or f"unattributed:{article['id']}"


def status_for(origins: set[str]) -> str:
    return CORROBORATED if len(origins) >= 2 else SINGLE_SOURCE


def cluster_id(claim_ids: list[str]) -> str:
    """Stable across rebuilds as long as the same claims end up together."""
    return "k" + hashlib.sha256("|".join(sorted(claim_ids)).encode()).hexdigest()[:11]


def build_clusters(claims: list[dict], vectors: np.ndarray, articles: dict[str, dict], threshold: float = DEFAULT_THRESHOLD,
                   mutual_threshold: float = DEFAULT_MUTUAL_THRESHOLD, denies: list[bool] | None = None,
                   index: NeighbourIndex | None = None) -> list[dict]:
    """Cluster rows; sets `cluster_id` on each claim row. `denies`, `index`: see `group_claims`."""
    texts = [c["text"] for c in claims]
    article_of = [c["article_id"] for c in claims]
    groups = group_claims(vectors, threshold, NEIGHBOURS, texts, article_of, mutual_threshold, denies, index)
    return cluster_rows(claims, groups, articles)


def cluster_rows(claims: list[dict], groups: list[list[int]], articles: dict[str, dict]) -> list[dict]:
    """Cluster rows of `groups` (indices of `claims`, as `group_claims` gives them); sets `cluster_id`
    on each claim row."""
    clusters = []
    for group in groups:
        members = [claims[i] for i in group]
        origins = {source_key(articles[c["article_id"]]) for c in members}
        cid = cluster_id([c["id"] for c in members])
        for c in members:
            c["cluster_id"] = cid
        clusters.append({
            "id": cid,
            "status": status_for(origins),
            "size": len(members),
            "n_articles": len({c["article_id"] for c in members}),
            "n_origins": len(origins),
            "sources": sorted(origins),
            "label": members[0]["text"],
        })
    return clusters
