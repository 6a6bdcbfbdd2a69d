"""Shared fixtures: one build of the seed articles per session, and small article files.

Loading the embedding model costs several seconds, so the seeds are built exactly once
(`seed_build`) and every test that needs a database reads that one. Builds made by other tests
(hostile input, CLI) reuse the model that `verify.embed.load_model` keeps cached in-process.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"

# Seed files by a stable prefix of their names (the full names are long).
YONHAP = "yonhap_austin-unc-ministerial-meeting-seoul.txt"
YONHAP_REPRINT = "yonhap-reprint_shin-austin-phone-talks-arms-transfers.txt"
MAVERICK = "dailymaverick-reuters_un-members-concerned-china-russia-helping-north-korea.txt"
DONGA = "donga-via-aggregator_park-jin-blinken-foreign-ministers-meeting.txt"
BLINKEN = "blinken-seoul-visit-press-conference.txt"
SEED_FILES = (YONHAP, YONHAP_REPRINT, MAVERICK, DONGA, BLINKEN)

# A plain-text page that reads as one article with three claims.
GOOD_ARTICLE = (
    "Central bank lifts interest rates again\n"
    "By Jane Doe\n"
    "The central bank raised its main interest rate by half a point on Thursday, officials said.\n"
    "Markets fell sharply after the announcement, with the main index losing more than two percent.\n"
    "Analysts had expected a smaller increase given the slowdown in consumer spending this winter.\n"
)


def open_store(db_path):
    """The sqlite-utils database at `db_path`, schema brought up to date (caller closes it)."""
    from verify import store

    return store.open_db(db_path)


def article_named(articles: list[dict], file_name: str) -> dict:
    """The one article row read from the seed file `file_name`."""
    found = [a for a in articles if Path(a["path"]).name == file_name]
    assert len(found) == 1, f"expected one article from {file_name}, got {len(found)}"
    return found[0]


def claim_containing(claims: list[dict], fragment: str) -> dict:
    """The one claim whose text contains `fragment`."""
    found = [c for c in claims if fragment in c["text"]]
    assert len(found) == 1, f"expected one claim containing {fragment!r}, got {[c['text'] for c in found]}"
    return found[0]


@pytest.fixture(scope="session")
def seed_build(tmp_path_factory):
    """Build the five seeds once: {"db", "out", "report", "result"}."""
    from verify import pipeline

    base = tmp_path_factory.mktemp("seed-build")
    db_path = base / "verify.db"
    out_dir = base / "report"
    result = pipeline.build([SEEDS], db_path, out_dir)
    return {"db": db_path, "out": out_dir, "report": out_dir / "index.html", "result": result}


@pytest.fixture(scope="session")
def seed_db(seed_build):
    db = open_store(seed_build["db"])
    yield db
    db.conn.close()


@pytest.fixture(scope="session")
def seed_export(seed_db):
    from verify import store

    return store.export(seed_db)


@pytest.fixture(scope="session")
def seed_articles():
    """Articles of the seeds as `read_articles` returns them (no database, no model)."""
    from verify.ingest import read_articles

    articles, problems = read_articles([SEEDS])
    assert problems == []
    return articles


@pytest.fixture(scope="session")
def seed_claims(seed_articles):
    from verify.segment import segment_articles

    return segment_articles(seed_articles)


@pytest.fixture
def make_file(tmp_path):
    """make_file(name, content, folder="articles") -> Path: write text (UTF-8) or bytes."""

    def write(name: str, content: str | bytes, folder: str = "articles") -> Path:
        path = tmp_path / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return write


@pytest.fixture
def make_jsonl(make_file):
    def write(name: str, rows: list, folder: str = "articles") -> Path:
        lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
        return make_file(name, "\n".join(lines) + "\n", folder)

    return write


@pytest.fixture(scope="session")
def runner():
    """typer's CliRunner for the `verify` app (tests/cli_helpers.py has run/ok/ok_json)."""
    from typer.testing import CliRunner

    return CliRunner()


@pytest.fixture(scope="session")
def db(seed_build):
    """The seed database's path, as the CLI's --db takes it."""
    return str(seed_build["db"])
