"""Merge verifier: do two similar claims of different articles state the same fact?

Below the clustering threshold, paraphrases across outlets and claims that merely share a topic
have the same cosines (0.45-0.7 with all-MiniLM-L6-v2). What tells them apart is cheap to read
off the pair: whether each is the other's best match in the other's article (an outlet reports
a fact once), by how much, the words, names and numbers they share, a number one gives and the
other contradicts, their lengths, and whether one denies. A logistic regression over those
features (weights in models/merge/model.json, trained by models/merge/train.py on the development
stories' answer keys, chosen leave-one-story-out by benchmarks/stories.py) gives the probability
that a pair says the same thing; `cluster.linkage_edges` joins a pair of different articles from
the verifier's threshold on, when its similarity reaches the mutual threshold.

It only ever scores k-nearest-neighbour edges (cluster.NEIGHBOURS a claim) above FEATURE_FLOOR
that cross articles and fall below the clustering threshold: linear in the corpus, pure numpy
and regular expressions, no model run.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "merge" / "model.json"

# Edges from this similarity on are ranked and scored (the ranks of a pair are its places among
# the edges of this floor, whatever the mutual threshold, so that they mean what they meant in training).
FEATURE_FLOOR = 0.3
MAX_RANK = 3
# Only pairs that are each other's best match across their two articles are asked. Leave-one-story-
# out on the four development stories (benchmarks/stories.py's objective): asking every pair found
# 48 of 58 corroborated groups but kept 35 of 40 single-source facts, and at the thresholds chosen
# on all four it joined the seeds' "17 countries" statement to another outlet's; mutual pairs only:
# 39 of 58, 37 of 40, and the seeds as they were.
MUTUAL_ONLY = True

FEATURES = ("similarity", "cosine", "lexical", "mutual", "rank_sum", "margin", "numbers_shared", "numbers_clash",
            "names_jaccard", "words_jaccard", "length_ratio", "denial_differs")

_STOP = frozenset("""a an the of to in on at for by with from and or but is are was were be been being has have had
it its this that these those as said says say he she they we i you his her their our not no than then there which who
whom what when where while after before about into over under up down out more most also would could should will can
may might did do does just only other some such any all one two""".split())
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
_NAME = re.compile(r"\b[A-Z][a-zA-Z\u00C0-\u024F'-]+")
_WORD = re.compile(r"[a-zA-Z\u00C0-\u024F]+")


@dataclass(frozen=True)
class Tokens:
    numbers: frozenset
    names: frozenset
    words: frozenset  # content words, cut to 5 letters (a crude stem: "killed" ~ "kills")
    length: int


def tokens(text: str) -> Tokens:
    numbers = frozenset(n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text))
    names = frozenset(n.lower() for n in _NAME.findall(text)) - _STOP
    words = frozenset(w.lower()[:5] for w in _WORD.findall(text) if len(w) > 2 and w.lower() not in _STOP)
    return Tokens(numbers, names, words, len(text))


def _jaccard(a: frozenset, b: frozenset) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def pair_features(mix: float, cos: float, lexical: float, rank_ij: int, rank_ji: int, margin: float,
                  a: Tokens, b: Tokens, denial_differs: bool) -> list[float]:
    """One row of FEATURES. `rank_ij`: the place of j among i's edges into j's article (0: its best),
    `margin`: each side's similarity less its runner-up's (or, for a pair that is not a best match,
    less the best), summed over the two sides."""
    shared = a.numbers & b.numbers
    return [mix, cos, lexical, float(rank_ij == 0 and rank_ji == 0), min(rank_ij, MAX_RANK) + min(rank_ji, MAX_RANK),
            margin, float(min(len(shared), 3)), float(bool(a.numbers) and bool(b.numbers) and not shared),
            _jaccard(a.names, b.names), _jaccard(a.words, b.words),
            min(a.length, b.length) / max(a.length, b.length, 1), float(denial_differs)]


def edge_features(mix: np.ndarray, cos: np.ndarray, rows: np.ndarray, cols: np.ndarray, texts: list[str],
                  article_of: list, denies: list[bool] | None, weight: float) -> np.ndarray:
    """FEATURES of every edge (rows[n], cols[n]) of different articles, similarity `mix` (the
    clustering's), embedding cosine `cos`; the lexical cosine is recovered from the two (`weight`:
    the TF-IDF's share in `mix`). Ranks and margins are taken among these edges. Rows of edges
    within one article are zeros (they are never asked about)."""
    n = len(mix)
    out = np.zeros((n, len(FEATURES)), dtype=np.float64)
    if not n:
        return out
    lexical = (mix - (1 - weight) * cos) / weight if weight else np.zeros(n)
    cross = [n_ for n_ in range(n) if article_of[rows[n_]] != article_of[cols[n_]]]
    # Per (claim, other article): its edges into that article, most similar first.
    into: dict[tuple[int, object], list[tuple[float, int, int]]] = {}
    for e in cross:
        i, j = int(rows[e]), int(cols[e])
        into.setdefault((i, article_of[j]), []).append((float(mix[e]), e, 0))
        into.setdefault((j, article_of[i]), []).append((float(mix[e]), e, 1))
    rank = np.full((n, 2), MAX_RANK, dtype=np.int64)
    margin = np.zeros((n, 2))
    for edges in into.values():
        edges.sort(key=lambda x: (-x[0], x[1]))
        best = edges[0][0]
        runner_up = edges[1][0] if len(edges) > 1 else FEATURE_FLOOR - 0.05
        for place, (s, e, side) in enumerate(edges):
            rank[e, side] = min(place, MAX_RANK)
            margin[e, side] = s - (runner_up if place == 0 else best)
    cache: dict[int, Tokens] = {}

    def tok(i: int) -> Tokens:
        if i not in cache:
            cache[i] = tokens(texts[i])
        return cache[i]

    for e in cross:
        i, j = int(rows[e]), int(cols[e])
        differs = bool(denies[i]) != bool(denies[j]) if denies is not None else False
        out[e] = pair_features(float(mix[e]), float(cos[e]), float(lexical[e]), int(rank[e, 0]), int(rank[e, 1]),
                               float(margin[e].sum()), tok(i), tok(j), differs)
    return out


@dataclass
class MergeVerifier:
    coef: list[float]
    intercept: float
    threshold: float  # pairs from this probability on join (with the mutual threshold's similarity)
    meta: dict
    # Two groups joined along the verifier's pairs merge while the mean similarity of all their
    # members stays at least this (None: the mutual threshold less cluster.MEAN_MARGIN). The low
    # mutual threshold the verifier allows would otherwise let groups chain into one topic cluster.
    mean_floor: float | None = None

    @property
    def key(self) -> str:
        """What the clustering depends on: weights and threshold (caches are keyed on it)."""
        what = json.dumps([list(FEATURES), [round(c, 10) for c in self.coef], round(self.intercept, 10),
                           round(self.threshold, 10), self.mean_floor])
        return hashlib.sha256(what.encode()).hexdigest()[:16]

    def probability(self, features: np.ndarray) -> np.ndarray:
        if not len(features):
            return np.zeros(0)
        z = features @ np.asarray(self.coef, dtype=np.float64) + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))

    def with_threshold(self, threshold: float, mean_floor: float | None = None) -> "MergeVerifier":
        return MergeVerifier(list(self.coef), self.intercept, float(threshold), dict(self.meta),
                             self.mean_floor if mean_floor is None else float(mean_floor))

    def to_json(self) -> dict:
        return {"features": list(FEATURES), "coef": list(self.coef), "intercept": self.intercept,
                "threshold": self.threshold, "mean_floor": self.mean_floor, **self.meta}

    @classmethod
    def from_json(cls, data: dict) -> "MergeVerifier":
        if list(data.get("features", [])) != list(FEATURES):
            raise ValueError(f"merge verifier features {data.get('features')} are not {list(FEATURES)}")
        meta = {k: v for k, v in data.items() if k not in ("features", "coef", "intercept", "threshold", "mean_floor")}
        coef = [float(c) for c in data["coef"]]
        if len(coef) != len(FEATURES) or not all(math.isfinite(c) for c in coef):
            raise ValueError("merge verifier weights are not one finite number a feature")
        mean_floor = data.get("mean_floor")
        return cls(coef, float(data["intercept"]), float(data["threshold"]), meta,
                   None if mean_floor is None else float(mean_floor))


def fit(features: np.ndarray, labels: np.ndarray, threshold: float = 0.5, c: float = 1.0) -> MergeVerifier:
    """A logistic regression (classes weighted to balance) on rows of FEATURES; labels 1 (same fact)
    and 0 (different). scikit-learn is imported here only: a build never trains."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(features, labels)
    return MergeVerifier([float(x) for x in model.coef_[0]], float(model.intercept_[0]), float(threshold),
                         {"n_positive": int((labels == 1).sum()), "n_negative": int((labels == 0).sum()), "C": c})


@lru_cache(maxsize=8)
def _load(path: str) -> MergeVerifier | None:
    p = Path(path)
    if not p.is_file():
        return None
    return MergeVerifier.from_json(json.loads(p.read_text("utf-8")))


def load(path: str | Path | None = None) -> MergeVerifier | None:
    """The verifier in `path` (default: the shipped models/merge/model.json); None when absent."""
    return _load(str(Path(path) if path else MODEL_PATH))
