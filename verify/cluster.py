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
  (a claim only one outlet carries has no such mutual partner, or a weak one).
"""

from __future__ import annotations

import hashlib

import numpy as np

DEFAULT_THRESHOLD = 0.75         # any two claims this similar join
DEFAULT_MUTUAL_THRESHOLD = 0.55  # two claims that are each other's best match across articles join from here
NEIGHBOURS = 20
LEXICAL_WEIGHT = 0.3   # share of the TF-IDF cosine in the similarity of two claims
MEAN_MARGIN = 0.05     # two groups merge while their mean similarity stays above the lower floor - this

CORROBORATED = "corroborated"
SINGLE_SOURCE = "single-source"
CONFLICTING = "conflicting"  # set by the conflict detector, never here
STATUSES = (CORROBORATED, SINGLE_SOURCE, CONFLICTING)


def nearest_neighbour_edges(vectors: np.ndarray, k: int = NEIGHBOURS, min_similarity: float = DEFAULT_THRESHOLD) -> list[tuple[float, int, int]]:
    """(similarity, i, j) with i < j for each claim's k nearest neighbours above the floor.

    scikit-learn's brute-force search computes distances in row chunks bounded by its
    working_memory setting, so memory stays O(N x k), not O(N^2).
    """
    from sklearn.neighbors import NearestNeighbors

    n = len(vectors)
    if n < 2:
        return []
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

    def pairs(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Similarity of each (rows[n], cols[n]), in one vectorised pass (sparse rows are slow one by one)."""
        dense = np.einsum("ij,ij->i", self.vectors[rows], self.vectors[cols]).astype(np.float64)
        if not self.weight or len(rows) == 0:
            return dense
        lexical = np.asarray(self.lexical[rows].multiply(self.lexical[cols]).sum(axis=1)).ravel()
        return (1 - self.weight) * dense + self.weight * lexical

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


def group_claims(vectors: np.ndarray, threshold: float = DEFAULT_THRESHOLD, k: int = NEIGHBOURS,
                 texts: list[str] | None = None, article_of: list | None = None,
                 mutual_threshold: float = DEFAULT_MUTUAL_THRESHOLD, denies: list[bool] | None = None) -> list[list[int]]:
    """Indices of `vectors` grouped by average linkage over the k-NN graph; singletons included.

    With `texts`, similarity mixes in word overlap (TF-IDF); with `article_of` (each claim's
    article), mutual best matches across articles join from `mutual_threshold` and groups merge
    while their mean similarity stays above the lower of the two thresholds less MEAN_MARGIN.
    Without them, every edge and every merge needs `threshold` itself. `denies` (per claim: does
    it deny something?) keeps a denial from joining what it denies by the mutual rule alone: a
    denial is often the best match of the claim it rejects, and never corroborates it.
    """
    n = len(vectors)
    sim = Similarity(vectors, lexical_vectors(texts) if texts else None)
    floor = min(threshold, mutual_threshold) if article_of is not None else threshold
    mean_floor = floor - MEAN_MARGIN if article_of is not None else threshold
    # Dense neighbours first (cheap, sub-quadratic), then the mixed similarity on those only.
    dense_floor = floor - (sim.weight if sim.weight else 0.0)
    dense_edges = nearest_neighbour_edges(vectors, k, dense_floor)
    rows = np.fromiter((i for _, i, _ in dense_edges), dtype=np.int64, count=len(dense_edges))
    cols = np.fromiter((j for _, _, j in dense_edges), dtype=np.int64, count=len(dense_edges))
    edges = [(float(s), int(i), int(j)) for s, i, j in zip(sim.pairs(rows, cols), rows, cols)]
    mutual = _mutual_best(edges, article_of) if article_of is not None else set()
    if denies is not None:
        mutual = {(i, j) for i, j in mutual if denies[i] == denies[j]}
    edges = sorted((e for e in edges if e[0] >= threshold or (e[0] >= floor and (e[1], e[2]) in mutual)), reverse=True)

    parent = list(range(n))
    members: dict[int, list[int]] = {i: [i] for i in range(n)}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for _, i, j in edges:
        a, b = find(i), find(j)
        if a == b:
            continue
        if sim.mean(members[a], members[b]) < mean_floor:
            continue
        if len(members[a]) < len(members[b]):
            a, b = b, a
        parent[b] = a
        members[a].extend(members.pop(b))
    return sorted((sorted(m) for m in members.values()), key=lambda m: m[0])


def source_key(article: dict) -> str:
    """Who independently stands behind an article: its origin (a wire's reprints share it)."""
    return article.get("origin") or article.get("outlet") or f"unattributed:{article['id']}"


def status_for(origins: set[str]) -> str:
    return CORROBORATED if len(origins) >= 2 else SINGLE_SOURCE


def cluster_id(claim_ids: list[str]) -> str:
    """Stable across rebuilds as long as the same claims end up together."""
    return "k" + hashlib.sha256("|".join(sorted(claim_ids)).encode()).hexdigest()[:11]


def build_clusters(claims: list[dict], vectors: np.ndarray, articles: dict[str, dict], threshold: float = DEFAULT_THRESHOLD,
                   mutual_threshold: float = DEFAULT_MUTUAL_THRESHOLD, denies: list[bool] | None = None) -> list[dict]:
    """Cluster rows; sets `cluster_id` on each claim row. `denies`: see `group_claims`."""
    clusters = []
    texts = [c["text"] for c in claims]
    article_of = [c["article_id"] for c in claims]
    for group in group_claims(vectors, threshold, NEIGHBOURS, texts, article_of, mutual_threshold, denies):
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
