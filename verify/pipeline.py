"""The build: files -> articles -> claims -> vectors -> clusters -> database -> report.

Each stage is a plain function of its own module; this module only runs them in order, holds
the database's build lock, lands the new corpus in one transaction at the end (store.py says why)
and counts what happened. The CLI and the benchmarks call `build`.

A build over a database that holds an earlier build (the corpus grew, changed or shrank) reuses
what is a pure function of unchanged input (verify/incremental.py says how each is keyed):
  * claims of an article whose segment key (id, text, dateline end, segmenter code) is unchanged
    come from `segment_cache` (an added or changed file is segmented; a removed one's entry goes);
  * vectors of texts already embedded come from `embeddings` (only new texts are encoded);
  * the conflict cues of claim texts already read (`build_cache`);
  * the nearest-neighbour graph `<db>.faiss` (5,000+ distinct claim vectors) gets only the new
    vectors. The search is approximate (recall@20 0.991 on 39k FNC-1 claims) and a graph grown
    over several builds can return another neighbour in rare cases than one made at once;
    deleting the file has it made anew. Below 5,000 the search is exact and results are identical;
  * clusters: only the connected components of the linkage graph that changed are grouped again
    (exactly the whole graph's grouping). From 5,000 claims on, the TF-IDF word weights are those
    of the build that last fitted them, until the claims added or removed since pass 10 % of the
    claims they were fitted on; a build from scratch fits them on the corpus as it is, which can
    group a few claims otherwise (`incremental.FROZEN_FROM`, `REFIT_SHARE`);
  * conflicts: only candidate pairs whose inputs (the two claims, their similarity, speakers'
    parties, origins, article dates) are new go through the rules, slots and pair model; every
    pair is scored again with the corpus's word weights, so the flags are the full computation's;
  * the database gets only the rows that changed (store.update_corpus).
benchmarks/incremental.py measures what adding articles costs.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from verify import (cluster, conflict_model, conflicts, embed, incremental, ingest, names, pairmodel, provenance,
                    report, segment, store, workers)

Progress = Callable[[str, int, int], None]  # (stage, done, total)


class NothingToBuild(Exception):
    """No usable article in the inputs; the database was not touched."""

    def __init__(self, problems: list[ingest.Problem]):
        super().__init__("no usable articles found")
        self.problems = problems


@dataclass
class BuildResult:
    n_articles: int
    n_claims: int
    statuses: dict[str, int]
    seconds: float
    n_encoded: int
    db_path: Path
    report_path: Path | None
    problems: list[ingest.Problem] = field(default_factory=list)
    n_conflicts: int = 0

    @property
    def n_clusters(self) -> int:
        return sum(self.statuses.values())

    def summary(self) -> str:
        by_status = ", ".join(f"{self.statuses.get(s, 0)} {s}" for s in cluster.STATUSES)
        return (f"{self.n_articles} articles, {self.n_claims} claims, {self.n_clusters} clusters "
                f"({by_status}), {self.n_conflicts} conflicts flagged in {self.seconds:.1f}s")


def embedding_inputs(articles: list[dict], claims: list[dict]) -> list[str]:
    """The text each claim is embedded as: its words with entity names made canonical."""
    local = {a["id"]: names.article_aliases(a["text"]) for a in articles}
    return [names.canonical_text(c["text"], local[c["article_id"]]) for c in claims]


@functools.cache
def _segmenter_version() -> str:
    """The segmenter's code and its sentence splitter's version: a change to either re-segments."""
    import importlib.metadata

    code = Path(segment.__file__).read_bytes()
    return hashlib.sha256(code + importlib.metadata.version("pysbd").encode()).hexdigest()[:16]


def segment_key(article: dict) -> str:
    """What `segment.segment_article` reads of an article (its id, text and dateline end), and the
    segmenter's version: equal keys give equal claims."""
    what = json.dumps([_segmenter_version(), article["id"], article["text"], article.get("dateline_end", 0)])
    return hashlib.sha256(what.encode("utf-8")).hexdigest()


# Articles to segment from which they are segmented in worker processes (workers.local_map).
SEGMENT_PROCESSES_FROM = 300


def segment_cached(db, articles: list[dict]) -> list[dict]:
    """`segment.segment_articles(articles)`, taking the claims of articles segmented by an earlier
    build (same segment key) from the database and segmenting only the others."""
    keys = [segment_key(a) for a in articles]
    cached = store.load_segments(db, keys)
    todo: dict[str, dict] = {}
    for a, key in zip(articles, keys):
        if key not in cached and key not in todo:
            todo[key] = a
    # Many articles are segmented on all cores (pysbd is pure Python): the same claims.
    new = dict(zip(todo, workers.local_map(segment.segment_article, list(todo.values()), SEGMENT_PROCESSES_FROM)))
    claims: list[dict] = []
    for key in keys:
        claims.extend(dict(c) for c in (cached.get(key) or new[key]))
    store.save_segments(db, new, set(keys))
    return claims


def last_inputs(db_path: str | Path) -> tuple[list[str], dict] | None:
    """The paths and options (model, backend, threshold, mutual_threshold, nli_model) of the last
    build of the database, or None when it holds none. A build recorded before the paths were kept
    as a list gives its space-joined paths split at spaces."""
    with store.opened(db_path) as db:
        last = store.last_build(db)
    if last is None:
        return None
    paths = json.loads(last["path_list"]) if last.get("path_list") else (last.get("paths") or "").split()
    return paths, json.loads(last["options"]) if last.get("options") else {}


def neighbour_index_path(db_path: str | Path) -> Path:
    """The nearest-neighbour index beside the database (cluster.NeighbourIndex)."""
    return Path(str(db_path) + ".faiss")


# The cyclic garbage collector's thresholds during a build (gen 0, 1, 2): a build holds millions
# of small objects (claims, cues, pair rows) and makes many more, and with Python's defaults
# (700, 10, 10) the collector ran ~3,700 times while adding one article to 40k claims, 2-3 s of
# its ~17 s of CPU time; with these, ~20 times. Nothing a build computes depends on it.
GC_THRESHOLDS = (100_000, 50, 50)


@contextlib.contextmanager
def fewer_collections():
    """The collector at GC_THRESHOLDS inside, as it was outside."""
    before = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


@fewer_collections()
def build(paths: list[str | Path], db_path: str | Path, out_dir: str | Path | None = None,
          model: str | None = None, threshold: float = cluster.DEFAULT_THRESHOLD,
          progress: Progress | None = None, nli_model: str | None = None,
          conflict_model_path: str | None = None, flag_threshold: float | None = None,
          mutual_threshold: float = cluster.DEFAULT_MUTUAL_THRESHOLD, backend: str | None = None,
          scheduler: str | None = None) -> BuildResult:
    """Build the corpus of `paths` into `db_path` (and a report into `out_dir`).

    `threshold` and `mutual_threshold`: see `cluster.group_claims`.
    `conflict_model_path`: the conflict scorer's JSON (default: the shipped models/conflict/
    model.json; without it the rules alone flag conflicts). `flag_threshold`: the score from
    which a pair is flagged (default: the scorer's own, chosen on the development stories).
    `backend`: the embedding backend, torch, onnx (int8) or onnx-fp32 (default: `embed.resolve_backend`).
    `scheduler`: a Dask scheduler's address; the embedding and the neighbour search then run on
    its workers (verify/workers.py), everything else and the database stay in this process."""
    started = time.perf_counter()
    tick = progress or (lambda stage, done, total: None)

    with incremental.CachedReads(db_path) as reads:  # files read by an earlier build are not parsed again
        articles, problems = ingest.read_articles(list(paths), reads.read)
        if not articles:
            raise NothingToBuild(problems)
        provenance.share_origins(articles, reads.shingles(articles))
    tick("read", len(articles), len(articles))

    model_key = embed.model_key(model, backend)  # vectors of two backends never mix in the cache
    encoded = 0
    started_at = store.now()  # the first sight of claims new to this database
    with workers.connect(scheduler) as runner, store.build_lock(db_path), store.opened(db_path) as db:
        reads.save(db)
        claims = segment_cached(db, articles)
        with_claims = {c["article_id"] for c in claims}
        for a in articles:
            if a["id"] not in with_claims:
                # Kept, but named: an article with no claim is usually a page the cleaner misread.
                problems.append(ingest.Problem(a["path"], "no claim found in the article text (is it an article?)"))
        tick("segment", len(claims), len(claims))

        texts = incremental.embedding_inputs_cached(db, articles, claims, embedding_inputs)
        vector_keys = [embed.text_hash(t) for t in texts]  # once: the stages below read them (41k sha256 a pass)
        cache = store.load_embeddings(db, model_key, vector_keys)
        todo = len({h for h in vector_keys if h not in cache})
        done = 0

        def on_batch(n: int) -> None:
            nonlocal done
            done += n
            tick("embed", done, todo)

        vectors, new = embed.embed_texts(texts, model, cache, on_batch, backend, runner, hashes=vector_keys)
        store.save_embeddings(db, model_key, new)
        encoded = len(new)
        # The vectors are in `vectors` now: the per-text dicts (~70 MB at 40k claims) are not held
        # through the clustering and the conflict search, nor in a large corpus the encoder (~170
        # MB; a small one keeps it, as reloading it would cost more than it holds).
        del cache, new
        if len(texts) >= cluster.EXACT_LIMIT:
            embed.release_encoders()

        by_id = {a["id"]: a for a in articles}
        # Conflict cues of every claim text, from the database when an earlier build read them:
        # the clustering reads the denials, the conflict stage all of them.
        analyses = incremental.analyses_cached(db, [c["text"] for c in claims])
        denies = [bool(a.denial) for a in analyses]
        # Nearest neighbours of a large corpus through the persisted index (<db>.faiss): only
        # vectors it lacks are added, every claim is searched once for both stages below.
        neighbours = cluster.NeighbourIndex(neighbour_index_path(db_path), model_key)
        if claims:
            neighbours.prepare(vectors, vector_keys, runner)
        # Only the parts of the similarity graph that changed since the last build are grouped again.
        clusters = incremental.build_clusters_cached(db, claims, vectors, vector_keys, by_id, threshold, mutual_threshold,
                                                     denies, neighbours) if claims else []
        tick("cluster", len(clusters), len(clusters))

        def encode_cached(extra: list[str]):
            """Texts the conflict search embeds (what explicit denials reject), through the cache."""
            hashes = [embed.text_hash(t) for t in extra]
            nonlocal encoded
            vecs, fresh = embed.embed_texts(extra, model, store.load_embeddings(db, model_key, hashes), backend=backend)
            store.save_embeddings(db, model_key, fresh)
            encoded += len(fresh)
            return vecs

        judge = conflicts.NliJudge(nli_model) if nli_model else None
        scorer = conflict_model.load(conflict_model_path)
        pair_model = pairmodel.load() if scorer is not None and scorer.uses_nli else None
        found = incremental.find_conflicts_cached(db, articles, claims, vectors, cluster.source_key, encode_cached,
                                                  judge=judge, scorer=scorer,
                                                  nli=pair_model.predict if pair_model else None,
                                                  flag_threshold=flag_threshold, neighbours=neighbours,
                                                  analyses=analyses)
        tick("conflicts", len(found), len(found))

        # All computed: the corpus and its build record land in one short write transaction.
        store.update_corpus(db, articles, claims, clusters, found, seen_at=started_at,
                             build={"seconds": round(time.perf_counter() - started, 3), "model": model_key,
                                    "paths": " ".join(map(str, paths)), "n_articles": len(articles),
                                    "path_list": json.dumps([str(p) for p in paths]),
                                    "options": json.dumps({"model": model, "backend": backend, "threshold": threshold,
                                                           "mutual_threshold": mutual_threshold, "nli_model": nli_model}),
                                    "n_claims": len(claims), "n_clusters": len(clusters), "n_encoded": encoded})
        statuses = Counter(row["status"] for row in db.query("select status from clusters"))
        n_flagged = sum(1 for c in store.conflicts(db) if c["review"] != "dismissed")

    report_path = None
    if out_dir is not None:
        report_path = report.write_report(db_path, Path(out_dir) / "index.html")
        tick("report", 1, 1)
    return BuildResult(len(articles), len(claims), dict(statuses), time.perf_counter() - started,
                       encoded, Path(db_path), report_path, problems, n_flagged)
