"""Score `verify` against the development stories (../shared/stories/*/, answer keys in gold.json).

    .venv/bin/python benchmarks/stories.py [STORY_DIR ...] [--json] [--verbose]

Three settings are fitted on the stories: the clustering thresholds T (any pair) and M (pairs
that are each other's best match across two articles), and the conflict flag threshold F. The stories are a development set, so the figures that count are
leave-one-story-out: each story is scored at the T and F chosen on the other stories. Then come
the values chosen on all stories (what the shipped defaults should be), and the figures of a
build at the shipped defaults (`pipeline.build` with no threshold arguments).

Each story is built once per (T, M) into its own temporary database (embeddings cached there, so
only the first build encodes). F needs no rebuild: when `pipeline.build` takes `flag_threshold`
it is passed 0.0 so every candidate conflict is stored with its score, and F filters them here.

The conflict scorer (models/conflict/) is itself trained on these stories, so the shipped one
has seen every story. For the leave-one-story-out rows, each held-out story is built once more
at its chosen T with a scorer trained on the other stories only (models/conflict/train.py, its
flag threshold chosen there on those stories), and its conflict figures come from that build.

How a result is read (`benchmarks/story_key.py`, after the stories' README):
  conflicts  gold conflicts found (a flagged conflict pairs a side-a claim with a side-b claim)
  flagged    conflicts flagged; gold prec: the share of them that are gold pairs (a lower bound:
             the key leaves some real conflicts out)
  traps      agree_traps flagged as conflicts (compatible pairs that look opposed)
  corrob     corroborated groups found (two anchors from different outlets in one cluster of >= 2
             origins); single: single-source facts whose cluster has one origin
  merges     clusters holding two statements the key tells apart, or both sides of a conflict;
             stmts: the statements so merged into another's cluster (a cluster of n counts n - 1)
  lost       anchors no claim holds (sentences lost by ingest or segmentation)
  origins    wire origins detected right; false wire: other articles given an origin not their own
"""

from __future__ import annotations

import argparse
import inspect
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # this checkout's verify, as the other benchmarks do
sys.path.insert(0, str(HERE))  # story_key (a site-packages "benchmarks" shadows the folder name)

import story_key  # noqa: E402
from story_key import Figures, load_story, ratios, score, story_folders, total  # noqa: E402

STORIES = ROOT.parent / "shared" / "stories"
T_GRID = [round(0.65 + 0.05 * i, 2) for i in range(5)]   # 0.65 .. 0.85
M_GRID = [round(0.45 + 0.05 * i, 2) for i in range(5)]   # 0.45 .. 0.65
TM_GRID = [(t, m) for t in T_GRID for m in M_GRID]
F_GRID = [round(0.05 * i, 2) for i in range(20)]         # 0.00 .. 0.95
MERGE_PENALTY = 0.02  # per statement merged into another's cluster, per story, against mean(corroborated, single-source)
TRAP_PENALTY = 0.1    # per trap flagged, against conflict F1


# ---------------------------------------------------------------------------
# Objectives and choices
# ---------------------------------------------------------------------------


def cluster_objective(counts: dict, n_stories: int) -> float:
    """Clustering quality on summed counts: found corroboration and kept single sources, less a
    cost for each statement the key tells apart merged into another's cluster (per story, so folds
    compare). Counted by statements, not clusters: one cluster swallowing fifteen of the key's
    statements finds many groups "corroborated" at once and must cost fourteen merges, not one."""
    r = ratios(counts)
    return (r["corroborated"] + r["single_source"]) / 2 - MERGE_PENALTY * counts["merged_items"] / n_stories


def flag_objective(counts: dict) -> float:
    """Conflict F1 on summed counts, less a cost for each compatible pair flagged."""
    return ratios(counts)["f1"] - TRAP_PENALTY * counts["traps_flagged"]


def best(values: list[float], objective) -> tuple[float, float, dict[float, float]]:
    """(value, objective, objective of every value) maximising `objective`. Tied values behave
    alike on the training stories; the middle one is furthest from where the figures change."""
    curve = {v: objective(v) for v in values}
    top = max(curve.values())
    tied = [v for v, s in curve.items() if s >= top - 1e-9]
    return statistics.median_low(tied), top, curve


def choose(grid: dict, train: list[str]) -> dict:
    """(T, M) then F, fitted on the stories `train`. F is chosen at the chosen (T, M), because
    conflicts are deduplicated per cluster pair and so change with the clusters."""
    # Clustering figures do not depend on F: any F column will do.
    tm, t_obj, t_curve = best(TM_GRID, lambda tm: cluster_objective(total([grid[s][tm][0.0].counts for s in train]), len(train)))
    f, f_obj, f_curve = best(F_GRID, lambda f: flag_objective(total([grid[s][tm][f].counts for s in train])))
    return {"T": tm[0], "M": tm[1], "F": f, "cluster_objective": round(t_obj, 4), "flag_objective": round(f_obj, 4),
            "T_curve": {f"{k[0]:.2f}/{k[1]:.2f}": round(v, 4) for k, v in t_curve.items()},
            "F_curve": {k: round(v, 4) for k, v in f_curve.items()}}


# ---------------------------------------------------------------------------
# Builds
# ---------------------------------------------------------------------------


def build_and_read(pipeline, story, db_path: Path, **kwargs) -> story_key.Corpus:
    result = pipeline.build([story.articles_path], db_path=db_path, out_dir=None, **kwargs)
    for problem in result.problems:
        print(f"  {story.name}: {problem}", file=sys.stderr)
    return story_key.read_corpus(db_path)


def run(folders: list[Path]) -> dict:
    from verify import pipeline

    params = inspect.signature(pipeline.build).parameters
    default_t = params["threshold"].default
    default_m = params["mutual_threshold"].default
    # Store every candidate with its score when the build can be told to; F filters them here.
    extra = {"flag_threshold": 0.0} if "flag_threshold" in params else {}
    default_f = params["flag_threshold"].default if "flag_threshold" in params else None

    stories = [load_story(f) for f in folders]
    names = [s.name for s in stories]
    grid: dict[str, dict[float, dict[float, Figures]]] = {}
    defaults: dict[str, Figures] = {}
    with tempfile.TemporaryDirectory(prefix="verify-stories-") as tmp:
        for story in stories:
            started = time.perf_counter()
            db_path = Path(tmp) / f"{story.name}.db"  # one per story: its embedding cache
            grid[story.name] = {}
            for t, m in TM_GRID:
                corpus = build_and_read(pipeline, story, db_path, threshold=t, mutual_threshold=m, **extra)
                grid[story.name][(t, m)] = {f: score(story, corpus, f) for f in F_GRID}
            # The shipped defaults: no threshold arguments, and every stored conflict counts.
            defaults[story.name] = score(story, build_and_read(pipeline, story, db_path), None)
            print(f"built {story.name}: {len(TM_GRID) + 1} builds in {time.perf_counter() - started:.1f}s",
                  file=sys.stderr)

    loso = {}
    if len(stories) >= 2:
        for held in names:
            picked = choose(grid, [s for s in names if s != held])
            loso[held] = {"choice": picked, "figures": grid[held][(picked["T"], picked["M"])][picked["F"]]}
        if "conflict_model_path" in params:
            fold_conflicts(pipeline, stories, folders, loso)
    return {
        "stories": names,
        "grid": {"T": T_GRID, "M": M_GRID, "F": F_GRID},
        "penalties": {"over_merge_per_story": MERGE_PENALTY, "trap": TRAP_PENALTY},
        "loso": loso,
        "all": choose(grid, names),
        "defaults": {"T": default_t, "M": default_m, "F": default_f, "figures": defaults},
    }


def fold_conflicts(pipeline, stories, folders: list[Path], loso: dict) -> None:
    """Rebuild each held-out story with a conflict scorer that never saw it; its conflict
    figures (and F, the scorer's own threshold) replace the grid's in `loso`."""
    sys.path.insert(0, str(ROOT / "models" / "conflict"))
    import train as conflict_training  # models/conflict/train.py

    from verify import conflict_model

    rows = {f.name: conflict_training.story_rows(f) for f in folders}
    with tempfile.TemporaryDirectory(prefix="verify-folds-") as tmp:
        for story in stories:
            others = [rows[n] for n in rows if n != story.name]
            scorer, _ = conflict_training.choose(others)
            scorer.uses_nli = bool(conflict_model.load() and conflict_model.load().uses_nli)
            path = Path(tmp) / f"{story.name}.json"
            path.write_text(json.dumps(scorer.to_json()), "utf-8")
            t, m = loso[story.name]["choice"]["T"], loso[story.name]["choice"]["M"]
            corpus = build_and_read(pipeline, story, Path(tmp) / f"{story.name}.db", threshold=t, mutual_threshold=m,
                                    conflict_model_path=str(path))  # its own threshold and cap
            fig = score(story, corpus, None)
            grid_fig = loso[story.name]["figures"]
            # Clustering figures stay the grid's (same T, same build); conflicts come from the fold.
            loso[story.name]["figures"] = story_key.with_conflicts(grid_fig, fig)
            loso[story.name]["choice"]["F"] = scorer.flag_threshold
            loso[story.name]["choice"]["cap"] = scorer.flags_per_article
            print(f"fold {story.name}: scorer trained on the other stories, F={scorer.flag_threshold}, "
                  f"at most {scorer.flags_per_article} flags an article", file=sys.stderr)


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------

HEADER = (f"{'story':<20} {'T':>4} {'F':>4}  {'conflicts':>9} {'recall':>6} {'flagged':>7} {'gold prec':>9} "
          f"{'traps':>5}  {'corrob':>6}{'':5}  {'single':>6}{'':5}  {'merges':>6} {'stmts':>5}  {'lost':>7}  "
          f"{'origins':>7}  {'false wire':>10}")


def row(name: str, c: dict, t, f) -> str:
    r = ratios(c)
    fmt = lambda v: "-" if v is None else f"{v:.2f}"
    return (f"{name:<20} {fmt(t):>4} {fmt(f):>4}  {c['found']:>4}/{c['conflicts']:<4} {r['recall']:>6.2f} "
            f"{c['flagged']:>7} {r['precision']:>9.2f} {c['traps_flagged']:>5}  "
            f"{c['corroborated_found']:>3}/{c['corroborated']:<2} {r['corroborated']:>4.2f}  "
            f"{c['single_found']:>3}/{c['single']:<2} {r['single_source']:>4.2f}  {c['over_merges']:>6} {c['merged_items']:>5}  "
            f"{c['lost']:>3}/{c['anchors']:<3}  {c['origins_correct']:>3}/{c['origins']:<3}  {c['false_wire']:>10}")


def table(per_story: dict[str, tuple[Figures, float | None, float | None]]) -> list[str]:
    lines = [HEADER]
    for name, (figures, t, f) in per_story.items():
        lines.append(row(name, figures.counts, t, f))
    lines.append(row("total", total([fig.counts for fig, _, _ in per_story.values()]), None, None))
    return lines


def detail_lines(name: str, d: dict) -> list[str]:
    lines = [f"  {name}"]
    for c in d["missed_conflicts"]:
        lines.append(f"    missed conflict {c['id']}: {c['what']}")
    for c in d["flagged_not_gold"]:
        lines.append(f"    flagged, not gold ({c['kind']} {c['score']:.3f}): {c['a']!r}  <>  {c['b']!r}")
    for t in d["traps_flagged"]:
        lines.append(f"    trap flagged {t['id']}: {t['what']}")
    for r in d["missed_corroborated"]:
        lines.append(f"    corroboration missed {r['id']}: {r['what']}")
    for s in d["missed_single_source"]:
        lines.append(f"    single-source missed {s['id']}: {s['what']}")
    for m in d["over_merges"]:
        lines.append(f"    over-merge {m['cluster']}: {', '.join(m['items'])}")
    for o in d["wrong_origins"]:
        lines.append(f"    origin wrong [{o['article']}]: want {o['want']}, got {o['got']}")
    for o in d["false_wire"]:
        lines.append(f"    false wire [{o['article']}]: outlet {o['outlet']}, origin {o['origin']}")
    return lines


def print_text(res: dict, verbose: bool) -> None:
    defaults = res["defaults"]
    if res["loso"]:
        print("Leave-one-story-out: each story at the T and F chosen on the other stories")
        print("\n".join(table({n: (v["figures"], v["choice"]["T"], v["choice"]["F"]) for n, v in res["loso"].items()})))
        print("\nChoices per fold (objectives on the training stories):")
        for name, v in res["loso"].items():
            c = v["choice"]
            print(f"  without {name:<20} T={c['T']:.2f} M={c['M']:.2f} (clustering {c['cluster_objective']:+.3f})  "
                  f"F={c['F']:.2f} (conflicts {c['flag_objective']:+.3f})")
        if verbose:
            print("\nFailures at the leave-one-story-out choices:")
            for name, v in res["loso"].items():
                print("\n".join(detail_lines(name, v["figures"].details)))
    else:
        print("(one story: no leave-one-story-out figures)")

    a = res["all"]
    print(f"\nChosen on all {len(res['stories'])} stories (the shipped defaults should be): "
          f"T={a['T']:.2f} M={a['M']:.2f} (clustering {a['cluster_objective']:+.3f}), F={a['F']:.2f} (conflicts {a['flag_objective']:+.3f})")
    # The whole curves: how flat the optimum is matters as much as where it is.
    print("  clustering objective by T/M: " + "  ".join(f"{k}:{v:+.3f}" for k, v in a["T_curve"].items()))
    print(f"  conflict objective by F at T={a['T']:.2f} M={a['M']:.2f}: " + "  ".join(f"{k:.2f}:{v:+.3f}" for k, v in a["F_curve"].items()))

    f_text = "every stored conflict" if defaults["F"] is None else f"its default flag_threshold {defaults['F']}"
    print(f"\nAt the shipped defaults (threshold={defaults['T']}, mutual_threshold={defaults['M']}, {f_text})")
    print("\n".join(table({n: (fig, defaults["T"], defaults["F"]) for n, fig in defaults["figures"].items()})))
    if verbose:
        print("\nFailures at the shipped defaults:")
        for name, fig in defaults["figures"].items():
            print("\n".join(detail_lines(name, fig.details)))

    # Segmentation alone decides these, whatever T and F: listed always.
    print("\nLost anchors (no claim holds them):")
    for name, fig in defaults["figures"].items():
        if verbose and fig.counts["lost"]:
            for line in fig.details["lost_anchors"]:
                print(f"  {name}: {line}")
        else:
            hint = " (--verbose lists them)" if fig.counts["lost"] else ""
            print(f"  {name}: {fig.counts['lost']} of {fig.counts['anchors']}{hint}")
    print(f"\n{res['seconds']:.1f}s")


def as_json(res: dict) -> dict:
    def figures(fig: Figures) -> dict:
        c = fig.counts
        return {"counts": c, "ratios": {k: round(v, 4) for k, v in ratios(c).items()}, "details": fig.details}

    def totals(figs: list[Figures]) -> dict:
        c = total([f.counts for f in figs])
        return {"counts": c, "ratios": {k: round(v, 4) for k, v in ratios(c).items()}}

    loso = res["loso"]
    return {
        "stories": res["stories"],
        "grid": res["grid"],
        "penalties": res["penalties"],
        "loso": {
            "per_story": {n: {"choice": v["choice"], **figures(v["figures"])} for n, v in loso.items()},
            "total": totals([v["figures"] for v in loso.values()]) if loso else None,
        },
        "chosen_on_all": res["all"],
        "defaults": {
            "T": res["defaults"]["T"],
            "M": res["defaults"]["M"],
            "F": res["defaults"]["F"],
            "per_story": {n: figures(f) for n, f in res["defaults"]["figures"].items()},
            "total": totals(list(res["defaults"]["figures"].values())),
        },
        "seconds": round(res["seconds"], 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stories", nargs="*", type=Path, help=f"story folders (default: every one under {STORIES})")
    parser.add_argument("--json", action="store_true", help="print everything as JSON")
    parser.add_argument("--verbose", action="store_true",
                        help="list missed gold conflicts, flagged non-gold conflicts and lost anchors")
    args = parser.parse_args(argv)

    folders = args.stories or story_folders(STORIES)
    missing = [f for f in folders if not ((f / "articles.jsonl").is_file() and (f / "gold.json").is_file())]
    if missing or not folders:
        for f in missing:
            print(f"{f}: not a story folder (needs articles.jsonl and gold.json)", file=sys.stderr)
        if not folders:
            print(f"no story folders under {STORIES}", file=sys.stderr)
        return 2

    started = time.perf_counter()
    res = run(folders)
    res["seconds"] = time.perf_counter() - started
    if args.json:
        print(json.dumps(as_json(res), indent=1, ensure_ascii=False))
    else:
        print_text(res, args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
