"""Names: variants made canonical for embedding, article-defined abbreviations."""

from __future__ import annotations

import pytest

from verify.names import article_aliases, canonical_text


@pytest.mark.parametrize("text, expected", [
    ("DPRK fired a missile.", "North Korea fired a missile."),
    ("the DPRK fired a missile.", "North Korea fired a missile."),
    ("N. Korea fired a missile.", "North Korea fired a missile."),
    ("Pyongyang fired a missile.", "North Korea fired a missile."),
    ("Arms transfers between N. Korea, Russia.", "Arms transfers between North Korea, Russia."),
    ("We are concerned that the PRC and Russia are helping.", "We are concerned that China and Russia are helping."),
    ("PRC officials declined to comment.", "China officials declined to comment."),
    ("Seoul's defense ministry said.", "South Korea's defense ministry said."),
    ("support for the North.", "support for North Korea."),
])
def test_entity_variants(text, expected):
    assert canonical_text(text) == expected


def test_three_names_of_north_korea_become_one():
    outputs = {canonical_text(f"{name} launched a satellite.") for name in ("DPRK", "N. Korea", "Pyongyang")}
    assert outputs == {"North Korea launched a satellite."}


def test_tony_and_antony_blinken_are_one_person():
    tony = canonical_text("U.S. Secretary of State Tony Blinken arrived in Seoul.")
    antony = canonical_text("U.S. Secretary of State Antony Blinken arrived in Seoul.")
    assert tony == antony
    assert "Anthony Blinken" in tony


@pytest.mark.parametrize("text", [
    "the North Korea-Russia cooperation",
    "described the North Korea-Russia cooperation as a bilateral relationship",
    "US-ROK-Japan trilateral security cooperation",
    "The Washington Post reported it first.",
    "North Korea and South Korea held talks.",
    # A government's National Security Council is not the UN's Security Council.
    "National Security Council spokeswoman Adrienne Watson said the report was false.",
])
def test_longer_names_are_not_mangled(text):
    assert canonical_text(text) == text


def test_us_pronoun_is_not_the_country():
    assert canonical_text("Join us in the discussion about the plan.") == "Join us in the discussion about the plan."


def test_un_command_and_unc():
    assert canonical_text("UN Command") == "UN Command"
    assert canonical_text("UNC") == "UN Command"
    assert canonical_text("the UNC member states") == "the UN Command member states"
    assert canonical_text("the U.N. Command said") == canonical_text("the UNC said") == "the UN Command said"
    assert canonical_text("the United Nations Command said") == "the UN Command said"


def test_article_defines_its_own_abbreviation():
    aliases = article_aliases("Austin spoke at the meeting with the United Nations Command (UNC) in Seoul.")
    assert aliases == {"UNC": "UN Command"}


def test_article_abbreviation_unknown_to_the_gazetteer_is_applied():
    text = "He attended the Asia-Pacific Economic Cooperation (APEC) summit in San Francisco."
    aliases = article_aliases(text)
    assert aliases == {"APEC": "Asia-Pacific Economic Cooperation"}
    assert canonical_text("APEC leaders met.", aliases) == "Asia-Pacific Economic Cooperation leaders met."
    # Without the article's own definition the abbreviation stays as written.
    assert canonical_text("APEC leaders met.") == "APEC leaders met."


def test_article_aliases_without_definitions_is_empty():
    assert article_aliases("North Korea fired two missiles on Tuesday, the military said.") == {}


@pytest.mark.parametrize("text, abbr, full", [
    ("The National Intelligence Service (NIS) said the North had sent troops.", "NIS", "National Intelligence Service"),
    ("The United Nations Command (UNC) said the talks would go on.", "UNC", "UN Command"),
], ids=["NIS", "UNC"])
def test_sentence_initial_the_is_not_part_of_the_name(text, abbr, full):
    assert article_aliases(text) == {abbr: full}


def test_dotted_word_in_a_defined_name_is_kept():
    aliases = article_aliases("Troops of the U.S. Forces Korea (USFK) joined the drills.")
    assert aliases == {"USFK": "U.S. Forces Korea"}
