"""FNC-1 headline-body stance through the machinery of `verify check`.

Each body is cleaned and segmented like an article; its sentences are compared with the
headline by `verify.check.stance` (embedding similarity + the conflict rules), and the relation
maps to FNC-1's labels: corroborates -> agree, conflicts -> disagree, related -> discuss,
unrelated -> unrelated.

    .venv/bin/python benchmarks/fnc1.py               # the competition test set (evaluation only)
    .venv/bin/python benchmarks/fnc1.py --split dev   # FNC-1's dev split: where choices are made

Never train or tune on the test set: thresholds and models are chosen on --split dev. Prints
per-class F1, macro-F1 and the FNC score for us and, on the test set, for the three best FNC-1
systems (their published predictions, scored by the same code in the same run), and run time.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
TEST = SHARED / "benchmarks" / "fnc1"
TRAIN = SHARED / "datasets" / "fnc1-train"
CACHE = ROOT / "benchmarks" / "out" / "fnc1-embeddings.db"

LABELS = ["agree", "disagree", "discuss", "unrelated"]
RELATED = {"agree", "disagree", "discuss"}
TO_FNC = {"corroborates": "agree", "conflicts": "disagree", "related": "discuss", "unrelated": "unrelated"}
PEERS = {"TALOS": "talos_submission.csv", "Athene": "athene_submission.csv", "UCL": "ucl_submission.csv"}


def read_csv(path: Path) -> list[dict]:
    csv.field_size_limit(1 << 30)
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def fnc_score(gold: list[str], predicted: list[str]) -> float:
    """The official FNC-1 score, relative to the best possible."""
    score = best = 0.0
    for g, p in zip(gold, predicted):
        best += 0.25 if g == "unrelated" else 1.0
        if g == p:
            score += 0.25
            if g != "unrelated":
                score += 0.50
        if g in RELATED and p in RELATED:
            score += 0.25
    return score / best


def scores(gold: list[str], predicted: list[str]) -> dict:
    from sklearn.metrics import f1_score

    per_class = f1_score(gold, predicted, labels=LABELS, average=None, zero_division=0)
    return {"f1": dict(zip(LABELS, per_class)), "macro": float(np.mean(per_class)), "fnc": fnc_score(gold, predicted)}


def load_split(split: str) -> tuple[dict[str, str], list[dict]]:
    if split == "test":
        bodies = {r["Body ID"]: r["articleBody"] for r in read_csv(TEST / "competition_test_bodies.csv")}
        return bodies, read_csv(TEST / "competition_test_stances.csv")
    bodies = {r["Body ID"]: r["articleBody"] for r in read_csv(TRAIN / "train_bodies.csv")}
    return bodies, read_csv(TRAIN / ("dev_stances.csv" if split == "dev" else "train_stances.csv"))


def body_sentences(bodies: dict[str, str]) -> dict[str, list[str]]:
    """Each body cleaned and segmented exactly as `verify build` does an article."""
    from verify import ingest, segment

    out = {}
    for body_id, text in bodies.items():
        page = ingest.clean_page(text, has_header=False)
        article = {"id": body_id, "text": page.text, "dateline_end": page.dateline_end}
        out[body_id] = [c["text"] for c in segment.segment_article(article)]
    return out


def embed_all(texts: list[str], model: str | None) -> dict[str, np.ndarray]:
    """Vectors through verify's own cache (a database under benchmarks/out/), so reruns are fast."""
    from verify import embed, names, store

    canonical = {t: names.canonical_text(t) for t in texts}
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    db = store.open_db(CACHE)
    key = embed.model_key(model)  # the backend's own vectors
    wanted = list(dict.fromkeys(canonical.values()))
    cache = store.load_embeddings(db, key, [embed.text_hash(t) for t in wanted])
    vectors, fresh = embed.embed_texts(wanted, model, cache)
    with db.conn:
        store.save_embeddings(db, key, fresh)
    by_text = dict(zip(wanted, vectors))
    return {t: by_text[c] for t, c in canonical.items()}


def predict(bodies: dict[str, str], stances: list[dict], model: str | None = None) -> dict[str, list[str]]:
    """Labels from the rules alone (zero-shot) and, when it is shipped, with the stance model."""
    from verify import check, stance

    sentences = body_sentences({b: bodies[b] for b in {s["Body ID"] for s in stances}})
    texts = sorted({s for ss in sentences.values() for s in ss} | {s["Headline"] for s in stances})
    vec = embed_all(texts, model)
    dims = len(next(iter(vec.values())))
    matrices = {b: (np.vstack([vec[s] for s in ss]) if ss else np.zeros((0, dims), np.float32)) for b, ss in sentences.items()}
    variants = {"rules": False} | ({"model": True} if stance.load() is not None else {})
    items = [(row["Headline"], sentences[row["Body ID"]], matrices[row["Body ID"]], vec[row["Headline"]]) for row in stances]
    return {name: [TO_FNC[r["relation"]] for r in check.stance_many(items, use_model)]
            for name, use_model in variants.items()}


def print_row(name: str, s: dict) -> None:
    f1 = s["f1"]
    print(f"| {name} | {f1['agree']:.3f} | {f1['disagree']:.3f} | {f1['discuss']:.3f} | {f1['unrelated']:.3f} | {s['macro']:.3f} | {s['fnc']:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["test", "dev"], default="test")
    parser.add_argument("--model", default=None, help="sentence-transformers model (default: the bundled one)")
    args = parser.parse_args()
    started = time.perf_counter()
    bodies, stances = load_split(args.split)
    gold = [s["Stance"] for s in stances]
    predicted = predict(bodies, stances, args.model)
    seconds = time.perf_counter() - started

    print(f"FNC-1 {args.split}: {len(stances)} pairs, gold {dict(Counter(gold))}")
    print("| system | F1 agree | F1 disagree | F1 discuss | F1 unrelated | macro-F1 | FNC score |")
    print("|---|---|---|---|---|---|---|")
    names = {"rules": "verify, rules only (zero-shot, MiniLM)", "model": "verify, stance model (trained on FNC-1 train)"}
    for key, labels in predicted.items():
        print_row(names[key], scores(gold, labels))
    if args.split == "test":
        for name, file in PEERS.items():
            peer = [r["Stance"] for r in read_csv(TEST / "peers" / file)]
            print_row(f"{name} (trained on FNC-1 train)", scores(gold, peer))
    print(f"run time {seconds:.0f}s (embeddings cached in {CACHE.relative_to(ROOT)} after the first run)")


if __name__ == "__main__":
    main()
