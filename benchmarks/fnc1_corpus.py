"""The FNC-1 bodies as a news corpus, and builds measured in a fresh process: shared by the
benchmarks (incremental.py, scale.py, report_load.py).

  body_rows()        the FNC-1 train + competition test bodies, one article row a body;
  reworded_copies()  more articles made from them: reworded wire copies, the near-duplicates
                     a real news corpus is full of (see its docstring);
  run_build()        `pipeline.build` in a fresh process: seconds, per-stage seconds, claims,
                     texts encoded, peak RSS (ru_maxrss) of that process and its value at
                     each stage's end (`peak_mb_after`: the stage where it jumps set the peak);
  run_child()        any other measuring child (code given as a string), its last stdout line
                     read as JSON.
"""

from __future__ import annotations

import csv
import json
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterable, Iterator

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
BODIES = (SHARED / "datasets" / "fnc1-train" / "train_bodies.csv",
          SHARED / "benchmarks" / "fnc1" / "competition_test_bodies.csv")
STORIES = SHARED / "stories"

BUILD_CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from verify import pipeline
stages, last = {"import": round(time.perf_counter() - t0, 1)}, [time.perf_counter()]
peak = lambda: round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
rss = {"import": peak()}  # the peak so far at each stage's end: the stage where it jumps set it
def tick(stage, done, total):
    if done == total:
        now = time.perf_counter(); stages[stage] = round(now - last[0], 1); last[0] = now; rss[stage] = peak()
backend, db, out_dir = sys.argv[1] or None, sys.argv[2], sys.argv[3] or None
result = pipeline.build(sys.argv[4:], db, out_dir, backend=backend, progress=tick)
# what follows the last stage: the corpus transaction (and the report when out_dir is given)
stages["store" if out_dir is None else "store+report"] = round(time.perf_counter() - last[0], 1)
try:  # what an incremental build computed again (verify/incremental.py)
    from verify.incremental import LAST
    redone = {"analysed": LAST.get("analyses", {}).get("computed"),
              "pairs": f"{LAST.get('conflicts', {}).get('scored')}/{LAST.get('conflicts', {}).get('pairs')}",
              "components": f"{LAST.get('clusters', {}).get('regrouped')}/{LAST.get('clusters', {}).get('components')}",
              "tfidf_refit": LAST.get("clusters", {}).get("refit")}
except ImportError:
    redone = None
print(json.dumps({"seconds": time.perf_counter() - t0, "claims": result.n_claims, "articles": result.n_articles,
                  "encoded": result.n_encoded, "clusters": result.n_clusters, "conflicts": result.n_conflicts,
                  "stages": stages, "peak_mb_after": rss, "redone": redone,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def read_bodies(path: Path) -> Iterator[dict]:
    """The rows of one FNC-1 bodies CSV (`Body ID`, `articleBody`)."""
    csv.field_size_limit(1 << 30)
    if not path.is_file():
        sys.exit(f"{path}: not found (the FNC-1 data sits in ../shared)")
    with path.open(encoding="utf-8") as f:
        yield from csv.DictReader(f)


def body_rows(paths: Iterable[Path] = BODIES) -> list[dict]:
    """One corpus row ({"id", "text"}) a body, train then test (2,587 articles, ~39k claims)."""
    return [{"id": f"{path.stem}-{r['Body ID']}", "text": r["articleBody"]} for path in paths for r in read_bodies(path)]


def story_rows() -> list[dict]:
    """The articles of the development stories (../shared/stories/*/articles.jsonl): real news
    the FNC-1 bodies do not hold, in a fixed order."""
    rows = []
    for path in sorted(STORIES.glob("*/articles.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def write_jsonl(path: Path, rows: Iterable[dict]) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    return path


def run_child(code: str, *args: str) -> dict:
    """Run `code` in a fresh Python process (cwd: the repository); its last stdout line is JSON."""
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"benchmark child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_build(db: Path, paths: list[Path], backend: str | None = None, out_dir: Path | None = None) -> dict:
    """`pipeline.build(paths, db, out_dir)` in a fresh process, as a user runs `verify build`."""
    return run_child(BUILD_CHILD, backend or "", str(db), str(out_dir or ""), *map(str, paths))


# -- reworded wire copies ---------------------------------------------------------------------

AGENCIES = ("Reuters", "AP", "AFP")
AGENCY_NAMES = {"Reuters": ("Reuters",), "AP": ("AP", "the Associated Press"), "AFP": ("AFP", "Agence France-Presse")}
CITIES = ("LONDON", "WASHINGTON", "NEW YORK", "PARIS", "BEIRUT", "MOSCOW", "CAIRO", "SYDNEY", "TOKYO", "BERLIN",
          "BAGHDAD", "LOS ANGELES", "NEW DELHI", "MEXICO CITY", "JOHANNESBURG")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
_NUMBER = re.compile(r"(?<![\w.])\d+(?![\w])")
_WEEKDAY = re.compile(r"\b(" + "|".join(WEEKDAYS) + r")\b")
_MONTH = re.compile(r"\b(" + "|".join(MONTHS) + r")\b")


def _changed_number(m: re.Match, rng: random.Random) -> str:
    digits = m.group(0)
    value = int(digits)
    if len(digits) == 4 and 1900 <= value <= 2099:
        return str(value + rng.choice((-1, 1)))  # a year: 2014 -> 2015
    if value == 0 or digits.startswith("0"):
        return digits  # "000" of "1,000", "07": left alone
    step = max(1, round(value * rng.uniform(0.05, 0.3)))
    return str(max(1, value + rng.choice((-1, 1)) * step))  # 12 -> 14, 300 -> 260


def _reworded_sentence(sentence: str, rng: random.Random) -> str:
    """Numbers and dates of one sentence changed, each kind with some probability."""
    if rng.random() < 0.5:
        sentence = _NUMBER.sub(lambda m: _changed_number(m, rng), sentence)
    if rng.random() < 0.5:
        sentence = _WEEKDAY.sub(lambda m: WEEKDAYS[(WEEKDAYS.index(m.group(1)) + 1) % 7], sentence)
    if rng.random() < 0.2:
        sentence = _MONTH.sub(lambda m: MONTHS[(MONTHS.index(m.group(1)) + rng.choice((-1, 1))) % 12], sentence)
    return sentence


def _attributed(sentence: str, agency: str, rng: random.Random) -> str:
    """'X happened.' -> 'X happened, Reuters reported.' / ', according to AP.' / ', AFP said.'"""
    if not sentence.endswith(".") or sentence.endswith(("..", "\u2026")):
        return sentence
    name = rng.choice(AGENCY_NAMES[agency])
    tail = rng.choice((f", {name} reported.", f", according to {name}.", f", {name} said."))
    return sentence[:-1] + tail


def _sentences(text: str) -> list[str]:
    from verify import segment

    return [text[s:e] for s, e in segment.split_sentences(text)]


def estimated_claims(sentences: list[str]) -> int:
    """The claims `verify build` finds in an article of these sentences, one a paragraph:
    the distinct ones that pass `segment.is_claim` (datelines aside, its own rule)."""
    from verify import segment

    return len({s for s in sentences if segment.is_claim(s, True)})


def reworded_copies(rows: list[dict], n_claims: int, seed: int = 0, prefix: str = "copy") -> Iterator[dict]:
    """Articles made from `rows` (the FNC-1 bodies) as a wire service's copy is reprinted and
    rewritten, until they hold about `n_claims` claims together; deterministic for a seed.

    Each copy takes a body chosen at random, split into its sentences (`segment.split_sentences`,
    pysbd as the build does), and:
      * reorders some: one to three swaps of neighbouring sentences after the lead, and at times
        the lead moved down one or two places; at times the last 10-40 % cut (a shortened reprint);
      * changes numbers and dates in about half of its sentences that hold them: a year by one
        (2014 -> 2015), other numbers by 5-30 % (12 -> 14), a weekday to the next (Monday ->
        Tuesday), now and then a month to its neighbour;
      * adds attribution to one to three sentences ("..., Reuters reported.", "..., according to
        the Associated Press.", "..., AFP said.");
      * four in ten start with a wire dateline ("LONDON (Reuters) - "), which credits the agency;
      * gets an outlet ("Site 17", 200 of them) and one sentence a paragraph.
    So most sentences of a copy are the body's own or near it: the near-duplicates the clustering
    must join and the conflict search must tell apart (a changed number is a quantity conflict).
    The claim count is estimated as the build would count it (`estimated_claims`)."""
    rng = random.Random(seed)
    split: dict[int, list[str]] = {}
    made, k = 0, 0
    while made < n_claims and rows:
        i = rng.randrange(len(rows))
        if i not in split:
            split[i] = _sentences(rows[i]["text"])
        sentences = list(split[i])
        if len(sentences) < 2:
            continue
        agency = rng.choice(AGENCIES)
        if rng.random() < 0.3 and len(sentences) > 4:
            keep = max(3, round(len(sentences) * (1 - rng.uniform(0.1, 0.4))))
            sentences = sentences[:keep]
        for _ in range(rng.randint(1, 3) if len(sentences) > 2 else 0):
            j = rng.randrange(1, len(sentences) - 1)
            sentences[j], sentences[j + 1] = sentences[j + 1], sentences[j]
        if rng.random() < 0.2:
            sentences.insert(rng.randint(1, min(2, len(sentences) - 1)), sentences.pop(0))
        sentences = [_reworded_sentence(s, rng) if any(ch.isdigit() for ch in s) or _WEEKDAY.search(s) else s
                     for s in sentences]
        for j in rng.sample(range(len(sentences)), min(len(sentences), rng.randint(1, 3))):
            sentences[j] = _attributed(sentences[j], agency, rng)
        text = "\n\n".join(sentences)
        if rng.random() < 0.4:
            text = f"{rng.choice(CITIES)} ({agency}) - {text}"
        made += estimated_claims(sentences)
        k += 1
        yield {"id": f"{prefix}-{k:06d}-{rows[i]['id']}", "outlet": f"Site {rng.randrange(200)}", "text": text}
