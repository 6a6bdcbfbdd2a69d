"""Train the merge verifier (verify/merge.py) on the development stories' answer keys.

    .venv/bin/python models/merge/train.py --threshold P [STORY_DIR ...]

Each story (default: every one under ../shared/stories/) is built once at the shipped clustering
settings; the candidate pairs are the clustering's k-nearest-neighbour edges between two articles
from merge.FEATURE_FLOOR (cluster.verifier_candidates), each with its FEATURES. Labels come from
the key (benchmarks/story_key.py's anchors):

  1  both claims hold anchors of one corroborated group, from two outlets;
  0  the two hold anchors of different items of the key (two groups, a group and a single-source
     fact, the two sides of a conflict), or one holds a single-source fact and the other is of
     another origin (a fact one outlet carries has no paraphrase elsewhere);
  other pairs are unlabelled and left out.

A logistic regression with balanced classes (merge.fit) is fitted on all the rows. Its threshold
P, with the clustering's T and M, is chosen by benchmarks/stories.py leave-one-story-out (and on
all four for the shipped value, which is what --threshold takes). Writes models/merge/model.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from verify import cluster, merge  # noqa: E402


def candidates(inputs: dict) -> tuple[dict, "cluster.Similarity"]:
    """(cluster.verifier_candidates of a story's clustering inputs, its Similarity)."""
    texts = [c["text"] for c in inputs["claims"]]
    article_of = [c["article_id"] for c in inputs["claims"]]
    sim = cluster.Similarity(inputs["vectors"], cluster.lexical_vectors(texts))
    return cluster.verifier_candidates(inputs["vectors"], sim, cluster.NEIGHBOURS, article_of, inputs["denies"],
                                       texts), sim


def pair_labels(story, inputs: dict, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """1, 0 or -1 (unlabelled) for each candidate pair (rows[n], cols[n]), from the story's key."""
    import story_key

    claims = inputs["claims"]
    key_of = {a["id"]: story_key.gold_id(a["path"]) for a in inputs["articles"].values()}
    keyed = [{"id": c["id"], "gold_id": key_of[c["article_id"]], "text": c["text"]} for c in claims]
    position = {c["id"]: n for n, c in enumerate(claims)}
    items: dict[int, set[str]] = {}
    kind: dict[str, str] = {}

    def add(item: str, anchors, what: str) -> None:
        anchors = [story_key._anchor(a) for a in anchors]
        held = story_key.holders(keyed, anchors)
        kind[item] = what
        for a in anchors:
            for cid in held[a]:
                items.setdefault(position[cid], set()).add(item)

    gold = story.gold
    for r in gold.get("corroborated", []):
        add(r["id"], r["anchors"], "corroborated")
    for s in gold.get("single_source", []):
        add(s["id"], [s["anchor"]], "single")
    for c in gold.get("conflicts", []):
        add(c["id"] + ".a", c["a"], "side")
        add(c["id"] + ".b", c["b"], "side")
    origin = [cluster.source_key(inputs["articles"][c["article_id"]]) for c in claims]
    outlet = [story.outlet(key_of[c["article_id"]]) for c in claims]
    labels = np.full(len(rows), -1, dtype=np.int64)
    for n, (i, j) in enumerate(zip(rows, cols)):
        if claims[i]["article_id"] == claims[j]["article_id"]:
            continue
        a, b = items.get(int(i), set()), items.get(int(j), set())
        if any(kind[x] == "corroborated" for x in a & b) and outlet[i] != outlet[j]:
            labels[n] = 1
        elif a and b and not a & b:
            labels[n] = 0
        elif origin[i] != origin[j] and any(kind[x] == "single" for x in a | b):
            labels[n] = 0
    return labels


def story_rows(story, inputs: dict) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels) of the story's labelled candidate pairs."""
    cand, _ = candidates(inputs)
    labels = pair_labels(story, inputs, cand["rows"], cand["cols"])
    keep = labels >= 0
    return cand["features"][keep], labels[keep]


def fit_rows(rows: list[tuple[np.ndarray, np.ndarray]], threshold: float = 0.5) -> merge.MergeVerifier:
    features = np.vstack([x for x, _ in rows])
    labels = np.concatenate([y for _, y in rows])
    return merge.fit(features, labels, threshold)


def main(argv: list[str] | None = None) -> int:
    import stories  # benchmarks/stories.py: builds a story and keeps its clustering inputs

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stories", nargs="*", type=Path)
    parser.add_argument("--threshold", type=float, required=True,
                        help="the verifier's probability threshold (benchmarks/stories.py chooses it)")
    parser.add_argument("--mean-floor", type=float, default=None,
                        help="the mean similarity groups joined along its pairs keep (benchmarks/stories.py chooses it)")
    parser.add_argument("--out", type=Path, default=HERE / "model.json")
    args = parser.parse_args(argv)
    folders = args.stories or stories.story_folders(stories.STORIES)
    rows = []
    for folder in folders:
        story = stories.load_story(folder)
        inputs = stories.story_inputs(story)
        rows.append(story_rows(story, inputs))
        print(f"{story.name}: {int((rows[-1][1] == 1).sum())} positive, {int((rows[-1][1] == 0).sum())} negative pairs",
              file=sys.stderr)
    verifier = fit_rows(rows, args.threshold).with_threshold(args.threshold, args.mean_floor)
    verifier.meta["trained_on"] = [f.name for f in folders]
    args.out.write_text(json.dumps(verifier.to_json(), indent=1) + "\n", "utf-8")
    print(f"wrote {args.out}: threshold {verifier.threshold}, weights "
          + ", ".join(f"{n} {c:+.3f}" for n, c in zip(merge.FEATURES, verifier.coef)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
