"""Train the conflict scorer (verify/conflict_model.py) on the development stories.

    .venv/bin/python models/conflict/train.py [--stories ../shared/stories] [--nli]

Each story of `../shared/stories/*/` is built as `verify build` builds it (ingest, copies,
segment, embed, candidate pairs), and every candidate pair is labelled from the story's answer
key: a pair is a conflict when one claim holds a side-a anchor and the other a side-b anchor of
one gold conflict; every other candidate pair (agreement traps included) is not. A logistic
regression is fitted on three stories and scored on the fourth, in turn; the flag threshold is
chosen on the three as well. The shipped model (`models/conflict/model.json`) is then fitted on
all four, with the threshold chosen the same way; `evaluation.json` keeps the leave-one-story-out
figures. The key is incomplete (each story's SOURCES.md lists real conflicts left out), so some
"negatives" are real conflicts: precision figures are lower bounds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import story_key  # noqa: E402  (anchor folding, as the benchmark reads the key)

from verify import cluster, conflict_model, conflicts, embed, ingest, pipeline, provenance, segment  # noqa: E402

HERE = Path(__file__).resolve().parent
THRESHOLDS = [round(x, 2) for x in np.arange(0.05, 0.96, 0.05)]
C_VALUES = (0.1, 0.3, 1.0)


def story_rows(folder: Path, nli=None) -> dict:
    """Features and labels of one story's candidate pairs, and which gold conflict each pair is."""
    key = json.loads((folder / "gold.json").read_text("utf-8"))
    articles, _ = ingest.read_articles([folder / "articles.jsonl"])
    provenance.share_origins(articles)
    claims = segment.segment_articles(articles)
    encode = lambda texts: embed.embed_texts(texts, None, {})[0]  # noqa: E731
    vectors = encode(pipeline.embedding_inputs(articles, claims))
    cand = conflicts.candidate_pairs(articles, claims, vectors, cluster.source_key, encode)
    inputs = conflict_model.pair_inputs(articles, claims, cand, nli)
    gold_of = {a["id"]: story_key.gold_id(a["path"]) for a in articles}
    folded = [story_key.fold(c["text"]) for c in claims]

    def holders(anchors) -> set[int]:
        out = set()
        for article, text in anchors:
            sub = story_key.fold(text)
            out |= {i for i, c in enumerate(claims) if gold_of[c["article_id"]] == article and sub in folded[i]}
        return out

    sides = [(g["id"], holders(g["a"]), holders(g["b"])) for g in key["conflicts"]]
    traps = [(t["id"], holders([t["a"]]), holders([t["b"]])) for t in key["agree_traps"]]
    X, y, gold, trap, flaggable = [], [], [], [], []
    for (i, j, _), p in zip(cand.pairs, inputs):
        row, cmp = conflict_model.features(p)
        X.append(row)
        # The build never flags a pair nothing in the texts explains (conflicts._scored_conflicts).
        flaggable.append(conflict_model.explain(p, cmp, 0.0)[0] != "contradiction" or p.nli is not None)
        hit = next((gid for gid, a, b in sides if (i in a and j in b) or (i in b and j in a)), None)
        y.append(int(hit is not None))
        gold.append(hit)
        trap.append(next((tid for tid, a, b in traps if (i in a and j in b) or (i in b and j in a)), None))
    return {"name": folder.name, "X": np.asarray(X, dtype=float), "y": np.asarray(y), "gold": gold, "trap": trap,
            "n_gold": len(key["conflicts"]), "flaggable": np.asarray(flaggable, dtype=bool)}


def fit(stories: list[dict], c: float):
    from sklearn.linear_model import LogisticRegression

    # Fitted on the pairs the build could flag: the others never reach the threshold.
    X = np.vstack([s["X"][s["flaggable"]] for s in stories])
    y = np.concatenate([s["y"][s["flaggable"]] for s in stories])
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000).fit((X - mean) / scale, y)
    return conflict_model.Scorer(model.coef_[0], float(model.intercept_[0]), mean, scale, 0.5, False)


def figures(story: dict, probs: np.ndarray, threshold: float) -> dict:
    flagged = (probs >= threshold) & story["flaggable"]
    found = {g for g, f in zip(story["gold"], flagged) if f and g}
    return {"found": len(found), "gold": story["n_gold"], "flagged": int(flagged.sum()),
            "gold_pairs": int((flagged & (story["y"] == 1)).sum()),
            "traps": len({t for t, f in zip(story["trap"], flagged) if f and t})}


def objective(figs: list[dict]) -> float:
    """F1 of conflict recall and gold precision, less 0.1 a flagged trap (the benchmark's)."""
    found, gold = sum(f["found"] for f in figs), sum(f["gold"] for f in figs)
    pairs, flagged = sum(f["gold_pairs"] for f in figs), sum(f["flagged"] for f in figs)
    recall, precision = found / gold if gold else 0.0, pairs / flagged if flagged else 0.0
    f1 = 2 * recall * precision / (recall + precision) if recall + precision else 0.0
    return f1 - 0.1 * sum(f["traps"] for f in figs) / len(figs)


def choose(train: list[dict]):
    """C and threshold by leave-one-out within the training stories, then refit on all of them."""
    best = None
    for c in C_VALUES:
        held = []
        for k, s in enumerate(train):
            rest = train[:k] + train[k + 1:]
            held.append((s, fit(rest, c).probability(s["X"].tolist())))
        for t in THRESHOLDS:
            score = objective([figures(s, p, t) for s, p in held])
            if best is None or score > best[0]:
                best = (score, c, t)
    _, c, t = best
    scorer = fit(train, c)
    scorer.flag_threshold = t
    return scorer, c


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", default=str(ROOT.parent / "shared" / "stories"))
    parser.add_argument("--nli", action="store_true", help="add the shipped pair model's probabilities as features")
    parser.add_argument("--out", default=str(HERE))
    args = parser.parse_args()
    nli = None
    if args.nli:
        from verify import pairmodel

        model = pairmodel.load()
        nli = model.predict if model else None
    folders = story_key.story_folders(args.stories)
    stories = [story_rows(f, nli) for f in folders]
    loso = []
    for k, s in enumerate(stories):
        scorer, c = choose(stories[:k] + stories[k + 1:])
        figs = figures(s, scorer.probability(s["X"].tolist()), scorer.flag_threshold)
        loso.append({"story": s["name"], "C": c, "threshold": scorer.flag_threshold, **figs})
        print(f"{s['name']:<22} C={c:<4} F={scorer.flag_threshold:.2f}  found {figs['found']}/{figs['gold']}  "
              f"flagged {figs['flagged']}  gold pairs {figs['gold_pairs']}  traps {figs['traps']}", flush=True)
    total = {k: sum(r[k] for r in loso) for k in ("found", "gold", "flagged", "gold_pairs", "traps")}
    print(f"{'total':<22} found {total['found']}/{total['gold']} = {total['found'] / total['gold']:.2f}  "
          f"gold precision {total['gold_pairs'] / max(total['flagged'], 1):.2f}  traps {total['traps']}")
    scorer, c = choose(stories)
    scorer.uses_nli = nli is not None
    out = Path(args.out)
    (out / "model.json").write_text(json.dumps(scorer.to_json(), indent=1) + "\n", "utf-8")
    weights = sorted(zip(conflict_model.FEATURES, scorer.weights.tolist()), key=lambda kv: -abs(kv[1]))
    (out / "evaluation.json").write_text(json.dumps({
        "leave_one_story_out": loso, "total": total, "shipped": {"C": c, "flag_threshold": scorer.flag_threshold},
        "weights_by_size": [[k, round(v, 3)] for k, v in weights],
        "candidate_pairs": {s["name"]: len(s["y"]) for s in stories},
        "gold_conflicts_in_candidates": {s["name"]: len({g for g in s["gold"] if g}) for s in stories},
    }, indent=1) + "\n", "utf-8")
    print("wrote", out / "model.json", "and evaluation.json; largest weights:",
          ", ".join(f"{k} {v:+.2f}" for k, v in weights[:8]))


if __name__ == "__main__":
    main()
