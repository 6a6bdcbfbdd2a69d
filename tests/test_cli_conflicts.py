"""`verify conflicts`, `review`, `compare`, `check` and `--nli-model`, through typer's CliRunner."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import GOOD_ARTICLE, SEEDS, open_store
from verify import conflicts, pipeline, store
from cli_helpers import ok, ok_json, run
from verify.cli import app

CONFLICT_KEYS = {"id", "claim_ids", "kind", "score", "review", "note", "explanation", "cues", "attribution", "a", "b"}
SIDE_KEYS = {"id", "text", "outlet", "origin", "speaker", "cluster_id"}
RELATIONS = {"corroborates", "conflicts", "related", "unrelated"}
STATEMENT = "Russia and China are helping North Korea evade sanctions"


def verify_lines(result) -> list[str]:
    """The lines `verify` itself wrote to stderr (model loaders may add progress bars)."""
    return [line for line in result.stderr.splitlines() if line.startswith("verify:")]


def one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = verify_lines(result)
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def find(rows, fragment_a: str, fragment_b: str) -> dict:
    """The one conflict whose claims contain the two fragments (either way round)."""
    found = [r for r in rows
             if any(fragment_a in r["claims"][i]["text"] and fragment_b in r["claims"][1 - i]["text"] for i in (0, 1))]
    assert len(found) == 1, [(r["claims"][0]["text"][:60], r["claims"][1]["text"][:60]) for r in rows]
    return found[0]


# ---------------------------------------------------------------------------
# verify conflicts
# ---------------------------------------------------------------------------


def test_conflicts_json(runner, db, seed_db):
    rows = ok_json(runner, "conflicts", "--db", db)
    expected = store.conflicts(seed_db)
    assert [r["id"] for r in rows] == [x["id"] for x in expected] and rows
    claims = {c["id"]: c for c in store.claims(seed_db)}
    for row in rows:
        assert set(row) == CONFLICT_KEYS
        assert len(row["claim_ids"]) == 2
        assert row["review"] == "pending" and row["note"] is None
        assert row["kind"] in conflicts.KINDS and row["attribution"] in {"parties", "outlets"}
        assert isinstance(row["score"], float) and row["explanation"]
        assert set(row["cues"]) == {"a", "b"}
        for side, cid in zip(("a", "b"), row["claim_ids"]):
            assert set(row[side]) == SIDE_KEYS
            assert row[side]["id"] == cid
            assert row[side]["text"] == claims[cid]["text"]
            assert row[side]["outlet"] == claims[cid]["outlet"]
            assert row[side]["speaker"] == claims[cid]["speaker"]


def test_conflicts_text(runner, db, seed_db):
    text = ok(runner, "conflicts", "--db", db).stdout
    rows = store.conflicts(seed_db)
    for row in rows:
        assert row["id"] in text
    assert text.count("why: ") == len(rows)
    assert "disputed between parties" in text
    assert "Kremlin spokesman Dmitry Peskov" in text and "cues: unfounded, not substantiated" in text


def test_conflicts_filters(runner, db, seed_db):
    everything = [x["id"] for x in store.conflicts(seed_db)]
    assert [r["id"] for r in ok_json(runner, "conflicts", "--db", db, "--review", "pending")] == everything
    assert ok_json(runner, "conflicts", "--db", db, "--review", "dismissed") == []
    assert ok_json(runner, "conflicts", "--db", db, "--review", "confirmed") == []
    denials = ok_json(runner, "conflicts", "--db", db, "--kind", "denial")
    assert [r["id"] for r in denials] == [x["id"] for x in store.conflicts(seed_db) if x["kind"] == "denial"]
    assert denials and {r["kind"] for r in denials} == {"denial"}
    assert ok_json(runner, "conflicts", "--db", db, "--kind", "date") == []
    assert "no conflicts" in ok(runner, "conflicts", "--db", db, "--kind", "date").stdout


@pytest.mark.parametrize("args", [["--kind", "rumour"], ["--review", "maybe"]])
def test_conflicts_bad_filter_is_a_usage_error(runner, db, args):
    assert run(runner, "conflicts", "--db", db, *args).exit_code == 2


# ---------------------------------------------------------------------------
# verify review
# ---------------------------------------------------------------------------

# Confirmed: the Kremlin's "absolutely unfounded" against Austin's statement at the UNC meeting.
CONFIRM = ("absolutely unfounded", "U.N. member states enforcing the Korean War armistice")


def alone_in_one_conflict(rows, confirm: dict) -> dict:
    """A conflict (not `confirm`) with a claim in no other conflict: dismissing it frees that
    claim's cluster while its other side stays in others. Which conflict that is depends on
    what the scorer flags, so it is looked up, not named."""
    def cluster_of(row, i):
        return row["claims"][i]["cluster_id"]

    count: dict = {}
    for r in rows:
        for i in (0, 1):
            count[cluster_of(r, i)] = count.get(cluster_of(r, i), 0) + 1
    candidates = sorted((r for r in rows if r["pair_key"] != confirm["pair_key"]
                         and sorted(count[cluster_of(r, i)] for i in (0, 1))[0] == 1
                         and sorted(count[cluster_of(r, i)] for i in (0, 1))[1] > 1
                         and confirm["claims"][0]["cluster_id"] not in (cluster_of(r, 0), cluster_of(r, 1))
                         and confirm["claims"][1]["cluster_id"] not in (cluster_of(r, 0), cluster_of(r, 1))),
                        key=lambda r: r["pair_key"])
    assert candidates, "the seeds have a conflict whose one side is in no other"
    return candidates[0]


@pytest.fixture(scope="module")
def reviewed(seed_build, tmp_path_factory, runner):
    """A copy of the seed database with one conflict confirmed and one dismissed through the CLI."""
    path = tmp_path_factory.mktemp("reviewed") / "verify.db"
    shutil.copy(seed_build["db"], path)
    db = open_store(path)
    rows = store.conflicts(db)
    db.conn.close()
    confirm = find(rows, *CONFIRM)
    dismiss = alone_in_one_conflict(rows, confirm)
    confirmed = ok(runner, "review", confirm["id"], "--confirm", "--note", "checked", "--db", path)
    dismissed = ok(runner, "review", dismiss["id"][:7], "--dismiss", "--db", path)  # a unique prefix will do
    return {"path": path, "confirm": confirm, "dismiss": dismiss, "n": len(rows),
            "outputs": (confirmed.stdout, dismissed.stdout)}


def assert_reviews_hold(path, reviewed):
    db = open_store(path)
    try:
        rows = store.conflicts(db)
        claims = {c["id"]: c for c in store.claims(db)}
        clusters = {k["id"]: k for k in store.clusters(db)}
    finally:
        db.conn.close()
    confirmed = [r for r in rows if r["review"] == "confirmed"]
    dismissed = [r for r in rows if r["review"] == "dismissed"]
    assert [r["pair_key"] for r in confirmed] == [reviewed["confirm"]["pair_key"]]
    assert [r["pair_key"] for r in dismissed] == [reviewed["dismiss"]["pair_key"]]
    assert confirmed[0]["note"] == "checked" and confirmed[0]["reviewed_at"]
    assert dismissed[0]["note"] is None
    assert len(rows) == reviewed["n"]
    live = {claims[cid]["cluster_id"] for r in rows if r["review"] != "dismissed" for cid in r["claim_ids"]}
    for cid in confirmed[0]["claim_ids"]:
        assert clusters[claims[cid]["cluster_id"]]["status"] == "conflicting"
    freed = 0
    for cid in dismissed[0]["claim_ids"]:
        k = clusters[claims[cid]["cluster_id"]]
        if k["id"] in live:
            assert k["status"] == "conflicting"
        else:
            assert k["status"] == k["corroboration"] != "conflicting"
            freed += 1
    assert freed == 1  # the side in no other conflict; the other side is still in others
    return rows


def test_review_prints_the_conflict(reviewed):
    confirmed, dismissed = reviewed["outputs"]
    assert reviewed["confirm"]["id"] in confirmed and "confirmed" in confirmed and "note: checked" in confirmed
    assert reviewed["dismiss"]["id"] in dismissed and "dismissed" in dismissed


def test_review_is_stored_at_once(reviewed):
    assert_reviews_hold(reviewed["path"], reviewed)


def test_review_filters(runner, reviewed):
    path = reviewed["path"]
    assert [r["id"] for r in ok_json(runner, "conflicts", "--db", path, "--review", "dismissed")] == \
        [reviewed["dismiss"]["id"]]
    (row,) = ok_json(runner, "conflicts", "--db", path, "--review", "confirmed")
    assert (row["id"], row["note"]) == (reviewed["confirm"]["id"], "checked")
    assert len(ok_json(runner, "conflicts", "--db", path, "--review", "pending")) == reviewed["n"] - 2


def test_reviews_survive_a_rebuild_of_the_same_seeds(reviewed, tmp_path):
    path = tmp_path / "verify.db"
    shutil.copy(reviewed["path"], path)
    result = pipeline.build([SEEDS], path, None)
    assert result.n_encoded == 0
    assert result.n_conflicts == reviewed["n"] - 1  # the dismissed one is no longer flagged
    assert_reviews_hold(path, reviewed)


def test_reviews_survive_a_grown_corpus(reviewed, tmp_path, make_file):
    path = tmp_path / "verify.db"
    shutil.copy(reviewed["path"], path)
    extra = make_file("extra.txt", GOOD_ARTICLE)
    result = pipeline.build([SEEDS, extra], path, None)
    assert result.n_articles == 6
    rows = assert_reviews_hold(path, reviewed)
    before = open_store(reviewed["path"])
    try:
        assert {r["id"] for r in rows} == {x["id"] for x in store.conflicts(before)}  # the new story adds none
    finally:
        before.conn.close()


def test_review_rewrites_the_report_beside_the_database(runner, seed_build, tmp_path, seed_db):
    path = tmp_path / "verify.db"
    shutil.copy(seed_build["db"], path)
    (tmp_path / "index.html").write_text("stale", encoding="utf-8")
    x = store.conflicts(seed_db)[0]
    ok(runner, "review", x["id"], "--dismiss", "--db", path)
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")


@pytest.fixture
def db_copy(seed_build, tmp_path):
    path = tmp_path / "verify.db"
    shutil.copy(seed_build["db"], path)
    return path


def test_review_unknown_id_exits_1(runner, db_copy):
    line = one_error_line(run(runner, "review", "xdoesnotexist", "--confirm", "--db", db_copy))
    assert "xdoesnotexist" in line


def test_review_ambiguous_prefix_exits_1(runner, db_copy):
    line = one_error_line(run(runner, "review", "x", "--confirm", "--db", db_copy))
    assert "several" in line


@pytest.mark.parametrize("flags", [[], ["--confirm", "--dismiss"]], ids=["neither", "both"])
def test_review_needs_exactly_one_decision(runner, db_copy, seed_db, flags):
    x = store.conflicts(seed_db)[0]
    line = one_error_line(run(runner, "review", x["id"], *flags, "--db", db_copy))
    assert "--confirm" in line and "--dismiss" in line
    db = open_store(db_copy)
    try:
        assert db["reviews"].count == 0
    finally:
        db.conn.close()


def test_review_of_a_missing_database_exits_1(runner, tmp_path):
    missing = tmp_path / "none" / "verify.db"
    line = one_error_line(run(runner, "review", "x123", "--confirm", "--db", missing))
    assert str(missing) in line
    assert not missing.exists()


# ---------------------------------------------------------------------------
# verify compare
# ---------------------------------------------------------------------------


def test_compare_two_statements(runner):
    result = ok_json(runner, "compare", "The summit opened on March 3", "The summit opened on March 5")
    assert set(result) == {"id", "relation", "kind", "score", "explanation", "cues"}
    assert result["relation"] in RELATIONS
    assert (result["relation"], result["kind"]) == ("conflicts", "date")
    assert 0.8 <= result["score"] <= 1.0
    assert result["explanation"] == "March 3 against March 5"
    text = ok(runner, "compare", "The summit opened on March 3", "The summit opened on March 5").stdout
    assert text.startswith("conflicts (date), score ") and "March 3 against March 5" in text


def test_compare_unrelated_statements(runner):
    result = ok_json(runner, "compare", "The central bank raised interest rates", "The striker scored twice in the final")
    assert (result["relation"], result["kind"]) == ("unrelated", None)
    assert result["score"] < 0.4


def test_compare_pairs_file(runner, make_jsonl):
    path = make_jsonl("pairs.jsonl", [
        {"id": "p1", "a": "The election was rigged", "b": "The election was free and fair"},
        "",
        {"id": 7, "a": "Exports rose 5% in May", "b": "Imports fell 2% in May"},
        {"a": "The summit opened on March 3", "b": "The summit opened on March 5"},
    ])
    result = ok(runner, "compare", "--pairs", path, "--json")
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    rows = [json.loads(line) for line in lines]
    assert [r["id"] for r in rows] == ["p1", 7, None]
    for r in rows:
        assert r["relation"] in RELATIONS and set(r) == {"id", "relation", "kind", "score", "explanation", "cues"}
    assert (rows[0]["relation"], rows[0]["kind"]) == ("conflicts", "verdict")
    assert rows[1]["relation"] != "conflicts"
    assert (rows[2]["relation"], rows[2]["kind"]) == ("conflicts", "date")


@pytest.mark.parametrize("bad, line_no, words", [
    ('{"id": "p2", "a": "x"', 2, "Expecting"),
    ('{"id": "p2", "a": "x"}', 2, "'a' and 'b'"),
    ('["a", "b"]', 2, "'a' and 'b'"),
])
def test_compare_malformed_pairs_line_exits_1(runner, make_jsonl, bad, line_no, words):
    path = make_jsonl("pairs.jsonl", [{"id": "p1", "a": "x", "b": "y"}, bad, {"id": "p3", "a": "x", "b": "y"}])
    result = run(runner, "compare", "--pairs", path, "--json")
    line = one_error_line(result)
    assert str(path) in line and f"line {line_no}" in line and words in line


def test_compare_missing_pairs_file_exits_1(runner, tmp_path):
    missing = tmp_path / "nope.jsonl"
    line = one_error_line(run(runner, "compare", "--pairs", missing))
    assert str(missing) in line


def test_compare_needs_two_statements(runner):
    line = one_error_line(run(runner, "compare", "Only one statement"))
    assert "two statements" in line


# ---------------------------------------------------------------------------
# verify check
# ---------------------------------------------------------------------------


def test_check_a_statement_against_the_seeds(runner, db):
    result = ok_json(runner, "check", STATEMENT, "--db", db)
    assert result["statement"] == STATEMENT
    assert isinstance(result["related"], int)
    for relation in ("conflicts", "corroborates"):
        for r in result[relation]:
            assert r["relation"] == relation
            assert {"id", "text", "outlet", "origin", "speaker", "cluster_id", "status", "kind", "score",
                    "explanation", "cues"} <= set(r)
    kremlin = [r for r in result["conflicts"] if "absolutely unfounded" in r["text"]]
    assert len(kremlin) == 1
    assert (kremlin[0]["outlet"], kremlin[0]["kind"]) == ("Daily Maverick", "denial")
    assert "Peskov" in kremlin[0]["speaker"]
    austin = [r for r in result["corroborates"] if "PRC and Russia are helping" in r["text"]]
    assert austin and {r["speaker"] for r in austin} == {"Austin"}
    assert {r["outlet"] for r in austin} <= {"Yonhap", "Daily Maverick"} and all(r["outlet"] for r in austin)
    china = [r for r in result["conflicts"] if "complying with international obligations" in r["text"]]
    assert [r["outlet"] for r in china] == ["Daily Maverick"]
    assert not {r["id"] for r in result["conflicts"]} & {r["id"] for r in result["corroborates"]}


def test_check_text_output(runner, db):
    text = ok(runner, "check", STATEMENT, "--db", db).stdout
    assert "conflicts: " in text and "corroborates: " in text and "related but neither: " in text
    assert "Daily Maverick" in text and "absolutely unfounded" in text


def test_check_needs_a_database(runner, tmp_path):
    missing = tmp_path / "verify.db"
    line = one_error_line(run(runner, "check", STATEMENT, "--db", missing))
    assert str(missing) in line


# ---------------------------------------------------------------------------
# --nli-model: a tiny BERT classifier made here (no download)
# ---------------------------------------------------------------------------

VOCAB = ("the a of to in on and was were is are said police arrested suspect remains at large factory will close "
         "next year company has no plans troops crossed border ministry denied monday friday summit opened march "
         "election rigged free fair").split()
NLI_LABELS = {0: "contradiction", 1: "entailment", 2: "neutral"}


def make_nli_model(folder, labels=NLI_LABELS, bias=None):
    """A 1-layer BERT sequence classifier; with `bias`, its output ignores the input (deterministic)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder.mkdir(parents=True)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + VOCAB
    (folder / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(words), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, num_labels=3, id2label=labels,
                        label2id={v: k for k, v in labels.items()})
    model = BertForSequenceClassification(config)
    if bias is not None:
        with torch.no_grad():
            model.classifier.weight.zero_()
            model.classifier.bias.copy_(torch.tensor(bias, dtype=torch.float32))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def nli_models(tmp_path_factory):
    base = tmp_path_factory.mktemp("nli")
    return {
        "plain": str(make_nli_model(base / "plain")),
        "contradiction": str(make_nli_model(base / "contradiction", bias=[6.0, 0.0, 0.0])),
        "entailment": str(make_nli_model(base / "entailment", bias=[0.0, 6.0, 0.0])),
        "undecided": str(make_nli_model(base / "undecided", bias=[0.0, 0.0, 6.0])),
        "sentiment": str(make_nli_model(base / "sentiment", labels={0: "negative", 1: "positive", 2: "neutral"})),
    }


def test_nli_judge_loads_and_gives_probabilities(nli_models):
    judge = conflicts.NliJudge(nli_models["plain"])
    assert judge.labels == {"contradiction": 0, "entailment": 1, "neutral": 2}
    out = judge([("Police arrested the suspect on Friday", "The suspect remains at large"),
                 ("The election was rigged", "The election was free and fair")])
    assert len(out) == 2
    for probs in out:
        assert set(probs) == {"contradiction", "entailment", "neutral"}
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-4)
        assert all(0.0 <= p <= 1.0 for p in probs.values())
    assert judge([]) == []


def test_nli_judge_biased_model(nli_models):
    (probs,) = conflicts.NliJudge(nli_models["contradiction"])([("a", "b")])
    assert probs["contradiction"] > 0.99


def test_nli_judge_without_contradiction_label(nli_models):
    with pytest.raises(RuntimeError, match="lack contradiction/entailment"):
        conflicts.NliJudge(nli_models["sentiment"])


def test_nli_judge_missing_folder(tmp_path):
    with pytest.raises(RuntimeError, match="cannot load NLI cross-encoder"):
        conflicts.NliJudge(str(tmp_path / "no-such-model"))


def test_compare_with_nli_model(runner, nli_models):
    result = ok_json(runner, "compare", "The summit opened on March 3", "The summit opened on March 5",
                     "--nli-model", nli_models["plain"])
    assert (result["relation"], result["kind"]) == ("conflicts", "date")
    assert "NLI" in result["explanation"] and result["explanation"].startswith("March 3 against March 5; NLI model:")


def test_compare_with_a_contradicting_nli_model(runner, nli_models):
    # The rules call this pair related; the model is sure they contradict.
    result = ok_json(runner, "compare", "Police arrested the suspect on Friday", "The suspect remains at large",
                     "--nli-model", nli_models["contradiction"])
    assert (result["relation"], result["kind"]) == ("conflicts", "contradiction")
    assert result["explanation"].startswith("NLI model: contradiction 1.00")


def test_compare_with_an_entailing_nli_model_overrules_the_rules(runner, nli_models):
    result = ok_json(runner, "compare", "The summit opened on March 3", "The summit opened on March 5",
                     "--nli-model", nli_models["entailment"])
    assert (result["relation"], result["kind"]) == ("related", None)
    assert "overruled by NLI model" in result["explanation"]


def test_compare_explanation_mentions_an_undecided_nli_model(runner, nli_models):
    result = ok_json(runner, "compare", "Police arrested the suspect on Friday", "The suspect remains at large",
                     "--nli-model", nli_models["undecided"])
    assert result["relation"] == "related"
    assert "NLI" in result["explanation"]


def test_compare_pairs_with_nli_model(runner, nli_models, make_jsonl):
    path = make_jsonl("pairs.jsonl", [
        {"id": "a", "a": "Police arrested the suspect on Friday", "b": "The suspect remains at large"},
        {"id": "b", "a": "The central bank raised interest rates", "b": "The striker scored twice in the final"},
    ])
    rows = [json.loads(line) for line in
            ok(runner, "compare", "--pairs", path, "--nli-model", nli_models["contradiction"]).stdout.splitlines()]
    assert [(r["id"], r["relation"], r["kind"]) for r in rows] == [("a", "conflicts", "contradiction"),
                                                                    ("b", "unrelated", None)]


def test_nli_model_without_contradiction_label_exits_1(runner, nli_models):
    result = run(runner, "compare", "A cat sat", "A cat sat down", "--nli-model", nli_models["sentiment"])
    line = one_error_line(result)
    assert nli_models["sentiment"] in line and "lack contradiction/entailment" in line


@pytest.mark.parametrize("command", ["compare", "check", "build"])
def test_missing_nli_model_exits_1(runner, tmp_path, db_copy, command):
    missing = str(tmp_path / "no-such-nli")
    before = db_copy.read_bytes()
    args = {"compare": ["compare", "A cat sat", "A cat sat down"],
            "check": ["check", STATEMENT, "--db", db_copy],
            "build": ["build", SEEDS, "--db", db_copy, "--out", tmp_path / "out"]}[command]
    line = one_error_line(run(runner, *args, "--nli-model", missing))
    assert missing in line
    assert db_copy.read_bytes() == before


def test_check_with_nli_model(runner, db, nli_models):
    result = ok_json(runner, "check", STATEMENT, "--db", db, "--nli-model", nli_models["entailment"])
    # Sure entailment overrules every rule conflict, so only inherited ones could remain, and
    # those come from claims the statement corroborates.
    direct = [r for r in result["conflicts"] if not r["explanation"].startswith("conflicts with claim")]
    assert direct == []
    assert any("PRC and Russia are helping" in r["text"] for r in result["corroborates"])


def test_build_with_an_entailing_nli_model_flags_nothing(runner, db_copy, tmp_path, nli_models):
    result = ok(runner, "build", SEEDS, "--db", db_copy, "--out", tmp_path / "out", "--nli-model", nli_models["entailment"])
    assert ", 0 conflicts flagged" in result.stdout
    db = open_store(db_copy)
    try:
        assert store.conflicts(db) == []
        assert "conflicting" not in {k["status"] for k in store.clusters(db)}
    finally:
        db.conn.close()


def test_build_with_a_contradicting_nli_model_flags_contradictions(db_copy, nli_models, seed_db):
    result = pipeline.build([SEEDS], db_copy, None, nli_model=nli_models["contradiction"])
    db = open_store(db_copy)
    try:
        rows = store.conflicts(db)
    finally:
        db.conn.close()
    assert result.n_conflicts == len(rows) > len(store.conflicts(seed_db))
    assert "contradiction" in {r["kind"] for r in rows}
    assert all("NLI model: contradiction 1.00" in r["explanation"] for r in rows)
