"""benchmarks/story_key.py: over-merges counted by cluster and by statements merged."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import story_key  # noqa: E402


def story() -> story_key.Story:
    articles = {a: {"id": a, "outlet": f"Outlet {a}"} for a in ("a1", "a2", "a3")}
    gold = {
        "corroborated": [{"id": "R1", "what": "", "anchors": [["a1", "the dam burst at noon"], ["a2", "dam burst at noon on"]]},
                         {"id": "R2", "what": "", "anchors": [["a1", "twelve villages were flooded"], ["a3", "flooded twelve villages"]]}],
        "single_source": [{"id": "S1", "what": "", "anchor": ["a2", "the mayor resigned"]},
                          {"id": "S2", "what": "", "anchor": ["a3", "a school was closed"]}],
        "conflicts": [], "agree_traps": [], "origins": {},
    }
    return story_key.Story("toy", ROOT, articles, gold)


CLAIMS = [("c1", "a1", "The dam burst at noon."), ("c2", "a2", "The dam burst at noon on Monday."),
          ("c3", "a1", "Twelve villages were flooded."), ("c4", "a3", "Water flooded twelve villages."),
          ("c5", "a2", "The mayor resigned."), ("c6", "a3", "A school was closed.")]


def scored(cluster_of: dict[str, str]) -> dict:
    claims = [{"id": c, "gold_id": a, "text": t, "cluster_id": cluster_of[c]} for c, a, t in CLAIMS]
    n_origins = {}
    for k in set(cluster_of.values()):
        n_origins[k] = len({a for c, a, _ in CLAIMS if cluster_of[c] == k})
    articles = {a: {"outlet": f"Outlet {a}", "origin": f"Outlet {a}"} for a in ("a1", "a2", "a3")}
    return story_key.score(story(), story_key.Corpus(articles, claims, n_origins, []), None).counts


def test_one_cluster_swallowing_four_statements_counts_three_merged():
    counts = scored({c: "k" for c, _, _ in CLAIMS})
    assert counts["over_merges"] == 1 and counts["merged_items"] == 3
    assert counts["corroborated_found"] == 2 and counts["single_found"] == 0


def test_separate_statements_merge_nothing():
    counts = scored({"c1": "k1", "c2": "k1", "c3": "k2", "c4": "k2", "c5": "k3", "c6": "k4"})
    assert counts["over_merges"] == 0 and counts["merged_items"] == 0
    assert counts["corroborated_found"] == 2 and counts["single_found"] == 2


def test_two_pairs_merged_count_two():
    counts = scored({"c1": "k1", "c2": "k1", "c5": "k1", "c3": "k2", "c4": "k2", "c6": "k2"})
    assert counts["over_merges"] == 2 and counts["merged_items"] == 2
    assert counts["single_found"] == 0
