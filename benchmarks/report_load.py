"""How fast does the report open for a 10,000-claim corpus?

Builds a database of N claims straight through the store (the FNC-1 test and train bodies as
articles, their sentences as claims, grouped into clusters across 40 origins, with conflicts), writes the report as
`verify build` does (index.html, and above 5,000 claims its pages), and opens it in Debian's
Chromium through Playwright. Prints, from one run: render time, the number of files, the largest
file and the total size, and in the browser for index.html and for the first cluster and article
page: DOMContentLoaded, load, first contentful paint and the time a search takes to apply.
`--one-file` writes everything into index.html instead (the layout before pages).

    .venv/bin/python benchmarks/report_load.py [--claims 10000] [--one-file]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from fnc1_corpus import BODIES as TRAIN_TEST, read_bodies  # noqa: E402

BODIES = TRAIN_TEST[::-1]  # test bodies first
CHROMIUM = "/usr/bin/chromium"


def bodies(n: int):
    """(body text, its sentence spans) from the FNC-1 test and train bodies (the issue's 39k-claim
    corpus: 2,587 articles), read again as new articles when `n` needs more, until n sentences."""
    from verify import segment

    got = 0
    for _ in range(1000):
        for path in BODIES:
            for row in read_bodies(path):
                text = row["articleBody"]
                spans = [(s, e) for s, e in segment.split_sentences(text) if e - s > 40][:n - got]
                if spans:
                    yield text, spans
                    got += len(spans)
                if got >= n:
                    return


def synthetic_db(path: Path, n_claims: int) -> int:
    """Every FNC-1 body an article (its whole text; its sentences of 40+ characters the claims),
    clusters of 1-4 claims across 40 origins, a conflict per 100 claims."""
    from verify import cluster, conflicts, store

    rng = random.Random(0)
    origins = [f"Agency {i}" for i in range(40)]
    articles, claims = [], []
    for a, (text, spans) in enumerate(bodies(n_claims)):
        article_id = f"a{a:06d}"
        origin = rng.choice(origins)
        articles.append({"id": article_id, "path": f"corpus.jsonl#{a}", "title": text[slice(*spans[0])][:80],
                         "outlet": f"Site {rng.randrange(80)}", "origin": origin,
                         "published": f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                         "byline": None, "text": text, "dateline_end": 0})
        for i, (s, e) in enumerate(spans):
            claims.append({"id": f"c{len(claims):06d}", "article_id": article_id, "position": i, "text": text[s:e],
                           "start": s, "end": e, "speaker": rng.choice([None, None, "a spokesman", "the ministry"]), "verb": None})
    origin_of = {a["id"]: a["origin"] for a in articles}
    order = list(range(len(claims)))
    rng.shuffle(order)
    clusters, i = [], 0
    while i < len(order):
        size = rng.choice([1, 1, 1, 1, 2, 2, 3, 4])
        members = [claims[j] for j in order[i:i + size]]
        i += size
        cid = cluster.cluster_id([c["id"] for c in members])
        for c in members:
            c["cluster_id"] = cid
        sources = sorted({origin_of[c["article_id"]] for c in members})
        clusters.append({"id": cid, "status": cluster.status_for(set(sources)), "size": len(members),
                         "n_articles": len({c["article_id"] for c in members}), "n_origins": len(sources),
                         "sources": sources, "label": members[0]["text"]})
    found = []
    for k in range(len(claims) // 100):
        a, b = rng.sample(claims, 2)
        key = conflicts.pair_key(a["text"], b["text"])
        found.append({"id": "x" + key[:11], "claim_a": a["id"], "claim_b": b["id"], "pair_key": key, "kind": "quantity",
                      "score": 0.7, "explanation": "synthetic", "cues": {"a": [], "b": []}, "attribution": "outlets"})
    with store.build_lock(path), store.opened(path) as db:
        store.replace_corpus(db, articles, claims, clusters, found,
                             build={"seconds": 0.0, "model": "synthetic", "paths": "synthetic", "n_articles": len(articles),
                                    "n_claims": len(claims), "n_clusters": len(clusters), "n_encoded": 0})
    return len(claims)  # at most the test bodies' sentences (some 39,000)


def measure(report: Path, search: bool = True) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        started = time.perf_counter()
        page.goto(report.resolve().as_uri(), wait_until="load")
        wall = time.perf_counter() - started
        page.wait_for_function("performance.getEntriesByName('first-contentful-paint').length > 0", timeout=5000)
        timing = page.evaluate("""() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const fcp = performance.getEntriesByName('first-contentful-paint')[0];
            return {dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd, fcp: fcp ? fcp.startTime : null};
        }""")
        search_started = time.perf_counter()
        page.fill("#q", "police")
        page.press("#q", "Enter")
        page.wait_for_function("document.getElementById('shown').textContent.length > 0")
        timing["search_ms"] = (time.perf_counter() - search_started) * 1000
        timing["wall_ms"] = wall * 1000
        browser.close()
    return timing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=10000)
    parser.add_argument("--one-file", action="store_true", help="everything in index.html (the layout before pages)")
    args = parser.parse_args()
    from verify import report

    options = {"single_file_claims": 10 ** 12} if args.one_file else {}
    with tempfile.TemporaryDirectory(prefix="verify-report-") as tmp:
        work = Path(tmp)
        n_claims = synthetic_db(work / "v.db", args.claims)
        started = time.perf_counter()
        out = report.write_report(work / "v.db", work / "index.html", **options)
        render = time.perf_counter() - started
        files = report.report_files(out)
        sizes = [f.stat().st_size / 1e6 for f in files]
        largest = max(files, key=lambda f: f.stat().st_size)
        opened = [("index.html", out)]
        for kind in ("clusters", "articles"):
            first = next((f for f in files if f.name == f"{kind}-001.html"), None)
            if first:
                opened.append((f"{kind}-001.html", first))
        timings = [(name, f.stat().st_size / 1e6, measure(f)) for name, f in opened]
    print(f"{n_claims} claims: render {render:.1f} s, {len(files)} files, largest {max(sizes):.2f} MB "
          f"({largest.name}), total {sum(sizes):.1f} MB")
    print(f"{'page':>18} {'size MB':>7} {'DOMContentLoaded ms':>19} {'load ms':>8} {'first paint ms':>14} "
          f"{'search ms':>9} {'goto wall ms':>12}")
    for name, size, t in timings:
        print(f"{name:>18} {size:>7.2f} {t['dcl']:>19.0f} {t['load']:>8.0f} {t['fcp'] or 0:>14.0f} "
              f"{t['search_ms']:>9.0f} {t['wall_ms']:>12.0f}")


if __name__ == "__main__":
    main()
