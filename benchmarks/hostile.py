"""Hostile and huge input beside real articles: does `verify build` still build them, in time?

Writes into a temporary folder a copy of the seeds, a .txt of SIZE MB of repeated, varied
sentences (the careless export of issue 11) and an HTML page whose article sits inside 20,000
nested <div>s; runs `verify build` on the folder in a subprocess as CI does (CI=true, stderr a
pipe) and prints: the build's wall time, the claims each seed and the nested page got, the
line printed for the big file, and the stage lines (so a silent build shows as one).

    .venv/bin/python benchmarks/hostile.py [--size-mb 35] [--keep]

Done when (issue 11): under 60 s with every seed built.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
TARGET_SECONDS = 60

SUBJECTS = ["The minister", "A spokesman for the ministry", "Officials in Seoul", "The agency", "Analysts",
            "The committee", "Local police", "The company"]
VERBS = ["said on Tuesday that", "told reporters that", "announced that", "confirmed that", "warned that"]
OBJECTS = ["the shipments had resumed", "prices rose by 4 percent in March", "the talks would continue next week",
           "three people were injured in the blast", "the bridge will reopen in June",
           "the budget was cut by a third", "no agreement had been reached", "the border crossing was closed overnight"]
NESTED_PARAGRAPHS = [
    "The defence ministry said on Tuesday that the two countries had agreed to hold joint drills next month.",
    "Officials in Seoul confirmed that talks between the ministers would continue later this week in Tokyo.",
    "Analysts said the agreement marked a shift in the region after years of tension over the border.",
]


def repeated_text(path: Path, n_bytes: int) -> None:
    """Paragraphs of two to six sentences drawn from 320 distinct ones, up to `n_bytes`."""
    rng = random.Random(11)
    with path.open("w", encoding="utf-8") as out:
        written = 0
        while written < n_bytes:
            paragraph = " ".join(f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}."
                                 for _ in range(rng.randint(2, 6))) + "\n\n"
            out.write(paragraph)
            written += len(paragraph)


def nested_page(path: Path, depth: int = 20_000) -> None:
    body = "".join(f"<p>{p}</p>\n" for p in NESTED_PARAGRAPHS)
    path.write_text("<!doctype html><html><head><title>Ministers agree on joint drills</title></head><body>"
                    + "<div>" * depth + body + "</div>" * depth + "</body></html>", encoding="utf-8")


def verify_command() -> list[str]:
    script = Path(sys.executable).with_name("verify")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from verify.cli import main; main()"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=35.0, help="size of the big .txt file (default 35)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and print where it is")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="verify-hostile-"))
    try:
        folder = base / "in"
        shutil.copytree(SEEDS, folder)
        big, nested = folder / "huge-export.txt", folder / "nested-20000-divs.html"
        repeated_text(big, int(args.size_mb * 1_000_000))
        nested_page(nested)
        db, out = base / "verify.db", base / "report"

        started = time.perf_counter()
        proc = subprocess.run([*verify_command(), "build", str(folder), "--db", str(db), "--out", str(out)],
                              cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              env={**os.environ, "CI": "true"}, timeout=900)
        seconds = time.perf_counter() - started

        claims: dict[str, int] = {}
        if db.exists():
            with sqlite3.connect(db) as conn:
                claims = dict(conn.execute("select articles.path, count(claims.id) from articles "
                                           "left join claims on claims.article_id = articles.id group by articles.path"))
        seed_names = sorted(p.name for p in SEEDS.iterdir() if p.is_file())
        per_seed = {name: claims.get(str(folder / name), 0) for name in seed_names}
        big_lines = [line for line in proc.stderr.splitlines() if big.name in line]
        stage_lines = [line for line in proc.stderr.splitlines() if not line.startswith("verify:")]

        print(f"big file: {big.name}, {big.stat().st_size / 1e6:.1f} MB; exit code {proc.returncode}")
        print(f"wall time: {seconds:.1f}s (target < {TARGET_SECONDS}s)")
        print("seeds built: " + ", ".join(f"{name} {n} claims" for name, n in per_seed.items()))
        print(f"nested page ({nested.name}): {claims.get(str(nested), 0)} claims")
        print("message for the big file: " + (" | ".join(big_lines) or "(none)"))
        print("stage lines:")
        for line in stage_lines:
            print(f"  {line}")
        for line in proc.stdout.splitlines():
            print(f"  {line}")
        ok = proc.returncode == 0 and seconds < TARGET_SECONDS and all(per_seed.values())
        print("DONE: built in time with every seed" if ok else "NOT DONE")
        if args.keep:
            print(f"kept: {base}")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
