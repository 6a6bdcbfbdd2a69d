"""The `verify` command through typer's CliRunner, against the seed database."""

from __future__ import annotations

import csv
import io
import json

import pytest

from conftest import GOOD_ARTICLE, MAVERICK, open_store
from verify import store
from cli_helpers import ok, ok_json, run
from verify.cli import app

ARTICLE_KEYS = {"id", "path", "title", "outlet", "origin", "published", "byline"}
CLAIM_KEYS = {"id", "article_id", "text", "speaker", "cluster_id", "start", "end"}
CLUSTER_KEYS = {"id", "status", "claim_ids", "sources"}


# ---------------------------------------------------------------------------
# Listings
# ---------------------------------------------------------------------------


def test_sources(runner, db, seed_db):
    assert "Daily Maverick" in ok(runner, "sources", "--db", db).stdout
    rows = ok_json(runner, "sources", "--db", db)
    assert len(rows) == 5
    for row in rows:
        assert ARTICLE_KEYS | {"n_claims"} <= set(row)
    by_file = {row["path"].rsplit("/", 1)[-1]: row for row in rows}
    assert by_file[MAVERICK]["origin"] == "Reuters"
    assert sum(row["n_claims"] for row in rows) == seed_db["claims"].count


def test_claims(runner, db, seed_db):
    ok(runner, "claims", "--db", db)
    rows = ok_json(runner, "claims", "--db", db)
    assert len(rows) == seed_db["claims"].count
    for row in rows:
        assert CLAIM_KEYS | {"status", "outlet", "origin", "verb"} <= set(row)


def test_claims_of_one_article_by_prefix(runner, db, seed_db):
    article_id = next(a["id"] for a in store.articles(seed_db) if a["path"].endswith(MAVERICK))
    prefix = article_id[:5]
    ok(runner, "claims", "--db", db, "--article", prefix)
    rows = ok_json(runner, "claims", "--db", db, "--article", prefix)
    assert rows and {row["article_id"] for row in rows} == {article_id}
    assert len(rows) == seed_db["claims"].count_where("article_id = ?", [article_id])


@pytest.mark.parametrize("status", ["corroborated", "single-source"])
def test_claims_by_status(runner, db, seed_db, status):
    ok(runner, "claims", "--db", db, "--status", status)
    rows = ok_json(runner, "claims", "--db", db, "--status", status)
    assert rows and {row["status"] for row in rows} == {status}
    assert len(rows) == len(store.claims(seed_db, status=status))


def test_claims_with_unknown_status_is_a_usage_error(runner, db):
    assert run(runner, "claims", "--db", db, "--status", "true").exit_code == 2


def test_clusters(runner, db, seed_db):
    ok(runner, "clusters", "--db", db)
    rows = ok_json(runner, "clusters", "--db", db)
    assert len(rows) == seed_db["clusters"].count
    for row in rows:
        assert CLUSTER_KEYS | {"size", "label"} <= set(row)
        assert len(row["claim_ids"]) == row["size"]


def test_clusters_by_status(runner, db):
    ok(runner, "clusters", "--db", db, "--status", "single-source")
    rows = ok_json(runner, "clusters", "--db", db, "--status", "single-source")
    assert rows and {row["status"] for row in rows} == {"single-source"}
    assert all(len(row["sources"]) == 1 for row in rows)


def _a_corroborated_cluster(seed_db):
    return next(k for k in store.clusters(seed_db, "corroborated") if k["size"] >= 2)


def test_show_cluster(runner, db, seed_db):
    k = _a_corroborated_cluster(seed_db)
    text = ok(runner, "show", k["id"], "--db", db).stdout
    assert k["id"] in text and "corroborated" in text
    data = ok_json(runner, "show", k["id"], "--db", db)
    assert data["type"] == "cluster"
    assert data["id"] == k["id"]
    assert sorted(data["claim_ids"]) == sorted(k["claim_ids"])
    assert data["sources"] == k["sources"]


def test_show_claim_by_prefix(runner, db, seed_db):
    claim = next(c for c in store.claims(seed_db) if "6,700 containers" in c["text"])
    prefix = claim["id"][:8]
    text = ok(runner, "show", prefix, "--db", db).stdout
    assert claim["id"] in text
    data = ok_json(runner, "show", prefix, "--db", db)
    assert data["type"] == "claim"
    assert data["id"] == claim["id"]
    assert data["text"] == claim["text"]
    assert data["cluster"]["id"] == claim["cluster_id"]


def test_search(runner, db):
    assert "arms" in ok(runner, "search", "arms", "--db", db).stdout
    rows = ok_json(runner, "search", "arms", "--db", db)
    assert rows
    assert all("arms" in row["text"].lower() for row in rows)
    assert CLAIM_KEYS <= set(rows[0])


@pytest.mark.parametrize("query", ['"', "*", "arms OR", "NEAR(", "North Korea-Russia"])
def test_search_input_is_never_fts_syntax(runner, db, query):
    rows = ok_json(runner, "search", query, "--db", db)
    assert isinstance(rows, list)


def test_show_nonexistent_exits_1_with_one_line(runner, db):
    result = run(runner, "show", "nonexistent", "--db", db)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "nonexistent" in lines[0]


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------


def test_export_json_matches_the_contract(runner, db, seed_export):
    data = json.loads(ok(runner, "export", "--db", db, "--format", "json").stdout)
    assert data == json.loads(json.dumps(seed_export))
    assert set(data) == {"articles", "claims", "clusters", "conflicts"}
    assert all(set(a) == ARTICLE_KEYS for a in data["articles"])
    assert all(set(c) == CLAIM_KEYS for c in data["claims"])
    assert all(set(k) == CLUSTER_KEYS for k in data["clusters"])
    assert {k["status"] for k in data["clusters"]} <= {"corroborated", "single-source", "conflicting"}


def test_export_csv_to_a_file(runner, db, seed_db, tmp_path):
    out = tmp_path / "sub" / "claims.csv"
    result = ok(runner, "export", "--db", db, "--format", "csv", "-o", out)
    assert result.stdout == ""
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == seed_db["claims"].count
    assert {"id", "article_id", "text", "speaker", "cluster_id", "status", "start", "end", "outlet", "origin"} <= set(rows[0])
    claims = {c["id"]: c for c in store.claims(seed_db)}
    for row in rows:
        assert row["text"] == claims[row["id"]]["text"]
        assert int(row["start"]) == claims[row["id"]]["start"]


# ---------------------------------------------------------------------------
# Missing database
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["sources"], ["claims"], ["clusters"], ["show", "k123"], ["search", "arms"], ["export"], ["report"],
], ids=lambda a: a[0])
def test_missing_database_exits_1_naming_the_path(runner, tmp_path, args):
    missing = tmp_path / "nowhere" / "verify.db"
    extra = ["--out", tmp_path / "out"] if args == ["report"] else []
    result = run(runner, *args, "--db", missing, *extra)
    assert result.exit_code == 1
    assert str(missing) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not missing.exists()


def test_db_that_is_not_a_database_exits_1_naming_the_path(runner, tmp_path):
    not_db = tmp_path / "notes.db"
    not_db.write_text("just some text, not a database\n")
    result = run(runner, "sources", "--db", not_db)
    assert result.exit_code == 1
    assert str(not_db) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_article_filter_is_a_prefix_not_a_pattern(runner, db):
    assert ok_json(runner, "claims", "--db", db, "--article", "%") == []


def test_show_ambiguous_prefix_exits_1_with_one_line(runner, db):
    result = run(runner, "show", "k", "--db", db)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "several" in lines[0]


# ---------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------


def test_build_with_only_bad_files_exits_1_naming_each(runner, tmp_path, make_file):
    bad = [make_file("empty.txt", b""), make_file("binary.txt", b"\x00\x01\x02"),
           make_file("korean.txt", "북한은 미사일을 발사했다.".encode("cp949"))]
    db_path = tmp_path / "verify.db"
    result = run(runner, "build", bad[0].parent, "--db", db_path, "--out", tmp_path / "out")
    assert result.exit_code == 1
    for path in bad:
        assert str(path) in result.output
    assert not db_path.exists()
    assert not (tmp_path / "out").exists()


def test_build_with_one_good_and_one_bad_file(runner, tmp_path, make_file):
    good = make_file("good.txt", GOOD_ARTICLE)
    bad = make_file("french.txt", "Le président a rencontré les ministres à Paris jeudi.".encode("latin-1"))
    db_path = tmp_path / "verify.db"
    out_dir = tmp_path / "out"
    result = run(runner, "build", good.parent, "--db", db_path, "--out", out_dir)
    assert result.exit_code == 0, result.output
    assert str(bad) in result.output
    assert str(good) not in result.stderr
    assert "1 articles, 3 claims" in result.stdout
    assert (out_dir / "index.html").is_file()
    db = open_store(db_path)
    try:
        assert [a["path"] for a in store.articles(db)] == [str(good)]
        assert db["claims"].count == 3
    finally:
        db.conn.close()
    # The new database answers the read commands.
    rows = ok_json(runner, "sources", "--db", db_path)
    assert [r["path"] for r in rows] == [str(good)]


def test_build_open_opens_the_report_when_a_browser_exists(runner, tmp_path, make_file, monkeypatch):
    import webbrowser

    opened = []
    monkeypatch.setattr(webbrowser, "get", lambda *a: object())
    monkeypatch.setattr(webbrowser, "open", lambda uri, *a, **k: opened.append(uri) or True)
    folder = make_file("a.txt", GOOD_ARTICLE).parent
    result = ok(runner, "build", folder, "--db", tmp_path / "v.db", "--out", tmp_path / "out", "--open")
    report_uri = (tmp_path / "out" / "index.html").resolve().as_uri()
    assert opened == [report_uri]
    assert f"opened {report_uri}" in result.stdout


def test_build_open_without_a_browser_says_so(runner, tmp_path, make_file, monkeypatch):
    import webbrowser

    def no_browser(*a):
        raise webbrowser.Error("none")

    monkeypatch.setattr(webbrowser, "get", no_browser)
    folder = make_file("a.txt", GOOD_ARTICLE).parent
    result = ok(runner, "build", folder, "--db", tmp_path / "v.db", "--out", tmp_path / "out", "--open")
    assert "no web browser found" in result.stdout
