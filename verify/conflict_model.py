"""The conflict scorer: how likely two claims are to be incompatible, from what verify reads in them.

The rules (`conflicts.relate`) and the slots (`slots.compare`) say *why* two claims may clash: a
denial, a negation, another date, number, time or place for the same event. Alone they flag too
much: a death toll that rose, a statement of Friday and another of Sunday, one object "north"
of a city and another "south" of another. This scorer weighs those cues together with how
close the claims are (embedding and word overlap), who speaks for whom, and, when the shipped
pair model is present, its contradiction and entailment probabilities. It is a small ensemble of
gradient-boosted trees (or, trained with `--learner logistic`, a logistic regression) kept as
plain numbers in `models/conflict/model.json` (training: `models/conflict/train.py`, on the
development stories; evaluation leave-one-story-out in `models/conflict/README.md`). Trees let
cues count together: a date clash when the words around the two dates overlap, a denial when it
is about the other side's party. The scorer only ranks; what a reviewer reads is the rules' cue
(`explain`).

`features(...)` is the single definition of the inputs, used by the build and by training.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from verify import slots as slot_module
from verify.conflicts import KINDS, Analysis, Relation, denier_of

MODEL_FILE = Path(__file__).resolve().parent.parent / "models" / "conflict" / "model.json"
SLOT_TYPES = ("date", "time", "number", "direction", "place")

FEATURES = (
    ["similarity", "word_overlap", "rules_conflict", "rules_corroborate"]
    + [f"rule_{k}" for k in KINDS]
    + [f"clash_{t}" for t in SLOT_TYPES] + [f"agree_{t}" for t in SLOT_TYPES] + ["clash_frame"]
    + ["negation_one_side", "denial_one_side", "denial_both", "hedged", "answers_denial", "about_denier",
       "parties_differ", "same_speaker_party", "nli_contradiction", "nli_entailment", "nli_present"]
)


@dataclass
class PairInputs:
    """What is known about one candidate pair before scoring."""
    a: Analysis
    b: Analysis
    slots_a: slot_module.Slots
    slots_b: slot_module.Slots
    similarity: float
    word_overlap: float
    relation: Relation
    answers_denial: bool = False   # one side is what the other's denial answers (its context says so)
    about_denier: bool = False     # one side names the party whose spokesman denies in the other
    parties_a: frozenset = frozenset()
    parties_b: frozenset = frozenset()
    nli: tuple[float, float] | None = None  # (P(contradiction), P(entailment)) from the pair model


def _rule_stands(rel: Relation, cmp: slot_module.Comparison) -> bool:
    """The rules' figure test (`conflicts.relate`) reads any two figures of one unit; the slots
    read what each measures, where and when. A figure the slots find no clash in (deaths in the
    north-east against deaths in the north-west, a whole against its parts) is no conflict."""
    return rel.kind != "quantity" or bool(cmp.clash.get("number"))


def features(p: PairInputs) -> tuple[list[float], slot_module.Comparison]:
    """The feature vector (in FEATURES order) and the slot comparison it was read from."""
    cmp = slot_module.compare(p.slots_a, p.slots_b, bool(p.parties_a & p.parties_b))
    rel = p.relation
    conflict = rel.relation == "conflicts" and _rule_stands(rel, cmp)
    f = [p.similarity, p.word_overlap, float(conflict), float(rel.relation == "corroborates")]
    f += [float(conflict and rel.kind == k) for k in KINDS]
    f += [min(cmp.clash.get(t, 0), 3) for t in SLOT_TYPES] + [min(cmp.agree.get(t, 0), 3) for t in SLOT_TYPES]
    f += [cmp.clash_frame]
    f += [
        float(bool(p.a.negation) != bool(p.b.negation)),
        float(bool(p.a.denial) != bool(p.b.denial)),
        float(bool(p.a.denial) and bool(p.b.denial)),
        float(bool(p.a.hedges) or bool(p.b.hedges)),
        float(p.answers_denial),
        float(p.about_denier),
        float(bool(p.parties_a) and bool(p.parties_b) and not (p.parties_a & p.parties_b)),
        float(bool(p.parties_a & p.parties_b)),
    ]
    contradiction, entailment = p.nli if p.nli is not None else (0.0, 0.0)
    f += [contradiction, entailment, float(p.nli is not None)]
    return f, cmp


@dataclass
class Trees:
    """A gradient-boosted ensemble of small regression trees, as plain arrays (read from JSON, so
    no pickle and no scikit-learn at run time). Each tree sends a row left when its feature is at
    most the node's threshold (a missing value goes where the node says); the log-odds are the
    baseline plus the leaf values reached."""
    baseline: float
    trees: list[dict]  # per tree: feature, threshold, left, right, leaf, value, missing_left (per node)

    def log_odds(self, x: np.ndarray) -> np.ndarray:
        """Each tree walked node by node, every row at once: a node splits the rows that reach it
        by one comparison of a whole feature column, and a leaf sets its value on its rows (no
        per-row gathers). The leaf values are added to the baseline tree by tree, in order, as
        `log_odds_per_tree` does: the same floating-point sums, bit for bit (tests/test_conflicts.py)."""
        out = np.full(len(x), self.baseline)
        if not len(x):
            return out
        columns = np.ascontiguousarray(np.asarray(x, dtype=float).T)
        missing = np.isnan(columns)
        reached = np.empty(len(x))
        for nodes in self._node_lists():
            stack = [(0, None)]  # (node, the rows that reach it; None: all)
            while stack:
                node, rows = stack.pop()
                feature, threshold, left, right, leaf, value, missing_left = nodes[node]
                if leaf:
                    if rows is None:
                        reached[:] = value
                    else:
                        reached[rows] = value
                    continue
                go_left = columns[feature] <= threshold
                if missing_left:
                    go_left |= missing[feature]
                go_right = ~go_left
                if rows is not None:
                    go_left &= rows
                    go_right &= rows
                stack.append((right, go_right))
                stack.append((left, go_left))
            out += reached
        return out

    def log_odds_per_tree(self, x: np.ndarray) -> np.ndarray:
        """`log_odds` one tree after another (the reference it is tested against)."""
        out = np.full(len(x), self.baseline)
        rows = np.arange(len(x))
        for t in self.trees:
            node = np.zeros(len(x), dtype=np.int64)
            for _ in range(t["depth"] + 1):
                inner = ~t["leaf"][node]
                if not inner.any():
                    break
                value = x[rows, t["feature"][node]]
                left = (value <= t["threshold"][node]) | (np.isnan(value) & t["missing_left"][node])
                node = np.where(inner, np.where(left, t["left"][node], t["right"][node]), node)
            out += t["value"][node]
        return out

    def _node_lists(self) -> list[list[tuple]]:
        """Per tree, its nodes as (feature, threshold, left, right, leaf, value, missing_left)
        tuples of Python numbers, made once."""
        if getattr(self, "_nodes", None) is None:
            self._nodes = [list(zip(t["feature"].tolist(), t["threshold"].tolist(), t["left"].tolist(),
                                    t["right"].tolist(), t["leaf"].tolist(), t["value"].tolist(),
                                    t["missing_left"].tolist())) for t in self.trees]
        return self._nodes


_TREE_FIELDS = {"feature": np.int64, "threshold": float, "left": np.int64, "right": np.int64, "leaf": bool,
                "value": float, "missing_left": bool}


def _tree_arrays(doc: dict) -> dict:
    tree = {k: np.asarray(doc[k], dtype=kind) for k, kind in _TREE_FIELDS.items()}
    tree["depth"] = int(doc["depth"])
    return tree


@dataclass
class Scorer:
    """P(conflict) of a candidate pair from its features: a logistic regression (weights, mean,
    scale) or, when `trees` is set, gradient-boosted trees over the raw features."""
    weights: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: np.ndarray
    flag_threshold: float
    uses_nli: bool
    trees: Trees | None = None
    # At most this many flags a corpus article (None: no cap). A threshold learnt on other
    # stories flags a new story's pairs in very different numbers (3 to 62 over the development
    # stories); the cap keeps a story's best-scored pairs when the threshold lets through many.
    flags_per_article: float | None = None

    def probability(self, rows: list[list[float]]) -> np.ndarray:
        if not len(rows):
            return np.zeros(0)
        # Rounded: a word overlap summed in another order (a set's, a cached vocabulary's) differs
        # by ~1e-15, enough to cross a tree's threshold and move a score from one run to the next.
        x = np.round(np.asarray(rows, dtype=float), 9)
        if self.trees is not None:
            z = self.trees.log_odds(x)
        else:
            z = ((x - self.mean) / self.scale) @ self.weights + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict:
        doc = {"features": FEATURES, "flag_threshold": self.flag_threshold, "uses_nli": self.uses_nli,
               "flags_per_article": self.flags_per_article}
        if self.trees is not None:
            trees = [{"depth": t["depth"], **{k: t[k].tolist() for k in _TREE_FIELDS}} for t in self.trees.trees]
            return {**doc, "learner": "gradient-boosted trees", "baseline": self.trees.baseline, "trees": trees}
        return {**doc, "learner": "logistic regression", "weights": self.weights.tolist(), "intercept": self.intercept,
                "mean": self.mean.tolist(), "scale": self.scale.tolist()}


def from_boosting(estimator, flag_threshold: float, uses_nli: bool = False) -> Scorer:
    """A Scorer from a fitted scikit-learn HistGradientBoostingClassifier (binary, numerical
    features only): its trees copied out node by node."""
    trees = []
    for (predictor,) in estimator._predictors:
        nodes = predictor.nodes
        trees.append({"feature": nodes["feature_idx"].astype(np.int64), "threshold": nodes["num_threshold"].astype(float),
                      "left": nodes["left"].astype(np.int64), "right": nodes["right"].astype(np.int64),
                      "leaf": nodes["is_leaf"].astype(bool), "value": nodes["value"].astype(float),
                      "missing_left": nodes["missing_go_to_left"].astype(bool), "depth": int(nodes["depth"].max())})
    n = len(FEATURES)
    return Scorer(np.zeros(n), 0.0, np.zeros(n), np.ones(n), flag_threshold, uses_nli,
                  Trees(float(np.ravel(estimator._baseline_prediction)[0]), trees))


def averaged(scorers: list[Scorer]) -> Scorer:
    """One tree scorer whose log-odds are the mean of `scorers`' (all trees): every tree kept,
    its leaf values divided by their number, the baselines averaged. Threshold and cap are the
    first one's, to be set by the caller."""
    k = len(scorers)
    trees = [{**tree, "value": tree["value"] / k} for s in scorers for tree in s.trees.trees]
    first = scorers[0]
    return Scorer(first.weights, first.intercept, first.mean, first.scale, first.flag_threshold, first.uses_nli,
                  Trees(sum(s.trees.baseline for s in scorers) / k, trees), first.flags_per_article)


def from_json(doc: dict) -> Scorer:
    if list(doc["features"]) != FEATURES:
        raise ValueError("conflict model was trained on other features; retrain it (models/conflict/train.py)")
    threshold, uses_nli = float(doc["flag_threshold"]), bool(doc.get("uses_nli", False))
    cap = doc.get("flags_per_article")
    cap = None if cap is None else float(cap)
    if "trees" in doc:
        n = len(FEATURES)
        return Scorer(np.zeros(n), 0.0, np.zeros(n), np.ones(n), threshold, uses_nli,
                      Trees(float(doc["baseline"]), [_tree_arrays(t) for t in doc["trees"]]), cap)
    return Scorer(np.asarray(doc["weights"]), float(doc["intercept"]), np.asarray(doc["mean"]),
                  np.asarray(doc["scale"]), threshold, uses_nli, None, cap)


def load(path: str | None = None) -> Scorer | None:
    """The scorer in `path` (default: the shipped one), or None when its file is absent (the
    rules alone decide then). Read once per version of the file: a file written again under the
    same name (a retrained model, a benchmark's next fold) is read again."""
    file = Path(path) if path else MODEL_FILE
    try:
        stat = file.stat()
    except FileNotFoundError:
        return None
    return _load_file(str(file), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _load_file(path: str, mtime_ns: int, size: int) -> Scorer:
    return from_json(json.loads(Path(path).read_text("utf-8")))


# How a flagged pair is explained when the rules did not name the kind: the slot that clashes.
SLOT_KIND = {"date": "date", "time": "date", "number": "quantity", "direction": "place", "place": "place"}


# Where a flagged pair's score goes in its explanation (`explanation`): the rest of it does not
# depend on the score, so a build can keep it with the pair's features and only put the score in.
SCORE = "\x00score\x00"


def explanation(p: PairInputs, cmp: slot_module.Comparison) -> tuple[str, str, dict]:
    """`explain` with SCORE where the conflict score goes: (kind, explanation, cues)."""
    rel = p.relation
    # A denial explains a pair only when the other side can be what it rejects (`_denial_answers`).
    answered = not (p.a.denial or p.b.denial) or _denial_answers(p)
    if rel.relation == "conflicts" and rel.kind and (rel.kind != "denial" or answered) and _rule_stands(rel, cmp):
        return rel.kind, f"{rel.explanation} (conflict score {SCORE})", rel.cues
    for t in SLOT_TYPES:
        if t in cmp.cues:
            x, y = cmp.cues[t]
            return SLOT_KIND[t], f"{t}: “{x}” against “{y}” (conflict score {SCORE})", {"a": [x], "b": [y]}
    # A denial answers an assertion: two parties each denying something do not clash by that.
    both_deny = bool(p.a.denial) and bool(p.b.denial)
    if (p.a.denial or p.b.denial) and not both_deny:
        if not answered:
            return "contradiction", f"learned scorer (conflict score {SCORE})", {"a": [], "b": []}
        side = p.a if p.a.denial else p.b
        cues = {"a": p.a.denial[:3], "b": p.b.denial[:3]}
        return "denial", f"one side rejects what the other asserts ({', '.join(side.denial[:3])}; conflict score {SCORE})", cues
    if bool(p.a.negation) != bool(p.b.negation) and not both_deny:
        side = p.a if p.a.negation else p.b
        return "negation", f"one side negates the other ({', '.join(side.negation[:3])}; conflict score {SCORE})", \
            {"a": p.a.negation[:3], "b": p.b.negation[:3]}
    nli = f"pair model: contradiction {p.nli[0]:.2f}" if p.nli else "learned scorer"
    return "contradiction", f"{nli} (conflict score {SCORE})", {"a": [], "b": []}


def _denial_answers(p: PairInputs) -> bool:
    """Can the other side be what the denial rejects? Not when it negates and accuses nobody
    ("Putin did not attend the funeral" against the Kremlin's "absolute lie"), nor when it is the
    denying party's own word (the Kremlin's two statements): a denial answers another party's
    assertion, as the rules require of their own denials (`conflicts._rule_block`)."""
    other = p.b if p.a.denial else p.a
    parties_denier, parties_other = (p.parties_a, p.parties_b) if p.a.denial else (p.parties_b, p.parties_a)
    parties_denier = denier_of(p.a if p.a.denial else p.b, parties_denier)
    if other.negation and not (other.accusation or other.violation):
        return False
    return not (parties_other and parties_other <= parties_denier)


def explain(p: PairInputs, cmp: slot_module.Comparison, probability: float) -> tuple[str, str, dict]:
    """(kind, explanation, cues) for a flagged pair: the rules' own when they fired, else the
    clashing slot, else the negation or the pair model."""
    kind, text, cues = explanation(p, cmp)
    return kind, text.replace(SCORE, f"{probability:.2f}"), cues


def word_overlap(a: str, b: str, idf: dict[str, float]) -> float:
    """IDF-weighted overlap of two claims' words: rare shared words ("Kuzhenkino", "5,383")
    say "the same event" more than common ones."""
    wa, wb = _token_set(a), _token_set(b)
    union = sum(idf.get(w, 0.0) for w in wa | wb)
    return sum(idf.get(w, 0.0) for w in wa & wb) / union if union else 0.0


_STOP = set(
    "a an the of to in on at for by with from and or but is are was were be been being has have had do does did it its "
    "this that these those as into over after before about than then there their they he she his her we you i not no "
    "will would can could may might says said say just more most also who what when where which all any some".split()
)


@lru_cache(maxsize=65536)
def _token_set(text: str) -> frozenset[str]:
    return frozenset(tokens(text))


def tokens(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+(?:[.,][0-9]+)*", text.lower()) if w not in _STOP]


def corpus_idf(texts: list[str]) -> dict[str, float]:
    """Inverse document frequency of each word over the distinct texts: a verbatim reprint
    repeats its sentences, and counted again they would make its words look common and move
    every other pair's overlap."""
    distinct = list(dict.fromkeys(texts))
    df: dict[str, int] = {}
    for t in distinct:
        for w in set(tokens(t)):
            df[w] = df.get(w, 0) + 1
    n = len(distinct)
    return {w: math.log((1 + n) / (1 + c)) + 1.0 for w, c in df.items()}


# The pair model reads only pairs close enough to be about one thing and carrying a cue (a
# denial, a negation, a clashing value, a rule that fired): it costs a forward pass a pair.
NLI_MIN_SIMILARITY = 0.45


def needs_pair_model(p: PairInputs, cmp: slot_module.Comparison) -> bool:
    return p.similarity >= NLI_MIN_SIMILARITY and bool(
        cmp.clash or p.a.denial or p.b.denial or bool(p.a.negation) != bool(p.b.negation)
        or p.relation.relation == "conflicts")


def claim_slots(articles: list[dict], claims: list[dict]) -> list[slot_module.Slots]:
    """The slots of each claim, read against its article's reference date."""
    reference = slot_module.reference_dates(articles)
    return [slot_module.extract(c["text"], reference.get(c["article_id"])) for c in claims]


def pair_inputs(articles: list[dict], claims: list[dict], cand, nli=None, pairs=None, idf=None,
                slots=None) -> list[PairInputs]:
    """PairInputs for the candidate pairs of `cand` (a `conflicts.Candidates`), or for `pairs`, a
    part of them. `nli(pairs) -> array (n, 3)` in pairmodel.LABELS order, when given, runs in one
    batch on the pairs that `needs_pair_model` picks. `idf` (corpus_idf of every claim text) and
    `slots` (claim_slots of every claim) are the corpus's: a caller reading the pairs a block at a
    time computes them once (the word overlap reads the whole corpus's weights, whatever the block)."""
    from verify.conflicts import relate

    pairs = cand.pairs if pairs is None else pairs
    claim_slots_ = slots if slots is not None else claim_slots(articles, claims)
    idf = idf if idf is not None else corpus_idf([c["text"] for c in claims])
    rows = []
    for i, j, sim in pairs:
        a, b = cand.analyses[i], cand.analyses[j]
        pa = frozenset(cand.parties[claims[i]["id"]])
        pb = frozenset(cand.parties[claims[j]["id"]])
        answers = j in cand.referents_of.get(i, ()) or i in cand.referents_of.get(j, ())
        about = False
        for d, t, pd in ((a, b, pa), (b, a, pb)):
            if d.denial or d.compliance:
                about = about or bool(denier_of(d, pd) & t.entities)
        rows.append(PairInputs(
            a=a, b=b, slots_a=claim_slots_[i], slots_b=claim_slots_[j], similarity=sim,
            word_overlap=word_overlap(claims[i]["text"], claims[j]["text"], idf) if idf else 0.0,
            relation=relate(a, b, sim), answers_denial=answers, about_denier=about, parties_a=pa, parties_b=pb,
        ))
    if nli is not None:
        chosen = [n for n, p in enumerate(rows) if needs_pair_model(p, slot_module.compare(p.slots_a, p.slots_b, bool(p.parties_a & p.parties_b)))]
        if chosen:
            probs = nli([(claims[pairs[n][0]]["text"], claims[pairs[n][1]]["text"]) for n in chosen])
            for n, row in zip(chosen, probs):
                rows[n].nli = (float(row[0]), float(row[1]))
    return rows
