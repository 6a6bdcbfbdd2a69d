"""Newsroom scale (issue 10): builds of ~39k and ~100k claims, adding articles, the report, the encode.

Corpora (benchmarks/fnc1_corpus.py):
  39k    the FNC-1 train + competition test bodies, one article a body (2,587 articles, ~39k
         claims; `--bodies N` takes the first N);
  100k   those bodies and reworded wire copies of them (`fnc1_corpus.reworded_copies`, seeded):
         a body's sentences, some reordered or cut, numbers and dates changed (12 -> 14,
         Monday -> Tuesday, 2014 -> 2015), attribution added ("..., Reuters reported.",
         "according to AP"), four in ten with a wire dateline ("LONDON (Reuters) - "), one
         sentence a paragraph, until the corpus holds about `--size-100k` claims: the
         near-duplicates real news has.

Measured in one run, every build and encode in a fresh process (nothing shared; peak RSS is the
process's ru_maxrss), most important first, each printed as it ends:
  1. full build of the 39k corpus into an empty database (`pipeline.build`, no report): seconds,
     seconds per stage, claims, claims/s, peak RSS;
  2. the baseline `plain`: load all-MiniLM-L6-v2 with sentence-transformers and encode the
     corpus's distinct embedding inputs (as the build makes them, read back from its database)
     in one `SentenceTransformer.encode` call; build ÷ (its load + encode);
  3. adding articles to the built 39k corpus, each on its own copy of its database (so both start
     from the same state): the corpus file and one more file with 1 new article, then with 100
     (the development stories' articles, real news the corpus does not hold), as a share of (1);
  4. the report of the 39k corpus (`report.write_report`, in a fresh process): seconds, files,
     largest file, total size; then index.html opened in Debian's Chromium through Playwright
     (report_load.measure): first contentful paint, DOMContentLoaded, load;
  5. full build of the 100k corpus and its `plain` baseline, as (1) and (2);
  6. the encode part: the 39k texts with each of `--backends` (each in a fresh process):
       plain      as (2);
       torch      `verify.embed.encode(texts, backend="torch")`: batches sorted by length;
       onnx       int8 ONNX Runtime, one text a run (`verify.embed.OnnxEncoder`);
       onnx-fp32  float ONNX Runtime, batches sorted by token count;
     load seconds (the ONNX file made beforehand, as on every use after the first), encode
     seconds, texts/s, peak RSS, speed-up over plain load + encode.
It ends with the issue's targets, PASS or FAIL beside each, and writes everything as JSON with
`--json PATH` (rewritten after each step, so an interrupted run keeps what it measured).

    .venv/bin/python benchmarks/scale.py [--bodies N] [--size-100k N] [--skip add,report,100k,encode]
        [--backends plain,torch,onnx,onnx-fp32] [--limit N] [--backend onnx-fp32|onnx|torch] [--json PATH]

A quick check of the whole: `--bodies 200 --size-100k 5000 --backends plain,onnx-fp32 --limit 500`.
`--limit N` encodes only N of the 39k texts (every k-th: the same length mix) in the encode part.
`--skip build` measures the encode part alone (texts segmented here, not by a build).
`--from-json PATH` prints the targets of a run's JSON again, also of a run that was stopped.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from fnc1_corpus import ROOT, body_rows, reworded_copies, run_build, run_child, story_rows, write_jsonl

GiB = 1024  # MiB
TARGETS = {"build_ratio_39k": 1.0, "rss_39k_mib": 1.5 * GiB, "cps_100k_share": 0.8, "rss_100k_mib": 2 * GiB,
           "add1_share": 0.05, "add100_share": 0.15, "fcp_ms": 1000, "largest_file_bytes": 10_000_000}

ENCODE_CHILD = """
import json, resource, sys, time
texts = json.load(open(sys.argv[1]))
backend = sys.argv[2]
t0 = time.perf_counter()
from verify import embed
if backend == "plain":
    model = embed.load_model()
    t1 = time.perf_counter()
    model.encode(texts, batch_size=embed.BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True)
else:
    embed.load_model() if backend == "torch" else embed.load_onnx(None, backend)
    t1 = time.perf_counter()
    embed.encode(texts, backend=backend)
t2 = time.perf_counter()
print(json.dumps({"backend": backend, "load": t1 - t0, "encode": t2 - t1, "texts": len(texts),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

REPORT_CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from verify import report
out = report.write_report(sys.argv[1], sys.argv[2])
seconds = time.perf_counter() - t0
files = report.report_files(out)
sizes = [f.stat().st_size for f in files]
print(json.dumps({"seconds": seconds, "files": len(files), "total_bytes": sum(sizes), "largest_bytes": max(sizes),
                  "largest": files[sizes.index(max(sizes))].name,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def corpus_texts(corpus: Path) -> tuple[int, int, list[str]]:
    """(articles, claims, distinct embedding inputs) as `verify build` would embed them."""
    from verify import ingest, pipeline, provenance, segment

    articles, _ = ingest.read_articles([corpus])
    provenance.share_origins(articles)
    claims = segment.segment_articles(articles)
    return len(articles), len(claims), list(dict.fromkeys(pipeline.embedding_inputs(articles, claims)))


def db_texts(db_path: Path) -> list[str]:
    """The distinct embedding inputs of the corpus a build left in `db_path` (its claims' texts,
    names made canonical with their article's aliases, as the build embedded them)."""
    from verify import pipeline, store

    db = store.open_db(db_path)
    try:
        articles = list(db.query("select id, text from articles"))
        claims = list(db.query("select article_id, text from claims order by article_id, position"))
    finally:
        db.conn.close()
    return list(dict.fromkeys(pipeline.embedding_inputs(articles, claims)))


def encode(work: Path, texts: list[str], backend: str) -> dict:
    """One encode child on `texts`."""
    path = work / f"texts-{len(texts)}.json"
    if not path.exists():
        path.write_text(json.dumps(texts))
    return run_child(ENCODE_CHILD, str(path), backend)


def copy_db(db: Path, folder: Path) -> Path:
    """The database, its WAL and its neighbour index (`<db>*`, not the lock) copied into `folder`."""
    folder.mkdir(parents=True)
    for f in db.parent.glob(db.name + "*"):
        if not f.name.endswith(".lock"):
            shutil.copy2(f, folder / f.name)
    return folder / db.name


def build_line(name: str, r: dict) -> str:
    return (f"{name}: {r['seconds']:.1f} s, {r['articles']} articles, {r['claims']} claims, "
            f"{r['claims'] / r['seconds']:.1f} claims/s, {r['encoded']} encoded, {r['clusters']} clusters, "
            f"{r['conflicts']} conflicts, peak RSS {r['rss_mb']:.0f} MiB\n    stages s: {r['stages']}"
            + (f"\n    peak RSS MiB at each stage's end: {r['peak_mb_after']}" if "peak_mb_after" in r else ""))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def targets(out: dict) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for each of the issue's targets that `out` (the JSON) has figures for."""
    checks = []
    r39 = out.get("build_39k")
    if r39 and "build_ratio_39k" in out:
        checks.append(("39k: build ≤ 1.0× (model load + plain torch encode)",
                       f"{out['build_ratio_39k']:.2f}×", out["build_ratio_39k"] <= TARGETS["build_ratio_39k"]))
    if r39:
        checks.append(("39k: peak RSS ≤ 1.5 GiB", f"{r39['rss_mb'] / GiB:.2f} GiB", r39["rss_mb"] <= TARGETS["rss_39k_mib"]))
    if r39 and "build_100k" in out:
        r100 = out["build_100k"]
        cps39, cps100 = r39["claims"] / r39["seconds"], r100["claims"] / r100["seconds"]
        checks.append(("100k: claims/s within 20 % of the 39k figure",
                       f"{cps100:.1f} vs {cps39:.1f} claims/s ({100 * (cps100 / cps39 - 1):+.0f} %)",
                       cps100 / cps39 >= TARGETS["cps_100k_share"]))
        checks.append(("100k: peak RSS ≤ 2 GiB", f"{r100['rss_mb'] / GiB:.2f} GiB", r100["rss_mb"] <= TARGETS["rss_100k_mib"]))
    for name, label, target in (("add_1", "adding 1 article to 39k ≤ 5 % of its full build", "add1_share"),
                                ("add_100", "adding 100 articles to 39k ≤ 15 %", "add100_share")):
        if name in out:
            r = out[name]
            checks.append((label, f"{r['seconds']:.1f} s = {100 * r['share']:.1f} %", r["share"] <= TARGETS[target]))
    if "report_39k" in out:
        rep = out["report_39k"]
        fcp = rep.get("browser", {}).get("fcp")
        if "browser" in rep:
            checks.append(("39k report: first page paints in < 1 s in Chromium", f"FCP {fcp or float('nan'):.0f} ms",
                           fcp is not None and fcp < TARGETS["fcp_ms"]))
        checks.append(("39k report: no file over 10 MB", f"largest {rep['largest_bytes'] / 1e6:.2f} MB of {rep['files']} files",
                       rep["largest_bytes"] <= TARGETS["largest_file_bytes"]))
    return checks


def print_targets(checks: list[tuple[str, str, bool]]) -> None:
    if checks:
        print("\ntargets (issue 10):")
        for t, m, ok in checks:
            print(f"  {verdict(ok)}  {t}: {m}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=0, help="FNC-1 bodies in the 39k corpus (default: all 2,587)")
    parser.add_argument("--size-100k", type=int, default=100_000, help="claims of the big corpus (default 100,000)")
    parser.add_argument("--skip", default="", help="comma-separated parts to leave out: build,add,report,100k,encode")
    parser.add_argument("--backends", default="plain,torch,onnx,onnx-fp32", help="the encode part's backends")
    parser.add_argument("--limit", type=int, default=0, help="encode part: only N of the 39k texts (every k-th)")
    parser.add_argument("--backend", default="", help="the builds' embedding backend (default: the build's own)")
    parser.add_argument("--json", type=Path, help="write the figures as JSON to this file too")
    parser.add_argument("--work", type=Path, help="keep corpora, databases and the report here (default: a temp dir)")
    parser.add_argument("--from-json", type=Path, help="only print the targets of a run's JSON (an interrupted run's too)")
    args = parser.parse_args()
    if args.from_json:
        print_targets(targets(json.loads(args.from_json.read_text())))
        return
    skip = set(filter(None, args.skip.split(",")))
    backends = [b for b in args.backends.split(",") if b] if "encode" not in skip else []
    sys.path.insert(0, str(ROOT))
    import verify
    from verify import embed

    started = time.perf_counter()
    out: dict = {"args": {k: str(v) for k, v in vars(args).items()}, "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}

    def save() -> None:
        out["wall_seconds"] = round(time.perf_counter() - started, 1)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(out, indent=1))

    def say(line: str) -> None:
        print(line, flush=True)

    for backend in {*backends, args.backend or embed.resolve_backend(None, None)}:
        if backend.startswith("onnx"):
            embed.onnx_model_file(None, backend)  # made once per machine; its first use is not what is measured

    tmp = None if args.work else tempfile.TemporaryDirectory(prefix="verify-scale-")
    work = args.work or Path(tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    try:
        rows = body_rows()[: args.bodies or None]
        corpus = write_jsonl(work / "fnc1_train_test_bodies.jsonl", rows)
        say(f"verify code: {Path(verify.__file__).parent}; work folder {work}")
        say(f"corpus 39k: {len(rows)} FNC-1 train + test bodies")
        texts39: list[str] | None = None
        r39 = p39 = None
        if "build" not in skip:
            # 1. the full build, 2. its baseline
            db39 = work / "b39k" / "verify.db"
            db39.parent.mkdir()
            r39 = out["build_39k"] = run_build(db39, [corpus], args.backend)
            say(build_line("build 39k", r39))
            save()
            texts39 = db_texts(db39)
            p39 = out["plain_39k"] = encode(work, texts39, "plain")
            out["build_ratio_39k"] = r39["seconds"] / (p39["load"] + p39["encode"])
            say(f"plain 39k: {p39['texts']} distinct texts, load {p39['load']:.1f} s + encode {p39['encode']:.1f} s, "
                f"peak RSS {p39['rss_mb']:.0f} MiB; build ÷ (load + encode) = {out['build_ratio_39k']:.2f}")
            save()

            # 3. adding 1 and 100 articles, each from a copy of the built database
            if "add" not in skip:
                new = story_rows()
                if len(new) < 101:  # no stories: reworded copies stand in
                    new += list(reworded_copies(rows, 101 * 20, seed=1, prefix="new"))
                adds = [("add_1", new[:1]), ("add_100", new[1:101])]
                for name, articles in adds:
                    extra = write_jsonl(work / f"{name}.jsonl", articles)
                    r = out[name] = run_build(copy_db(db39, work / name), [corpus, extra], args.backend)
                    r["share"] = r["seconds"] / r39["seconds"]
                    say(build_line(f"{name.replace('_', ' ')} article(s) to 39k", r)
                        + f"\n    = {100 * r['share']:.1f} % of the full build")
                    save()

            # 4. the report and its first paint
            if "report" not in skip:
                import report_load

                index = work / "report" / "index.html"
                rep = out["report_39k"] = run_child(REPORT_CHILD, str(db39), str(index))
                say(f"report 39k: written in {rep['seconds']:.1f} s (peak RSS {rep['rss_mb']:.0f} MiB), {rep['files']} files, "
                    f"total {rep['total_bytes'] / 1e6:.1f} MB, largest {rep['largest_bytes'] / 1e6:.2f} MB ({rep['largest']})")
                t = rep["browser"] = report_load.measure(index)
                say(f"report 39k in Chromium: index.html first contentful paint {t['fcp'] or float('nan'):.0f} ms, "
                    f"DOMContentLoaded {t['dcl']:.0f} ms, load {t['load']:.0f} ms, search {t['search_ms']:.0f} ms")
                save()

            # 5. the 100k corpus: build and baseline
            if "100k" not in skip and args.size_100k > r39["claims"]:
                copies = list(reworded_copies(rows, args.size_100k - r39["claims"], seed=0))
                big = write_jsonl(work / "fnc1_reworded_100k.jsonl", rows + copies)
                say(f"corpus 100k: the {len(rows)} bodies and {len(copies)} reworded copies")
                db100 = work / "b100k" / "verify.db"
                db100.parent.mkdir()
                r100 = out["build_100k"] = run_build(db100, [big], args.backend)
                say(build_line("build 100k", r100))
                save()
                p100 = out["plain_100k"] = encode(work, db_texts(db100), "plain")
                out["build_ratio_100k"] = r100["seconds"] / (p100["load"] + p100["encode"])
                say(f"plain 100k: {p100['texts']} distinct texts, load {p100['load']:.1f} s + encode {p100['encode']:.1f} s, "
                    f"peak RSS {p100['rss_mb']:.0f} MiB; build ÷ (load + encode) = {out['build_ratio_100k']:.2f}")
                save()

        # 6. the encode part
        if backends:
            if texts39 is None:
                n_articles, n_claims, texts39 = corpus_texts(corpus)
                say(f"39k texts segmented here: {n_articles} articles, {n_claims} claims")
            texts = texts39
            if args.limit and args.limit < len(texts):
                step = len(texts) / args.limit
                texts = [texts[int(i * step)] for i in range(args.limit)]
            rows_enc = []
            for backend in backends:
                reuse = backend == "plain" and p39 is not None and len(texts) == len(texts39)
                rows_enc.append(p39 if reuse else encode(work, texts, backend))
                out["encode"] = rows_enc
                save()
            plain = next((r for r in rows_enc if r["backend"] == "plain"), None)
            say(f"encode part: {len(texts)} distinct texts of the 39k corpus")
            say(f"{'backend':<10} {'load s':>7} {'encode s':>9} {'texts/s':>8} {'RSS MiB':>7} {'speed-up':>8}")
            for r in rows_enc:
                total = r["load"] + r["encode"]
                speedup = (plain["load"] + plain["encode"]) / total if plain else float("nan")
                say(f"{r['backend']:<10} {r['load']:>7.1f} {r['encode']:>9.1f} {r['texts'] / r['encode']:>8.0f} "
                    f"{r['rss_mb']:>7.0f} {speedup:>7.2f}x")
            say("speed-up = (plain load + encode) / (this backend's load + encode)")
    finally:
        if tmp is not None:
            tmp.cleanup()

    # the targets
    checks = targets(out)
    out["targets"] = [{"target": t, "measured": m, "pass": ok} for t, m, ok in checks]
    print_targets(checks)
    save()
    say(f"benchmark wall time {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
