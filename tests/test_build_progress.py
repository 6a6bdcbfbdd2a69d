"""`verify build` is never silent: one line a stage in CI or piped, the big file named with its limit."""

from __future__ import annotations

import re

from cli_helpers import ok
from conftest import GOOD_ARTICLE
from verify import cli, ingest

STAGE_LINE = re.compile(r"^(?P<stage>[a-z]+): (?P<count>\d+) (?P<unit>[a-z ]+) in \d+\.\ds$")


def test_ci_build_prints_one_line_a_stage_and_names_the_file_over_the_limit(runner, tmp_path, make_file, monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(ingest, "MAX_ARTICLE_BYTES", 50_000)
    good = make_file("good.txt", GOOD_ARTICLE)
    big = make_file("big.txt", (GOOD_ARTICLE + "\n") * 200)
    result = ok(runner, "build", good.parent, "--db", tmp_path / "verify.db", "--out", tmp_path / "out")
    lines = result.stderr.splitlines()
    stages = [m.groupdict() for line in lines if (m := STAGE_LINE.match(line))]
    assert [s["stage"] for s in stages] == ["read", "segment", "embed", "cluster", "conflicts", "report"]
    assert stages[0] == {"stage": "read", "count": "1", "unit": "articles"}
    assert stages[1] == {"stage": "segment", "count": "3", "unit": "claims"}
    assert stages[2] == {"stage": "embed", "count": "3", "unit": "texts encoded"}
    assert stages[-1] == {"stage": "report", "count": "1", "unit": "page"}
    size = big.stat().st_size
    assert f"verify: skipped {big}: text of {size / 1000:.1f} KB is over the 50.0 KB limit for one article; " \
           "split it into articles (one a file, or one a row of a .jsonl or .csv corpus)" in lines
    assert "Loading weights" not in result.stderr and "\r" not in result.stderr
    assert "1 articles, 3 claims" in result.stdout


def test_a_long_stage_says_how_far_it_is_every_ten_seconds(monkeypatch, capsys):
    now = [100.0]
    monkeypatch.setattr(cli.time, "perf_counter", lambda: now[0])
    lines = cli.StageLines()
    now[0] = 104.0
    lines("embed", 512, 2048)  # 4 s in: quiet
    now[0] = 111.0
    lines("embed", 1024, 2048)  # 11 s in: says so
    now[0] = 115.0
    lines("embed", 1536, 2048)  # 4 s after the last line: quiet
    now[0] = 125.5
    lines("embed", 2048, 2048)
    now[0] = 126.0
    lines("cluster", 40, 40)
    assert capsys.readouterr().err.splitlines() == [
        "embed: 1024/2048 texts encoded, 11.0s so far",
        "embed: 2048 texts encoded in 25.5s",
        "cluster: 40 clusters in 0.5s",
    ]


def test_the_models_loading_bar_is_off_when_stderr_is_not_a_terminal():
    from transformers.utils import logging as transformers_logging

    from verify import embed

    embed.load_model()  # under pytest stderr is captured: not a terminal
    assert not transformers_logging.is_progress_bar_enabled()


def test_a_stage_that_ticks_nothing_is_still_heard_from(capsys):
    import time

    lines = cli.StageLines()
    lines.EVERY = 0.2
    with lines:
        time.sleep(0.5)  # reading: no tick yet
        lines("read", 1, 1)
        time.sleep(0.5)  # segmenting: no tick yet
    said = capsys.readouterr().err.splitlines()
    read = next(i for i, line in enumerate(said) if line.startswith("read:"))
    before, after = said[:read], said[read + 1:]
    assert before and all(re.fullmatch(r"still building: reading, 0\.\ds so far", s) for s in before), said
    assert re.fullmatch(r"read: 1 articles in 0\.\ds", said[read])
    assert after and all(re.fullmatch(r"still building: 0\.\ds since read ended", s) for s in after), said
    assert not lines.timer.is_alive()
