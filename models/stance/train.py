"""Train verify's stance model on the FNC-1 training split; choose on its dev split.

    .venv/bin/python models/stance/train.py

Writes models/stance/model.joblib and models/stance/evaluation.json. Uses
../shared/datasets/fnc1-train only: train_stances.csv to fit, a body-disjoint fifth of it to
choose, dev_stances.csv to report. The FNC-1 competition test set is never read here.

Sentence vectors come from the benchmark's cache (benchmarks/out/fnc1-embeddings.db) under the
torch backend's key, encoding only what is missing; the default ONNX fp32 backend that
`verify check` and benchmarks/fnc1.py use gives the same vectors (cosine >= 0.9999998 on the
14,318 texts cached under both).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import fnc1  # noqa: E402  (the benchmark's loaders: same cleaning, segmentation and embeddings)
from verify import check, conflicts, stance  # noqa: E402

OUT = ROOT / "models" / "stance"


def vectors(texts: list[str]) -> dict[str, np.ndarray]:
    """fnc1.embed_all through the torch backend's cache entries (see the module's note)."""
    from verify import embed, names, store

    canonical = {t: names.canonical_text(t) for t in texts}
    db = store.open_db(fnc1.CACHE)
    key = embed.model_key(None, "torch")
    wanted = list(dict.fromkeys(canonical.values()))
    cache = store.load_embeddings(db, key, [embed.text_hash(t) for t in wanted])
    found, fresh = embed.embed_texts(wanted, None, cache, backend="torch")
    with db.conn:
        store.save_embeddings(db, key, fresh)
    by_text = dict(zip(wanted, found))
    return {t: by_text[c] for t, c in canonical.items()}


def feature_rows(stances, vec, sentences):
    dims = len(next(iter(vec.values())))
    matrices = {b: (np.vstack([vec[s] for s in ss]) if ss else np.zeros((0, dims), np.float32)) for b, ss in sentences.items()}
    X = np.vstack([stance.features(s["Headline"], sentences[s["Body ID"]], matrices[s["Body ID"]], vec[s["Headline"]])
                   for s in stances])
    # What the rules alone say of each pair: needed to judge the "rules-disagree" combination.
    rules = [check._rule_stance(s["Headline"], sentences[s["Body ID"]], matrices[s["Body ID"]] @ vec[s["Headline"]])
             if sentences[s["Body ID"]] else None for s in stances]
    return X, [r.relation if r else "unrelated" for r in rules]


def combined(labels, rules, mode):
    if mode == "model":
        return list(labels)
    return ["disagree" if mode == "rules-disagree" and r == "conflicts" and l in ("agree", "discuss") else l
            for l, r in zip(labels, rules)]


def main() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier
    import joblib

    started = time.perf_counter()
    # Texts recur across pairs (a body's sentences, the whole body): analyse each once. Same values.
    conflicts.analyse = lru_cache(maxsize=None)(conflicts.analyse)
    bodies, train = fnc1.load_split("train")
    _, dev = fnc1.load_split("dev")
    used = {s["Body ID"] for s in train + dev}
    sentences = fnc1.body_sentences({b: bodies[b] for b in used})
    texts = sorted({x for ss in sentences.values() for x in ss} | {s["Headline"] for s in train + dev})
    vec = vectors(texts)
    X, rules = feature_rows(train, vec, sentences)
    y = np.array([s["Stance"] for s in train])
    X_dev, rules_dev = feature_rows(dev, vec, sentences)
    y_dev = [s["Stance"] for s in dev]
    print(f"features: train {X.shape}, dev {X_dev.shape} in {time.perf_counter() - started:.0f}s")

    # The official dev split shares 1,281 of its 1,289 bodies with train, so it flatters a model
    # that learns bodies. Choices are made on a body-disjoint split of train instead: a fifth of
    # the bodies, never seen in fitting, as the competition test set's bodies are not.
    body_ids = sorted({s["Body ID"] for s in train})
    rng = np.random.default_rng(0)
    held = set(rng.choice(body_ids, size=len(body_ids) // 5, replace=False))
    is_held = np.array([s["Body ID"] in held for s in train])
    rules_arr = np.array(rules)
    # The earlier grid (class weights none/balanced, 150/400 rounds, leaves of 20/200 samples)
    # chose balanced/150/20; its neighbours that did best on the held-out bodies remain here:
    # early stopping (sklearn's default above 10,000 rows) or a fixed 300 rounds, 31 or 63 leaves.
    base = dict(class_weight="balanced", learning_rate=0.05, l2_regularization=1.0, min_samples_leaf=20, max_iter=150)
    grid = [base, base | dict(max_leaf_nodes=63, min_samples_leaf=50), base | dict(early_stopping=False, max_iter=300)]
    tried = []
    best = None
    for params in grid:
        model = HistGradientBoostingClassifier(random_state=0, **params).fit(X[~is_held], y[~is_held])
        labels = model.predict(X[is_held])
        for mode in ("model", "rules-disagree"):
            result = fnc1.scores(list(y[is_held]), combined(labels, rules_arr[is_held], mode))
            print(f"{params} {mode}: held-out bodies macro-F1 {result['macro']:.3f} FNC {result['fnc']:.3f} "
                  + " ".join(f"{k} {v:.3f}" for k, v in result["f1"].items()))
            tried.append({"params": dict(params), "combine": mode, "held_out_macro_f1": round(result["macro"], 4)})
            if best is None or result["macro"] > best[2]["macro"]:
                best = (params, mode, result)
    params, mode, held_result = best
    model = HistGradientBoostingClassifier(random_state=0, **params).fit(X, y)  # all of train
    dev_result = fnc1.scores(y_dev, combined(model.predict(X_dev), rules_dev, mode))
    rules_only = fnc1.scores(list(y[is_held]), [fnc1.TO_FNC[r] for r in rules_arr[is_held]])
    joblib.dump(model, OUT / "model.joblib", compress=3)
    summary = lambda r: {"f1": {k: round(v, 4) for k, v in r["f1"].items()}, "macro_f1": round(r["macro"], 4),
                         "fnc_score": round(r["fnc"], 4)}
    (OUT / "evaluation.json").write_text(json.dumps({
        "trained_on": "FNC-1 train split (train_stances.csv, 44,974 pairs; UKPLab/coling2018 9:1 split), Apache-2.0",
        "chosen_on": "a body-disjoint fifth of the train split (bodies never seen in fitting; seed 0)",
        "params": {k: v for k, v in params.items()},
        "combine": mode,
        "n_features": int(X.shape[1]),
        "train_labels": dict(Counter(y.tolist())),
        "held_out_bodies": summary(held_result),
        "held_out_bodies_rules_only": summary(rules_only),
        "official_dev_split": summary(dev_result),
        "tried": tried,
        "note": "the official dev split shares bodies with train, so its figures are optimistic",
    }, indent=2) + "\n")
    print(f"chose {params} + {mode}: held-out macro-F1 {held_result['macro']:.3f}; official dev macro-F1 "
          f"{dev_result['macro']:.3f}; wrote {OUT / 'model.joblib'} in {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
