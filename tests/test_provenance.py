"""Provenance: the wire a reprint credits, wherever the page puts the credit; copies without one."""

from __future__ import annotations

import pytest

from verify import provenance
from verify.ingest import read_articles

STORY = ("Investigators found traces of explosives at the site where two pipelines were damaged, the "
         "prosecutor leading the inquiry said on Friday.\n\n"
         "The prosecution authority said the preliminary investigation was very complex and would continue "
         "for several more months before any charge.")


def one(make_jsonl, text: str, outlet: str = "Local Gazette") -> dict:
    (article,), problems = read_articles([make_jsonl("c.jsonl", [{"id": "x", "outlet": outlet, "text": text}])])
    assert problems == []
    return article


@pytest.mark.parametrize("text, wire", [
    # A dateline in the second paragraph, under the byline and a publication stamp.
    ("Traces of explosives found\n\nBy The Associated Press\nPublished: Nov. 18, 2022 at 5:32 AM CST|Updated: 1 hour ago\n"
     "HELSINKI (AP) — " + STORY, "Associated Press"),
    # A dateline with no dash, and the agency's own credit sentence at the end.
    ("Washington, Feb 14 (PTI) " + STORY + "\n\n(This story has not been edited by THE WEEK and is auto-generated from PTI)", "PTI"),
    # A reporter's byline, then the agency's name alone on its line.
    ("By JAN M. OLSEN\nAssociated Press\n" + STORY, "Associated Press"),
    # "Written by ... for Reuters" furniture.
    ("Written by Phil Stewart for Reuters ->\n" + STORY, "Reuters"),
    # The Canadian Press's closing line.
    (STORY + "\n\nThis report by The Canadian Press was first published Feb. 12, 2023.", "The Canadian Press"),
    # A copy that says where it was first published, by web address.
    (STORY + "\n\nThis article was written by and originally published on www.bbc.co.uk", "BBC"),
    # An agency name in capitals closing the last paragraph.
    (STORY + " REUTERS", "Reuters"),
    # Reuters' house style of credits.
    (STORY + "\n\n(Reporting by Jacob Gronholt-Pedersen; Editing by Chris Reese)", "Reuters"),
    # An author box naming the agency.
    (STORY + "\n\nAbout the author\nAgence France-Presse (AFP) is a French international news agency.", "AFP"),
])
def test_credit_names_the_wire(make_jsonl, text, wire):
    article = one(make_jsonl, text)
    assert article["origin"] == wire
    assert article["outlet"] == "Local Gazette"
    assert "Published:" not in article["text"] and "By The" not in article["text"]


@pytest.mark.parametrize("text", [
    # A picture bought from an agency says nothing about who wrote the words.
    ("This aerial view shows collapsed buildings in Hatay on 8 February 2023 (AFP)\n" + STORY),
    ("FILE PHOTO: A view shows a missile system at a base outside the town. REUTERS/Vitaly Nevar\n" + STORY),
    # Story text quoting another newsroom's interviews is not a credit.
    ("Officials told The New York Times that the plane was downed. " + STORY
     + "\n\nA second official told The New York Times the same."),
    # Nor is a sentence mentioning where imagery was published.
    ("Based on satellite imagery published by CNN, journalists concluded that the fuselage was intact. " + STORY),
])
def test_no_credit_no_wire(make_jsonl, text):
    assert one(make_jsonl, text)["origin"] == "Local Gazette"


def test_a_caption_credit_in_mid_page_is_dropped_with_its_caption(make_jsonl):
    text = (STORY + "\n\nSyrians build a temporary camp to house families made homeless by the earthquake. AFP\n\n"
            "Aid convoys crossed the border on Thursday for the first time since the quake struck the region.")
    article = one(make_jsonl, text)
    assert article["origin"] == "Local Gazette"
    assert "temporary camp" not in article["text"]


def test_an_agencys_note_to_editors_and_a_seen_from_caption_are_dropped(make_jsonl):
    text = (STORY + "\n\nGas leak at the pipeline as seen from an interceptor off the island, September 27, 2022. "
            "Defence Command/Handout via REUTERS ATTENTION EDITORS - THIS IMAGE WAS PROVIDED BY A THIRD PARTY.\n\n"
            "Gas leak at the pipeline as seen on 27 September 2022\n\n"
            "Aid convoys crossed the border on Thursday for the first time since the quake struck the region.")
    article = one(make_jsonl, text)
    assert "ATTENTION" not in article["text"] and "as seen" not in article["text"]
    assert article["text"].endswith("since the quake struck the region.")


def test_outlet_names_are_kept_as_the_input_gives_them(make_jsonl):
    assert one(make_jsonl, STORY, outlet="The Week (India)")["outlet"] == "The Week (India)"


def test_byline_and_source_lines_do_not_end_the_story(make_jsonl):
    text = ("Minister denies involvement in blasts\n\nBy Pavel Polityuk\n\nKYIV (Reuters) – " + STORY
            + "\n\nSource: Video Screenshot\n\nGermany, Denmark and Sweden all opened investigations into the incident.")
    article = one(make_jsonl, text)
    assert article["origin"] == "Reuters"
    assert article["byline"] == "Pavel Polityuk"
    assert article["text"].endswith("opened investigations into the incident.")
    assert "Video Screenshot" not in article["text"]


# ---------------------------------------------------------------------------
# Copies without a credit
# ---------------------------------------------------------------------------

LONG = " ".join(f"Sentence {i} of the wire story says that officials reported event number {i} in the region."
                for i in range(12))


def test_uncredited_copy_takes_the_credited_origin(make_jsonl):
    path = make_jsonl("c.jsonl", [
        {"id": "credited", "outlet": "Aggregator", "text": "via aljazeera.com\n" + LONG},
        {"id": "copy", "outlet": "cdn.example.net", "text": LONG},
        {"id": "other", "outlet": "Other Daily", "text": STORY},
    ])
    articles, _ = read_articles([path])
    provenance.share_origins(articles)
    by = {a["path"].rsplit("#", 1)[1]: a for a in articles}
    assert by["credited"]["origin"] == "Al Jazeera"
    assert by["copy"]["origin"] == "Al Jazeera"
    assert by["copy"]["copy_of"] == by["credited"]["id"]
    assert by["other"]["origin"] == "Other Daily" and "copy_of" not in by["other"]


def test_copies_with_no_credit_share_the_earliest_articles_origin(make_jsonl):
    path = make_jsonl("c.jsonl", [
        {"id": "late", "outlet": "Second Site", "published": "2024-03-02", "text": LONG},
        {"id": "early", "outlet": "First Site", "published": "2024-03-01", "text": LONG + " A last line of its own."},
    ])
    articles, _ = read_articles([path])
    provenance.share_origins(articles)
    assert {a["origin"] for a in articles} == {"First Site"}


def test_articles_sharing_a_paragraph_are_not_copies(make_jsonl):
    shared = "Officials reported that the convoy crossed the border on Thursday morning without incident."
    a = " ".join(f"Story A line {i} describes the rescue effort in the northern town in detail." for i in range(10))
    b = " ".join(f"Story B line {i} describes the political reaction in the capital at length." for i in range(10))
    path = make_jsonl("c.jsonl", [{"id": "a", "outlet": "A", "text": a + " " + shared},
                                  {"id": "b", "outlet": "B", "text": shared + " " + b}])
    articles, _ = read_articles([path])
    assert provenance.copy_groups(articles) == []
