"""What a build over a grown, changed or shrunk corpus reuses from the last one, so that adding
articles costs about what the new articles cost.

Everything here is a cache of a pure function: a value is stored under a key that holds every
input of the computation and the version of the code that computed it (a hash of the module
source files), so a value read back is the one the build would compute again. A full build is the
same code with empty caches. What is kept (table `build_cache`, store.m008; each kind named
`<what>:<version>`, older versions dropped by the next build):

  * `read:` the articles and problems of an input file, by its path and bytes (CachedReads);
  * `shingles:` an article text's word 8-gram hashes (copy detection, provenance.copy_groups);
  * `embed-input:` an article's claims as embedded (names made canonical), by its text and claims;
  * `analyse:` the conflict cues of claim texts (conflicts.analyse), by text hash, in a few
    parts (one pickle each: a build adds the part of its new texts, ANALYSE_PARTS);
  * `slots:` the slots of an article text (its reference date, slots.reference_dates);
  * `pair:` the candidate pairs' conflict features and the rules' verdicts (find_conflicts_cached),
    by a key of everything a pair's score reads but the corpus-wide word weights, which are
    applied afresh to every pair in every build; once the scorer flags a pair, its explanation
    without the score (conflict_model.explanation). One value of columns (PairCache), the pairs
    of the last build;
  * `words:` the word sets of the word-overlap feature, one value: the rows of the last build's
    distinct claim texts and their vocabulary (word_sets_cached);
  * `cluster:` the clustering's word weights and each linkage component's groups
    (build_clusters_cached);
  * `edges:` the mixed similarities of the linkage graph's candidate edges under the word
    weights, by the two claims' vector keys and text hashes (EdgeSimilarities), one value;
  * `lexical:` the clustering's TF-IDF rows of the last build's distinct claim texts, under the
    word weights' fingerprint (lexical_rows_cached).
The nearest-neighbour lists are kept with the HNSW graph (cluster.NeighbourIndex).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import pickle
import re
from pathlib import Path

import numpy as np

from verify import conflicts, store, workers

# What the last build in this process reused and recomputed, for the tests and the benchmark:
# {"analyses": {"texts", "computed"}, "conflicts": {"pairs", "scored"}, "clusters": {"components",
# "regrouped", "refit"}}.
LAST: dict[str, dict] = {}
DETAILS = False  # also the pairs compared and every pair's similarity (tests)

# ---------------------------------------------------------------------------
# Versions, and the cached values as restricted pickles
# ---------------------------------------------------------------------------


@functools.cache
def code_version(*modules: str) -> str:
    """A hash of the named verify modules' source (and of this module's, which says how values are
    stored): a change to any of them is another version."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256((here / "incremental.py").read_bytes())
    for name in modules:
        h.update(name.encode())
        h.update((here / f"{name}.py").read_bytes())
    for data in sorted((here / "data").glob("*.json")):  # the gazetteers the cue functions read
        h.update(data.read_bytes())
    return h.hexdigest()[:16]


def _dataclass_types() -> dict[tuple[str, str], type]:
    from verify import slots

    found = {}
    for module in (conflicts, slots):
        for name in dir(module):
            obj = getattr(module, name)
            if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == module.__name__:
                found[(module.__name__, name)] = obj
    return found


class _Unpickler(pickle.Unpickler):
    """Pickles of cached values (tuples, lists, dicts, sets, strings, numbers and the dataclasses
    of conflicts.py and slots.py), read back with nothing else allowed: a database from elsewhere
    cannot make the build import or call anything."""

    allowed = None

    def find_class(self, module: str, name: str):
        if _Unpickler.allowed is None:
            _Unpickler.allowed = {**_dataclass_types(), ("builtins", "set"): set, ("builtins", "frozenset"): frozenset}
        if (module, name) not in _Unpickler.allowed:
            raise pickle.UnpicklingError(f"{module}.{name} is not a cached value's type")
        return _Unpickler.allowed[(module, name)]


def dumps(value) -> bytes:
    return pickle.dumps(value, protocol=5)


def loads(data: bytes):
    """The value `dumps` gave `data` for (equal to it)."""
    return _Unpickler(io.BytesIO(data)).load()


# Remembered: a build hashes each claim text in several stages (analyses, word sets, TF-IDF rows,
# edge similarities, ...), ~180k sha256 of 41k texts when adding one article to 40k claims.
# Bounded so that a long-lived process does not keep every text it ever saw.
@functools.lru_cache(maxsize=1 << 17)
def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


# ---------------------------------------------------------------------------
# Input files
# ---------------------------------------------------------------------------


# Article texts from which their shingles (copy detection) are made in worker processes.
SHINGLES_PROCESSES_FROM = 300


class CachedReads:
    """`ingest.read_file` through the database of an earlier build: a file whose path and bytes
    are unchanged (and the reader's code and trafilatura's version) gives the articles and
    problems it gave then, without being parsed. The database is only read here (it may not
    exist: a build that finds nothing leaves no database); `save` stores the new entries."""

    def __init__(self, db_path: str | Path):
        import importlib.metadata
        import sqlite3

        self.kind = "read:" + hashlib.sha256((code_version("ingest", "provenance") + importlib.metadata.version(
            "trafilatura")).encode()).hexdigest()[:16]
        self.new: dict[str, str] = {}
        self.used: set[str] = set()
        self.shingle_kind: str | None = None
        self.new_shingles: dict[str, bytes] = {}
        self.shingles_used: set[str] = set()
        self.conn = None
        if Path(db_path).exists():
            try:
                # read and write (never create): as the last connection it removes the WAL files it
                # opened on close, which a read-only one cannot (it only ever reads)
                conn = sqlite3.connect(f"file:{Path(db_path).resolve()}?mode=rw", uri=True, timeout=30)
                conn.execute("select 1 from build_cache limit 1")
                self.conn = conn
            except sqlite3.Error:
                pass

    def read(self, path: Path):
        from verify import ingest

        try:
            size = path.stat().st_size
            big = size > ingest.MAX_HTML_BYTES and path.suffix.lower() not in ingest.CORPUS_SUFFIXES
            data = None if big else path.read_bytes()
        except OSError:
            data = None
        if data is None:  # refused or unreadable: the reader says so (and never reads a huge file)
            return ingest.read_file(path)
        key = hashlib.sha256(str(path).encode("utf-8", "surrogatepass") + b"\x1f" + hashlib.sha256(data).digest()).hexdigest()[:32]
        self.used.add(key)
        row = self.conn.execute("select value from build_cache where kind = ? and key = ?",
                                [self.kind, key]).fetchone() if self.conn is not None else None
        if row is not None:
            articles, problems = json.loads(row[0])
            return articles, [ingest.Problem(*p) for p in problems]
        articles, problems = ingest.read_file(path)
        self.new[key] = json.dumps([articles, [[p.path, p.message] for p in problems]], ensure_ascii=False)
        return json.loads(self.new[key])[0], problems  # the same values a later build reads back

    def shingles(self, articles: list[dict]) -> list[np.ndarray]:
        """`provenance.shingles` of each article's text (what copy detection compares), those of
        texts an earlier build saw read from the database."""
        from verify import provenance

        self.shingle_kind = "shingles:" + code_version("provenance")
        hashes = [text_hash(a["text"]) for a in articles]
        self.shingles_used = set(hashes)
        found: dict[str, np.ndarray] = {}
        if self.conn is not None:
            wanted = sorted(self.shingles_used)
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                sql = f"select key, value from build_cache where kind = ? and key in ({','.join('?' * len(chunk))})"
                found.update((k, np.frombuffer(v, dtype=np.uint64)) for k, v in self.conn.execute(sql, [self.shingle_kind, *chunk]))
        todo: dict[str, str] = {}
        for a, h in zip(articles, hashes):
            if h not in found:
                todo.setdefault(h, a["text"])
        # Many texts are read on all cores: an article's shingles are a function of its text.
        for h, value in zip(todo, workers.local_map(provenance.shingles, list(todo.values()), SHINGLES_PROCESSES_FROM)):
            found[h] = value
            self.new_shingles[h] = value.tobytes()
        return [found[h] for h in hashes]

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self) -> "CachedReads":
        return self

    def __exit__(self, *exc) -> None:
        self.close()  # the reading is done: nothing of the database stays open

    def save(self, db) -> None:
        self.close()
        store.save_cached(db, self.kind, self.new, keep=self.used, family="read:")
        if self.shingle_kind is not None:
            store.save_cached(db, self.shingle_kind, self.new_shingles, keep=self.shingles_used, family="shingles:")


# Articles from which their embedding inputs are made in worker processes.
EMBEDDING_INPUTS_PROCESSES_FROM = 300


def _embedding_inputs_of(compute, article_and_claims: tuple) -> list[str]:
    article, claims = article_and_claims
    return compute([article], claims)


def embedding_inputs_cached(db, articles: list[dict], claims: list[dict], compute) -> list[str]:
    """`compute(articles, claims)` (pipeline.embedding_inputs: each claim's text with names made
    canonical, which reads its article's own aliases), article by article, those of an article
    whose text and claims an earlier build saw (same code) read from the database."""
    import inspect

    kind = "embed-input:" + hashlib.sha256((code_version("names") + inspect.getsource(compute)).encode()).hexdigest()[:16]
    by_article: dict[str, list[int]] = {}
    for n, c in enumerate(claims):
        by_article.setdefault(c["article_id"], []).append(n)
    keys = {}
    for a in articles:
        what = json.dumps([a["id"], a["text"], [claims[n]["text"] for n in by_article.get(a["id"], [])]], ensure_ascii=False)
        keys[a["id"]] = hashlib.sha256(what.encode("utf-8")).hexdigest()[:32]
    stored = store.load_cached(db, kind, list(keys.values()))
    out: list[str | None] = [None] * len(claims)
    new: dict[str, str] = {}
    todo = [a for a in articles if by_article.get(a["id"]) and keys[a["id"]] not in stored]
    # Many articles are done on all cores: an article's inputs are a function of it and its claims.
    computed = dict(zip((a["id"] for a in todo), workers.local_map(
        functools.partial(_embedding_inputs_of, compute),
        [(a, [claims[n] for n in by_article[a["id"]]]) for a in todo], EMBEDDING_INPUTS_PROCESSES_FROM)))
    for a in articles:
        mine = by_article.get(a["id"], [])
        if not mine:
            continue
        key = keys[a["id"]]
        texts = json.loads(stored[key]) if key in stored else computed[a["id"]]
        if key not in stored:
            new[key] = json.dumps(texts, ensure_ascii=False)
        for n, t in zip(mine, texts):
            out[n] = t
    store.save_cached(db, kind, new, keep=set(keys.values()), family="embed-input:")
    return out


# ---------------------------------------------------------------------------
# Conflict cues of every claim text
# ---------------------------------------------------------------------------


_ANALYSIS_FIELDS = tuple(f.name for f in dataclasses.fields(conflicts.Analysis) if f.name not in ("text", "lower"))


# Texts to analyse from which they are analysed in worker processes.
ANALYSE_PROCESSES_FROM = 4000


# The conflict cues are kept in parts: a build adds one part with the cues of its new texts, and
# writes all of this build's cues as one part again when the parts hold more than this share of
# texts that left the corpus, or more than ANALYSE_PARTS parts.
ANALYSE_STALE_SHARE = 0.25
ANALYSE_PARTS = 8


def analyses_cached(db, texts: list[str]) -> list[conflicts.Analysis]:
    """`conflicts.analyse(t)` for each text, those of texts analysed by an earlier build (same
    code) read from the database. Kept as a few values (parts), each the cues of many texts in
    one pickle: a pickle a text took ~60 us each to read back (2.5 s at 40k claims), and one
    pickle of all of them to write again for every added article (~0.7 s)."""
    kind = "analyse:" + code_version("conflicts", "names", "slots")
    hashes = [text_hash(t) for t in texts]
    parts = store.load_cached(db, kind, None)
    stored: dict[str, tuple] = {}
    for key in sorted(parts):
        part_hashes, values = loads(parts[key])
        stored.update(zip(part_hashes, values))
    done: dict[str, conflicts.Analysis] = {}
    todo: dict[str, str] = {}
    for t, h in zip(texts, hashes):
        if h not in done and h not in todo:
            if h in stored:
                done[h] = conflicts.Analysis(text=t, lower=t.lower(), **dict(zip(_ANALYSIS_FIELDS, stored[h])))
            else:
                todo[h] = t
    # Many texts are read on all cores (workers.local_map): `analyse` is a function of the text alone.
    new: dict[str, tuple] = {}
    for h, analysis in zip(todo, workers.local_map(conflicts.analyse, list(todo.values()), ANALYSE_PROCESSES_FROM)):
        new[h] = tuple(getattr(analysis, name) for name in _ANALYSIS_FIELDS)
        done[h] = analysis
    out = [done[h] for h in hashes]
    stale = len(stored) - (len(done) - len(new))  # stored texts this build does not have
    if stale > ANALYSE_STALE_SHARE * len(stored) or len(parts) + bool(new) > ANALYSE_PARTS:
        every = {h: stored[h] if h in stored else new[h] for h in done}
        value = dumps((list(every), list(every.values())))
        store.save_cached(db, kind, {"all": value}, keep={"all"}, family="analyse:")
    elif new:
        key = "new-" + hashlib.sha256("".join(new).encode()).hexdigest()[:16]
        store.save_cached(db, kind, {key: dumps((list(new), list(new.values())))}, keep={*parts, key},
                          family="analyse:")
    LAST["analyses"] = {"texts": len(done), "computed": len(new), "parts": len(parts)}
    return out


# ---------------------------------------------------------------------------
# Conflicts: only the candidate pairs not scored by an earlier build are scored
# ---------------------------------------------------------------------------

WORD_OVERLAP = 1  # the column of conflict_model.FEATURES computed afresh in every build (corpus IDF)


class WordOverlaps:
    """`conflict_model.word_overlap(texts[i], texts[j], corpus_idf(texts))` of pairs, vectorised:
    the texts' word sets and the corpus IDF are made once, then `of(pairs)` gives any pairs'
    overlaps (each pair's sums are its own, so a pair's value is the same in any block).
    `words`: the texts' word sets as `word_sets` gives them, when the caller has them."""

    def __init__(self, texts: list[str], words=None):
        self.words = words if words is not None else word_sets(texts)[0]
        if self.words is not None and self.words.shape[1]:
            # Over distinct texts, as corpus_idf: a reprint's sentences counted once.
            first = np.fromiter({t: i for i, t in reversed(list(enumerate(texts)))}.values(), dtype=np.int64)
            df = np.asarray(self.words[first].sum(axis=0)).ravel()
            n = len(first)
            self.idf = np.log((1 + n) / (1 + df)) + 1.0
            self.weight = self.words @ self.idf  # per text: the summed weights of its words
        else:
            self.words = None

    def of(self, pairs) -> np.ndarray:
        rows = np.fromiter((i for i, _, _ in pairs), dtype=np.int64, count=len(pairs))
        cols = np.fromiter((j for _, j, _ in pairs), dtype=np.int64, count=len(pairs))
        return self.of_arrays(rows, cols)

    def of_arrays(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """`of` the pairs (rows[n], cols[n])."""
        if not len(rows) or self.words is None:
            return np.zeros(len(rows))
        shared = np.asarray(self.words[rows].multiply(self.words[cols]) @ self.idf).ravel()
        union = self.weight[rows] + self.weight[cols] - shared
        return np.divide(shared, union, out=np.zeros(len(rows)), where=union > 0)


def word_sets(texts: list[str], vocabulary: dict[str, int] | None = None):
    """(matrix, vocabulary): one row per text, a 1 in the column of each word of its
    `conflict_model._token_set`; `vocabulary` (word -> column) is extended with new words."""
    import scipy.sparse as sp

    from verify import conflict_model

    vocabulary = {} if vocabulary is None else vocabulary
    indptr, indices = [0], []
    for t in texts:
        for w in conflict_model._token_set(t):
            indices.append(vocabulary.setdefault(w, len(vocabulary)))
        indptr.append(len(indices))
    matrix = sp.csr_matrix((np.ones(len(indices)), np.asarray(indices, dtype=np.int64), np.asarray(indptr)),
                           shape=(len(texts), len(vocabulary)))
    return matrix, vocabulary


def word_sets_cached(db, texts: list[str]):
    """`word_sets(texts)[0]`, the rows of texts an earlier build read taken from the database
    (their words, in the columns of that build's vocabulary, new words added after them): an
    added article costs its own words, where every claim's took ~2-4 s a build at 40k claims.
    Word columns come in another order than in a build from scratch, which only reorders each
    pair's sums (equal to ~1e-15; the order of a set's words already varied from run to run)."""
    import scipy.sparse as sp

    kind = "words:" + code_version("conflict_model")
    hashes = [text_hash(t) for t in texts]
    distinct = list(dict.fromkeys(hashes))
    raw = store.load_cached(db, kind, ["state"]).get("state")
    vocabulary: dict[str, int] = {}
    known: dict[str, int] = {}
    stored = None
    if raw is not None:
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            previous = data["hashes"].tolist()
            # Made anew once most of what it holds has left the corpus (its vocabulary with it).
            if 2 * len(set(previous) & set(distinct)) >= len(previous):
                vocabulary = {w: n for n, w in enumerate(json.loads(data["vocabulary"].tobytes()))}
                known = {h: n for n, h in enumerate(previous)}
                stored = (data["indices"], data["indptr"])
    first = {h: n for n, h in reversed(list(enumerate(hashes)))}
    missing = [h for h in distinct if h not in known]
    fresh, vocabulary = word_sets([texts[first[h]] for h in missing], vocabulary)
    width = len(vocabulary)
    parts, row_of = [], dict(known)
    if stored is not None:
        parts.append(sp.csr_matrix((np.ones(len(stored[0])), stored[0], stored[1]), shape=(len(known), width)))
    fresh.resize((len(missing), width))
    parts.append(fresh)
    row_of.update((h, len(known) + n) for n, h in enumerate(missing))
    every = sp.vstack(parts, format="csr")
    mine = every[np.fromiter((row_of[h] for h in distinct), dtype=np.int64, count=len(distinct))]
    if missing or len(distinct) != len(known):
        words = sorted(vocabulary, key=vocabulary.get)
        buffer = io.BytesIO()
        np.savez(buffer, hashes=np.array(distinct), indices=mine.indices, indptr=mine.indptr,
                 vocabulary=np.frombuffer(json.dumps(words).encode("utf-8"), dtype=np.uint8))
        store.save_cached(db, kind, {"state": buffer.getvalue()}, keep={"state"}, family="words:")
    position = {h: n for n, h in enumerate(distinct)}
    return mine[np.fromiter((position[h] for h in hashes), dtype=np.int64, count=len(hashes))]


def _sub_problem(articles: list[dict], claims: list[dict], cand, pairs, reference: dict):
    """`pairs` (of `cand`) as a problem of their own claims only: (articles, claims, Candidates)
    that `conflict_model.pair_inputs` reads as it would the whole corpus. Each article is given
    its reference date (slots.reference_dates over the whole corpus) as its publication date, so
    that its claims' slots are read against the same date."""
    needed = sorted({i for i, _, _ in pairs} | {j for _, j, _ in pairs})
    pos = {x: n for n, x in enumerate(needed)}
    sub_claims = [claims[x] for x in needed]
    ids = {c["article_id"] for c in sub_claims}
    # The text goes: with the date given, reading it again would give nothing more (slots.reference_dates
    # reads a text only for the corpus's year and the articles without a date), and cost seconds a build.
    sub_articles = [{**a, "published": reference.get(a["id"]), "text": ""} for a in articles if a["id"] in ids]
    sub = conflicts.Candidates(
        [(pos[i], pos[j], s) for i, j, s in pairs], [cand.analyses[x] for x in needed], cand.parties,
        [cand.origin[x] for x in needed],
        {pos[d]: {pos[t] for t in ts if t in pos} for d, ts in cand.referents_of.items() if d in pos})
    return sub_articles, sub_claims, sub


def _claim_keys(claims: list[dict], cand, reference: dict) -> list[str]:
    """Per claim, what of it a pair's verdict reads (id, text, speaker and party, article, its
    date, who independently stands behind it): each field as its length and its text (None as
    a field of its own), so that no two inputs give one string."""
    def field(value) -> str:
        if value is None:
            return "-"
        if isinstance(value, str):
            return f"{len(value)}:{value}"
        return f"#{value!r}"  # a number

    keys = []
    dates: dict[str, str] = {}  # an article's date field, made once an article
    for c, origin in zip(claims, cand.origin):
        parties = cand.parties[c["id"]]
        article = c["article_id"]
        if article not in dates:
            dates[article] = field(reference.get(article))
        what = "|".join((field(c["id"]), field(c["text"]), field(c.get("speaker")), field(article),
                         field(c.get("position")), "[" + "".join(map(field, sorted(parties))) + "]" if parties else "[]",
                         dates[article], field(origin)))
        keys.append(hashlib.sha256(what.encode("utf-8", "surrogatepass")).hexdigest()[:32])
    return keys


def pair_arrays(pairs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first, second, similarity) of candidate pairs as arrays (a PairList's own, or made)."""
    if isinstance(pairs, conflicts.PairList):
        return pairs.i.astype(np.int64), pairs.j.astype(np.int64), np.asarray(pairs.sim, dtype=np.float64)
    return (np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs)),
            np.fromiter((p[1] for p in pairs), dtype=np.int64, count=len(pairs)),
            np.fromiter((p[2] for p in pairs), dtype=np.float64, count=len(pairs)))


def _pair_key(cand, first: np.ndarray, second: np.ndarray, sim: np.ndarray) -> dict[str, np.ndarray]:
    """Every input of the pairs' rules verdicts and features but the corpus IDF, as columns (a row
    a pair `(first[n], second[n], sim[n])`): a pair's key is its two claims' keys (_claim_keys:
    what of each claim the verdict reads), in order, and these columns. Its cached values are read
    back only when all of them are equal (PairCache). An input of another kind goes here as a
    column (one value a pair), into `_claim_keys` (one a claim) or into the cache's kind (one a
    corpus); the cache compares every column it finds here."""
    n = len(cand.origin)
    answered = np.fromiter((d * n + t for d, targets in cand.referents_of.items() for t in targets), dtype=np.int64)
    return {"similarity": np.asarray(sim, dtype=np.float64),
            # whether the second claim is what the first one's denial answers, and the other way round
            "answers_first": np.isin(first * n + second, answered).astype(np.uint8),
            "answers_second": np.isin(second * n + first, answered).astype(np.uint8)}


def _compact(column: np.ndarray) -> np.ndarray:
    """A float64 feature column in the smallest of uint8, float32, float64 that holds every value
    exactly (most features are flags and counts): read back as float64, the same numbers."""
    for dtype in (np.uint8, np.float32):
        with np.errstate(invalid="ignore", over="ignore"):
            small = column.astype(dtype)
        if np.array_equal(small.astype(np.float64), column, equal_nan=dtype is np.float32):
            return small
    return column


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise equality, floats bit for bit."""
    if a.dtype != b.dtype:
        return np.zeros(len(a), dtype=bool)
    if a.dtype.kind == "f":
        view = f"i{a.dtype.itemsize}"
        return a.view(view) == b.view(view)
    return a == b


def _lookup(codes: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position in `codes` of each of `wanted`, whether it is there) for distinct `codes`."""
    if not len(codes):
        return np.zeros(len(wanted), dtype=np.int64), np.zeros(len(wanted), dtype=bool)
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    # `wanted` searched in sorted order: ~600k searches in a random order, each a walk of the
    # array that misses the cache, cost more than sorting them first.
    sorted_wanted = np.argsort(wanted, kind="stable")
    where = np.empty(len(wanted), dtype=np.int64)
    where[sorted_wanted] = np.searchsorted(ordered, wanted[sorted_wanted])
    where = np.minimum(where, len(codes) - 1)
    return order[where], ordered[where] == wanted


class PairCache:
    """The conflict stage's cached values of the last build's candidate pairs, held as one value
    of columns (a numpy archive): the two claims' keys (indices into that build's claim keys)
    and the other key columns (_pair_key) of each pair, its feature row (a column a feature, each
    in the smallest exact dtype; word overlap left at 0), and, for the few pairs they exist for,
    the rules' row and the explanation, and the pair's score with the band its word overlap fell
    in (`overlap_bands`). Looking the pairs of a build up is a few array operations
    (a sorted search of the two claims' numbers, then the key columns compared), not a key hashed
    and a row read and decoded a pair (~6 s a build at ~300k pairs). `record` gathers this
    build's values, `value()` is the archive to store: the pairs of this build only."""

    def __init__(self, raw: bytes | None, claim_keys: list[str], first: np.ndarray, second: np.ndarray,
                 columns: dict[str, np.ndarray]):
        self.claim_keys, self.first, self.second, self.columns = claim_keys, first, second, columns
        self.source = np.full(len(first), -1, dtype=np.int64)  # per pair: its row in the stored value, or -1
        self.n_stored = -1
        self.features: list[np.ndarray] | None = None
        self.rule_of = self.explained_of = None
        self.rules: list = []
        self.explained: list = []
        self.scores = self.bands = None  # the stored value's, per its pair
        if raw is not None:
            self._read(raw)
        self._blocks: list[list[np.ndarray]] | None = None
        self._new_rules: list[tuple[int, dict]] = []
        self._new_explained: list[tuple[int, list]] = []
        self._scores: list[np.ndarray] = []
        self._bands: list[np.ndarray] = []
        self.changed = False  # values this build adds (new pairs, new explanations)

    def _read(self, raw: bytes) -> None:
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            stored_keys = data["claim_keys"].tolist()
            a, b = data["first"].astype(np.int64), data["second"].astype(np.int64)
            names = sorted(self.columns)
            if sorted(data["key_names"].tolist()) != names:
                return
            stored_columns = {name: data[f"key_{name}"] for name in names}
            n_features = int(data["n_features"])
            self.features = [data[f"feature_{k}"] for k in range(n_features)] if n_features >= 0 else None
            rule_at, explained_at = data["rule_at"], data["explained_at"]
            self.rules = json.loads(data["rules"].tobytes()) if len(rule_at) else []
            self.explained = json.loads(data["explanations"].tobytes()) if len(explained_at) else []
            if "score" in data and len(data["score"]) == len(a):
                self.scores, self.bands = data["score"], data["band"].astype(np.int64)
        self.n_stored = len(a)
        self.rule_of = np.full(len(a), -1, dtype=np.int64)
        self.rule_of[rule_at] = np.arange(len(rule_at))
        self.explained_of = np.full(len(a), -1, dtype=np.int64)
        self.explained_of[explained_at] = np.arange(len(explained_at))
        if not len(a) or not len(self.first):
            return
        number = {k: n for n, k in enumerate(stored_keys)}
        mine = np.fromiter((number.get(k.encode("ascii"), -1) for k in self.claim_keys), dtype=np.int64,
                           count=len(self.claim_keys))
        size = len(stored_keys)
        fa, fb = mine[self.first], mine[self.second]
        at, found = _lookup(a * size + b, fa * size + fb)
        found &= (fa >= 0) & (fb >= 0)
        for name in names:
            found &= _same(stored_columns[name][at], self.columns[name])
        self.source = np.where(found, at, -1)

    def block(self, start: int, n: int, n_features: int | None):
        """(rows of the stored value or -1, feature matrix of the stored rows (float64; None without
        a scorer), the rules' rows and the explanations (lists, None where there is none)) of
        the pairs start..start+n."""
        source = self.source[start : start + n]
        have = np.flatnonzero(source >= 0)
        features = None
        if n_features is not None:
            features = np.zeros((n, n_features), dtype=np.float64)
            if len(have) and self.features is not None and len(self.features) == n_features:
                for k, column in enumerate(self.features):
                    features[have, k] = column[source[have]]
        rules: list = [None] * n
        explained: list = [None] * n
        if len(have):
            for m, r in zip(have.tolist(), self.rule_of[source[have]].tolist()):
                if r >= 0:
                    rules[m] = self.rules[r]
            for m, e in zip(have.tolist(), self.explained_of[source[have]].tolist()):
                if e >= 0:
                    explained[m] = self.explained[e]
        return source, features, rules, explained

    def stored_scores(self, start: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(score, overlap band) the stored value has for the pairs start..start+n (band -1: none)."""
        source = self.source[start : start + n]
        scores, bands = np.zeros(n), np.full(n, -1, dtype=np.int64)
        have = np.flatnonzero(source >= 0)
        if len(have) and self.scores is not None:
            scores[have], bands[have] = self.scores[source[have]], self.bands[source[have]]
        return scores, bands

    def record(self, start: int, features: np.ndarray | None, rules: list, explained: list, new: bool,
               scores: np.ndarray | None = None, bands: np.ndarray | None = None) -> None:
        """This build's values of the pairs start..start+len(rules), in order (features with word
        overlap at 0; their scores and overlap bands). `new`: some of them are not in the stored value."""
        if scores is not None:
            self._scores.append(scores)
            self._bands.append(bands.astype(np.int32))
        if features is not None:
            if self._blocks is None:
                self._blocks = [[] for _ in range(features.shape[1])]
            for k in range(features.shape[1]):
                self._blocks[k].append(_compact(features[:, k]))
        self._new_rules += [(start + n, r) for n, r in enumerate(rules) if r is not None]
        self._new_explained += [(start + n, e) for n, e in enumerate(explained) if e is not None]
        self.changed |= new

    def value(self) -> bytes | None:
        """The archive of this build's pairs, or None when the stored one already is (no pair new,
        none gone, no new explanation)."""
        if not self.changed and self.n_stored == len(self.first) and bool((self.source >= 0).all()):
            return None
        columns = {f"key_{name}": column for name, column in self.columns.items()}
        features = {}
        if self._blocks is not None:  # each column's parts replaced by the joined column: let go before the next
            for k, parts in enumerate(self._blocks):
                features[f"feature_{k}"] = np.concatenate(parts)
                self._blocks[k] = [features[f"feature_{k}"]]
        if self._scores:  # every block's (a scorer's build)
            features.update(score=np.concatenate(self._scores), band=np.concatenate(self._bands))
        buffer = io.BytesIO()
        np.savez(buffer, claim_keys=np.array([k.encode("ascii") for k in self.claim_keys], dtype="S32"),
                 first=self.first.astype(np.int32), second=self.second.astype(np.int32),
                 key_names=np.array(sorted(self.columns)), **columns,
                 n_features=np.array(len(self._blocks) if self._blocks is not None else -1),
                 rule_at=np.array([n for n, _ in self._new_rules], dtype=np.int64),
                 rules=np.frombuffer(json.dumps([r for _, r in self._new_rules]).encode("utf-8"), dtype=np.uint8),
                 explained_at=np.array([n for n, _ in self._new_explained], dtype=np.int64),
                 explanations=np.frombuffer(json.dumps([e for _, e in self._new_explained]).encode("utf-8"),
                                            dtype=np.uint8),
                 **features)
        return buffer.getvalue()


def _as_read_back(value):
    """A value as the cache gives it back (JSON: tuples become lists)."""
    return json.loads(json.dumps(value)) if value is not None else None


# New pairs in a block from which their values are computed in worker processes.
PAIRS_PROCESSES_FROM = 2000
# Candidate pairs scored in one call of the conflict scorer (their feature rows, ~8 MB).
SCORE_ROWS = 32768
# What the forked workers of the conflict stage read (set before they are forked).
_FORKED: dict = {}


def _new_pair_values(articles, claims, cand, missing, reference, scored: bool, nli=None, slots_for=None) -> list:
    """(rules' row or None, feature row or None) of each pair of `missing`: the rules (conflicts.
    _rule_conflicts) and the scorer's features (word overlap left at 0) read in the pairs' own
    sub-problem. `slots_for(pairs)`: the slots of their claims, in the sub-problem's order."""
    from verify import conflict_model

    sub_articles, sub_claims, sub = _sub_problem(articles, claims, cand, missing, reference)
    rules = {(r["claim_a"], r["claim_b"]): r for r in conflicts._rule_conflicts(sub_claims, sub, None)}
    rows = [None] * len(missing)
    if scored:
        rows = [conflict_model.features(p)[0]
                for p in conflict_model.pair_inputs(sub_articles, sub_claims, sub, nli, idf={},
                                                    slots=slots_for(missing) if slots_for else None)]
    return [(rules.get((claims[i]["id"], claims[j]["id"])), row) for (i, j, _), row in zip(missing, rows)]


def _forked_pair_values(pairs: list) -> list:
    """`_new_pair_values` of a slice of a block's new pairs, in a forked worker (a pair's values
    are its own, whatever else is in its slice: the stage's result does not depend on its blocks),
    with the claims' slots read before the workers were forked (`slots_of`: claim -> Slots):
    each worker reading again the slots of every claim it met took the CPU time of reading them
    all once more."""
    slots_of = _FORKED.get("slots_of")

    def slots_for(chosen) -> list:
        return [slots_of[x] for x in sorted({i for i, _, _ in chosen} | {j for _, j, _ in chosen})]

    return _new_pair_values(_FORKED["articles"], _FORKED["claims"], _FORKED["cand"], pairs, _FORKED["reference"],
                            _FORKED["scored"], slots_for=slots_for if slots_of is not None else None)


# Claims whose slots are read in worker processes when a block has this many new ones.
SLOTS_PROCESSES_FROM = 2000


def _published(reference: str | None) -> str | None:
    """The date `slots.reference_dates` gives an article whose publication date is `reference`."""
    return reference[:10] if reference else None


def _claim_slot(text_and_date: tuple[str, str | None]):
    from verify import slots

    return slots.extract(*text_and_date)


# Article texts from which their slots (for their reference dates) are read in worker processes.
REFERENCE_PROCESSES_FROM = 300


def _text_slots(text: str):
    from verify import slots

    return slots._extract(text)


def reference_dates_cached(db, articles: list[dict]) -> dict[str, str | None]:
    """`slots.reference_dates(articles)`, the slots of article texts read by an earlier build
    (same code) taken from the database."""
    from verify import slots

    kind = "slots:" + code_version("slots")
    wanted = {text_hash(a["text"]) for a in articles}
    memo = {h: loads(v) for h, v in store.load_cached(db, kind, wanted).items()}
    new: dict[str, bytes] = {}
    # Many new texts are read on all cores first (`_extract` is a function of the text alone).
    todo = {}
    for a in articles:
        h = text_hash(a["text"])
        if h not in memo:
            todo.setdefault(h, a["text"])
    if len(todo) >= REFERENCE_PROCESSES_FROM:
        for h, value in zip(todo, workers.local_map(_text_slots, list(todo.values()), REFERENCE_PROCESSES_FROM)):
            memo[h] = value
            new[h] = dumps(value)

    def extract(text: str):
        h = text_hash(text)
        if h not in memo:
            memo[h] = slots._extract(text)
            new[h] = dumps(memo[h])
        return memo[h]

    reference = slots.reference_dates(articles, extract)
    store.save_cached(db, kind, new, keep=wanted, family="slots:")
    return reference


def overlap_thresholds(scorer) -> np.ndarray | None:
    """The thresholds, sorted, that the scorer's trees compare a pair's word overlap with (None for
    a scorer that is not trees: its score moves with any change of the overlap). A tree sends a
    row left when its value is at most the node's threshold, so two overlaps with as many
    thresholds under them (`np.searchsorted(..., side="left")`: the pair's band) go the same way
    at every node on the word overlap; with the other features equal, every tree reaches the same
    leaf and the score is the same, bit for bit."""
    if scorer.trees is None:
        return None
    parts = [t["threshold"][(t["feature"] == WORD_OVERLAP) & ~t["leaf"]] for t in scorer.trees.trees]
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0)


def find_conflicts_cached(db, articles: list[dict], claims: list[dict], vectors: np.ndarray, source_key,
                          encode=None, k: int = 12, judge=None, scorer=None, nli=None,
                          flag_threshold: float | None = None, neighbours=None,
                          analyses: list[conflicts.Analysis] | None = None, block: int | None = None) -> list[dict]:
    """`conflicts.find_conflicts` with each candidate pair's rules verdict and feature row read
    from the database when an earlier build computed them for the same inputs: only new pairs
    (a new or changed claim, a changed origin, speaker party or article date, another similarity)
    go through the rules, the slots and the pair model. The word-overlap feature reads the IDF of
    the whole corpus, so it is computed afresh for every pair (vectorised) and every pair is
    scored again: the result is the full computation's, with word overlaps equal to ~1e-15.

    The pairs go through all that `block` at a time (default conflicts.PAIR_BLOCK): a
    block's inputs, features as float64 and scores are dropped before the next; kept are the
    flagged rows, the last build's cache as columns and this build's values for the next one
    (PairCache: features in their smallest exact dtype, ~15-20 MB for ~300k pairs), so the
    stage's memory grows with the number of pairs only by those columns (a pair's result does
    not depend on the block it is in).

    With `judge` (a user's NLI model) everything is computed (no cache)."""
    from verify import conflict_model, slots

    if judge is not None:
        return conflicts.find_conflicts(articles, claims, vectors, source_key, encode, k, judge, scorer, nli,
                                        flag_threshold, neighbours, block=block)
    cand = conflicts.candidate_pairs(articles, claims, vectors, source_key, encode, k, neighbours, analyses)
    model = "none" if scorer is None else hashlib.sha256(json.dumps(scorer.to_json()).encode()).hexdigest()[:12]
    version = "|".join([code_version("conflicts", "conflict_model", "slots", "names", "pairmodel"), model,
                        "nli" if nli is not None else "-"])
    kind = "pair:" + hashlib.sha256(version.encode()).hexdigest()[:16]
    reference = reference_dates_cached(db, articles) if scorer is not None else {}
    claim_keys = _claim_keys(claims, cand, reference)
    first, second, similarity = pair_arrays(cand.pairs)
    cache = PairCache(store.load_cached(db, kind, ["columns"]).get("columns"), claim_keys, first, second,
                      _pair_key(cand, first, second, similarity))
    n_features = len(conflict_model.FEATURES) if scorer is not None else None
    overlaps = None
    if scorer is not None and cand.pairs:
        texts = [c["text"] for c in claims]
        overlaps = WordOverlaps(texts, word_sets_cached(db, texts))
    threshold = None if scorer is None else scorer.flag_threshold if flag_threshold is None else flag_threshold
    # Each claim's slots, read once for the whole stage (a claim is in the pairs of many blocks),
    # as `conflict_model.claim_slots` reads them in a block's sub-problem: against its article's
    # reference date (_sub_problem gives it as the publication date).
    slots_of: dict[int, slots.Slots] = {}

    def read_slots(needed: list[int]) -> None:
        todo = [x for x in needed if x not in slots_of]
        args = [(claims[x]["text"], _published(reference.get(claims[x]["article_id"]))) for x in todo]
        slots_of.update(zip(todo, workers.local_map(_claim_slot, args, SLOTS_PROCESSES_FROM)))

    def slots_for(pairs) -> list:
        needed = sorted({i for i, _, _ in pairs} | {j for _, j, _ in pairs})  # as _sub_problem orders them
        read_slots(needed)
        return [slots_of[x] for x in needed]

    pool = None  # worker processes for the new pairs' values, made at the first block with many
    n_scored = 0
    scored_pairs = []
    found: list[dict] = []    # the rules' rows, in pair order
    scored: list[dict] = []   # the scorer's, in pair order
    waiting: list[tuple] = []  # blocks whose features are made, scored together (SCORE_ROWS)
    thresholds = overlap_thresholds(scorer) if scorer is not None else None
    n_rescored = 0

    def score_waiting() -> None:
        """Score the waiting blocks' pairs in one call, then flag, explain and record each block in
        order (the scorer walks each tree once a call; a pair's score is its own row's, whatever
        else is in the call). A pair whose other features are the stored ones (all but the word
        overlap are, for a pair read from the cache) and whose word overlap is in the same band
        as when it was scored takes its stored score: every tree takes the same path for it, so
        the score is the one computed, bit for bit (`overlap_thresholds`). The corpus IDF moves
        every overlap a little with each added article, but few across a threshold: scoring all
        ~300k pairs again was ~1 s of an added article at 40k claims."""
        nonlocal n_rescored
        if not waiting:
            return
        # The word overlaps of all waiting pairs in one product (per block, scipy's row gathers
        # cost more than their rows); `features` keep the stored 0 for the cache.
        lo, hi = waiting[0][0], waiting[-1][0] + len(waiting[-1][1])
        overlap = overlaps.of_arrays(first[lo:hi], second[lo:hi])
        rows = np.concatenate([w[2] for w in waiting])
        rows[:, WORD_OVERLAP] = overlap
        todo_of, bands_of = [], []
        for start, pairs, *_ in waiting:
            if thresholds is None:
                bands = np.full(len(pairs), -1, dtype=np.int64)
            else:
                bands = np.searchsorted(thresholds, np.round(overlap[start - lo : start - lo + len(pairs)], 9), side="left")
            previous, previous_bands = cache.stored_scores(start, len(pairs))
            reuse = ((previous_bands >= 0) & (previous_bands == bands) if thresholds is not None
                     else np.zeros(len(pairs), dtype=bool))  # not trees: any overlap change moves the score
            todo_of.append(np.flatnonzero(~reuse))
            bands_of.append((bands, previous, previous_bands))
        computed = scorer.probability(rows[np.concatenate([w[0] - lo + todo for w, todo in zip(waiting, todo_of)])])
        del rows
        offset = 0
        for (start, pairs, stored_features, rules, explained, new), todo, (bands, previous, previous_bands) \
                in zip(waiting, todo_of, bands_of):
            scores = previous.copy()
            scores[todo] = computed[offset : offset + len(todo)]
            offset += len(todo)
            n_rescored += len(todo)
            new = new or bool((bands != previous_bands).any() or (scores != previous).any())
            flagged = np.flatnonzero(scores >= threshold).tolist()
            # A pair's explanation is a function of its inputs but the score (conflict_model.explanation):
            # made the first time the pair is flagged and kept with it, so a build over a grown corpus
            # does not read again the slots and cues of the thousands of pairs flagged before.
            unexplained = [n for n in flagged if explained[n] is None]
            if unexplained:
                chosen = [pairs[n] for n in unexplained]
                sub_articles, sub_claims, sub = _sub_problem(articles, claims, cand, chosen, reference)
                for n, p in zip(unexplained, conflict_model.pair_inputs(sub_articles, sub_claims, sub, nli, idf={},
                                                                        slots=slots_for(chosen))):
                    cmp = slots.compare(p.slots_a, p.slots_b, bool(p.parties_a & p.parties_b))
                    kind_, text, cues = conflict_model.explanation(p, cmp)
                    # As conflicts._scored_conflicts decides (without a judge): never flagged unexplained.
                    explained[n] = _as_read_back([kind_, text, cues, kind_ == "contradiction" and p.nli is None])
            cache.record(start, stored_features, rules, explained, new or bool(unexplained), scores, bands)
            for n in flagged:
                i, j, _ = pairs[n]
                kind_, text, cues, unflagged = explained[n]
                if unflagged:
                    continue
                scored.append(conflicts._conflict_row(
                    claims[i], claims[j], kind_, float(scores[n]), text.replace(conflict_model.SCORE, f"{float(scores[n]):.2f}"),
                    cues, conflicts._attribution(claims[i], claims[j], cand.origin[i], cand.origin[j])))
        waiting.clear()

    try:
        for start, pairs in conflicts.pair_blocks(cand.pairs, block):
            source, features, rules, explained = cache.block(start, len(pairs), n_features)
            todo = np.flatnonzero(source < 0).tolist()
            if todo:
                missing = [pairs[n] for n in todo]
                if nli is None and len(missing) >= PAIRS_PROCESSES_FROM and pool is None:
                    # Many new pairs (a build from scratch): their rules and features on all cores,
                    # each pair's values its own whatever else is in its slice.
                    _FORKED.update(articles=articles, claims=claims, cand=cand, reference=reference,
                                   scored=scorer is not None)
                    if scorer is not None:  # the slots of the claims of every pair left, each read once
                        read_slots(np.unique(np.concatenate([first[start:], second[start:]])).tolist())
                        _FORKED["slots_of"] = slots_of
                    pool = workers.fork_pool(PAIRS_PROCESSES_FROM, len(missing)) or False
                if nli is None and len(missing) >= PAIRS_PROCESSES_FROM and pool:
                    values = workers.pool_map(pool, workers.cores(), _forked_pair_values, missing, 2, per_slice=True)
                else:
                    values = _new_pair_values(articles, claims, cand, missing, reference, scorer is not None, nli,
                                              slots_for)
                for n, (rule, row) in zip(todo, values):
                    if row is not None:
                        features[n] = row
                    rules[n] = _as_read_back(rule)  # as read back
                if features is not None:
                    features[todo, WORD_OVERLAP] = 0.0
                n_scored += len(todo)
                if DETAILS:
                    scored_pairs += [(claims[pairs[n][0]]["id"], claims[pairs[n][1]]["id"]) for n in todo]
            found += [dict(rule) for rule in rules if rule is not None]
            if scorer is None:
                cache.record(start, None, rules, explained, bool(todo))
                continue
            waiting.append((start, pairs, features, rules, explained, bool(todo)))
            if sum(len(w[1]) for w in waiting) >= SCORE_ROWS:
                score_waiting()
        score_waiting()
    finally:
        if pool:
            pool.shutdown()
        _FORKED.clear()
    # Given back before the cache's archive is made: every claim's slots (~140 MB at 100k claims)
    # held with the archive and its copy into SQLite made the peak of a 100k build (2.1 GiB).
    slots_of.clear()
    value = cache.value()
    del cache  # its columns (~70 MB at 600k pairs), not held while SQLite copies the archive in
    if value is not None:  # one value, this build's pairs: those of earlier builds go with it
        store.save_cached(db, kind, {"columns": value}, keep={"columns"}, family="pair:")
    LAST["conflicts"] = {"pairs": len(cand.pairs), "scored": n_scored, "rescored": n_rescored}
    if DETAILS:  # which pairs, for the tests (a dict of every pair: not kept in a real build)
        LAST["conflicts"]["scored_pairs"] = scored_pairs
        LAST["conflicts"]["similarity"] = {(claims[i]["id"], claims[j]["id"]): sim for i, j, sim in cand.pairs}
    rule_denials = {row["pair_key"] for row in found if row["kind"] == "denial"}  # as find_conflicts
    if scorer is not None:
        cap = scorer.flags_per_article if flag_threshold is None else None  # as conflicts.find_conflicts
        found = conflicts.merge_flags(found, conflicts.cap_scored(scored, len(articles), cap))
    return conflicts.select_conflicts(found, claims, cand.analyses, rule_denials)


# ---------------------------------------------------------------------------
# Clusters: only the connected components a change touches are grouped again
# ---------------------------------------------------------------------------

# The clustering's word weights (TF-IDF vocabulary and IDF) are fitted on the corpus. A corpus
# this big or bigger keeps the weights of the build that fitted them until the claims added or
# removed since then pass REFIT_SHARE of the claims they were fitted on; a smaller one is
# fitted in every build (and clustered whole: it costs little), so its result is the full build's.
FROZEN_FROM = 5000
REFIT_SHARE = 0.10


def lexical_fit(texts: list[str]):
    """(vocabulary, idf, stop words): the clustering's TF-IDF (cluster.lexical_vectors' settings)
    fitted on `texts`; vocabulary None when no word is left."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True, dtype=np.float32)
    try:
        vectorizer.fit(texts)
    except ValueError:  # no word left (every claim is stop words or numbers)
        return None, None, None
    return vectorizer.get_feature_names_out().tolist(), vectorizer.idf_, sorted(vectorizer.get_stop_words())


_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token pattern


def lexical_transform(vocabulary: list[str] | None, idf, texts: list[str], stop_words):
    """The TF-IDF rows of `texts` under a fitted vocabulary and IDF: what scikit-learn's
    TfidfVectorizer(stop_words="english", sublinear_tf=True, dtype=float32).transform gives
    (lower-cased, its token pattern, counts -> 1 + log, times IDF, rows L2-normalised in float32,
    column indices sorted), without importing scikit-learn (seconds a build on this machine).
    tests/test_incremental.py checks it against scikit-learn's."""
    import scipy.sparse as sp

    if not vocabulary:
        return None
    index = {w: n for n, w in enumerate(vocabulary)}
    stop = frozenset(stop_words)
    indptr, indices, counts = [0], [], []
    for text in texts:
        row: dict[int, int] = {}
        for token in _TOKEN.findall(text.lower()):
            if token not in stop and (n := index.get(token)) is not None:
                row[n] = row.get(n, 0) + 1
        for n in sorted(row):
            indices.append(n)
            counts.append(row[n])
        indptr.append(len(indices))
    data = np.asarray(counts, dtype=np.float32)
    np.log(data, data)
    data += np.float32(1.0)
    cols = np.asarray(indices, dtype=np.int32)
    data *= np.asarray(idf, dtype=np.float32)[cols]
    bounds = np.asarray(indptr, dtype=np.int64)
    # As scikit-learn's inplace_csr_row_normalize_l2: each row's squares (float32 products) summed
    # one by one in a double, in column order (a column position at a time for all rows: the
    # zeros that pad shorter rows change no sum), then each value divided in double by its root.
    lengths = np.diff(bounds)
    row_of = np.repeat(np.arange(len(texts)), lengths)
    place = np.arange(len(data)) - bounds[:-1][row_of]
    padded = np.zeros((len(texts), int(lengths.max()) if len(texts) and len(data) else 0), dtype=np.float32)
    padded[row_of, place] = data
    total = np.zeros(len(texts), dtype=np.float64)
    for c in range(padded.shape[1]):
        total += (padded[:, c] * padded[:, c]).astype(np.float64)
    norm = np.sqrt(total)
    norm[total == 0.0] = 1.0
    data = (data.astype(np.float64) / norm[row_of]).astype(np.float32)
    return sp.csr_matrix((data, cols, bounds), shape=(len(texts), len(vocabulary)))


def lexical_rows_cached(db, state: dict, texts: list[str]):
    """`lexical_transform` of `texts` under the word weights of `state` (build_clusters_cached's),
    the rows of texts an earlier build transformed under the same weights taken from the
    database: a row is a function of its text and the weights alone, so the matrix is the one
    `lexical_transform` gives, value for value, and an added article costs its own rows (every
    claim's row again took ~2-5 s a build at 40k claims). Kept as one value, the rows of this
    build's distinct texts, under the weights' fingerprint."""
    import scipy.sparse as sp

    if not state["vocabulary"] or not texts:
        return lexical_transform(state["vocabulary"], state["idf"], texts, state["stop_words"])
    kind = "lexical:" + code_version("cluster")
    hashes = [text_hash(t) for t in texts]
    raw = store.load_cached(db, kind, [state["model"]]).get(state["model"])
    known: dict[str, int] = {}
    stored = None
    if raw is not None:
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            stored = sp.csr_matrix((data["data"], data["indices"], data["indptr"]),
                                   shape=(len(data["hashes"]), len(state["vocabulary"])))
            known = {h: n for n, h in enumerate(data["hashes"].tolist())}
    distinct = list(dict.fromkeys(hashes))
    first = {h: n for n, h in reversed(list(enumerate(hashes)))}
    missing = [h for h in distinct if h not in known]
    parts, row_of = [], {}
    if stored is not None:
        parts.append(stored)
        row_of.update(known)
    if missing:
        parts.append(lexical_transform(state["vocabulary"], state["idf"], [texts[first[h]] for h in missing],
                                       state["stop_words"]))
        row_of.update((h, len(known) + n) for n, h in enumerate(missing))
    every = sp.vstack(parts, format="csr") if len(parts) > 1 else parts[0]
    # This build's distinct texts, in order, for the next build.
    mine = every[np.fromiter((row_of[h] for h in distinct), dtype=np.int64, count=len(distinct))]
    if missing or len(distinct) != len(known):
        buffer = io.BytesIO()
        np.savez(buffer, hashes=np.array(distinct), data=mine.data, indices=mine.indices, indptr=mine.indptr)
        store.save_cached(db, kind, {state["model"]: buffer.getvalue()}, keep={state["model"]}, family="lexical:")
    position = {h: n for n, h in enumerate(distinct)}
    rows = mine[np.fromiter((position[h] for h in hashes), dtype=np.int64, count=len(hashes))]
    rows.sort_indices()
    return rows


class EdgeSimilarities:
    """`sim.pairs(rows, cols)` (the mixed similarity of the linkage graph's candidate edges), the
    pairs of claims an earlier build computed under the same word weights read from the
    database: a pair's similarity is a function of its two claims' vectors and TF-IDF rows
    alone, that is of `idents` (per claim: its vector's key and its text's hash; `kind` holds
    the code and the word weights), so it is the value `sim.pairs` gives, bit for bit. Kept as
    one value of columns (the last build's idents, each pair's two numbers in it and its
    similarity), written again when a pair is new or gone (~1 s of an added article at 40k
    claims was these ~600k similarities). `compute(rows, cols)` gives the values of new pairs:
    `sim.pairs`, or any other function of a pair's two idents (PhraseBonds)."""

    family = "edges:"

    def __init__(self, db, kind: str, idents: list[str], compute):
        self.db, self.kind, self.idents, self.compute = db, kind, idents, compute
        self.raw = store.load_cached(db, kind, ["columns"]).get("columns")
        self.value: bytes | None = None
        self.computed = 0

    def __call__(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        out = np.empty(len(rows), dtype=np.float64)
        found = np.zeros(len(rows), dtype=bool)
        n_stored = -1
        if self.raw is not None:
            with np.load(io.BytesIO(self.raw), allow_pickle=False) as data:
                number = {k: n for n, k in enumerate(data["idents"].tolist())}
                a, b, sims = data["first"].astype(np.int64), data["second"].astype(np.int64), data["similarity"]
            n_stored = len(a)
            if len(a) and len(rows):
                mine = np.fromiter((number.get(k.encode("ascii"), -1) for k in self.idents), dtype=np.int64,
                                   count=len(self.idents))
                size = len(number)
                fa, fb = mine[rows], mine[cols]
                at, found = _lookup(a * size + b, fa * size + fb)
                found &= (fa >= 0) & (fb >= 0)
                out[found] = sims[at[found]]
        todo = np.flatnonzero(~found)
        if len(todo):
            out[todo] = self.compute(rows[todo], cols[todo])
        self.computed = len(todo)
        if len(todo) or len(rows) != n_stored:  # a pair new or gone: this build's pairs are kept
            buffer = io.BytesIO()
            np.savez(buffer, idents=np.array([k.encode("ascii") for k in self.idents]),
                     first=rows.astype(np.int32), second=cols.astype(np.int32), similarity=out)
            self.value = buffer.getvalue()
        return out

    def save(self) -> None:
        if self.value is not None:
            store.save_cached(self.db, self.kind, {"columns": self.value}, keep={"columns"}, family=self.family)


class PhraseBonds(EdgeSimilarities):
    """`cluster.share_phrase` of the mutual pairs, read from the database for the pairs an
    earlier build asked about: a function of the two texts alone (~1 s a build at 40k claims
    computed afresh, most of an added article's budget)."""

    family = "phrases:"

    def __init__(self, db, idents: list[str], texts: list[str]):
        from verify import cluster

        super().__init__(db, "phrases:" + code_version("cluster"), idents,
                         lambda rows, cols: cluster.share_phrase(rows, cols, texts).astype(np.float64))

    def __call__(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return super().__call__(rows, cols) > 0.5


def _components(n: int, edges: list[tuple[float, int, int]]) -> dict[int, tuple[list[int], list]]:
    """Root -> (members in index order, edges in their order) of each connected component of `edges`,
    the root being its smallest member (components in the order of their roots). Labelled by
    scipy's connected_components (a union-find over ~300k edges in Python took ~0.3 s a build)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if not edges:
        return {}
    i = np.fromiter((e[1] for e in edges), dtype=np.int64, count=len(edges))
    j = np.fromiter((e[2] for e in edges), dtype=np.int64, count=len(edges))
    graph = coo_matrix((np.ones(len(edges), dtype=np.int8), (i, j)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    touched = np.zeros(n, dtype=bool)
    touched[i] = touched[j] = True
    members = np.flatnonzero(touched)
    root_of_label = np.full(label.max() + 1, -1, dtype=np.int64)
    root_of_label[label[members[::-1]]] = members[::-1]  # the smallest member of each label wins
    root = root_of_label[label]
    found: dict[int, tuple[list[int], list]] = {}
    for m, r in zip(members.tolist(), root[members].tolist()):
        found.setdefault(r, ([], []))[0].append(m)
    for e, r in zip(edges, root[i].tolist()):
        found[r][1].append(e)
    return found


def build_clusters_cached(db, claims: list[dict], vectors: np.ndarray, vector_keys: list[str],
                          articles: dict[str, dict], threshold: float, mutual_threshold: float,
                          denies: list[bool] | None = None, index=None, frozen_from: int | None = None) -> list[dict]:
    """`cluster.build_clusters`, grouping again only the connected components of the linkage graph
    (the edges `cluster.linkage_edges` gives) that differ from the last build's: a component whose
    claims (by id and embedding input), similarities and edges are all as they were keeps its
    groups. Average linkage merges only along edges, so this is exactly the whole graph's
    grouping. The TF-IDF is the last fit's while the corpus is big and changed little (see
    FROZEN_FROM, REFIT_SHARE): then the result is that of `cluster.group_claims` with those word
    weights, where a build from scratch would fit them on the whole corpus as it is now."""
    from verify import cluster

    frozen_from = FROZEN_FROM if frozen_from is None else frozen_from
    kind = "cluster:" + code_version("cluster")
    settings = [threshold, mutual_threshold, cluster.NEIGHBOURS]
    texts = [c["text"] for c in claims]
    ids = [c["id"] for c in claims]
    raw = store.load_cached(db, kind, ["state"]).get("state")
    state = json.loads(raw) if raw else None
    if state is not None and state.get("settings") != settings:
        state = None
    changed = 0
    if state is not None:
        before = set(state["ids"])
        changed = state["changed"] + len(before.symmetric_difference(ids))
    refit = (state is None or len(claims) < frozen_from or not state["vocabulary"]
             or changed > REFIT_SHARE * state["n_fit"])
    if refit:
        vocabulary, idf, stop_words = lexical_fit(texts)
        idf = [float(x) for x in idf] if idf is not None else []
        model = hashlib.sha256(json.dumps([vocabulary, idf, stop_words]).encode()).hexdigest()[:16]
        state = {"settings": settings, "vocabulary": vocabulary or [], "idf": idf, "stop_words": stop_words or [],
                 "model": model, "n_fit": len(claims), "changed": 0, "components": {}}
    else:
        state["changed"] = changed
    lexical = lexical_rows_cached(db, state, texts)
    sim = cluster.Similarity(vectors, lexical)
    article_of = [c["article_id"] for c in claims]
    idents = [v + text_hash(t) for v, t in zip(vector_keys, texts)]
    similarities = EdgeSimilarities(db, "edges:" + code_version("cluster") + state["model"], idents, sim.pairs)
    phrase_pairs = PhraseBonds(db, idents, texts)
    edges, mean_floor, bonds = cluster.linkage_edges(vectors, sim, threshold, cluster.NEIGHBOURS, article_of,
                                                     mutual_threshold, denies, index, similarities, texts,
                                                     phrase_pairs)
    similarities.save()
    phrase_pairs.save()
    position = {cid: i for i, cid in enumerate(ids)}
    stored = state["components"]
    kept: dict[str, list[list[str]]] = {}
    groups: list[list[int]] = []
    clean: set[int] = set()
    clean_components: set[str] = set()
    dirty_edges = []
    for members, comp_edges in _components(len(claims), edges).values():
        local = {m: n for n, m in enumerate(members)}
        what = [state["model"], settings, [(ids[m], vector_keys[m]) for m in members],
                [(repr(s), local[i], local[j], (i, j) in bonds) for s, i, j in comp_edges]]
        fingerprint = hashlib.sha256(json.dumps(what).encode()).hexdigest()[:24]
        if fingerprint in stored:
            clean_components.add(fingerprint)
            kept[fingerprint] = stored[fingerprint]
            groups += [sorted(position[c] for c in g) for g in stored[fingerprint]]
            clean.update(members)
        else:
            dirty_edges += comp_edges
            kept[fingerprint] = members  # its groups, once known (below)
    dirty_edges.sort(reverse=True)  # the order of the whole graph's edges
    regrouped = cluster.average_linkage(len(claims), dirty_edges, vectors, sim, mean_floor, bonds)
    group_of = {}
    for g in regrouped:
        if g[0] not in clean:
            groups.append(g)
            for m in g:
                group_of[m] = g
    for fingerprint, value in kept.items():
        if value and isinstance(value[0], int):  # a component grouped in this build
            seen, own = set(), []
            for m in value:
                if id(group_of[m]) not in seen:
                    seen.add(id(group_of[m]))
                    own.append([ids[x] for x in group_of[m]])
            kept[fingerprint] = own
    state["components"] = kept
    state["ids"] = ids
    LAST["clusters"] = {"components": len(kept), "regrouped": len(kept) - len(clean_components), "refit": refit}
    if json.dumps(state) != raw:  # a build that changed nothing writes nothing
        store.save_cached(db, kind, {"state": json.dumps(state)}, keep={"state"}, family="cluster:")
    groups.sort(key=lambda g: g[0])
    return cluster.cluster_rows(claims, groups, articles)
