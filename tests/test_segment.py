"""Segment: sentences with exact offsets, claims only, and who says them."""

from __future__ import annotations

import re

import pytest

from conftest import MAVERICK, YONHAP, YONHAP_REPRINT, article_named, claim_containing
from verify.segment import find_attribution, is_claim, segment_article, split_sentences

CLAIM_JUNK = [
    "MOST POPULAR", "LATEST NEWS", "Advertisement", "Share This Post", "No menu items", "Back To Top",
    "Related Posts", "Most Commented", "(END)", "All Rights Reserved", "Comments", "Spy Bill",
    "Maverick Insider", "Payment options", "Source: Donga", "지나쌤", "A photo released by", "(Provided by",
    "By. Koo", "EPA-EFE", "(Reporting by", "(Yonhap) --", "(Reuters) -", "Pool photo", "(3rd from",
]


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


# ---------------------------------------------------------------------------
# Claims of the seeds
# ---------------------------------------------------------------------------


def test_seeds_have_claims_in_every_article(seed_articles, seed_claims):
    per_article = {a["id"]: 0 for a in seed_articles}
    for c in seed_claims:
        per_article[c["article_id"]] += 1
    assert all(n >= 10 for n in per_article.values()), per_article


def test_claim_offsets_index_the_cleaned_text(seed_articles, seed_claims):
    texts = {a["id"]: a["text"] for a in seed_articles}
    for c in seed_claims:
        assert texts[c["article_id"]][c["start"]:c["end"]] == c["text"]
        assert c["text"] == c["text"].strip()


def test_claim_offsets_in_the_database_index_the_stored_text(seed_db):
    texts = {row["id"]: row["text"] for row in seed_db.query("select id, text from articles")}
    rows = list(seed_db.query('select article_id, text, start, "end" from claims'))
    assert len(rows) == seed_db["claims"].count > 0
    for row in rows:
        assert texts[row["article_id"]][row["start"]:row["end"]] == row["text"]


def test_claims_are_in_reading_order_and_do_not_overlap(seed_claims):
    by_article: dict[str, list[dict]] = {}
    for c in seed_claims:
        by_article.setdefault(c["article_id"], []).append(c)
    for claims in by_article.values():
        assert [c["position"] for c in claims] == list(range(len(claims)))
        for before, after in zip(claims, claims[1:]):
            assert before["end"] <= after["start"]


def test_claim_ids_are_unique(seed_claims):
    assert len({c["id"] for c in seed_claims}) == len(seed_claims)


def test_no_claim_is_a_question_heading_or_caption(seed_articles, seed_claims):
    titles = {a["title"] for a in seed_articles if a["title"]}
    for c in seed_claims:
        text = c["text"]
        assert not text.rstrip("\"'\u201d\u2019) ").endswith("?"), text
        assert text not in titles
        assert re.search(r"[.!\"\u201d\u2019)]$", text), text  # a sentence end, not a heading
        assert not re.search(r"\((?:L|R|C)\)|photo (?:released|provided)|\(Provided by", text, re.I), text


@pytest.mark.parametrize("junk", CLAIM_JUNK)
def test_no_claim_contains_site_junk(seed_claims, junk):
    assert [c["text"] for c in seed_claims if junk in c["text"]] == []


def test_dateline_is_not_part_of_the_first_claim(seed_articles, seed_claims):
    maverick = article_named(seed_articles, MAVERICK)
    first = [c for c in seed_claims if c["article_id"] == maverick["id"]][0]
    assert first["text"].startswith("U.S. Defense Secretary Lloyd Austin said on Tuesday U.N. member states")
    assert first["start"] == maverick["dateline_end"] == len("SEOUL, Nov 14 (Reuters) - ")
    yonhap = article_named(seed_articles, YONHAP)
    first = [c for c in seed_claims if c["article_id"] == yonhap["id"]][0]
    assert first["text"].startswith("U.S. Secretary of Defense Lloyd Austin on Tuesday expressed concerns")


# ---------------------------------------------------------------------------
# Sentence boundaries
# ---------------------------------------------------------------------------


def test_abbreviations_do_not_end_sentences():
    text = ("SEOUL, Nov. 14 (Yonhap) -- The U.S. envoy met N. Korea officials on Tuesday in the capital. "
            "He said the talks with the U.S. went well.\n\n"
            "The U.S. and N. Korea held talks on Nov. 3 in Geneva. Officials from both sides attended.")
    assert _sentences(text) == [
        "SEOUL, Nov. 14 (Yonhap) -- The U.S. envoy met N. Korea officials on Tuesday in the capital.",
        "He said the talks with the U.S. went well.",
        "The U.S. and N. Korea held talks on Nov. 3 in Geneva.",
        "Officials from both sides attended.",
    ]


def test_spans_are_exact_and_trimmed():
    text = "  First sentence of the paragraph is here.   Second one follows it.  \n\nThird in a new paragraph."
    spans = split_sentences(text)
    assert [text[a:b] for a, b in spans] == [
        "First sentence of the paragraph is here.",
        "Second one follows it.",
        "Third in a new paragraph.",
    ]
    assert spans[0][0] == 2


def test_sentences_never_cross_paragraphs():
    text = "The talks ended without a deal\n\nOfficials said they would meet again next month."
    assert _sentences(text) == ["The talks ended without a deal", "Officials said they would meet again next month."]


def test_quote_spanning_two_sentences_stays_one_claim():
    quote = "\u201cAll such statements are absolutely unfounded. They are not substantiated,\u201d Peskov said."
    assert _sentences(quote) == [quote]
    article = {"id": "a", "text": f"The Kremlin rejected the claims on Tuesday.\n\n{quote}"}
    claims = segment_article(article)
    assert [c["text"] for c in claims] == ["The Kremlin rejected the claims on Tuesday.", quote]
    assert claims[1]["speaker"] == "Peskov"
    assert claims[1]["verb"] == "said"


def test_two_sentence_quote_on_a_seed_stays_together(seed_claims):
    c = claim_containing(seed_claims, "I warn North Korea.")
    assert c["text"].startswith('"I warn North Korea. Now as a U.N. member,')
    assert c["text"].endswith('Shin said in a remark.')
    assert c["speaker"] == "Shin"


# ---------------------------------------------------------------------------
# Speakers on the seeds
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("fragment, speaker, verb", [
    ("Kremlin spokesman Dmitry Peskov said:", "Kremlin spokesman Dmitry Peskov", "said"),
    ("Washington has accused North Korea", "Washington", "accused"),
    ("North Korea and Russia have denied any arms deals", "North Korea and Russia", "denied"),
    ("has said it was complying", "China", "said"),
    ("vowed to sternly deal with North Korea's arms transfers", "Seoul's defense ministry", "said"),
    ("pose a serious threat not only to the Korean Peninsula", "Seoul's defense ministry", "said"),
    ("Austin said North Korea is supplying", "Austin", "said"),
    ("According to the Pentagon", "the Pentagon", "according to"),
    ("Shin told local media Monday", "Shin", "told"),
])
def test_seed_speaker(seed_claims, fragment, speaker, verb):
    c = claim_containing(seed_claims, fragment)
    assert (c["speaker"], c["verb"]) == (speaker, verb)


def test_quote_then_name_in_yonhap(seed_articles, seed_claims):
    yonhap = article_named(seed_articles, YONHAP)
    c = claim_containing(seed_claims, '"We are deeply concerned that the PRC')
    assert c["article_id"] == yonhap["id"]
    assert (c["speaker"], c["verb"]) == ("Austin", "said")


def test_pronoun_resolves_to_the_last_person_quoted(seed_articles, seed_claims):
    c = claim_containing(seed_claims, "\u201cWe\u2019re also troubled by the recent growth")
    assert c["article_id"] == article_named(seed_articles, MAVERICK)["id"]
    assert c["text"].endswith("he said.")
    assert c["speaker"] == "Austin"


def test_it_resolves_to_the_last_organisation(seed_articles, seed_claims):
    c = claim_containing(seed_claims, "The two sides strongly denounced North Korea's reckless actions")
    assert c["article_id"] == article_named(seed_articles, YONHAP_REPRINT)["id"]
    assert c["speaker"] == "Seoul's defense ministry"


def test_unattributed_fact_has_no_speaker(seed_claims):
    c = claim_containing(seed_claims, "It is led by the commander of the U.S. military")
    assert (c["speaker"], c["verb"]) == (None, None)


# ---------------------------------------------------------------------------
# find_attribution / is_claim on made-up sentences
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("sentence, expected", [
    ("The ministry said North Korea fired two missiles on Tuesday.", ("The ministry", "said")),
    ("North Korea fired two missiles on Tuesday, the ministry said.", ("the ministry", "said")),
    ("North Korea fired two missiles on Tuesday, the Joint Chiefs of Staff said on Wednesday.",
     ("the Joint Chiefs of Staff", "said")),
    ("\u201cWe will respond firmly to any provocation,\u201d Austin said.", ("Austin", "said")),
    ('"We will respond firmly to any provocation," the defense minister told reporters.',
     ("the defense minister", "told")),
    ("\u201cWe will respond firmly,\u201d he said.", ("he", "said")),
    ("According to the Pentagon, the two sides discussed security on the peninsula.", ("the Pentagon", "according to")),
    ("Seoul and Washington have warned Pyongyang against further tests.", ("Seoul and Washington", "warned")),
    ("Kim Jong Un told the party congress that the country will build more weapons.", ("Kim Jong Un", "told")),
    ("President Yoon on Monday urged the North to return to talks.", ("President Yoon", "urged")),
    ("Ukraine today accused Russia of being responsible for the leak.", ("Ukraine", "accused")),
    ("Turkey\u2019s president has defended his government\u2019s response, saying no one could have prepared.",
     ("Turkey\u2019s president", "defended")),
    ("Opposition leader Kemal Kilicdaroglu hit back, saying the government had ignored the warnings.",
     ("Opposition leader Kemal Kilicdaroglu", "hit back")),
    ("The team defended the title in 2022.", (None, None)),
    ("North Korea fired two ballistic missiles into the sea on Tuesday.", (None, None)),
    ("The talks lasted more than two hours and ended with a joint press conference.", (None, None)),
])
def test_find_attribution(sentence, expected):
    assert find_attribution(sentence) == expected


@pytest.mark.parametrize("sentence", [
    "Did North Korea send artillery shells to Russia for the war?",
    "\u201cWill the sanctions work against the North?\u201d",
    "Read more",
    "Read more: North Korea fires missile",
    "Too short here.",
    "He said so.",
    "North Korea fires two ballistic missiles into the sea",  # a headline: no sentence end
    "A photo released by KCNA shows Kim Jong Un (C) at the station in the capital.",
    "Foreign Minister Park Jin (R) shakes hands with the visiting envoy in this photo provided by the ministry.",
    "",
])
def test_is_claim_rejects(sentence):
    assert is_claim(sentence) is False


@pytest.mark.parametrize("sentence", [
    "North Korea fired two ballistic missiles into the sea on Tuesday.",
    "\u201cWe will respond firmly to any provocation,\u201d Austin said.",
    "The meeting, held after a photo shoot, focused on military cooperation between the two countries.",
    "Officials said the two governments would meet again next month!",
])
def test_is_claim_accepts(sentence):
    assert is_claim(sentence) is True


def test_segment_article_drops_non_claims_and_resolves_pronouns():
    article = {
        "id": "t1",
        "text": ("Defense Minister Shin Won-sik said on Monday that the North had shipped thousands of containers.\n\n"
                 "\u201cWe will respond to every provocation with overwhelming force,\u201d he said.\n\n"
                 "Is this the end of the talks between the two Koreas?\n\n"
                 "Read more\n\n"
                 "The defense ministry said the drills would run for eleven days near the border.\n\n"
                 "The exercise will involve fighter jets and warships, it added."),
    }
    claims = segment_article(article)
    assert [c["speaker"] for c in claims] == [
        "Defense Minister Shin Won-sik", "Defense Minister Shin Won-sik", "The defense ministry", "The defense ministry",
    ]
    assert [c["verb"] for c in claims] == ["said", "said", "said", "added"]
    for c in claims:
        assert article["text"][c["start"]:c["end"]] == c["text"]


# ---------------------------------------------------------------------------
# Huge input: bounded work, exact offsets, repeats once
# ---------------------------------------------------------------------------


def test_a_paragraph_longer_than_a_piece_is_split_at_sentence_ends_with_exact_offsets():
    from verify.segment import MAX_PIECE_CHARS

    sentences = [f"Mr. Kim told the U.S. envoy on day {i} that the talks in Seoul would go on." for i in range(200)]
    text = "Intro line of the page.\n\n" + " ".join(sentences)
    assert len(text) > 5 * MAX_PIECE_CHARS
    spans = split_sentences(text)
    # Every sentence found whole: pieces end at a sentence end, never at "Mr." or "U.S.".
    assert [text[a:b] for a, b in spans] == ["Intro line of the page.", *sentences]


def test_a_paragraph_without_any_sentence_end_is_cut_and_keeps_exact_offsets():
    from verify.segment import MAX_PIECE_CHARS

    text = " ".join(f"word{i}" for i in range(3 * MAX_PIECE_CHARS // 5)) + " " + "x" * (3 * MAX_PIECE_CHARS)
    spans = split_sentences(text)
    assert len(spans) >= 3
    assert all(b - a <= MAX_PIECE_CHARS for a, b in spans)
    assert all(text[a:b] == text[a:b].strip() and text[a:b] for a, b in spans)
    assert [a for a, _ in spans] == sorted(a for a, _ in spans)


def test_a_sentence_repeated_in_one_article_is_one_claim_at_its_first_occurrence():
    line = "The minister said on Tuesday that the bridge will reopen in June."
    other = "Officials in Seoul confirmed that the border crossing was closed overnight."
    text = "\n\n".join([line, other, line, f"{line} {line}"])
    claims = segment_article({"id": "rep", "text": text})
    assert [c["text"] for c in claims] == [line, other]
    assert claims[0]["start"] == 0
    assert [c["position"] for c in claims] == [0, 1]


def test_segmenting_is_linear_in_the_text():
    import time

    sentences = [f"The agency said on day {i} that {i % 7} shipments had resumed at the port." for i in range(400)]
    small = "\n\n".join(" ".join(sentences[i:i + 4]) for i in range(0, 400, 4))
    big = "\n\n".join([small] * 8) + "\n\n" + " ".join(sentences * 2)  # and one long paragraph
    started = time.perf_counter()
    split_sentences(small)
    small_seconds = time.perf_counter() - started
    started = time.perf_counter()
    claims = segment_article({"id": "big", "text": big})
    big_seconds = time.perf_counter() - started
    assert len(claims) == 400
    # 10x the text; quadratic would be 100x. Generous for a busy machine.
    assert big_seconds < 30 * max(small_seconds, 0.05), (small_seconds, big_seconds)


def test_a_clock_time_before_its_day_or_time_zone_does_not_end_a_sentence():
    text = ("The Department of Defense said that at 2:42 p.m. Sunday, an F-16 fired a missile. "
            "The quake struck at 4:17 a.m. local time. The blast came at 4 p.m. Officials said nobody was hurt.")
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "The Department of Defense said that at 2:42 p.m. Sunday, an F-16 fired a missile.",
        "The quake struck at 4:17 a.m. local time.",
        "The blast came at 4 p.m.",
        "Officials said nobody was hurt.",
    ]
