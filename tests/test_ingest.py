"""Ingest: cleaning of real pages, provenance detected from text, inputs of every kind."""

from __future__ import annotations

import csv
import json
import unicodedata

import pytest

from conftest import (BLINKEN, DONGA, GOOD_ARTICLE, MAVERICK, SEEDS, SEED_FILES, YONHAP, YONHAP_REPRINT,
                      article_named)
from verify.ingest import Problem, read_articles

# Site furniture found in the seed pages; none of it may survive cleaning.
SEED_JUNK = [
    "MOST POPULAR", "LATEST NEWS", "Advertisement", "Share This Post", "No menu items", "Back To Top",
    "Related Posts", "Most Commented", "(END)", "All Rights Reserved", "Comments", "Spy Bill",
    "Maverick Insider", "Payment options", "Source: Donga", "지나쌤", "A photo released by",
    "(Provided by", "By. Koo", "subscribe", "(Reporting by", "Editing by", "EPA-EFE", "[%%",
    "Please peer review", "South African Hero", "![]", "\u25b2", "(C) Yonhap",
    "Pool photo", "it added. (Yonhap)", "North Korea-Russia arms trade\n",
]


# ---------------------------------------------------------------------------
# The seeds
# ---------------------------------------------------------------------------


def test_every_seed_is_read_without_problems(seed_articles):
    from pathlib import Path

    assert sorted(Path(a["path"]).name for a in seed_articles) == sorted(SEED_FILES)


@pytest.mark.parametrize("junk", SEED_JUNK)
def test_no_site_junk_survives_in_seed_text(seed_articles, junk):
    offenders = [a["path"] for a in seed_articles if junk in a["text"]]
    assert offenders == []


def test_no_rights_reserved_in_any_case(seed_articles):
    assert not any("all rights reserved" in a["text"].lower() for a in seed_articles)


@pytest.mark.parametrize("file_name, first, last", [
    (YONHAP, "SEOUL, Nov. 14 (Yonhap) -- U.S. Secretary of Defense Lloyd Austin on Tuesday expressed",
     'a "new war of aggression" against Pyongyang.'),
    (MAVERICK, "SEOUL, Nov 14 (Reuters) - U.S. Defense Secretary Lloyd Austin said on Tuesday",
     "including anti-submarine exercises, the South Korean navy said on Tuesday."),
    (YONHAP_REPRINT, "The defense chiefs of South Korea and the United States spoke by phone Wednesday",
     'by the United States and the ROK with other partners," it added.'),
    (DONGA, "A foreign ministerial meeting between the Korean and U.S. governments was held in Seoul on the 9th.",
     "National Security Office Director Cho Tae-yong this morning and discussed North Korea-related issues."),
    (BLINKEN, "There is an anticipation of increased U.S.-South Korea collaboration",
     "and urged North Korea to stop all provocations, including the launch of artificial satellites."),
])
def test_seed_story_starts_and_ends_where_the_story_does(seed_articles, file_name, first, last):
    text = article_named(seed_articles, file_name)["text"]
    assert text.startswith(first)
    assert text.endswith(last)


def test_story_paragraphs_in_the_middle_are_kept(seed_articles):
    maverick = article_named(seed_articles, MAVERICK)["text"]
    assert "\n\nIt is led by the commander of the U.S. military stationed in South Korea.\n\n" in maverick
    assert "\n\nChina, North Korea\u2019s closest ally, has said it was complying with international obligations.\n\n" in maverick
    reprint = article_named(seed_articles, YONHAP_REPRINT)["text"]
    assert "Shin told local media Monday that North Korea has shipped about 6,700 containers" in reprint


def test_yonhap_metadata(seed_articles):
    a = article_named(seed_articles, YONHAP)
    assert a["outlet"] == "Yonhap"
    assert a["origin"] == "Yonhap"
    assert a["published"] == "2023-11-14"
    assert a["byline"] == "Kim Eun-jung and Chae Yun-hwan"
    assert a["title"] == "Austin expresses concerns over growing military ties between N. Korea, Russia"


def test_daily_maverick_carries_a_reuters_story(seed_articles):
    a = article_named(seed_articles, MAVERICK)
    assert a["outlet"] == "Daily Maverick"
    assert a["origin"] == "Reuters"
    assert a["published"] == "2023-11-14"
    assert "Jack Kim" in a["byline"]
    assert a["title"] == "UN members concerned China, Russia helping North Korea"


def test_yonhap_reprint_has_yonhap_origin_and_no_outlet(seed_articles):
    a = article_named(seed_articles, YONHAP_REPRINT)
    assert a["origin"] == "Yonhap"
    assert a["outlet"] is None
    assert a["title"] == "S. Korea, US defense chiefs vow to sternly deal with arms transfers between N. Korea, Russia"


def test_donga_via_aggregator_has_donga_origin(seed_articles):
    a = article_named(seed_articles, DONGA)
    assert a["origin"] == "Dong-A Ilbo"
    assert a["title"] == ("Park Jin-Blinken discuss responses to North Korea issues, including Russia-North Korea "
                          "military cooperation")


def test_blinken_page_byline_and_unknown_origin(seed_articles):
    a = article_named(seed_articles, BLINKEN)
    assert a["byline"] == "Koo Chae Eun"
    assert a["origin"] is None
    assert a["outlet"] is None


def test_the_two_yonhap_files_share_one_origin(seed_articles):
    origins = {article_named(seed_articles, f)["origin"] for f in (YONHAP, YONHAP_REPRINT)}
    assert origins == {"Yonhap"}


def test_article_ids_are_stable_across_reads(seed_articles, monkeypatch):
    again, _ = read_articles([SEEDS])
    assert {a["path"]: a["id"] for a in again} == {a["path"]: a["id"] for a in seed_articles}
    # The id depends on the content, not on how the folder was named.
    monkeypatch.chdir(SEEDS.parent)
    relative, _ = read_articles(["seeds"])
    assert sorted(a["id"] for a in relative) == sorted(a["id"] for a in seed_articles)
    assert len({a["id"] for a in seed_articles}) == 5


def test_seed_text_is_nfkc_without_nbsp(seed_articles):
    for a in seed_articles:
        assert "\xa0" not in a["text"]
        assert "\u200b" not in a["text"]
        assert unicodedata.normalize("NFKC", a["text"]) == a["text"]
    # The Daily Maverick page had "defence\xa0 officials".
    assert "defence officials of the 17 countries" in article_named(seed_articles, MAVERICK)["text"]


def test_normalisation_of_a_new_text(make_file):
    path = make_file("odd.txt",
                     "Odd characters in a headline here\n"
                     "The\xa0ministry\u200b said on\u00a0Monday that \uff33eoul and Tokyo will hold talks next week in Busan.\r\n"
                     "Officials from both countries are expected to discuss trade, security and fisheries.\r\n")
    (article,), problems = read_articles([path])
    assert problems == []
    assert article["text"].startswith("The ministry said on Monday that Seoul and Tokyo will hold talks")
    assert "\r" not in article["text"]
    assert unicodedata.normalize("NFKC", article["text"]) == article["text"]


# ---------------------------------------------------------------------------
# Provenance detected from the text of new pages
# ---------------------------------------------------------------------------


def _one(path):
    articles, problems = read_articles([path])
    assert problems == []
    assert len(articles) == 1
    return articles[0]


def test_reuters_dateline_date_and_byline(make_file):
    a = _one(make_file("story.txt",
                       "Some headline here for a story\n"
                       "By Jane Doe\n"
                       "LONDON, March 3, 2024 (Reuters) - The central bank raised rates by half a point on "
                       "Thursday, officials said.\n"
                       "Markets fell sharply after the announcement, with the main index losing more than two "
                       "percent by the close.\n"))
    assert a["origin"] == "Reuters"
    assert a["published"] == "2024-03-03"
    assert a["byline"] == "Jane Doe"
    assert a["title"] == "Some headline here for a story"
    assert a["text"].startswith("LONDON, March 3, 2024 (Reuters) - The central bank raised rates")
    assert a["text"][a["dateline_end"]:].startswith("The central bank raised rates")
    assert "By Jane Doe" not in a["text"]


def test_dateline_without_year_takes_the_year_of_a_full_date_on_the_page(make_file):
    a = _one(make_file("story.txt",
                       "Talks resume in Geneva\n"
                       "Updated on Nov. 20, 2022\n"
                       "GENEVA, Nov. 19 (Reuters) - Diplomats from both countries resumed talks on Saturday after a "
                       "pause of several months, officials said.\n"))
    assert a["published"] == "2022-11-19"
    assert a["origin"] == "Reuters"


def test_trailing_agency_credit_names_the_origin(make_file):
    a = _one(make_file("afp.txt",
                       "Floods hit the northern provinces\n"
                       "Heavy rain caused flooding across three northern provinces over the weekend, forcing "
                       "thousands from their homes.\n"
                       "The national weather service warned that more rain was expected later in the week, it "
                       "said. (AFP)\n"))
    assert a["origin"] == "AFP"
    assert a["text"].endswith("more rain was expected later in the week, it said.")
    assert "(AFP)" not in a["text"]


def test_source_line_names_the_origin(make_file):
    a = _one(make_file("src.txt",
                       "Defense chiefs hold phone talks\n"
                       "The defense chiefs of the two countries spoke by phone on Wednesday and vowed to respond "
                       "to provocations.\n"
                       "They agreed to strengthen their combined defense posture and to expand cooperation with "
                       "Japan.\n"
                       "Source: Yonhap News Agency\n"))
    assert a["origin"] == "Yonhap"
    assert "Source:" not in a["text"]


def test_ap_dateline_with_em_dash_and_copyright_line(make_file):
    a = _one(make_file("ap.txt",
                       "Senate passes the spending bill\n"
                       "WASHINGTON (AP) \u2014 The Senate passed a sweeping spending bill late on Friday, sending "
                       "it to the president for his signature.\n"
                       "The measure funds the government through September and includes new money for disaster "
                       "relief.\n"
                       "\u00a9 2024 The Associated Press. All rights reserved.\n"))
    assert a["origin"] == "Associated Press"
    assert a["outlet"] == "Associated Press"
    assert "rights reserved" not in a["text"]


def test_copyright_line_names_the_outlet_and_no_origin_is_invented(make_file):
    a = _one(make_file("herald.txt",
                       "Seoul unveils new housing plan\n"
                       "The government on Monday announced a plan to build 500,000 new homes in the capital "
                       "region over the next five years.\n"
                       "Officials said the plan would ease pressure on rents and help first-time buyers enter the "
                       "market sooner.\n"
                       "\u00a9 2024 The Korea Herald. All rights reserved.\n"))
    assert a["outlet"] == "Korea Herald"
    assert a["origin"] == "Korea Herald"
    assert a["published"] is None


def test_page_that_names_no_publisher_has_no_outlet(make_file):
    a = _one(make_file("plain.txt", GOOD_ARTICLE))
    assert a["outlet"] is None
    assert a["origin"] is None
    assert a["published"] is None
    assert a["byline"] == "Jane Doe"
    assert a["title"] == "Central bank lifts interest rates again"


def test_file_name_is_not_used_for_provenance(make_file):
    a = _one(make_file("reuters_yonhap_2023-11-14.txt", GOOD_ARTICLE))
    assert a["outlet"] is None
    assert a["origin"] is None
    assert a["published"] is None


@pytest.mark.parametrize("paragraph", [
    "Support for the president fell to 31 percent this week, down three points from the previous survey.",
    "Sign up rates were far higher than expected, with more than 40,000 people registering on the first day.",
], ids=["support-for", "sign-up"])
def test_prose_paragraph_that_starts_like_site_chrome_is_kept(make_file, paragraph):
    a = _one(make_file("poll.txt",
                       "Poll shows support slipping\n"
                       "The ruling party lost ground in the latest weekly survey of voters across the country.\n"
                       f"{paragraph}\n"
                       "Pollsters said the drop reflected concerns over rising prices and a slowing economy.\n"))
    assert paragraph in a["text"]


def test_paragraph_starting_with_by_does_not_end_the_article(make_file):
    a = _one(make_file("talks.txt",
                       "Talks drag on into the night\n"
                       "Negotiators from both countries met for eleven hours on Tuesday to discuss the new trade "
                       "agreement.\n"
                       "By then the two sides had agreed to meet again.\n"
                       "The final text is expected to be signed by the trade ministers next month in Geneva.\n"))
    assert a["text"].endswith("signed by the trade ministers next month in Geneva.")
    assert "By then the two sides had agreed to meet again." in a["text"]


@pytest.mark.parametrize("headline", [
    'Kremlin says US claims on North Korea arms deals are "absolutely unfounded"',
    "Will North Korea send more troops to Russia after the summit in Moscow?",
], ids=["quote-ended", "question"])
def test_headline_ending_in_quote_or_question_mark_is_a_title(make_file, headline):
    a = _one(make_file("kremlin.txt",
                       f"{headline}\n"
                       "By Jane Doe\n"
                       "MOSCOW, Nov 14, 2023 (Reuters) - The Kremlin on Tuesday rejected U.S. accusations that "
                       "North Korea was supplying weapons to Russia, calling them baseless.\n"
                       '"All such statements are absolutely unfounded," Kremlin spokesman Dmitry Peskov told '
                       "reporters on a conference call.\n"))
    assert a["title"] == headline
    assert a["text"].startswith("MOSCOW, Nov 14, 2023 (Reuters) - The Kremlin on Tuesday rejected")
    assert a["text"].endswith("told reporters on a conference call.")
    assert (a["origin"], a["published"], a["byline"]) == ("Reuters", "2023-11-14", "Jane Doe")


def test_short_quote_ended_headline_is_a_title(make_file):
    a = _one(make_file("kremlin.txt",
                       'Kremlin calls US claims "unfounded"\n'
                       "By Jane Doe\n"
                       "MOSCOW, Nov 14, 2023 (Reuters) - The Kremlin on Tuesday rejected U.S. accusations that "
                       "North Korea was supplying weapons to Russia, calling them baseless.\n"))
    assert a["title"] == 'Kremlin calls US claims "unfounded"'
    assert (a["origin"], a["published"], a["byline"]) == ("Reuters", "2023-11-14", "Jane Doe")


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

STORY_PARAGRAPHS = [
    "The foreign ministers of South Korea and the United States met in Seoul on Thursday to discuss regional security.",
    "They agreed to strengthen cooperation on sanctions enforcement and to share more intelligence on missile launches.",
    "The ministers also discussed economic security, supply chains for semiconductors and cooperation on clean energy.",
    "Officials said the two governments would hold a follow-up meeting of senior diplomats in Washington next month.",
    "The talks lasted more than two hours and ended with a joint press conference at the foreign ministry building.",
]


def _html_page(footer: str) -> str:
    paragraphs = "\n".join(f"<p>{p}</p>" for p in STORY_PARAGRAPHS)
    return f"""<!doctype html>
<html><head><title>Ministers meet in Seoul</title></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World news section link</a></li>
<li><a href="/signup">Subscribe to our daily newsletter today</a></li></ul></nav>
<header><div class="masthead">Site masthead banner text</div></header>
<article>
<h1>Ministers meet in Seoul</h1>
{paragraphs}
</article>
<footer><p>{footer}</p></footer>
</body></html>
"""


def test_html_keeps_the_article_and_drops_nav_and_footer(make_file):
    page = _html_page("Copyright 2024 Example Media Group. All rights reserved. Contact the newsroom desk.")
    a = _one(make_file("page.html", page))
    assert a["text"] == "\n\n".join(STORY_PARAGRAPHS)
    for chrome in ("Home", "World news section link", "Subscribe", "masthead", "Copyright", "rights reserved",
                   "newsroom desk"):
        assert chrome not in a["text"]
    assert a["title"] == "Ministers meet in Seoul"


def test_html_copyright_year_is_not_a_publication_date(make_file):
    page = _html_page("Copyright 2024 Example Media Group. All rights reserved. Contact the newsroom desk.")
    a = _one(make_file("page.html", page))
    assert a["published"] is None


def test_html_without_any_date_has_no_published(make_file):
    a = _one(make_file("page.htm", _html_page("Contact the newsroom desk for corrections and complaints.")))
    assert a["published"] is None
    assert a["text"].startswith(STORY_PARAGRAPHS[0])


# ---------------------------------------------------------------------------
# Corpora: .jsonl and .csv
# ---------------------------------------------------------------------------


def test_jsonl_one_article_per_row_with_metadata(make_jsonl):
    path = make_jsonl("corpus.jsonl", [
        {"id": "a1", "title": "Rates rise", "outlet": "Reuters",
         "text": "The central bank raised interest rates by half a point on Thursday, officials said.\n"
                 "Markets fell sharply after the announcement, with the main index losing two percent."},
        {"id": "a2", "title": "Floods", "outlet": "BBC News", "published": "2024-02-01", "byline": "Ann Lee",
         "body": "Heavy rain caused flooding across three northern provinces over the weekend, forcing "
                 "thousands from their homes."},
    ])
    articles, problems = read_articles([path])
    assert problems == []
    by_title = {a["title"]: a for a in articles}
    assert set(by_title) == {"Rates rise", "Floods"}
    rates, floods = by_title["Rates rise"], by_title["Floods"]
    assert rates["outlet"] == "Reuters" and rates["origin"] == "Reuters"
    assert rates["path"] == f"{path}#a1"
    assert rates["text"] == ("The central bank raised interest rates by half a point on Thursday, officials said."
                             "\n\nMarkets fell sharply after the announcement, with the main index losing two percent.")
    assert floods["outlet"] == "BBC"  # alias made canonical
    assert floods["published"] == "2024-02-01"
    assert floods["byline"] == "Ann Lee"
    assert floods["text"].startswith("Heavy rain caused flooding")
    assert rates["id"] != floods["id"]


def test_jsonl_row_origin_from_its_dateline(make_jsonl):
    path = make_jsonl("wire.jsonl", [
        {"id": "w1", "outlet": "Daily Maverick",
         "text": "SEOUL, Nov 14 (Reuters) - U.S. Defense Secretary Lloyd Austin said on Tuesday that member states "
                 "were concerned about sanctions evasion."},
    ])
    (a,), problems = read_articles([path])
    assert problems == []
    assert a["outlet"] == "Daily Maverick"
    assert a["origin"] == "Reuters"


def test_jsonl_bad_line_is_a_problem_and_other_rows_are_read(make_jsonl):
    good = {"id": "g", "title": "Good row",
            "text": "The central bank raised interest rates by half a point on Thursday, officials said."}
    path = make_jsonl("mixed.jsonl", [good, "{not json at all", dict(good, id="g2", title="Second good row")])
    articles, problems = read_articles([path])
    assert sorted(a["title"] for a in articles) == ["Good row", "Second good row"]
    assert len(problems) == 1
    message = str(problems[0])
    assert str(path) in message
    assert "line 2" in message
    assert "\n" not in message


def test_a_big_corpus_read_on_worker_processes_gives_what_one_process_reads(make_jsonl, monkeypatch):
    """From ingest.CORPUS_PROCESSES_FROM rows on, a corpus's rows are cleaned on worker
    processes: the same articles, in order, and the same problems, naming their lines."""
    from verify import ingest, workers

    good = {"id": "g", "title": "Good row", "outlet": "Yonhap",
            "text": "SEOUL, May 1 (Yonhap) -- The central bank raised interest rates by half a point on Thursday."}
    rows = [dict(good, id=f"g{n}", title=f"Row {n}") for n in range(12)]
    rows[3] = "{not json at all"
    rows[7] = {"id": "empty", "text": " "}
    path = make_jsonl("corpus.jsonl", rows)
    here = read_articles([path])
    used = []
    real = workers.pool_map
    monkeypatch.setattr(workers, "pool_map", lambda *args, **kw: used.append(args[2]) or real(*args, **kw))
    monkeypatch.setenv("VERIFY_CORES", "2")
    monkeypatch.setattr(ingest, "CORPUS_PROCESSES_FROM", 5)
    there = read_articles([path])
    assert used == [ingest._parsed_row]
    assert there == here
    assert len(here[0]) == 10 and [p.message for p in here[1]] == [p.message for p in there[1]]
    assert any("line 4" in p.message for p in here[1]) and any("line 8" in p.message for p in here[1])


def test_csv_one_article_per_row_with_metadata(make_file):
    path = make_file("corpus.csv", "")
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "title", "outlet", "published", "text"])
        writer.writeheader()
        writer.writerow({"id": "r1", "title": "Ministers meet", "outlet": "Yonhap", "published": "2024-05-01",
                         "text": "The foreign ministers of the two countries met in Seoul on Thursday to discuss "
                                 "regional security."})
        writer.writerow({"id": "r2", "title": "Talks end", "outlet": "AFP", "published": "",
                         "text": "The talks lasted more than two hours and ended with a joint press conference at "
                                 "the ministry."})
    articles, problems = read_articles([path])
    assert problems == []
    by_title = {a["title"]: a for a in articles}
    assert set(by_title) == {"Ministers meet", "Talks end"}
    assert by_title["Ministers meet"]["outlet"] == "Yonhap"
    assert by_title["Ministers meet"]["published"] == "2024-05-01"
    assert by_title["Ministers meet"]["path"] == f"{path}#r1"
    assert by_title["Talks end"]["origin"] == "AFP"
    assert by_title["Talks end"]["published"] is None
    assert by_title["Talks end"]["text"].startswith("The talks lasted more than two hours")


def test_csv_without_text_column_is_one_problem(make_file):
    path = make_file("nocol.csv", "id,title\n1,Something\n")
    articles, problems = read_articles([path])
    assert articles == []
    assert len(problems) == 1 and str(path) in str(problems[0])


def test_corpus_row_too_short_names_its_line(make_jsonl):
    path = make_jsonl("short.jsonl", [
        {"id": "ok", "text": "The central bank raised interest rates by half a point on Thursday, officials said."},
        {"id": "x", "text": "Too short."},
    ])
    articles, problems = read_articles([path])
    assert len(articles) == 1
    assert len(problems) == 1
    assert str(path) in str(problems[0]) and "line 2" in str(problems[0])


# ---------------------------------------------------------------------------
# Bad input: one one-line Problem naming the file; good files beside it still read
# ---------------------------------------------------------------------------

BAD_FILES = {
    "empty": ("empty.txt", b""),
    "whitespace only": ("blank.txt", b"  \n\n \t\n"),
    "binary": ("scan.txt", b"%PDF-1.4\n\x00\x01\x02\x03binary\x00stream" + bytes(range(256))),
    "cp949 korean": ("korean.txt", "북한은 화요일 동해상으로 탄도미사일 두 발을 발사했다고 합동참모본부가 밝혔다.".encode("cp949")),
    "latin-1": ("french.txt", "Le président a rencontré les ministres à Paris jeudi pour discuter de la sécurité "
                              "régionale.".encode("latin-1")),
    "only furniture": ("chrome.txt", b"Share This Post\nAdvertisement\nMOST POPULAR\nBack To Top\n"),
    "html without article": ("empty.html", b"<html><body><nav>Home</nav></body></html>"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_file_gives_one_problem_and_good_file_still_reads(make_file, kind):
    name, content = BAD_FILES[kind]
    good = make_file("good.txt", GOOD_ARTICLE)
    bad = make_file(name, content)
    articles, problems = read_articles([good.parent])
    assert [a["path"] for a in articles] == [str(good)]
    assert len(problems) == 1
    (problem,) = problems
    assert isinstance(problem, Problem)
    assert problem.path == str(bad)
    assert str(bad) in str(problem)
    assert "\n" not in str(problem)
    assert len(str(problem)) > len(str(bad)) + 5  # says what is wrong


def test_encoding_problems_say_utf8(make_file):
    bad = make_file("korean.txt", BAD_FILES["cp949 korean"][1])
    _, (problem,) = read_articles([bad])
    assert "UTF-8" in str(problem)


def test_unsupported_extension_passed_explicitly(make_file):
    good = make_file("good.txt", GOOD_ARTICLE)
    bad = make_file("notes.pdf", b"%PDF-1.4 not really")
    articles, problems = read_articles([good, bad])
    assert [a["path"] for a in articles] == [str(good)]
    assert len(problems) == 1
    assert str(bad) in str(problems[0]) and "\n" not in str(problems[0])
    assert ".pdf" in str(problems[0])


def test_unsupported_and_hidden_files_in_a_folder_are_skipped(make_file):
    good = make_file("good.txt", GOOD_ARTICLE)
    make_file("image.png", b"\x89PNG\r\n\x1a\n\x00\x00")
    make_file(".hidden.txt", GOOD_ARTICLE.replace("Jane Doe", "John Roe"))
    articles, problems = read_articles([good.parent])
    assert [a["path"] for a in articles] == [str(good)]
    assert problems == []


def test_folder_with_no_articles_names_the_folder(tmp_path, make_file):
    make_file("readme.md", "nothing to read here", folder="nothing")
    folder = tmp_path / "nothing"
    good = make_file("good.txt", GOOD_ARTICLE)
    articles, problems = read_articles([folder, good])
    assert len(articles) == 1
    assert len(problems) == 1
    assert problems[0].path == str(folder)
    assert str(folder) in str(problems[0]) and "\n" not in str(problems[0])


def test_missing_path_names_the_path(tmp_path, make_file):
    missing = tmp_path / "no-such-file.txt"
    good = make_file("good.txt", GOOD_ARTICLE)
    articles, problems = read_articles([missing, good])
    assert len(articles) == 1
    assert len(problems) == 1
    assert problems[0].path == str(missing)
    assert str(missing) in str(problems[0]) and "\n" not in str(problems[0])


def test_same_article_twice_is_read_once(make_file):
    a = make_file("a.txt", GOOD_ARTICLE)
    b = make_file("copy-of-a.txt", GOOD_ARTICLE)
    articles, problems = read_articles([a.parent])
    assert problems == []
    assert len(articles) == 1
    assert articles[0]["path"] in {str(a), str(b)}


# ---------------------------------------------------------------------------
# Huge and hostile input: a size limit per article, a fallback for HTML lxml cannot nest
# ---------------------------------------------------------------------------


def _repeated_text(n_bytes: int) -> str:
    paragraph = ("The minister said on Tuesday that the bridge will reopen in June. "
                 "Officials in Seoul confirmed that the border crossing was closed overnight.")
    return "\n\n".join([paragraph] * (n_bytes // (len(paragraph) + 2) + 1))


def test_text_file_over_the_article_limit_is_refused_in_one_line_and_the_rest_is_read(make_file, monkeypatch):
    from verify import ingest

    monkeypatch.setattr(ingest, "MAX_ARTICLE_BYTES", 50_000)
    good = make_file("good.txt", GOOD_ARTICLE)
    big = make_file("big.txt", _repeated_text(120_000))
    articles, problems = read_articles([good.parent])
    assert [a["path"] for a in articles] == [str(good)]
    (problem,) = problems
    assert problem.path == str(big)
    assert "\n" not in str(problem)
    assert str(problem) == (f"{big}: text of 120.1 KB is over the 50.0 KB limit for one article; split it into "
                            "articles (one a file, or one a row of a .jsonl or .csv corpus)")


def test_the_default_limit_refuses_a_big_text_file_before_reading_it(make_file, monkeypatch):
    from pathlib import Path

    from verify import ingest

    big = make_file("big.txt", _repeated_text(ingest.MAX_ARTICLE_BYTES + 10))
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("a refused file is not read"))
    _, (problem,) = read_articles([big])
    size = big.stat().st_size
    assert str(problem) == (f"{big}: text of {size:,} bytes is over the 2,000,000 bytes limit for one article; "
                            "split it into articles (one a file, or one a row of a .jsonl or .csv corpus)")


def test_corpus_row_over_the_limit_names_its_line_and_other_rows_are_read(make_jsonl, monkeypatch):
    from verify import ingest

    monkeypatch.setattr(ingest, "MAX_ARTICLE_BYTES", 50_000)
    path = make_jsonl("corpus.jsonl", [
        {"id": "ok", "text": GOOD_ARTICLE},
        {"id": "huge", "text": _repeated_text(60_000)},
    ])
    articles, (problem,) = read_articles([path])
    assert [a["path"] for a in articles] == [f"{path}#ok"]
    assert str(problem).startswith(f"{path}: line 2: text of 60.1 KB is over the 50.0 KB limit for one article")


def test_html_page_over_the_page_limit_is_refused(make_file, monkeypatch):
    from verify import ingest

    monkeypatch.setattr(ingest, "MAX_HTML_BYTES", 20_000)
    page = make_file("big.html", "<html><body>" + "<p>x</p>" * 5_000 + "</body></html>")
    _, (problem,) = read_articles([page])
    assert str(problem).startswith(f"{page}: page of 40.0 KB is over the 20.0 KB limit for one article;")


PARAGRAPHS = [
    "The defence ministry said on Tuesday that the two countries had agreed to hold joint drills next month.",
    "Officials in Seoul confirmed that talks between the ministers would continue later this week in Tokyo.",
    "Analysts said the agreement marked a shift in the region after years of tension over the border.",
]


@pytest.mark.parametrize("closed", [True, False], ids=["closed", "never closed"])
def test_article_inside_20000_nested_divs_is_read_by_the_fallback(make_file, closed):
    body = "".join(f"<p>{p}</p>\n" for p in PARAGRAPHS)
    page = ("<!doctype html><html><head><title>Ministers agree on drills</title>"
            "<meta name='author' content='Jane Doe'><script>var x = '<p>not text</p>';</script></head><body>"
            + "<div>" * 20_000 + body + ("</div>" * 20_000 if closed else "") + "</body></html>")
    (article,) = _one_or_fail(make_file("deep.html", page))
    assert article["text"] == "\n\n".join(PARAGRAPHS)
    assert article["title"] == "Ministers agree on drills"
    assert article["byline"] == "Jane Doe"


def _one_or_fail(path):
    articles, problems = read_articles([path])
    assert problems == []
    return articles


def test_html_with_only_scripts_and_styles_says_so(make_file):
    page = make_file("blank.html", "<html><head><style>p{}</style></head><body><script>document.write('hi')</script></body></html>")
    _, (problem,) = read_articles([page])
    assert str(problem) == f"{page}: no article text found in the HTML (no visible text outside scripts and styles)"


def test_jsonl_lines_json_accepts_but_python_cannot_use_are_problems_of_their_line(make_file):
    text = "The minister said on Tuesday that the shipments had resumed at the port of Rajin."
    path = make_file("rows.jsonl", "\n".join([
        "[" * 100_000,                                      # deeper than the JSON parser recurses
        "1" * 5_000,                                        # an integer Python will not convert
        json.dumps({"id": "s", "text": text.replace("Tuesday", "Tuesday \ud800"), "title": "\udfff"}),
        json.dumps({"id": "sep", "text": text.replace(" that", "\u2028that")}, ensure_ascii=False),
    ]))
    articles, problems = read_articles([path])
    assert [str(p) for p in problems] == [f"{path}: line 1: not usable JSON (nested too deeply)",
                                          f"{path}: line 2: not usable JSON (Exceeds the limit (4300 digits) for integer string conversion)"]
    # A lone surrogate is no character: replaced, so the row can be stored; a raw line separator
    # inside a JSON string does not cut its line in two.
    assert [a["path"] for a in articles] == [f"{path}#s", f"{path}#sep"]
    assert "Tuesday \ufffd that" in articles[0]["text"] and articles[0]["title"] == "\ufffd"


def test_csv_the_csv_module_refuses_is_a_problem_of_its_line_and_earlier_rows_are_read(make_file, monkeypatch):
    # Read with newline="" the csv module takes nearly anything; what it still refuses (here a
    # field over its size limit, lowered for the test) is a Problem, not a crash of the build.
    set_limit = csv.field_size_limit
    monkeypatch.setattr(csv, "field_size_limit", lambda limit: set_limit(500))
    try:
        path = make_file("rows.csv", f'id,text\n1,"{GOOD_ARTICLE}"\n2,"{"x " * 400}"\n3,"{GOOD_ARTICLE}"\n')
        articles, problems = read_articles([path])
    finally:
        set_limit(1 << 30)
    assert [a["path"] for a in articles] == [f"{path}#1"]
    assert [str(p) for p in problems] == [
        f"{path}: line 7: not valid CSV (field larger than field limit (500)); rows after it are not read"]


def test_a_file_name_with_a_line_break_is_shown_escaped_on_one_line(make_file):
    bad = make_file("two\nlines.txt", b"")
    _, (problem,) = read_articles([bad])
    assert problem.path == str(bad)
    assert str(problem) == f"{bad.parent}/two\\nlines.txt: empty file"
