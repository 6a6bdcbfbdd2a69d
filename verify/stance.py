"""Stance of a text towards a statement, learned: agree | disagree | discuss | unrelated.

The features are what the rest of verify already computes: embedding similarities between the
statement and each sentence, the conflict rules' cues (denials, hedges, negations, and
`conflicts.relate` on the closest sentences) and word overlap. A gradient-boosted classifier
over them is trained on the FNC-1 training split (news headline/body pairs), chosen on its dev
split, and shipped in models/stance/ with its data note, licence, evaluation and retrain command
(`python models/stance/train.py`). Without the model file, `check.stance` falls back to rules.
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


def _content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


def _counts(analysis: conflicts.Analysis) -> list[float]:
    return [len(analysis.denial), len(analysis.hedges), len(analysis.negation), len(analysis.compliance),
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
    for rank, i in enumerate(order):
        sentence = sentences[int(i)]
        an = conflicts.analyse(sentence)
        weight = float(max(sims[i], 0.0))
        cue_sum += weight * np.array(_counts(an))
        rel = conflicts.relate(head, an, float(sims[i]))
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
    return np.asarray(f, dtype=np.float32)


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
