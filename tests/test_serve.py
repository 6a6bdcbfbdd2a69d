"""`verify serve` without a browser: who may write (Host, CSRF token, origin), what a review and an
undo write, the error rate, timelines, `verify stats`, and one build at a time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from starlette.testclient import TestClient

from cli_helpers import ok, ok_json, run
from conftest import SEEDS, open_store
from serve_helpers import copy_db
from verify import conflicts as conflict_rules
from verify import pipeline, serve, stats, store

PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
TOKEN = "test-token-0123456789"
GOOD = {"X-CSRF-Token": TOKEN, "Origin": BASE}


@pytest.fixture
def served(seed_build, tmp_path):
    path = copy_db(seed_build["db"], tmp_path / "db" / "verify.db")
    client = TestClient(serve.create_app(path, "127.0.0.1", PORT, token=TOKEN), base_url=BASE)
    return {"db": path, "client": client}


def reviews_of(path) -> dict:
    db = open_store(path)
    try:
        return {r["pair_key"]: (r["decision"], r["note"]) for r in db.query("select * from reviews")}
    finally:
        db.conn.close()


def first_conflicts(path, n=3) -> list[dict]:
    db = open_store(path)
    try:
        return store.conflicts(db)[:n]
    finally:
        db.conn.close()


# ---------------------------------------------------------------------------
# Who may write
# ---------------------------------------------------------------------------


def test_page_carries_token_controls_and_a_strict_policy(served):
    response = served["client"].get("/")
    assert response.status_code == 200
    html = response.text
    assert f'<meta name="verify-csrf" content="{TOKEN}">' in html
    assert html.count('class="review-controls"') == len(first_conflicts(served["db"], 1000)) > 0
    assert 'id="queue"' in html and 'id="stats"' in html and 'id="f-review"' in html
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy and "frame-ancestors 'none'" in policy
    script_hash = policy.split("script-src '")[1].split("'")[0]
    assert script_hash in html  # the page's meta policy pins the same script
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    for remote in ("http://", "https://", "//cdn"):
        assert f'src="{remote}' not in html and f'href="{remote}' not in html


def test_a_good_write_lands(served):
    x = first_conflicts(served["db"], 1)[0]
    response = served["client"].post("/api/review", json={"id": x["id"], "decision": "confirmed", "note": " checked "},
                                     headers=GOOD)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["conflict"] == {**body["conflict"], "id": x["id"], "review": "confirmed", "note": "checked"}
    assert reviews_of(served["db"])[x["pair_key"]] == ("confirmed", "checked")
    assert set(body["counts"]) == {"conflicting", "corroborated", "single-source", "to-review"}
    assert body["stats"]["total"]["confirmed"] == 1


@pytest.mark.parametrize("headers, status", [
    ({"Origin": BASE}, 403),                                               # no token
    ({"X-CSRF-Token": "wrong", "Origin": BASE}, 403),                      # wrong token
    ({"X-CSRF-Token": TOKEN, "Origin": "http://evil.example"}, 403),      # another origin
    ({"X-CSRF-Token": TOKEN, "Origin": f"http://localhost:{PORT + 1}"}, 403),  # another port is another origin
    ({"X-CSRF-Token": TOKEN}, 403),                                        # neither Origin nor Sec-Fetch-Site
    ({"X-CSRF-Token": TOKEN, "Sec-Fetch-Site": "cross-site"}, 403),
    ({"X-CSRF-Token": TOKEN, "Origin": BASE, "Sec-Fetch-Site": "same-site"}, 403),
    ({**GOOD, "Host": "evil.example"}, 400),                               # DNS rebinding: a foreign Host
    ({**GOOD, "Host": f"attacker.example:{PORT}"}, 400),
    ({**GOOD, "Host": "127.0.0.1:9"}, 400),                                # right name, wrong port
])
def test_bad_writes_are_refused_and_change_nothing(served, headers, status):
    x = first_conflicts(served["db"], 1)[0]
    before = reviews_of(served["db"])
    response = served["client"].post("/api/review", json={"id": x["id"], "decision": "dismissed"}, headers=headers)
    assert response.status_code == status, response.text
    assert "refused" in response.text
    assert reviews_of(served["db"]) == before


def test_only_json_is_accepted(served):
    x = first_conflicts(served["db"], 1)[0]
    # What a plain HTML form on another page could send, even with a stolen token.
    response = served["client"].post("/api/review", content=f"id={x['id']}&decision=dismissed",
                                     headers={**GOOD, "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415
    assert reviews_of(served["db"]) == {}


def test_a_same_origin_request_without_origin_header_is_let_through(served):
    x = first_conflicts(served["db"], 1)[0]
    response = served["client"].post("/api/review", json={"id": x["id"], "decision": "dismissed"},
                                     headers={"X-CSRF-Token": TOKEN, "Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 200


@pytest.mark.parametrize("host", [f"localhost:{PORT}", f"127.0.0.1:{PORT}"])
def test_reads_answer_to_local_names_only(served, host):
    assert served["client"].get("/", headers={"Host": host}).status_code == 200
    assert served["client"].get("/", headers={"Host": "rebound.example.com"}).status_code == 400
    assert served["client"].get("/api/state", headers={"Host": f"rebound.example.com:{PORT}"}).status_code == 400


@pytest.mark.parametrize("body, status", [
    ({"id": "", "decision": "confirmed"}, 400),
    ({"id": "x", "decision": "maybe"}, 400),
    ({"id": "nosuchconflict", "decision": "confirmed"}, 404),
    ({"id": "x", "decision": "confirmed", "note": 5}, 400),
])
def test_bad_bodies_are_answered_with_what_is_wrong(served, body, status):
    response = served["client"].post("/api/review", json=body, headers=GOOD)
    assert response.status_code == status
    assert response.json()["error"]
    assert served["client"].post("/api/review", content="{not json", headers={**GOOD, "Content-Type": "application/json"}).status_code == 400


def test_hosts_and_warning():
    assert serve.is_loopback("127.0.0.1") and serve.is_loopback("localhost") and serve.is_loopback("::1")
    assert not serve.is_loopback("0.0.0.0") and not serve.is_loopback("192.168.1.4")
    assert serve.allowed_hosts("127.0.0.1", 8000) == {"127.0.0.1:8000", "localhost:8000"}
    assert serve.exposure_warning("127.0.0.1") is None
    assert "0.0.0.0" in serve.exposure_warning("0.0.0.0")


def test_cli_serve_warns_off_loopback_and_hands_over(runner, db, monkeypatch):
    calls = []
    monkeypatch.setattr(serve, "run", lambda *args, **kw: calls.append(args))
    result = ok(runner, "serve", "--db", db, "--host", "0.0.0.0", "--port", "8123")
    assert "warning: serving on 0.0.0.0" in result.stderr
    assert calls == [(__import__("pathlib").Path(db), "0.0.0.0", 8123)]
    result = ok(runner, "serve", "--db", db)
    assert "warning" not in result.stderr
    assert calls[-1][1:] == ("127.0.0.1", 8000)


def test_cli_serve_without_database_says_so(runner, tmp_path):
    result = run(runner, "serve", "--db", tmp_path / "none.db")
    assert result.exit_code == 1
    assert "none.db: no database here" in result.stderr


# ---------------------------------------------------------------------------
# Reviews, notes and undo
# ---------------------------------------------------------------------------


def test_undo_walks_back_decisions_and_notes(served):
    x = first_conflicts(served["db"], 1)[0]
    post = lambda path, body: served["client"].post(path, json=body, headers=GOOD)
    assert post("/api/review", {"id": x["id"], "decision": "pending", "note": "look again"}).json()["conflict"]["review"] == "pending"
    assert post("/api/review", {"id": x["id"], "decision": "confirmed", "note": "look again"}).status_code == 200
    assert post("/api/review", {"id": x["id"], "decision": "dismissed", "note": "not a denial"}).status_code == 200
    assert reviews_of(served["db"])[x["pair_key"]] == ("dismissed", "not a denial")
    undone = post("/api/undo", {"id": x["id"]}).json()["conflict"]
    assert (undone["review"], undone["note"]) == ("confirmed", "look again")
    undone = post("/api/undo", {"id": x["id"]}).json()["conflict"]
    assert (undone["review"], undone["note"]) == ("pending", "look again")
    undone = post("/api/undo", {"id": x["id"]}).json()["conflict"]
    assert (undone["review"], undone["note"]) == ("pending", None)
    assert x["pair_key"] not in reviews_of(served["db"])  # back to never reviewed
    response = post("/api/undo", {"id": x["id"]})
    assert response.status_code == 404 and "no review to undo" in response.json()["error"]


def test_dismiss_moves_counts_and_clusters(served):
    x = first_conflicts(served["db"], 1)[0]
    before = served["client"].get("/api/state").json()
    body = served["client"].post("/api/review", json={"id": x["id"], "decision": "dismissed"}, headers=GOOD).json()
    pending_before = sum(1 for c in before["conflicts"] if c["review"] == "pending")
    assert body["counts"]["to-review"] == pending_before - 1
    db = open_store(served["db"])
    try:
        for cluster_id, status in body["clusters"].items():
            assert store.cluster(db, cluster_id)["status"] == status
    finally:
        db.conn.close()


# ---------------------------------------------------------------------------
# The error rate
# ---------------------------------------------------------------------------


def synthetic_db(path, scores_and_kinds):
    """A database with one conflict per (score, kind), between claims of two made-up articles."""
    articles = [{"id": f"a{i}", "path": f"a{i}.txt", "title": f"A{i}", "outlet": f"Outlet {i}", "origin": f"Origin {i}",
                 "published": None, "byline": None, "text": "x" * 10, "dateline_end": 0} for i in (0, 1)]
    claims, conflicts, clusters = [], [], []
    for n, (score, kind) in enumerate(scores_and_kinds):
        a, b = f"c{n}a", f"c{n}b"
        for cid, article, text in ((a, "a0", f"claim {n} is so"), (b, "a1", f"claim {n} is not so")):
            claims.append({"id": cid, "article_id": article, "position": n, "text": text, "start": 0, "end": 1,
                           "speaker": None, "verb": None, "cluster_id": f"k{cid}"})
            clusters.append({"id": f"k{cid}", "status": "single-source", "size": 1, "n_articles": 1, "n_origins": 1,
                             "sources": [f"Origin {article[-1]}"], "label": text})
        key = conflict_rules.pair_key(f"claim {n} is so", f"claim {n} is not so")
        conflicts.append({"id": f"x{n:03d}", "claim_a": a, "claim_b": b, "pair_key": key, "kind": kind, "score": score,
                          "explanation": "made up", "cues": {}, "attribution": "outlets"})
    with store.opened(path) as db:
        store.replace_corpus(db, articles, claims, clusters, conflicts)
    return path


def test_error_rate_by_kind_and_band_and_the_suggested_threshold(tmp_path):
    scores = [(0.95, "denial")] * 6 + [(0.8, "quantity")] * 4 + [(0.6, "denial")] * 5 + [(0.3, "date")] * 2
    path = synthetic_db(tmp_path / "s.db", scores)
    db = open_store(path)
    try:
        assert stats.error_rate(db)["suggestion"]["threshold"] is None
        assert "not enough reviews" in stats.error_rate(db)["suggestion"]["text"]
        # Above 0.7: 9 of the 10 confirmed; 0.5-0.7: mostly dismissed; one left pending.
        for n in range(6):
            store.review(db, f"x{n:03d}", "confirmed")
        for n in range(6, 10):
            store.review(db, f"x{n:03d}", "confirmed" if n != 9 else "dismissed")
        for n in range(10, 14):
            store.review(db, f"x{n:03d}", "dismissed")
        store.review(db, "x015", "confirmed", "a date conflict that is real")
        result = stats.error_rate(db)
    finally:
        db.conn.close()
    kinds = {r["label"]: r for r in result["by_kind"]}
    assert (kinds["denial"]["confirmed"], kinds["denial"]["dismissed"], kinds["denial"]["pending"]) == (6, 4, 1)
    assert (kinds["quantity"]["confirmed"], kinds["quantity"]["dismissed"]) == (3, 1)
    assert (kinds["date"]["confirmed"], kinds["date"]["pending"]) == (1, 1)
    bands = {r["label"]: r for r in result["by_band"]}
    assert list(bands) == ["0.0-0.5", "0.5-0.7", "0.7-0.9", "0.9-1.0"]
    assert (bands["0.9-1.0"]["confirmed"], bands["0.7-0.9"]["confirmed"], bands["0.7-0.9"]["dismissed"]) == (6, 3, 1)
    assert (bands["0.5-0.7"]["dismissed"], bands["0.5-0.7"]["pending"], bands["0.0-0.5"]["confirmed"]) == (4, 1, 1)
    assert result["suggestion"]["threshold"] == 0.7
    assert result["suggestion"]["text"].startswith("above 0.7, 9 of 10 were confirmed")


def test_verify_stats_prints_the_error_rate_by_kind(runner, tmp_path):
    path = synthetic_db(tmp_path / "s.db", [(0.9, "denial"), (0.6, "quantity")])
    db = open_store(path)
    store.review(db, "x000", "confirmed")
    store.review(db, "x001", "dismissed")
    db.conn.close()
    text = ok(runner, "stats", "--db", path).stdout
    assert "flagged conflicts by kind" in text and "flagged conflicts by score band" in text
    assert "denial" in text and "quantity" in text and "1 of 1 (100%)" in text and "0 of 1 (0%)" in text
    assert "not enough reviews" in text
    data = ok_json(runner, "stats", "--db", path)
    assert {r["label"]: (r["confirmed"], r["dismissed"]) for r in data["by_kind"]} == {"denial": (1, 0), "quantity": (0, 1)}


def test_the_static_report_shows_the_error_rate(seed_build):
    html = seed_build["report"].read_text(encoding="utf-8")
    assert '<section id="stats">' in html and "How often the flags were right" in html
    assert 'data-stats-row="kind:denial"' in html and 'data-stats-row="band:0.9-1.0"' in html
    assert 'class="review-controls"' not in html and "verify-csrf" not in html  # the static report stays static
    assert "connect-src 'none'" in html


# ---------------------------------------------------------------------------
# Timelines
# ---------------------------------------------------------------------------


def test_timeline_orders_origins_then_conflicts_by_date(seed_db, runner, db):
    timelines = store.timelines(seed_db)
    conflicting = [k for k in store.clusters(seed_db, "conflicting")]
    assert conflicting
    for k in conflicting:
        events = timelines[k["id"]]
        carried = [e for e in events if e["type"] == "carried"]
        assert {e["origin"] for e in carried} == {store.origin_name(c["origin"], c["path"]) for c in store.cluster(seed_db, k["id"])["claims"]}
        assert any(e["type"] in ("conflict", "denial") for e in events)
        whens = [e["when"] for e in events]
        assert all(whens) and whens == sorted(whens)
        for e in events:
            assert e["dated_by"] in ("published", "first seen by a build")
    # Dated by the article where it has a date; by the build's first sight where it has none.
    reuters = [e for k in conflicting for e in timelines[k["id"]] if e["type"] == "carried" and e["origin"] == "Reuters"]
    assert reuters and all(e["when"] == "2023-11-14" and e["dated_by"] == "published" for e in reuters)
    first_build = seed_db.execute("select min(started_at) from builds").fetchone()[0]
    undated = [e for k in conflicting for e in timelines[k["id"]] if e["dated_by"] == "first seen by a build"]
    assert undated and all(e["when"] <= first_build for e in undated)

    k = conflicting[0]
    text = ok(runner, "show", k["id"], "--db", db).stdout
    assert "timeline:" in text
    assert text.split("timeline:")[1].count("first carries it") == len([e for e in timelines[k["id"]] if e["type"] == "carried"])
    assert ok_json(runner, "show", k["id"], "--db", db)["timeline"] == json.loads(json.dumps(timelines[k["id"]]))


def test_first_sight_is_kept_across_rebuilds(seed_build, tmp_path):
    path = copy_db(seed_build["db"], tmp_path / "v.db")
    db = open_store(path)
    before = {r["content_hash"]: r["first_seen"] for r in db.query("select * from claim_sightings")}
    db.conn.close()
    assert len(before) > 50
    time.sleep(1.1)  # a later build has a later clock
    pipeline.build([SEEDS], path, None)
    db = open_store(path)
    after = {r["content_hash"]: r["first_seen"] for r in db.query("select * from claim_sightings")}
    db.conn.close()
    assert after == before


# ---------------------------------------------------------------------------
# One build at a time; killed builds
# ---------------------------------------------------------------------------


def test_a_second_build_is_refused_with_one_line(runner, seed_build, tmp_path):
    path = copy_db(seed_build["db"], tmp_path / "v.db")
    with store.build_lock(path):
        with pytest.raises(store.BuildLocked) as refused:
            pipeline.build([SEEDS], path, None)
        assert f"another `verify build` (pid {os.getpid()})" in str(refused.value)
        result = run(runner, "build", SEEDS, "--db", path, "--out", tmp_path / "out")
        assert result.exit_code == 1
        refusals = [line for line in result.stderr.splitlines() if line.startswith("verify: ")]
        assert len(refusals) == 1 and "is building this database; wait for it to finish" in refusals[0]
    with store.build_lock(path):  # released with the block
        pass


def test_a_killed_lock_holder_blocks_nobody(tmp_path):
    path = tmp_path / "v.db"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from verify import store
        with store.build_lock({str(path)!r}):
            print("locked", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(store.BuildLocked):
            with store.build_lock(path):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with store.build_lock(path):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.db.lock"]


KILL_IN_TRANSACTION = """
import os, signal, sys
from verify import pipeline, store
real = store.refresh_statuses
def die(db):
    real(db)  # the new corpus is all written, the transaction not yet committed
    os.kill(os.getpid(), signal.SIGKILL)
store.refresh_statuses = die
pipeline.build([sys.argv[1], sys.argv[2]], sys.argv[3], sys.argv[4])
"""


def test_a_build_killed_inside_its_corpus_transaction_leaves_the_last_good_corpus(seed_build, tmp_path, make_file):
    path = copy_db(seed_build["db"], tmp_path / "db" / "verify.db")
    db = open_store(path)
    x = store.conflicts(db)[0]
    store.review(db, x["id"], "confirmed", "kept through a kill")
    before = store.export(db)
    db.conn.close()
    extra = make_file("extra.txt", "Central bank lifts interest rates again\n"
                      "The central bank raised its main interest rate by half a point on Thursday, officials said.\n")
    killed = subprocess.run([sys.executable, "-c", KILL_IN_TRANSACTION, str(SEEDS), str(extra), str(path),
                             str(tmp_path / "db")], capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert set(os.listdir(path.parent)) <= {"verify.db", "verify.db-wal", "verify.db-shm", "verify.db.lock"}
    db = open_store(path)
    try:
        assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
        assert store.export(db) == before  # not one article of the new corpus
        assert store.conflicts(db, ids=[x["id"]])[0]["note"] == "kept through a kill"
    finally:
        db.conn.close()
    with store.build_lock(path):
        pass
