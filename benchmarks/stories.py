"""Score `verify` against the development stories (../shared/stories/*/, answer keys in gold.json).

    .venv/bin/python benchmarks/stories.py [STORY_DIR ...] [--json] [--verbose]

Four settings are fitted on the stories: the clustering thresholds T (any pair joins) and M (pairs
of different articles that are each other's best match are asked to the merge verifier from this
similarity), the merge verifier's probability threshold P (verify/merge.py; the verifier itself,
a logistic regression over pair features, is trained on the stories' keys by
models/merge/train.py), and the conflict flag threshold F. The stories are a development set, so
the figures that count are leave-one-story-out: for each story, a verifier is trained on the
other stories, (T, M, P) and F are chosen on them, and the story is built at those values with
that verifier and a conflict scorer trained on the other stories too (models/conflict/train.py,
its flag threshold chosen there); its row is that build's. Then come the values chosen on all
stories with a verifier trained on all (what the shipped defaults and models/merge/model.json
should be), and the figures of a build at the shipped defaults (`pipeline.build` with no
threshold arguments).

Each story is built once (every candidate conflict stored with its score: F filters them here).
The clustering stage's inputs are kept from that build, and the (T, M, P) grid is tried on them
in this process (cluster.verifier_candidates once, then cluster.verified_edges and average
linkage per point): the same functions a build runs. Conflicts in the grid are that build's,
deduplicated per cluster pair as that build's clusters were; only F's choice reads them.

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
import contextlib
import inspect
import json
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
T_GRID = [0.75, 0.8]                # any two claims this similar join
M_GRID = [0.3, 0.4, 0.5]            # pairs the merge verifier is asked from
P_GRID = [0.5, 0.6, 0.7, 0.8]       # the merge verifier's probability threshold
L_GRID = [0.4, 0.45, 0.5]           # groups joined along the verifier's pairs keep this mean similarity
TMP_GRID = [(t, m, p, l) for t in T_GRID for m in M_GRID for p in P_GRID for l in L_GRID]
F_GRID = [round(0.05 * i, 2) for i in range(20)]         # 0.00 .. 0.95
MERGE_PENALTY = 0.02  # per statement merged into another's cluster, per story, against mean(corroborated, single-source)
TRAP_PENALTY = 0.1    # per trap flagged, against conflict F1


def _module(name: str, path: Path):
    """A training script (models/*/train.py: all named train.py) loaded under its own name."""
    import importlib.util

    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def merge_training():
    return _module("merge_train", ROOT / "models" / "merge" / "train.py")


def conflict_training():
    return _module("conflict_train", ROOT / "models" / "conflict" / "train.py")


# ---------------------------------------------------------------------------
# Objectives and choices
# ---------------------------------------------------------------------------


def cluster_objective(counts: dict, n_stories: int) -> float:
    """Clustering quality on summed counts: found corroboration and kept single sources, less a
    cost for each statement the key tells apart merged into another's cluster (per story, so folds
    compare). Counted by statements, not clusters: one cluster swallowing fifteen of the key's
    statements finds many groups "corroborated" and must cost fourteen merges, not one."""
    r = ratios(counts)
    return (r["corroborated"] + r["single_source"]) / 2 - MERGE_PENALTY * counts["merged_items"] / n_stories


def flag_objective(counts: dict) -> float:
    """Conflict F1 on summed counts, less a cost for each compatible pair flagged."""
    return ratios(counts)["f1"] - TRAP_PENALTY * counts["traps_flagged"]


def best(values: list, objective) -> tuple[object, float, dict]:
    """(value, objective, objective of every value) maximising `objective`. Tied values behave
    alike on the training stories; the middle one is furthest from where the figures change."""
    curve = {v: objective(v) for v in values}
    top = max(curve.values())
    tied = [v for v, s in curve.items() if s >= top - 1e-9]
    return tied[(len(tied) - 1) // 2], top, curve


# ---------------------------------------------------------------------------
# Builds, and the clustering tried again from a build's inputs
# ---------------------------------------------------------------------------


def build_and_read(pipeline, story, db_path: Path, **kwargs) -> story_key.Corpus:
    result = pipeline.build([story.articles_path], db_path=db_path, out_dir=None, **kwargs)
    for problem in result.problems:
        print(f"  {story.name}: {problem}", file=sys.stderr)
    return story_key.read_corpus(db_path)


@contextlib.contextmanager
def clustering_inputs():
    """Keeps what the build's clustering stage is given (claims, vectors, articles, denials) in the
    dict it yields, so that other clusterings of the same build can be tried in this process."""
    from verify import incremental

    kept: dict = {}
    original = incremental.build_clusters_cached

    def keep(db, claims, vectors, vector_keys, articles, *args, **kwargs):
        denies = args[2] if len(args) > 2 else kwargs.get("denies")
        kept.update(claims=[dict(c) for c in claims], vectors=vectors, articles=articles,
                    denies=list(denies) if denies is not None else None)
        return original(db, claims, vectors, vector_keys, articles, *args, **kwargs)

    incremental.build_clusters_cached = keep
    try:
        yield kept
    finally:
        incremental.build_clusters_cached = original


def story_inputs(story, db_path: Path | None = None, **kwargs) -> dict:
    """A build of the story (at the shipped settings unless `kwargs` say otherwise): its clustering
    inputs, and under "corpus" the build as read back."""
    from verify import pipeline

    with tempfile.TemporaryDirectory(prefix="verify-story-") as tmp, clustering_inputs() as kept:
        path = db_path or Path(tmp) / f"{story.name}.db"
        corpus = build_and_read(pipeline, story, path, **kwargs)
    return {**kept, "corpus": corpus}


class Prepared:
    """One story built once: its merge verifier candidates (features computed once) and key rows."""

    def __init__(self, story, inputs: dict):
        self.story, self.inputs = story, inputs
        self.candidates, self.sim = merge_training().candidates(inputs)
        labels = merge_training().pair_labels(story, inputs, self.candidates["rows"], self.candidates["cols"])
        self.rows = (self.candidates["features"][labels >= 0], labels[labels >= 0])
        key_of = {a["id"]: story_key.gold_id(a["path"]) for a in inputs["articles"].values()}
        self.claims = [{"id": c["id"], "article_id": c["article_id"], "gold_id": key_of[c["article_id"]],
                        "text": c["text"]} for c in inputs["claims"]]

    def figures(self, verifier, t: float, m: float, probability, flag: float | None = None) -> Figures:
        """The story's figures with the clustering at (T, M, the verifier's threshold); conflicts
        are the stored build's (with `flag`), which differ from such a build's only in how they are
        deduplicated per cluster pair."""
        from verify import cluster

        floor = min(t, m)
        edges = cluster.verified_edges(self.candidates, t, floor, verifier, probability)
        mean_floor = floor - cluster.MEAN_MARGIN if verifier.mean_floor is None else min(verifier.mean_floor, t)
        groups = cluster.average_linkage(len(self.claims), edges, self.inputs["vectors"], self.sim, mean_floor)
        claims = [dict(c) for c in self.claims]
        rows = cluster.cluster_rows(claims, groups, self.inputs["articles"])
        built = self.inputs["corpus"]
        corpus = story_key.Corpus(built.articles, claims, {r["id"]: r["n_origins"] for r in rows}, built.conflicts)
        return score(self.story, corpus, flag)


def choose(prepared: dict[str, Prepared], train: list[str], verifier) -> dict:
    """(T, M, P) on the stories `train` with `verifier` (trained on them), then F at that clustering."""
    probability = {n: verifier.probability(prepared[n].candidates["features"]) for n in train}
    figures: dict = {}

    def objective(tmp) -> float:
        t, m, p, l = tmp
        v = verifier.with_threshold(p, l)
        figures[tmp] = {n: prepared[n].figures(v, t, m, probability[n]) for n in train}
        return cluster_objective(total([figures[tmp][n].counts for n in train]), len(train))

    tmp, t_obj, t_curve = best(TMP_GRID, objective)
    v = verifier.with_threshold(tmp[2], tmp[3])
    flagged = {f: total([prepared[n].figures(v, tmp[0], tmp[1], probability[n], f).counts for n in train])
               for f in F_GRID}
    f, f_obj, f_curve = best(F_GRID, lambda f: flag_objective(flagged[f]))
    return {"T": tmp[0], "M": tmp[1], "P": tmp[2], "L": tmp[3], "F": f, "cluster_objective": round(t_obj, 4),
            "flag_objective": round(f_obj, 4),
            "T_curve": {f"{k[0]:.2f}/{k[1]:.2f}/{k[2]:.2f}/{k[3]:.2f}": round(x, 4) for k, x in t_curve.items()},
            "F_curve": {k: round(x, 4) for k, x in f_curve.items()}}


def run(folders: list[Path]) -> dict:
    from verify import cluster, pipeline

    params = inspect.signature(pipeline.build).parameters
    default_t, default_m = params["threshold"].default, params["mutual_threshold"].default
    default_f = params["flag_threshold"].default
    shipped = merge_training().merge.load()
    if default_m is None:  # the build's own: with the shipped verifier, or without one
        default_m = cluster.VERIFIED_MUTUAL_THRESHOLD if shipped else cluster.DEFAULT_MUTUAL_THRESHOLD
    stories = [load_story(f) for f in folders]
    names = [s.name for s in stories]
    prepared: dict[str, Prepared] = {}
    defaults: dict[str, Figures] = {}
    with tempfile.TemporaryDirectory(prefix="verify-stories-") as tmp:
        for story in stories:
            started = time.perf_counter()
            db_path = Path(tmp) / f"{story.name}.db"  # one per story: its embedding cache
            # Every candidate conflict stored with its score (F filters them here).
            prepared[story.name] = Prepared(story, story_inputs(story, db_path, flag_threshold=0.0))
            # The shipped defaults: no threshold arguments, and every stored conflict counts.
            defaults[story.name] = score(story, build_and_read(pipeline, story, db_path), None)
            print(f"built {story.name} in {time.perf_counter() - started:.1f}s", file=sys.stderr)

    loso = {}
    if len(stories) >= 2:
        for held in names:
            train = [s for s in names if s != held]
            verifier = merge_training().fit_rows([prepared[n].rows for n in train])
            picked = choose(prepared, train, verifier)
            loso[held] = {"choice": picked, "verifier": verifier.with_threshold(picked["P"], picked["L"])}
            print(f"fold {held}: T={picked['T']} M={picked['M']} P={picked['P']} L={picked['L']}", file=sys.stderr)
        fold_builds(pipeline, stories, folders, prepared, loso)
    all_verifier = merge_training().fit_rows([prepared[n].rows for n in names])
    return {
        "stories": names,
        "grid": {"T": T_GRID, "M": M_GRID, "P": P_GRID, "L": L_GRID, "F": F_GRID},
        "penalties": {"over_merge_per_story": MERGE_PENALTY, "trap": TRAP_PENALTY},
        "loso": loso,
        "all": choose(prepared, names, all_verifier),
        "defaults": {"T": default_t, "M": default_m, "P": shipped.threshold if shipped else None,
                     "L": shipped.mean_floor if shipped else None, "F": default_f,
                     "figures": defaults},
    }


def fold_builds(pipeline, stories, folders: list[Path], prepared: dict, loso: dict) -> None:
    """Build each held-out story at the (T, M) chosen without it, with the merge verifier (and its
    P) and the conflict scorer trained on the other stories only: its row's figures are that build's."""
    from verify import conflict_model

    training = conflict_training()
    rows = {f.name: training.story_rows(f) for f in folders}
    with tempfile.TemporaryDirectory(prefix="verify-folds-") as tmp:
        for story in stories:
            others = [rows[n] for n in rows if n != story.name]
            scorer, _ = training.choose(others)
            scorer.uses_nli = bool(conflict_model.load() and conflict_model.load().uses_nli)
            path = Path(tmp) / f"{story.name}.json"
            path.write_text(json.dumps(scorer.to_json()), "utf-8")
            fold = loso[story.name]
            merge_path = Path(tmp) / f"{story.name}.merge.json"
            merge_path.write_text(json.dumps(fold["verifier"].to_json()), "utf-8")
            t, m = fold["choice"]["T"], fold["choice"]["M"]
            corpus = build_and_read(pipeline, story, Path(tmp) / f"{story.name}.db", threshold=t, mutual_threshold=m,
                                    merge_model=str(merge_path), conflict_model_path=str(path),
                                    flag_threshold=scorer.flag_threshold)
            fold["figures"] = score(story, corpus, None)
            fold["choice"]["F"] = scorer.flag_threshold
            print(f"fold {story.name}: built with the verifier and conflict scorer trained on the other stories, "
                  f"F={scorer.flag_threshold}", file=sys.stderr)


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
            print(f"  without {name:<20} T={c['T']:.2f} M={c['M']:.2f} P={c['P']:.2f} L={c['L']:.2f} (clustering {c['cluster_objective']:+.3f})  "
                  f"F={c['F']:.2f} (conflicts {c['flag_objective']:+.3f})")
        if verbose:
            print("\nFailures at the leave-one-story-out choices:")
            for name, v in res["loso"].items():
                print("\n".join(detail_lines(name, v["figures"].details)))
    else:
        print("(one story: no leave-one-story-out figures)")

    a = res["all"]
    print(f"\nChosen on all {len(res['stories'])} stories (the shipped defaults should be): "
          f"T={a['T']:.2f} M={a['M']:.2f} P={a['P']:.2f} L={a['L']:.2f} (clustering {a['cluster_objective']:+.3f}), F={a['F']:.2f} (conflicts {a['flag_objective']:+.3f})")
    # The whole curves: how flat the optimum is matters as much as where it is.
    print("  clustering objective by T/M/P/L: " + "  ".join(f"{k}:{v:+.3f}" for k, v in a["T_curve"].items()))
    print(f"  conflict objective by F at T={a['T']:.2f} M={a['M']:.2f}: " + "  ".join(f"{k:.2f}:{v:+.3f}" for k, v in a["F_curve"].items()))

    f_text = "every stored conflict" if defaults["F"] is None else f"its default flag_threshold {defaults['F']}"
    print(f"\nAt the shipped defaults (threshold={defaults['T']}, mutual_threshold={defaults['M']}, "
          f"merge verifier threshold={defaults['P']}, mean floor={defaults['L']}, {f_text})")
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
            "per_story": {n: {"choice": v["choice"], "verifier": v["verifier"].to_json(), **figures(v["figures"])}
                          for n, v in loso.items()},
            "total": totals([v["figures"] for v in loso.values()]) if loso else None,
        },
        "chosen_on_all": res["all"],
        "defaults": {
            "T": res["defaults"]["T"],
            "M": res["defaults"]["M"],
            "P": res["defaults"]["P"],
            "L": res["defaults"]["L"],
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
