"""Train verify's stance model on the FNC-1 training split; choose on its dev split.

    .venv/bin/python models/stance/train.py

Writes models/stance/model.joblib and models/stance/evaluation.json. Uses
../shared/datasets/fnc1-train only (train_stances.csv to fit, dev_stances.csv to choose);
the FNC-1 competition test set is never read here.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import fnc1  # noqa: E402  (the benchmark's loaders: same cleaning, segmentation and embeddings)
from verify import stance  # noqa: E402

OUT = ROOT / "models" / "stance"


def feature_rows(bodies, stances, vec, sentences):
    dims = len(next(iter(vec.values())))
    matrices = {b: (np.vstack([vec[s] for s in ss]) if ss else np.zeros((0, dims), np.float32)) for b, ss in sentences.items()}
    return np.vstack([stance.features(s["Headline"], sentences[s["Body ID"]], matrices[s["Body ID"]], vec[s["Headline"]])
                      for s in stances])


def main() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier
    import joblib

    started = time.perf_counter()
    bodies, train = fnc1.load_split("train")
    _, dev = fnc1.load_split("dev")
    used = {s["Body ID"] for s in train + dev}
    sentences = fnc1.body_sentences({b: bodies[b] for b in used})
    texts = sorted({x for ss in sentences.values() for x in ss} | {s["Headline"] for s in train + dev})
    vec = fnc1.embed_all(texts, None)
    X_train, X_dev = feature_rows(bodies, train, vec, sentences), feature_rows(bodies, dev, vec, sentences)
    y_train, y_dev = [s["Stance"] for s in train], [s["Stance"] for s in dev]
    print(f"features: train {X_train.shape}, dev {X_dev.shape} in {time.perf_counter() - started:.0f}s")

    best = None
    for class_weight in (None, "balanced"):
        for lr, iters in ((0.05, 400), (0.1, 200)):
            model = HistGradientBoostingClassifier(learning_rate=lr, max_iter=iters, class_weight=class_weight,
                                                   l2_regularization=1.0, random_state=0)
            model.fit(X_train, y_train)
            result = fnc1.scores(y_dev, list(model.predict(X_dev)))
            print(f"class_weight={class_weight} lr={lr} iters={iters}: macro-F1 {result['macro']:.3f} "
                  f"FNC {result['fnc']:.3f} " + " ".join(f"{k} {v:.3f}" for k, v in result["f1"].items()))
            if best is None or result["macro"] > best[1]["macro"]:
                best = (model, result, {"class_weight": class_weight, "learning_rate": lr, "max_iter": iters})
    model, result, params = best
    joblib.dump(model, OUT / "model.joblib", compress=3)
    (OUT / "evaluation.json").write_text(json.dumps({
        "trained_on": "FNC-1 train split (train_stances.csv, 44,974 pairs; UKPLab/coling2018 9:1 split)",
        "chosen_on": "FNC-1 dev split (dev_stances.csv, 4,998 pairs)",
        "params": params,
        "n_features": int(X_train.shape[1]),
        "train_labels": dict(Counter(y_train)),
        "dev": {"f1": {k: round(v, 4) for k, v in result["f1"].items()}, "macro_f1": round(result["macro"], 4),
                "fnc_score": round(result["fnc"], 4)},
    }, indent=2) + "\n")
    print(f"chose {params}: dev macro-F1 {result['macro']:.3f}, FNC {result['fnc']:.3f}; "
          f"wrote {OUT / 'model.joblib'} in {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
