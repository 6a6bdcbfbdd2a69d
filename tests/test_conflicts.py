"""Conflicts: the pairwise rules of `relate`, the NLI combination `judged`, and what the seed build flags."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from conftest import MAVERICK, SEEDS, open_store
from verify import conflicts, pipeline, store
from verify.conflicts import Relation, analyse, judged, relate

# ---------------------------------------------------------------------------
# The seed build
# ---------------------------------------------------------------------------

# Who each seed speaker speaks for, written out by hand (independent of the library's tables).
PARTY_WORDS = {
    "Austin": "United States", "Blinken": "United States", "Pentagon": "United States", "U.S.": "United States",
    "Washington": "United States", "Peskov": "Russia", "Kremlin": "Russia", "Russia": "Russia",
    "North Korea": "North Korea", "China": "China", "Shin": "South Korea", "Park": "South Korea",
    "Seoul": "South Korea", "South Korea": "South Korea",
}


def hand_parties(speaker: str | None) -> set[str]:
    return {party for word, party in PARTY_WORDS.items() if word in (speaker or "")}


@pytest.fixture(scope="module")
def seed_conflicts(seed_db):
    return store.conflicts(seed_db)


def conflicts_between(rows, fragment: str, other) -> list[tuple[dict, int]]:
    """(conflict, index of the side whose text contains `fragment`) for conflicts whose other
    claim satisfies `other(claim)`."""
    found = []
    for row in rows:
        for i in (0, 1):
            mine, theirs = row["claims"][i], row["claims"][1 - i]
            if fragment in mine["text"] and other(theirs):
                found.append((row, i))
    return found


def side_cues(row: dict, i: int) -> list[str]:
    return row["cues"]["ab"[i]]


def test_seed_build_flags_a_few_conflicts(seed_build, seed_conflicts):
    assert 3 <= len(seed_conflicts) <= 10
    assert seed_build["result"].n_conflicts == len(seed_conflicts)
    assert {x["review"] for x in seed_conflicts} == {"pending"}
    for x in seed_conflicts:
        assert x["kind"] in conflicts.KINDS
        assert x["explanation"].strip()
        assert x["attribution"] in {"parties", "outlets"}
        assert 0.4 <= x["score"] <= 1.0
        assert x["claim_a"] != x["claim_b"] and None not in x["claims"]


def test_conflict_ids_come_from_the_content_of_the_two_claims(seed_conflicts):
    keys = [x["pair_key"] for x in seed_conflicts]
    assert len(set(keys)) == len(keys)
    for x in seed_conflicts:
        a, b = x["claims"]
        assert x["pair_key"] == conflicts.pair_key(a["text"], b["text"]) == conflicts.pair_key(b["text"], a["text"])
        assert x["id"] == "x" + x["pair_key"][:11]


def test_pair_key_ignores_order_and_whitespace_only():
    assert conflicts.pair_key("A  b\nc", "d e") == conflicts.pair_key("d e", "A b c")
    assert conflicts.pair_key("A b c", "d e") != conflicts.pair_key("a b c", "d e")


def test_kremlin_denial_against_austins_accusation(seed_conflicts):
    found = conflicts_between(seed_conflicts, "absolutely unfounded",
                              lambda c: "Austin" in (c["speaker"] or "") and "helping" in c["text"])
    assert found, [x["explanation"] for x in seed_conflicts]
    for row, i in found:
        assert row["kind"] == "denial"
        assert row["attribution"] == "parties"
        assert "unfounded" in row["explanation"]
        assert "unfounded" in side_cues(row, i)
        assert "helping" in side_cues(row, 1 - i)
        assert "Peskov" in row["claims"][i]["speaker"]


def test_north_korea_russia_denial_against_arms_transfers(seed_conflicts):
    arms = re.compile(r"\barms (?:deals?|transfers?|suppl\w*)|\bproviding weapons", re.IGNORECASE)
    found = conflicts_between(seed_conflicts, "have denied any arms deals", lambda c: bool(arms.search(c["text"])))
    assert found, [x["explanation"] for x in seed_conflicts]
    for row, i in found:
        assert row["kind"] == "denial"
        assert row["attribution"] == "parties"
        assert "denied" in row["explanation"]
        assert side_cues(row, i) == ["denied"]
        assert side_cues(row, 1 - i)  # what the other side says they did: violating, illegal, providing...
    # Among them, the transfers between Russia and North Korea that Seoul and Washington condemn.
    others = [row["claims"][1 - i]["text"] for row, i in found]
    assert any("arms transfers between Russia and North Korea" in t for t in others), others


def test_chinese_compliance_against_the_accusation_that_china_helps(seed_conflicts):
    found = conflicts_between(
        seed_conflicts, "complying with international obligations",
        lambda c: bool(re.search(r"\b(China|PRC)\b", c["text"])) and bool(re.search(r"helping|evad", c["text"])))
    assert found, [x["explanation"] for x in seed_conflicts]
    for row, i in found:
        assert row["kind"] == "denial"
        assert row["attribution"] == "parties"
        assert "complies" in row["explanation"]
        assert side_cues(row, i) == ["complying with international obligations"]
        assert "helping" in side_cues(row, 1 - i)
        assert row["claims"][i]["speaker"] == "China"


def test_each_conflict_is_between_origins_or_between_parties(seed_conflicts):
    for x in seed_conflicts:
        a, b = x["claims"]
        if a["origin"] == b["origin"]:
            pa, pb = hand_parties(a["speaker"]), hand_parties(b["speaker"])
            assert pa and pb and not (pa & pb), (a["speaker"], b["speaker"], x["explanation"])


def test_clusters_touched_by_a_conflict_are_conflicting(seed_db, seed_conflicts):
    touched = {c["cluster_id"] for x in seed_conflicts for c in x["claims"]}
    clusters = {k["id"]: k for k in store.clusters(seed_db)}
    assert touched
    for cid, k in clusters.items():
        if cid in touched:
            assert k["status"] == "conflicting"
            assert k["corroboration"] in {"corroborated", "single-source"}
        else:
            assert k["status"] == k["corroboration"] != "conflicting"


def test_export_lists_the_conflicts(seed_export, seed_conflicts):
    assert [x["id"] for x in seed_export["conflicts"]] == [x["id"] for x in seed_conflicts]
    assert all(x["review"] == "pending" and x["note"] is None for x in seed_export["conflicts"])


# ---------------------------------------------------------------------------
# A small corpus: outlets that disagree, and one outlet that does not disagree with itself
# ---------------------------------------------------------------------------

BLAST_42 = ("At least 42 people were killed in the blast at the chemical plant in the port city on Monday. "
            "Rescue teams worked through the night to search the damaged buildings nearby. "
            "The cause of the explosion was still being investigated by the local authorities.")
BLAST_17 = ("At least 17 people were killed in the blast at the chemical plant in the port city on Monday. "
            "Hospitals across the region treated dozens of injured workers overnight. "
            "Residents described a huge fireball that shook windows several kilometres away.")


def _blast_build(make_jsonl, tmp_path, outlet_b):
    path = make_jsonl("rows.jsonl", [
        {"id": "a", "title": "Blast at plant", "outlet": "Reuters", "text": BLAST_42},
        {"id": "b", "title": "Plant explosion", "outlet": outlet_b, "text": BLAST_17},
    ])
    result = pipeline.build([path], tmp_path / "v.db", None)
    db = open_store(tmp_path / "v.db")
    try:
        return result, store.conflicts(db), store.clusters(db)
    finally:
        db.conn.close()


def test_two_outlets_giving_different_tolls_conflict(make_jsonl, tmp_path):
    result, rows, clusters = _blast_build(make_jsonl, tmp_path, "Associated Press")
    assert result.n_conflicts == len(rows) == 1
    (x,) = rows
    assert x["kind"] == "quantity"
    assert x["attribution"] == "outlets"
    assert {c["origin"] for c in x["claims"]} == {"Reuters", "Associated Press"}
    assert {x["claims"][0]["text"][:11], x["claims"][1]["text"][:11]} == {"At least 42", "At least 17"}
    assert "42 people" in x["explanation"] and "17 people" in x["explanation"]
    touched = {c["cluster_id"] for c in x["claims"]}
    assert {k["id"] for k in clusters if k["status"] == "conflicting"} == touched


def test_one_outlet_is_not_in_conflict_with_itself(make_jsonl, tmp_path):
    result, rows, clusters = _blast_build(make_jsonl, tmp_path, "Reuters")
    assert result.n_conflicts == 0
    assert rows == []
    assert "conflicting" not in {k["status"] for k in clusters}


# ---------------------------------------------------------------------------
# Who speaks for whom
# ---------------------------------------------------------------------------


def test_speaker_party_from_the_speaker_and_from_a_bare_surname():
    parties = conflicts.speaker_parties([
        {"id": "1", "speaker": "Kremlin spokesman Dmitry Peskov"},
        {"id": "2", "speaker": "Peskov"},
        {"id": "3", "speaker": None},
        {"id": "4", "speaker": "Beijing"},
        {"id": "5", "speaker": "the DPRK foreign ministry"},
    ])
    assert parties == {"1": {"Russia"}, "2": {"Russia"}, "3": set(), "4": {"China"}, "5": {"North Korea"}}


def test_a_us_official_speaks_for_the_united_states():
    parties = conflicts.speaker_parties([{"id": "1", "speaker": "U.S. Defense Secretary Lloyd Austin"},
                                             {"id": "2", "speaker": "Austin"}])
    assert parties == {"1": {"United States"}, "2": {"United States"}}


def test_denied_object_names_the_denier_and_what_is_denied():
    claim = {"text": "North Korea and Russia have denied any arms deals, though their leaders met."}
    assert conflicts.denied_object(claim, {"Russia", "North Korea"}) == "North Korea Russia any arms deals"
    assert conflicts.denied_object({"text": "All such statements are absolutely unfounded."}, {"Russia"}) is None


# ---------------------------------------------------------------------------
# relate(): one pair of statements, similarity given
# ---------------------------------------------------------------------------


def test_denial():
    r = relate("The ministry denied that troops crossed the border", "Troops crossed the border on Monday", 0.7)
    assert (r.relation, r.kind) == ("conflicts", "denial")
    assert r.cues == {"a": ["denied"], "b": []}
    assert r.score == 0.7
    assert "denied" in r.explanation


def test_denial_cues_follow_the_sides():
    r = relate("Troops crossed the border on Monday", "The ministry denied that troops crossed the border", 0.7)
    assert (r.relation, r.kind) == ("conflicts", "denial")
    assert r.cues == {"a": [], "b": ["denied"]}


def test_compliance_against_violation_is_a_denial():
    r = relate("China says it is complying with its obligations under UN sanctions",
               "China is helping North Korea evade sanctions", 0.5)
    assert (r.relation, r.kind) == ("conflicts", "denial")
    assert r.cues == {"a": ["complying with its obligations"], "b": ["helping", "evade"]}


def test_two_denials_of_the_same_thing_agree():
    r = relate("The ministry denied that troops crossed the border",
               "The ministry denied that troops crossed the border", 0.99)
    assert r.relation == "corroborates"


def test_polarity_close_against_no_plans_to_close():
    r = relate("The factory will close next year", "The company has no plans to close the factory", 0.8)
    assert (r.relation, r.kind) == ("conflicts", "negation")


def test_polarity_close_against_not_close():
    r = relate("The factory will close next year", "The factory will not close next year", 0.9)
    assert (r.relation, r.kind) == ("conflicts", "negation")
    assert r.cues == {"a": ["will close"], "b": ["not close"]}


def test_arrested_against_at_large():
    r = relate("Police arrested the suspect on Friday", "The suspect remains at large", 0.7)
    assert (r.relation, r.kind) == ("conflicts", "negation")
    assert r.cues == {"a": ["arrested"], "b": ["at large"]}


def test_different_death_tolls():
    r = relate("42 people were killed in the blast", "17 people were killed in the blast", 0.9)
    assert (r.relation, r.kind) == ("conflicts", "quantity")
    assert [c.startswith("42 people") for c in r.cues["a"]] == [True]
    assert [c.startswith("17 people") for c in r.cues["b"]] == [True]
    assert r.explanation.endswith("(people)")


def test_death_toll_cues_are_the_quantities():
    r = relate("42 people were killed in the blast", "17 people were killed in the blast", 0.9)
    assert r.cues == {"a": ["42 people"], "b": ["17 people"]}


def test_quantities_within_ten_percent_agree():
    r = relate("About 1,000 people joined the march in the capital",
               "About 1,050 people joined the march in the capital", 0.9)
    assert r.relation == "corroborates"


def test_different_tolls_need_the_same_event():
    r = relate("42 people were killed in the blast", "17 people were killed in the blast", 0.5)
    assert r.relation == "related"


def test_percentages_rose_against_fell():
    r = relate("Sales rose 8% in March", "Sales fell 3% in March", 0.8)
    assert (r.relation, r.kind) == ("conflicts", "negation")
    assert r.cues == {"a": ["rose"], "b": ["fell"]}


def test_percentages_differ():
    r = relate("Unemployment was 8% in March", "Unemployment was 3% in March", 0.9)
    assert (r.relation, r.kind) == ("conflicts", "quantity")
    assert r.cues == {"a": ["8%"], "b": ["3%"]}


def test_verdict():
    r = relate("The election was rigged", "The election was free and fair", 0.7)
    assert (r.relation, r.kind) == ("conflicts", "verdict")
    assert r.cues == {"a": ["rigged"], "b": ["free and fair"]}


def test_date():
    r = relate("The summit opened on March 3", "The summit opened on March 5", 0.9)
    assert (r.relation, r.kind) == ("conflicts", "date")
    assert r.cues == {"a": ["March 3"], "b": ["March 5"]}
    assert r.explanation == "March 3 against March 5"


def test_a_date_the_other_side_also_gives_is_not_a_date_conflict():
    # The second side tells the same day of entry, and a later day of something else.
    r = relate("The balloon entered U.S. airspace on January 28.",
               "The balloon entered U.S. airspace on Jan. 28 and reached the sea on Feb. 4.", 0.9)
    assert r.relation != "conflicts"


def test_the_days_two_parties_spoke_are_not_a_date_conflict():
    r = relate("The Pentagon said on Thursday that the balloon had flown over Montana.",
               "Officials said on Monday that the balloon had flown over Montana.", 0.9)
    assert r.kind != "date"


def test_place():
    r = relate("The summit was held in Seoul", "The summit was held in Tokyo", 0.9)
    assert (r.relation, r.kind) == ("conflicts", "place")
    assert r.cues == {"a": ["South Korea"], "b": ["Japan"]}


def test_different_events_years_apart_are_not_a_conflict():
    a = "A 7.8 magnitude earthquake in 2015 killed 9,000 people in Nepal"
    b = "A 6.1 magnitude earthquake in 2023 killed 150 people in Nepal"
    for similarity in (0.7, 0.8, 0.9):
        assert relate(a, b, similarity).relation != "conflicts"


def test_different_events_years_apart_do_not_corroborate():
    r = relate("A 7.8 magnitude earthquake in 2015 killed 9,000 people in Nepal",
               "A 6.1 magnitude earthquake in 2023 killed 150 people in Nepal", 0.8)
    assert r.relation == "related"


def test_different_subjects_are_not_a_conflict():
    r = relate("Exports rose 5% in May", "Imports fell 2% in May", 0.9)
    assert r.relation == "related"
    assert r.kind is None
    assert "exports / imports" in r.explanation


def test_minister_and_deputy_minister_are_different_subjects():
    r = relate("The minister visited Seoul on Monday", "The deputy minister visited Seoul on Tuesday", 0.9)
    assert r.relation == "related"
    assert "deputy minister" in r.explanation


def test_added_detail_is_not_a_conflict():
    for similarity in (0.85, 0.95):
        r = relate("The UNC was established in 1950", "The UNC was established in July 1950", similarity)
        assert r.relation == "corroborates"


def test_not_only_but_also_is_not_a_negation():
    text = "The deal is not only about trade but also about security"
    assert analyse(text).negation == []
    r = relate(text, "The deal is about trade and security", 0.9)
    assert r.relation == "corroborates"


def test_a_real_negation_of_a_near_identical_statement():
    r = relate("The minister will attend the summit", "The minister will not attend the summit", 0.9)
    assert (r.relation, r.kind) == ("conflicts", "negation")
    assert r.cues == {"a": [], "b": ["not"]}


def test_ordinals_are_not_quantities():
    text = "Talks were held from the 11th to the 17th"
    assert analyse(text).quantities == []
    r = relate(text, "Talks were held from the 14th to the 17th", 0.9)
    assert r.relation == "corroborates"


def test_quantities_are_parsed_with_units_and_scales():
    found = [(q.value, q.unit) for q in analyse("Exports of 3.5 million tons rose 12% after 2,500 troops left").quantities]
    assert found == [(3.5e6, "ton"), (12.0, "%"), (2500.0, "troop")]
    assert analyse("The war began in 1950 and ended in 1953").quantities == []


@pytest.mark.parametrize("similarity, relation", [(0.39, "unrelated"), (0.0, "unrelated"), (0.4, "conflicts")])
def test_unrelated_below_the_related_floor(similarity, relation):
    r = relate("The ministry denied that troops crossed the border", "Troops crossed the border on Monday", similarity)
    assert r.relation == relation
    if relation == "unrelated":
        assert r.kind is None and r.cues == {}


def test_as_dict_rounds_the_score():
    d = relate("The summit opened on March 3", "The summit opened on March 5", 0.912345).as_dict()
    assert d == {"relation": "conflicts", "kind": "date", "score": 0.912, "explanation": "March 3 against March 5",
                 "cues": {"a": ["March 3"], "b": ["March 5"]}}
    json.dumps(d)


# ---------------------------------------------------------------------------
# judged(): the rules' answer combined with NLI probabilities
# ---------------------------------------------------------------------------


def _probs(contradiction, entailment):
    return {"contradiction": contradiction, "entailment": entailment, "neutral": round(1 - contradiction - entailment, 6)}


def test_judged_without_probabilities_keeps_the_rules():
    r = relate("The election was rigged", "The election was free and fair", 0.7)
    assert judged(r, None) is r


def test_entailment_overrules_a_rule_conflict():
    r = judged(relate("The election was rigged", "The election was free and fair", 0.7), _probs(0.05, 0.9))
    assert (r.relation, r.kind) == ("related", None)
    assert r.score == 0.7
    assert "overruled by NLI model" in r.explanation and "entailment 0.90" in r.explanation


def test_contradiction_turns_related_into_a_conflict():
    base = Relation("related", None, 0.55, "about the same thing")
    r = judged(base, _probs(0.7, 0.1))
    assert (r.relation, r.kind) == ("conflicts", "contradiction")
    assert r.score == 0.7
    assert r.explanation == "NLI model: contradiction 0.70, entailment 0.10"


def test_nli_agreement_keeps_a_rule_conflict_and_averages_the_score():
    r = judged(relate("The election was rigged", "The election was free and fair", 0.7), _probs(0.5, 0.3))
    assert (r.relation, r.kind) == ("conflicts", "verdict")
    assert r.score == pytest.approx(0.6)
    assert r.explanation.endswith("; NLI model: contradiction 0.50, entailment 0.30")
    assert r.cues == {"a": ["rigged"], "b": ["free and fair"]}


def test_entailment_turns_related_into_corroboration():
    r = judged(Relation("related", None, 0.55, "about the same thing"), _probs(0.1, 0.7))
    assert (r.relation, r.score) == ("corroborates", 0.7)


def test_nli_never_relates_unrelated_statements():
    base = Relation("unrelated", None, 0.2, "not about the same thing")
    assert judged(base, _probs(0.95, 0.0)) is base


def test_undecided_nli_leaves_the_relation():
    base = Relation("related", None, 0.55, "about the same thing")
    r = judged(base, _probs(0.4, 0.4))
    assert (r.relation, r.kind, r.score) == ("related", None, 0.55)


def test_a_verbatim_reprint_changes_no_conflict_and_corroborates_nothing(tmp_path, seed_db):
    """Another site reprinting the Reuters story word for word (its own page furniture around it)
    is the same origin: no new corroboration, and the same conflicts, once each."""
    from verify import pipeline, store

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for f in SEEDS.iterdir():
        (corpus / f.name).write_bytes(f.read_bytes())
    original = (SEEDS / MAVERICK).read_text(encoding="utf-8")
    (corpus / "reprint.txt").write_text("Example Site\nHome | World\n" + original, encoding="utf-8")
    result = pipeline.build([corpus], tmp_path / "r.db", None)
    db = store.open_db(tmp_path / "r.db")
    assert result.n_articles == 6
    seed_pairs = {c["pair_key"] for c in store.conflicts(seed_db)}
    pairs = [c["pair_key"] for c in store.conflicts(db)]
    assert len(pairs) == len(set(pairs)) == len(seed_pairs)
    assert set(pairs) == seed_pairs
    corroborated = {k["id"] for k in store.clusters(db) if k["corroboration"] == "corroborated"}
    seed_corroborated = {k["label"] for k in store.clusters(seed_db) if k["corroboration"] == "corroborated"}
    assert {k["label"] for k in store.clusters(db) if k["id"] in corroborated} == seed_corroborated


# ---------------------------------------------------------------------------
# What the scorer may flag
# ---------------------------------------------------------------------------


def _pair_inputs(a: str, b: str, similarity: float = 0.7):
    from verify import conflict_model, slots

    an_a, an_b = analyse(a), analyse(b)
    return conflict_model.PairInputs(an_a, an_b, slots.extract(a), slots.extract(b), similarity, 0.2,
                                     relate(an_a, an_b, similarity))


def test_two_parties_each_denying_are_not_explained_as_a_conflict():
    """A denial answers an assertion; two denials (of two parties' roles) give no reason to flag,
    and the scorer never flags a pair it cannot explain."""
    from verify import conflict_model

    p = _pair_inputs("Britain denied that its navy was involved in the blasts.",
                     "The Kremlin rejected claims that Russia was behind the blasts as stupid.")
    kind, _, _ = conflict_model.explain(p, conflict_model.features(p)[1], 0.9)
    assert kind == "contradiction"
    q = _pair_inputs("Britain denied that its navy was involved in the blasts.",
                     "Russia said British navy specialists carried out the blasts.")
    assert conflict_model.explain(q, conflict_model.features(q)[1], 0.9)[0] == "denial"


@pytest.mark.parametrize("a, b", [
    # The other side negates and accuses nobody: nothing there for the denial to answer.
    ("The Kremlin rejected as an absolute lie the suggestion that Putin ordered the killing.",
     "President Putin did not attend the funeral."),
    # The denying party's own word.
    ("The Kremlin insisted it was not involved in the crash, calling the claims a lie.",
     "The Kremlin said an investigation into the crash would take time."),
])
def test_a_denial_does_not_explain_a_pair_it_cannot_answer(a, b):
    from verify import conflict_model

    p = _pair_inputs(a, b)
    p.parties_a = p.parties_b = frozenset({"Russia"}) if "Kremlin" in b else frozenset()
    assert conflict_model.explain(p, conflict_model.features(p)[1], 0.9)[0] == "contradiction"


def test_the_rules_figure_clash_stands_only_where_the_slots_see_one_measure():
    """`relate` compares any two figures of one unit; deaths in two regions are two measures."""
    from verify import conflict_model

    p = _pair_inputs("Six deaths were confirmed in the areas of the Autonomous Administration of North and East Syria.",
                     "The UN said 4,300 deaths had been reported in the rebel-held areas in northwestern Syria.", 0.8)
    assert p.relation.kind == "quantity"
    row, cmp = conflict_model.features(p)
    assert row[conflict_model.FEATURES.index("rules_conflict")] == 0.0
    assert conflict_model.explain(p, cmp, 0.9)[0] == "contradiction"
    q = _pair_inputs("The UN said 2,274 deaths had been reported in northwestern Syria.",
                     "The UN said 4,300 deaths had been reported in northwestern Syria.", 0.9)
    row, cmp = conflict_model.features(q)
    assert row[conflict_model.FEATURES.index("rule_quantity")] == 1.0
    assert conflict_model.explain(q, cmp, 0.9)[0] == "quantity"


def test_two_clashes_inside_one_loose_cluster_are_both_kept():
    """One conflict per pair of clusters, but a cluster holding several accounts may hold
    several clashes: each claim there keeps its own."""
    import numpy as np

    from verify import embed

    texts = ["The jet crashed on 23 August near Tver, officials said.",
             "The jet crashed on 25 August near Tver, officials said.",
             "The jet carried 10 people when it crashed near Tver.",
             "The jet carried 13 people when it crashed near Tver."]
    articles = [{"id": f"a{i}", "outlet": f"Outlet {i}", "origin": None, "text": t, "published": "2023-08-26"}
                for i, t in enumerate(texts)]
    claims = [{"id": f"c{i}", "article_id": f"a{i}", "text": t, "start": 0, "end": len(t), "speaker": None,
               "cluster_id": "k-one"} for i, t in enumerate(texts)]
    vectors, _ = embed.embed_texts(texts, None, {})
    rows = conflicts.find_conflicts(articles, claims, np.asarray(vectors), lambda a: a["outlet"])
    pairs = {frozenset((r["claim_a"], r["claim_b"])) for r in rows}
    assert frozenset(("c0", "c1")) in pairs and frozenset(("c2", "c3")) in pairs


def test_trees_walked_together_give_the_per_tree_log_odds_bit_for_bit():
    """`Trees.log_odds` walks all trees at once; its log-odds must be those of walking them one
    after another, to the last bit, on values at, around and missing from the nodes' thresholds."""
    import numpy as np

    from verify import conflict_model

    scorer = conflict_model.load()
    assert scorer is not None and scorer.trees is not None
    trees = scorer.trees
    rng = np.random.default_rng(7)
    thresholds = np.concatenate([t["threshold"][~t["leaf"]] for t in trees.trees])
    n_features = len(conflict_model.FEATURES)
    x = rng.choice(np.concatenate([thresholds, thresholds + 1e-9, thresholds - 1e-9, [0.0, 1.0, 3.0]]),
                   size=(3000, n_features))
    x[rng.random(x.shape) < 0.05] = np.nan
    x[:500] = rng.random((500, n_features))
    together, one_by_one = trees.log_odds(x), trees.log_odds_per_tree(x)
    assert together.shape == (3000,)
    assert np.array_equal(together, one_by_one)
    assert np.array_equal(trees.log_odds(x[:1]), one_by_one[:1])
    assert len(np.unique(together)) > 100  # the rows go down many paths


def test_a_score_does_not_move_with_float_noise_in_its_inputs():
    """A word overlap summed in another order differs by ~1e-15 (a set's order, a cached
    vocabulary's columns). Put right at a tree's threshold, such noise must not change the score:
    without rounding it crossed the split and moved a flagged pair's score from run to run."""
    import numpy as np

    from verify import conflict_model

    scorer = conflict_model.load()
    assert scorer is not None and scorer.trees is not None
    column = conflict_model.FEATURES.index("word_overlap")
    thresholds = sorted({float(t["threshold"][n]) for t in scorer.trees.trees
                         for n in np.flatnonzero(~t["leaf"] & (t["feature"] == column))})
    assert thresholds, "the shipped trees split on the word overlap"
    base = np.zeros((len(thresholds), len(conflict_model.FEATURES)))
    base[:, 0] = 0.8  # similar claims, so the overlap's splits are reached
    at, above = base.copy(), base.copy()
    at[:, column] = thresholds
    above[:, column] = np.nextafter(np.asarray(thresholds), 1.0)
    assert np.array_equal(scorer.probability(at.tolist()), scorer.probability(above.tolist()))


# ---------------------------------------------------------------------------
# Who is accused: a party's denial answers what accuses that party, not what it accuses
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("text, accused", [
    ("Turkey has accused Greece and Bulgaria of smuggling the weapons.", {"Greece", "Bulgaria"}),
    ("Greece accused Turkey of being responsible for the fire.", {"Turkey"}),
    ("Officials said Egypt was behind the cyberattack on the dam.", {"Egypt"}),
    ("The report said that Norway organised the operation with help from divers.", {"Norway"}),
    ("Norwegian officials said they had no role in the attack.", set()),
    ("Greece was not involved in the fire, its ministry said.", set()),
    ("A Greek sailor accused of spying was released on Monday.", {"Greece"}),
    ("Rain fell on Athens for a third day.", set()),
    # An open question accuses nobody.
    ("The attack fueled speculation about who was to blame, from Athens to Ankara.", set()),
    ("It is unclear who was behind the fire, Greece or Turkey.", set()),
])
def test_accused_in_reads_who_is_accused(text, accused):
    assert conflicts.accused_in(text) == accused


MINE = ("Officials in Ankara accused Greece of planting the mine that sank the ferry off Lesbos last week. "
        "Rescuers recovered the last bodies from the wreck on Sunday. "
        "The ferry company said it would pay for the funerals of all the victims.")
DENIAL = ("Athens rejected the claim as baseless and said Greece had nothing to do with the sinking of the ferry. "
          "Greek divers are helping to search the seabed near the island. "
          "Fishermen in the area said they had seen no warships that night.")
THIRD = ("Greece said its coast guard rescued 40 passengers from the water after the ferry sank off Lesbos. "
         "The island's hospital treated most of them for hypothermia.")


def test_a_partys_denial_conflicts_with_what_accuses_it(make_jsonl, tmp_path):
    path = make_jsonl("rows.jsonl", [
        {"id": "a", "title": "Ankara blames Athens", "outlet": "Daily Sabah", "text": MINE},
        {"id": "b", "title": "Athens denies", "outlet": "Kathimerini", "text": DENIAL},
        {"id": "c", "title": "Rescue", "outlet": "BBC", "text": THIRD},
    ])
    pipeline.build([path], tmp_path / "v.db", None)
    db = open_store(tmp_path / "v.db")
    try:
        rows = store.conflicts(db)
    finally:
        db.conn.close()
    denials = [{c["text"][:20] for c in x["claims"]} for x in rows if x["kind"] == "denial"]
    assert {"Officials in Ankara ", "Athens rejected the "} in denials
    (x,) = [x for x in rows if {c["text"][:20] for c in x["claims"]} == {"Officials in Ankara ", "Athens rejected the "}]
    # The reviewer sees the words on both sides: the accusation and the rejection.
    assert {"accused", "rejected", "baseless"} <= {w for side in x["cues"].values() for w in side}
    # Greece's own account of its rescue accuses nobody: no denial answers it.
    assert not any("Greece said its coas" in pair for pair in denials)


@pytest.mark.parametrize("text, disowned", [
    ("The ministry insisted it wasn't involved in the explosion.", True),
    ("Officials in Athens say they had no role in the attack.", True),
    ("Egypt played no part in the cyberattack, its foreign ministry said.", True),
    ("The minister has no plans to resign.", False),
    ("The alliance has nothing to do with the United Nations, the statement said.", False),
    ("Greece was involved in the rescue.", False),
])
def test_a_party_disowning_an_act_is_a_denial(text, disowned):
    assert bool(conflicts.disowning_in(text)) == disowned
    assert bool(analyse(text).denial) == disowned


@pytest.mark.parametrize("text, denies", [
    ("Kremlin calls claims it killed the mercenary chief 'absolute lie'", True),
    ("All of this is a complete lie, the spokesman said.", True),
    ("The defence ministry said this \u201cinvented story says more about arguments in Moscow\u201d.", True),
    ("A Kremlin spokesman said the claims of Russian involvement are \"predictably stupid\".", True),
    ("Villages lie in ruins after the quake.", False),
    ("He failed a lie detector test last year.", False),
    ("It was a stupid mistake, the coach admitted.", False),
])
def test_calling_a_claim_a_lie_or_an_invention_is_a_denial(text, denies):
    assert bool(analyse(text).denial) == denies


@pytest.mark.parametrize("text, denier", [
    ("Kyiv denied those allegations.", {"Ukraine"}),
    ("North Korea and Russia have denied any arms deals.", {"North Korea", "Russia"}),
    ("The UK defence ministry on Saturday rejected claims by Russia that its specialists were involved.", {"United Kingdom"}),
    ("Moscow has slammed claims that Russia is behind the attacks, dubbing them \"absurd\".", {"Russia"}),
    ("The White House shot down accusations from the Chinese government that the U.S. flew balloons over China.",
     {"United States"}),
    # Named, but not as the one denying: nobody is named as denying.
    ("\u201cThis never happened,\u201d the former president said, adding that Beijing \u201crespected us greatly\u201d.", set()),
    ("A fighter jet shot down the balloon off the coast of South Carolina.", set()),
])
def test_who_denies_is_the_party_named_before_the_denial(text, denier):
    assert conflicts.denying_parties(text) == denier


def test_a_denial_by_nobody_named_does_not_answer_what_accuses_a_party_it_mentions():
    """"'This never happened,' Trump said, adding that Beijing respected us" is no denial by China
    (the only party it names), so China's accusation of the US is not what it answers."""
    from verify.conflicts import Candidates, _rule_block

    claims = [{"id": "d", "text": "\u201cThis never happened,\u201d the former president said, adding that Beijing respected us."},
              {"id": "t", "text": "China accused the United States of a clear overreaction and a serious violation of international practice."}]
    analyses = [analyse(c["text"]) for c in claims]
    cand = Candidates([(0, 1, 0.6)], analyses, {"d": set(), "t": set()}, ["A", "B"], {})
    assert _rule_block(claims, cand, None, [(0, 1, 0.6)]) == []


def test_two_reports_of_one_denial_do_not_clash():
    """Two reports of one denial, one in words the lexicon read before ("denies"), one not
    ("absolute lie"), were a denial against an assertion."""
    r = relate("Kremlin denies blame for the crash as a 'complete lie'", "Kremlin calls claims it killed him 'absolute lie'", 0.8)
    assert r.kind != "denial"


def test_a_reprinted_text_does_not_crowd_out_its_neighbours():
    """Conflict candidates are searched over distinct texts: a copy is not its twin's nearest
    neighbour (two copies of one text never conflict), and every copy pairs with the text the
    original would have paired with."""
    import numpy as np

    v = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.8, 0.6, 0.0], [0.0, 0.6, 0.8]], dtype=np.float32)
    sims, lo, hi = conflicts.distinct_neighbours(v, 1, ["Reuters", "Reuters", "AP", "AFP"])
    pairs = {(int(i), int(j)) for i, j in zip(lo, hi)}
    assert (0, 1) not in pairs
    assert {(0, 2), (1, 2)} <= pairs
    assert np.allclose(sims, 0.8, atol=1e-5)  # (2, 3) is below the floor: 0.36


def test_copies_past_the_limit_pair_through_one_copy_of_each_origin():
    import numpy as np

    n = conflicts.MAX_COPIES + 4
    v = np.array([[1.0, 0.0]] * n + [[0.8, 0.6]], dtype=np.float32)
    origin = ["Site"] * (n - 1) + ["Other wire"] + ["AP"]
    _, lo, hi = conflicts.distinct_neighbours(v, 1, origin)
    partners = {int(i) for i, j in zip(lo, hi) if j == n}
    assert len(partners) == conflicts.MAX_COPIES
    assert n - 1 in partners  # the one copy of another origin is kept


def test_places_told_from_one_reference_become_candidates_however_unlike(monkeypatch):
    # Two sentences alike in nothing but where they place the crash: no embedding neighbour
    # search pairs them, the search by reference place does.
    texts = ["Officials opened an investigation into what brought down the Embraer in the Tver region northeast of Moscow.",
             "The founder of Wagner died when his private jet crashed northwest of Moscow on Wednesday evening.",
             "Fighters marched to within 200 kilometers of Moscow in June.",
             "The jet crashed northwest of Moscow, officials said."]
    assert conflicts.located_clashes(texts) == [(0, 1), (0, 3)]
    articles = [{"id": f"a{i}", "outlet": f"Outlet {i}"} for i in range(len(texts))]
    claims = [{"id": f"c{i}", "article_id": f"a{i}", "text": t, "speaker": None} for i, t in enumerate(texts)]
    # Orthogonal vectors: no pair is anyone's near neighbour by meaning.
    def pairs() -> set[tuple[int, int]]:
        cand = conflicts.candidate_pairs(articles, claims, np.eye(len(texts), dtype=np.float32), lambda a: a["outlet"], k=1)
        return {(int(i), int(j)) for i, j, _ in cand.pairs}

    assert {(0, 1), (0, 3)} <= pairs()
    monkeypatch.setattr(conflicts, "located_clashes", lambda texts, located=None: [])
    assert not {(0, 1), (0, 3)} <= pairs()


def test_a_denials_targets_are_those_closest_to_what_it_denies_whatever_the_scorer_rates():
    # Four statements a denial answers (rule scores 0.9 .. 0.6); the scorer rates the two the
    # rules rank last highest. The three kept are the rules' first three, each shown with the
    # higher of the two scores.
    denial = {"id": "d", "article_id": "a0", "text": "Russia has denied any arms deals.", "cluster_id": "k0"}
    targets = [{"id": f"t{n}", "article_id": f"a{n + 1}", "text": f"Statement {n} on arms transfers.", "cluster_id": f"k{n + 1}"}
               for n in range(4)]
    claims = [denial] + targets
    rule_rows = [conflicts._conflict_row(denial, t, "denial", 0.9 - 0.1 * n, "one side rejects", {}, "parties")
                 for n, t in enumerate(targets)]
    scored_rows = [dict(row, score=0.95) for row in rule_rows[2:]]
    found = conflicts.merge_flags(rule_rows, scored_rows)
    kept = conflicts.select_conflicts(found, claims, [analyse(c["text"]) for c in claims],
                                      {row["pair_key"] for row in rule_rows})
    assert [row["claim_b"] for row in kept] == ["t0", "t1", "t2"]
    assert [row["score"] for row in kept] == [0.9, 0.8, 0.95]
    assert all("rule_score" not in row for row in kept)
