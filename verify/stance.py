"""Stance of a text towards a statement, learned: agree | disagree | discuss | unrelated.

The features are what the rest of verify already computes: embedding similarities between the
statement and each sentence, the conflict rules' cues (denials, hedges, negations, and
`conflicts.relate` on the closest sentences), word overlap, and refuting / hedging words. A
gradient-boosted classifier over them is trained on the FNC-1 training split (news
headline/body pairs), chosen on a body-disjoint fifth of it, and shipped in models/stance/ with
its data note, licence, evaluation and retrain command (`python models/stance/train.py`).
Without the model file, `check.stance` falls back to rules.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from verify import conflicts

MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "stance"
MODEL_FILE = MODEL_DIR / "model.joblib"
TO_RELATION = {"agree": "corroborates", "disagree": "conflicts", "discuss": "related", "unrelated": "unrelated"}

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STOP = set(
    "a an the of to in on at for by with from and or but is are was were be been being has have had do does did "
    "it its this that these those as into over after before about than then there their they he she his her we "
    "you i not no will would can could may might says said say just more most also new up out who what when where "
    "why how all any some".split()
)
RELATION_ORDER = ("corroborates", "conflicts", "related", "unrelated")
TOP = 5
# Words that refute or report at a distance (FNC-1 baselines use such lists); counted as tokens.
REFUTE_WORDS = set(
    "fake fraud hoax false deny denies denied denial not despite nope doubt doubts bogus debunk debunked debunks "
    "pranks prank retract retracts retracted falsely untrue misleading rumor rumour rumors rumours never no isn't wasn't "
    "didn't doesn't don't aren't weren't hasn't haven't won't refute refutes refuted dismiss dismissed dismisses "
    "satire satirical fabricated".split()
)
HEDGE_WORDS = set(
    "reportedly allegedly alleged claims claim claimed according sources source report reports reported rumored "
    "unconfirmed may might could appears appear apparently purportedly purported possibly suggests suggest "
    "believed thought speculation speculate".split()
)


def _content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


def _counts(analysis: conflicts.Analysis) -> list[float]:
    # The denial lexicon's words only (the stance model was fitted on these counts), not the
    # conflict rules' wider reading of a denial (conflicts.disowning_in).
    return [len(conflicts.DENIAL_RE.findall(analysis.text)), len(analysis.hedges), len(analysis.negation), len(analysis.compliance),
            len(analysis.violation), len(analysis.quantities)]


def features(statement: str, sentences: list[str], sentence_vectors: np.ndarray, statement_vector: np.ndarray) -> np.ndarray:
    """One fixed-length feature vector for (statement, text as sentences)."""
    head = conflicts.analyse(statement)
    head_words = _content_words(statement)
    n = len(sentences)
    if n == 0:
        sims = np.zeros(1, dtype=np.float32)
    else:
        sims = sentence_vectors @ statement_vector
    order = np.argsort(-sims)[: min(TOP, n)] if n else np.array([], dtype=int)
    top_sims = sims[order] if n else np.zeros(0)
    f: list[float] = [
        float(sims.max()), float(top_sims[:3].mean()) if len(top_sims) else 0.0, float(sims.mean()),
        float(sims[0]), float((sims >= 0.4).mean()), float((sims >= 0.5).mean()), float((sims >= 0.6).mean()),
        float(np.log1p(n)), float(statement.strip().endswith("?")), float(len(head_words)),
    ]
    f += _counts(head)
    # The closest sentences: their cues weighted by similarity, and what relate() makes of them.
    cue_sum = np.zeros(6)
    relation_hits = dict.fromkeys(RELATION_ORDER, 0.0)
    kind_hits = dict.fromkeys(conflicts.KINDS, 0.0)
    best_overlap = 0.0
    top_relations: list[str] = []
    for rank, i in enumerate(order):
        sentence = sentences[int(i)]
        an = conflicts.analyse(sentence)
        weight = float(max(sims[i], 0.0))
        cue_sum += weight * np.array(_counts(an))
        rel = conflicts.relate(head, an, float(sims[i]))
        top_relations.append(rel.relation)
        relation_hits[rel.relation] = max(relation_hits[rel.relation], weight)
        if rel.kind in kind_hits:
            kind_hits[rel.kind] = max(kind_hits[rel.kind], weight)
        if head_words:
            best_overlap = max(best_overlap, len(head_words & _content_words(sentence)) / len(head_words))
        if rank == 0:
            f += _counts(an)
    if not len(order):
        f += [0.0] * 6
    f += list(cue_sum) + list(relation_hits.values()) + list(kind_hits.values())
    # The whole text: how much of it denies, hedges, negates; how much of the statement it covers.
    body = " ".join(sentences)
    whole = conflicts.analyse(body) if body else conflicts.analyse("")
    per = max(n, 1)
    f += [c / per for c in _counts(whole)]
    body_words = _content_words(body)
    f += [len(head_words & body_words) / max(len(head_words), 1), best_overlap]
    f += _more(statement, sentences, sentence_vectors, statement_vector, sims, order, head, head_words, body, body_words, top_relations)
    return np.asarray(f, dtype=np.float32)


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _more(statement, sentences, sentence_vectors, statement_vector, sims, order, head, head_words, body, body_words,
          top_relations) -> list[float]:
    """Similarity profile, overlap variants, refuting/hedging words near the best sentences, and
    the rules' relation on the two closest sentences."""
    n = len(sentences)
    if n == 0:
        return [0.0] * 33
    srt = np.sort(sims)[::-1]
    top = lambda k: float(srt[k]) if n > k else 0.0
    mean_vec = sentence_vectors.mean(0)
    norm = float(np.linalg.norm(mean_vec))
    f = [top(1), top(2), float(srt[0] - top(1)), float(sims.std()), float(sims[:3].max()),
         float(order[0] / max(n - 1, 1)), float(mean_vec @ statement_vector / norm) if norm > 0 else 0.0]
    head_tokens = _tokens(statement)
    body_tokens = _tokens(body)
    first = _content_words(sentences[0])
    words = [_content_words(s) for s in sentences]
    top3_words = set().union(*(words[int(i)] for i in order[:3]))
    head_bigrams = set(zip(head_tokens, head_tokens[1:]))
    body_bigrams = set(zip(body_tokens, body_tokens[1:]))
    cover = np.array([len(head_words & w) / len(head_words) if head_words else 0.0 for w in words])
    per_head = max(len(head_words), 1)
    f += [len(head_words & first) / per_head, len(head_words & body_words) / max(len(head_words | body_words), 1),
          len(head_bigrams & body_bigrams) / max(len(head_bigrams), 1), len(head_words & top3_words) / per_head,
          float(len(head_words & body_words)), float(np.mean(cover >= 0.5)), float(cover.max())]
    count = lambda lexicon, tokens: sum(1 for t in tokens if t in lexicon)
    top3 = [_tokens(sentences[int(i)]) for i in order[:3]]
    weights = [max(float(sims[int(i)]), 0.0) for i in order[:3]]
    first3 = [t for s in sentences[:3] for t in _tokens(s)]
    f += [count(REFUTE_WORDS, head_tokens), count(HEDGE_WORDS, head_tokens),
          count(REFUTE_WORDS, body_tokens) / n, count(HEDGE_WORDS, body_tokens) / n,
          sum(w * count(REFUTE_WORDS, t) for w, t in zip(weights, top3)),
          sum(w * count(HEDGE_WORDS, t) for w, t in zip(weights, top3)),
          count(REFUTE_WORDS, first3), count(HEDGE_WORDS, first3)]
    for k in range(2):
        one_hot = [0.0] * len(RELATION_ORDER)
        if k < len(top_relations):
            one_hot[RELATION_ORDER.index(top_relations[k])] = 1.0
        f += one_hot
    f += [float(len(head_tokens)), float("?" in sentences[int(order[0])]), body.count('"') / n]
    return f


@lru_cache(maxsize=2)
def load(path: str | None = None):
    """The trained classifier, or None when no model file is shipped."""
    file = Path(path) if path else MODEL_FILE
    if not file.exists():
        return None
    import joblib

    return joblib.load(file)


def predict(rows: list[np.ndarray], model=None) -> list[str]:
    model = model or load()
    if model is None or not rows:
        return []
    return [str(label) for label in model.predict(np.vstack(rows))]


def evaluation() -> dict | None:
    """What the shipped model scored on the FNC-1 dev split when it was trained."""
    file = MODEL_DIR / "evaluation.json"
    return json.loads(file.read_text()) if file.exists() else None
