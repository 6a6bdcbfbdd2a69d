"""Kill `verify build` with SIGKILL at random points and check that nothing is lost.

Each round starts `verify build` in a subprocess on a database that already holds a good corpus
and reviews, switching between two corpora (the seeds, and the seeds plus one more article) so
that a build which got as far as its commit visibly changes the corpus. It is killed with
SIGKILL after a random delay: a third of the delays are drawn over the whole (warm) build, a
third over its end, and a third from the end of its conflict stage on, where the corpus
transaction and the report write are. Every third round also writes a review while the build
runs. After each kill:

- the database opens and `PRAGMA integrity_check` says ok;
- the corpus is one of the two good corpora, whole (article and claim counts and the ids of
  claims, clusters and conflicts equal those of a clean build of that corpus), and the last
  build record matches it;
- every review written so far is there, decision and note;
- the folder holds nothing but the database, its WAL files, the lock file and the report, and
  the report, when there, is complete;
- the build lock is free again.

    .venv/bin/python benchmarks/kill_builds.py [--kills 20] [--seed 1]

Exits 1 at the first failed check, naming it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from verify import store  # noqa: E402

VERIFY = Path(sys.executable).with_name("verify")
EXTRA_ARTICLE = (
    "Central bank lifts interest rates again\n"
    "By Jane Doe\n"
    "The central bank raised its main interest rate by half a point on Thursday, officials said.\n"
    "Markets fell sharply after the announcement, with the main index losing more than two percent.\n"
    "Analysts had expected a smaller increase given the slowdown in consumer spending this winter.\n"
)
ALLOWED_FILES = {"verify.db", "verify.db-wal", "verify.db-shm", "verify.db.lock", "index.html"}


def fingerprint(db_path: Path) -> tuple:
    """(articles, claims, digest of claim, cluster and conflict ids, last build's claim count)."""
    conn = sqlite3.connect(db_path)
    try:
        ids = []
        for table in ("articles", "claims", "clusters", "conflicts"):
            ids += [f"{table}:{r[0]}" for r in conn.execute(f"select id from {table} order by id")]
        n_articles = conn.execute("select count(*) from articles").fetchone()[0]
        n_claims = conn.execute("select count(*) from claims").fetchone()[0]
        last = conn.execute("select n_articles, n_claims from builds order by id desc limit 1").fetchone()
    finally:
        conn.close()
    return n_articles, n_claims, hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16], last


def reviews(db_path: Path) -> dict:
    conn = sqlite3.connect(db_path)
    try:
        return {r[0]: (r[1], r[2]) for r in conn.execute("select pair_key, decision, note from reviews")}
    finally:
        conn.close()


def build(paths: list[Path], db_path: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([str(VERIFY), "build", *map(str, paths), "--db", str(db_path), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "CI": "1"})


WRITE_STAGE = "conflicts"  # the last stage before the corpus transaction and the report write


def timed_build(paths: list[Path], db_path: Path, out: Path, marks: dict | None = None) -> float:
    """Seconds a build takes; `marks` gets when WRITE_STAGE finished (its stage line on stderr)."""
    started = time.perf_counter()
    proc = build(paths, db_path, out)
    lines = []
    for line in proc.stderr:
        lines.append(line.decode("utf-8", "replace"))
        if marks is not None and lines[-1].startswith(f"{WRITE_STAGE}: "):
            marks.setdefault("write", time.perf_counter() - started)
    proc.wait()
    if proc.returncode != 0:
        sys.exit(f"kill_builds: a clean build failed: {''.join(lines)[-500:]}")
    return time.perf_counter() - started


def check(condition: bool, what: str) -> None:
    if not condition:
        print(f"FAILED: {what}", flush=True)
        sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    work = Path(tempfile.mkdtemp(prefix="kill-builds-"))
    try:
        extra = work / "extra" / "central-bank.txt"
        extra.parent.mkdir()
        extra.write_text(EXTRA_ARTICLE, encoding="utf-8")
        corpora = {"seeds": [ROOT / "seeds"], "seeds+1": [ROOT / "seeds", extra]}

        # What a clean build of each corpus gives, each in its own folder.
        expected, seconds = {}, {}
        for name, paths in corpora.items():
            folder = work / f"clean-{name}"
            seconds[name] = timed_build(paths, folder / "verify.db", folder)
            expected[name] = fingerprint(folder / "verify.db")
            print(f"clean build of {name}: {expected[name][0]} articles, {expected[name][1]} claims, "
                  f"{seconds[name]:.1f} s", flush=True)
        check(expected["seeds"][:3] != expected["seeds+1"][:3], "the two corpora differ")

        target = work / "db"
        target.mkdir()
        db_path = target / "verify.db"
        timed_build(corpora["seeds+1"], db_path, target)  # every text of both corpora now in the cache
        # A rebuild with the embedding cache warm is what gets killed: time that, both ways.
        writes = {"seeds": {}, "seeds+1": {}}
        seconds["seeds"] = max(timed_build(corpora["seeds"], db_path, target, writes["seeds"]) for _ in range(2))
        seconds["seeds+1"] = max(timed_build(corpora["seeds+1"], db_path, target, writes["seeds+1"]) for _ in range(2))
        timed_build(corpora["seeds"], db_path, target)
        print(f"warm rebuilds: seeds {seconds['seeds']:.1f} s (writing from {writes['seeds']['write']:.1f} s), "
              f"seeds+1 {seconds['seeds+1']:.1f} s (writing from {writes['seeds+1']['write']:.1f} s)", flush=True)
        current = "seeds"
        db = store.open_db(db_path)
        try:
            written = store.conflicts(db)
            check(len(written) >= 3, "the seeds flag at least three conflicts")
            store.review(db, written[0]["id"], "confirmed", "checked against the Kremlin transcript")
            store.review(db, written[1]["id"], "dismissed", "same statement, two translations")
            store.review(db, written[2]["id"], "pending", "ask the desk")
        finally:
            db.conn.close()
        kept = reviews(db_path)

        kills = finished = committed = reviews_during = 0
        reached: Counter = Counter()  # the last stage a killed build had finished
        rounds = 0
        while kills < args.kills:
            rounds += 1
            check(rounds <= args.kills * 3, "too many builds finished before their kill")
            other = "seeds+1" if current == "seeds" else "seeds"
            span = seconds[other]
            # A third of the kills anywhere, a third late, a third around the corpus transaction and
            # the report write (from the end of the conflict stage to the end of the build).
            write_at = writes[other]["write"]
            delay = (rng.uniform(0.05, span * 1.1), rng.uniform(span * 0.6, span * 1.3),
                     rng.uniform(write_at - 0.1, span * 1.05))[rounds % 3]
            proc = build(corpora[other], db_path, target)
            review_now = rounds % 3 == 0
            if review_now:
                time.sleep(min(delay * 0.5, 2.0))
                db = store.open_db(db_path)
                try:
                    pick = rng.choice(store.conflicts(db))
                    store.review(db, pick["id"], rng.choice(["confirmed", "dismissed"]), f"during build {rounds}")
                finally:
                    db.conn.close()
                kept = reviews(db_path)
                reviews_during += 1
                delay = max(0.0, delay - min(delay * 0.5, 2.0))
            time.sleep(delay)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
                how = "killed"
            else:
                finished += 1
                how = f"finished (exit {proc.returncode})"
            stages = [line.split(":")[0] for line in proc.communicate()[1].decode("utf-8", "replace").splitlines()
                      if re.match(r"^[a-z]+: ", line)]
            reached[stages[-1] if stages else "start"] += 1

            # The database opens (the schema is checked and WAL recovered) and is whole.
            db = store.open_db(db_path)
            try:
                check(db.execute("pragma integrity_check").fetchone()[0] == "ok", f"round {rounds}: integrity_check")
            finally:
                db.conn.close()
            now = fingerprint(db_path)
            landed = [name for name, fp in expected.items() if now[:3] == fp[:3]]
            check(len(landed) == 1, f"round {rounds}: the corpus is one of the good ones, whole ({now})")
            check(now[3] == (now[0], now[1]), f"round {rounds}: the last build record matches the corpus")
            if landed[0] != current:
                committed += 1
                current = landed[0]
            check(reviews(db_path) == kept, f"round {rounds}: every review is intact")
            files = set(os.listdir(target))
            check(files <= ALLOWED_FILES, f"round {rounds}: no stray file ({sorted(files - ALLOWED_FILES)})")
            report = target / "index.html"
            check(report.read_text(encoding="utf-8").rstrip().endswith("</html>"), f"round {rounds}: the report is whole")
            with store.build_lock(db_path):
                pass  # the killed build's lock went with it
            print(f"round {rounds:2d}: {how} after {delay:5.2f} s of ~{span:.1f} s, last stage done: "
                  f"{stages[-1] if stages else 'none'}; corpus {current}; "
                  f"{len(kept)} reviews intact; files {sorted(files)}", flush=True)

        # And the next build after all that runs to the end.
        timed_build(corpora["seeds"], db_path, target)
        check(fingerprint(db_path)[:3] == expected["seeds"][:3], "a build after the kills lands the corpus")
        check(reviews(db_path) == kept, "reviews intact after the final build")
        print(f"\n{kills} builds killed with SIGKILL ({finished} finished before their kill), "
              f"{committed} of the rounds had committed their corpus, {reviews_during} reviews written during builds; "
              f"last stage finished before the kill: {dict(reached)}: "
              f"every check passed (integrity, whole corpus, {len(kept)} reviews, no stray file, lock released)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
