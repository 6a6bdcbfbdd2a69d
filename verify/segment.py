"""Segment: article rows -> claim rows (sentences that assert something, with who asserts it).

pysbd finds the sentence boundaries (it knows "U.S.", "Nov.", "N. Korea" and keeps a quotation
that spans sentences together); offsets are then found in the cleaned text so that
`article["text"][claim["start"]:claim["end"]] == claim["text"]` always holds.

Attribution is rule-based over the reporting structures news copy uses:
  “…,” Austin said.            (quote, then speaker and verb)
  Austin said North Korea …    (speaker and verb open the sentence)
  …, Seoul's defense ministry said.   (speaker and verb close it)
  According to the Pentagon, …
and pronouns ("he said", "it added") resolve to the last person or organisation quoted.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

REPORTING_VERBS = (
    "said", "says", "say", "told", "tells", "added", "adds", "stated", "accused", "accuses",
    "denied", "denies", "deny", "claimed", "warned", "warns", "noted", "announced",
    "announces", "insisted", "insists", "argued", "argues", "alleged", "alleges", "reported",
    "expressed", "criticized", "criticised", "criticizes", "criticises", "praised", "urged", "urges",
    "vowed", "vows", "pledged", "pledges", "confirmed", "confirms", "rejected", "rejects", "dismissed",
    "described", "emphasized", "emphasised", "stressed", "explained", "wrote", "tweeted", "condemned",
    "denounced", "acknowledged", "admitted", "asserted", "agreed", "reaffirmed", "blamed",
    "called", "believes", "believe", "estimated", "predicted", "revealed", "disclosed",
    "suggested", "reiterated", "maintained", "countered", "responded", "replied", "declared", "shared",
    "defended", "defends", "hit back", "hits back",
)
_VERB = r"(?P<verb>" + "|".join(REPORTING_VERBS) + r")"
# Words between a subject and its verb: "Austin on Tuesday expressed", "Washington has accused".
_ADVERBIAL = r"(?:(?:on|last|this|early|late)\s+\w+day\s+|(?:has|have|had|also|previously|reportedly|earlier|again|repeatedly|publicly|then|later|today|yesterday|tonight)\s+)*"
# A speaker noun phrase: capitalised words with connectors and role nouns
# ("Kremlin spokesman Dmitry Peskov", "Seoul's defense ministry", "North Korea and Russia").
_ROLE = (
    r"spokes(?:wo)?man|spokesperson|officials?|minister|ministry|chiefs?|secretary|president|leader|envoy|"
    r"ambassador|agency|government|media|police|military|army|navy|office|statement|sources?|authorities|"
    r"prosecutors?|department|commander|lawmakers?|diplomats?|analysts?|experts?|sides|counterpart|"
    r"defen[cs]e|foreign|state|security|joint|national|local|senior|top|former|deputy|vice|chief|"
    r"news|release|report|committee|council|party|company|states|countries|nations|members|partners|allies"
)
_NAME_TOKEN = r"(?:[A-Z][\w.\u2019'-]*(?:[\u2019']s)?|[A-Z]{2,}|(?:" + _ROLE + r")(?:[\u2019']s)?)"
_CONNECT = r"(?:\s+(?:of|the|and|for|between|its|their)\s+|\s+)"
_NP = r"(?:(?:the|a|an|its|their|his|her)\s+)?" + _NAME_TOKEN + r"(?:" + _CONNECT + _NAME_TOKEN + r"){0,7}"
PRONOUNS = {"he", "she", "they", "it", "we", "i"}

QUOTE_THEN_SPEAKER_RE = re.compile(
    r"[,.!?]?[\u201d\"]\s*,?\s+(?P<spk>" + _NP + r"|he|she|they|it)\s+" + _ADVERBIAL + _VERB + r"\b"
)
# An appositive between subject and verb ("China, North Korea's closest ally, has said") holds
# no verb of its own; that keeps "On Monday, North Korea renewed ..., denouncing" unattributed.
_APPOSITIVE = r"(?:,\s+(?![^,]*\b(?:is|are|was|were|has|have|had|\w+ed)\b)[^,]{3,60},)?"
SPEAKER_FIRST_RE = re.compile(
    r"^(?:[^,\u201c\"]{0,90},\s+)?(?P<spk>" + _NP + r"|He|She|They|It|We)" + _APPOSITIVE + r"\s+" + _ADVERBIAL + _VERB + r"\b"
)
# "…, Secretary Blinken said, “…" and "Kremlin spokesman Dmitry Peskov said: “…" anywhere.
SPEAKER_BEFORE_QUOTE_RE = re.compile(
    r"(?:^|,\s+)(?P<spk>" + _NP + r")\s+" + _ADVERBIAL + _VERB + r"\s*[,:]?\s*[\u201c\"]"
)
# "…, they said in a statement at the Seoul meeting attended by …": speaker and verb mid-sentence.
SPEAKER_MID_RE = re.compile(r",\s+(?P<spk>he|she|they|it|" + _NP + r")\s+(?P<verb>said|added|told|says)\s+(?:in|on|at)\b")
SPEAKER_LAST_RE = re.compile(
    r",\s+(?P<spk>" + _NP + r"|he|she|they|it)\s+" + _ADVERBIAL + _VERB + r"\b(?:\s+(?:on|in|at|to)\b[^,.]{0,60})?[.!]?[\u201d\"]?$"
)
ACCORDING_TO_RE = re.compile(r"\b[Aa]ccording to (?P<spk>" + _NP + r")")
STATEMENT_BY_RE = re.compile(
    r"\b(?:read|said|according to)\s+(?:a|an|the)\s+(?:\w+\s+){0,2}(?:statement|release|report)\s+(?:issued\s+|released\s+)?by\s+(?P<spk>" + _NP + r")"
)
_ORG_WORDS = re.compile(
    r"\b(?:ministry|agency|government|office|statement|release|department|military|army|navy|police|"
    r"authorities|council|committee|party|company|Pentagon|Kremlin|White House|Command|sides|media|report)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!\u2026][\"'\u201d\u2019)\]]*$|[\"\u201d\u2019]$")
_CAPTION_WORDS = re.compile(r"\b(?:photo|pictured|file photo)\b", re.IGNORECASE)


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


# pysbd's time grows faster than the length of the text it is given (80,000 characters of short
# sentences take 70 times as long as 5,000; below 2,000 it costs about 7 microseconds a
# character), so it never sees more than MAX_PIECE_CHARS at once: a longer paragraph (no news
# paragraph comes near it) is cut into pieces at a sentence end, else at a space, else anywhere,
# and each piece is split on its own. The cost stays linear in the text.
MAX_PIECE_CHARS = 2_000
# "... on Tuesday. The minister", "... (Yonhap). Police": a word, a full stop and a capital; not
# "Mr. Kim" or "U.S. Army".
_PIECE_END_RE = re.compile(r"(?P<word>[\w-]+)[\"'\u201d\u2019)\]]*[.!?\u2026][\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(]?[A-Z])")
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "prof", "gen", "sen", "rep", "gov", "lt", "col", "capt", "sgt", "st",
                  "no", "vs", "jr", "sr", "inc", "corp", "co", "ltd", "rev", "hon", "pres", "adm", "maj", "cmdr"}


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) of `text` cut into spans of at most MAX_PIECE_CHARS characters."""
    pieces = []
    while end - start > MAX_PIECE_CHARS:
        window = text[start:start + MAX_PIECE_CHARS]
        cut = 0
        for m in _PIECE_END_RE.finditer(window, MAX_PIECE_CHARS // 2):
            word = m.group("word")
            if len(word) > 1 and not word.isupper() and word.lower() not in _ABBREVIATIONS:
                cut = m.end()
        if not cut:
            cut = window.rfind(" ", MAX_PIECE_CHARS // 2) + 1 or MAX_PIECE_CHARS
        pieces.append((start, start + cut))
        start += cut
    pieces.append((start, end))
    return pieces


# pysbd ends a sentence at "p.m." before a capital: "at 2:42 p.m. | Sunday, an F-16 fired".
# A clock time's "a.m." / "p.m." followed by a day, a time zone or "local time" goes on.
_CLOCK_END_RE = re.compile(r"\d\s*[ap]\.m\.$", re.IGNORECASE)
_CLOCK_GOES_ON_RE = re.compile(r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|local\b|today\b|yesterday\b|"
                               r"tomorrow\b|(?:UTC|GMT|BST|CET|CEST|EET|MSK|ET|EST|EDT|CT|CST|CDT|MT|MST|PT|PST|PDT|IST|JST|KST)\b|"
                               r"[a-z])")


def _joined_after_clock_times(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`spans` with each one cut after a clock time's "p.m." joined to the next, within a line."""
    out: list[tuple[int, int]] = []
    for start, end in spans:
        if out and _CLOCK_END_RE.search(text, out[-1][0], out[-1][1]) and _CLOCK_GOES_ON_RE.match(text, start) \
                and "\n" not in text[out[-1][1]:start]:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences of `text`, whitespace trimmed, paragraph by paragraph
    (a paragraph over MAX_PIECE_CHARS piece by piece); a clock time's "p.m." before its day or
    time zone does not end one."""
    spans: list[tuple[int, int]] = []
    for para in re.finditer(r"[^\n]+", text):
        for piece_start, piece_end in _pieces(text, para.start(), para.end()):
            cursor = piece_start
            # The processor's sentences are what Segmenter.segment returns before it looks each one
            # up again in the whole text with a freshly built regex (quadratic, and most of its
            # time); the offsets are found here instead. Same spans on 1,029 real articles.
            for sentence in _segmenter().processor(text[piece_start:piece_end]).process():
                stripped = sentence.strip()
                if not stripped:
                    continue
                start = text.find(stripped, cursor, piece_end)
                if start < 0:  # pysbd altered the text; never guess an offset
                    continue
                end = start + len(stripped)
                spans.append((start, end))
                cursor = end
    return _joined_after_clock_times(text, spans)


def is_claim(sentence: str, whole_paragraph: bool = False) -> bool:
    """A sentence that asserts something: not a question, heading, caption or leftover.

    `whole_paragraph`: the sentence is a paragraph of its own; ingest kept it as story text, so
    a headline-like line without a full stop ("Another powerful 7.6 earthquake rocks southern
    Türkiye") is a claim when it is long enough to say something.
    """
    words = re.findall(r"\w+", sentence)
    letters = [w for w in words if re.search(r"[^\W\d_]{2,}", w)]
    if len(words) < 4 or len(letters) < 3:
        return False  # "It was 11 miles deep." is a claim; "Read more." is not
    if sentence.rstrip("\"'\u201d\u2019) ").endswith("?"):
        return False  # a question; '"What day is it?" the boy asked his rescuers.' reports one
    if not _SENTENCE_END.search(sentence) and not sentence.endswith(":") and not (whole_paragraph and len(letters) >= 6):
        return False  # headings and cut-off leftovers carry no sentence end
    if _CAPTION_WORDS.search(sentence) and len(words) < 25 and re.search(r"\((?:L|R|C|left|right)\)|shows|provided by", sentence, re.I):
        return False
    return True


_SUBJECT_RE = re.compile(r"^(?P<spk>" + _NP + r")\s+(?:\w+ed|\w+s)\b")


def _clean_speaker(spk: str) -> str:
    spk = spk.strip().strip(",.;:")
    spk = re.sub(r"^(?:Asked|Speaking)\b.*?,\s+", "", spk)
    return spk


def is_organisation(speaker: str) -> bool:
    return bool(_ORG_WORDS.search(speaker))


def find_attribution(sentence: str) -> tuple[str | None, str | None]:
    """(speaker, verb) as written in the sentence; pronouns are returned as they are."""
    for pattern in (QUOTE_THEN_SPEAKER_RE, STATEMENT_BY_RE, SPEAKER_BEFORE_QUOTE_RE):
        if m := pattern.search(sentence):
            return _clean_speaker(m.group("spk")), m.groupdict().get("verb") or "said"
    if m := SPEAKER_FIRST_RE.match(sentence):
        return _clean_speaker(m.group("spk")), m.group("verb")
    for pattern in (SPEAKER_LAST_RE, SPEAKER_MID_RE):
        if m := pattern.search(sentence):
            speaker = _clean_speaker(m.group("spk"))
            if speaker.lower() in {"they", "it"} and (subject := _SUBJECT_RE.match(sentence)):
                speaker = subject.group("spk")  # "The UN states ... vowed ..., they said"
            return speaker, m.group("verb")
    if m := ACCORDING_TO_RE.search(sentence):
        return _clean_speaker(m.group("spk")), "according to"
    return None, None


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def segment_article(article: dict) -> list[dict]:
    """Claim rows of one article, in reading order. A sentence the article repeats word for word
    is one claim, at its first occurrence: saying it again adds no source and no evidence, and a
    text of one sentence repeated 100,000 times stays one claim, not 100,000 for every later stage."""
    text = article["text"]
    claims: list[dict] = []
    seen: set[str] = set()
    last_person: str | None = None
    last_org: str | None = None
    previous: dict | None = None
    previous_para = -1
    para, counted_to = 0, 0  # paragraphs before `counted_to`: counted as we go, never from 0 again
    for start, end in split_sentences(text):
        if start < article.get("dateline_end", 0) <= end:
            start = article["dateline_end"]  # "SEOUL, Nov. 14 (Yonhap) --" is not part of the claim
        sentence = text[start:end]
        para += text.count("\n\n", counted_to, start)
        counted_to = start
        if sentence in seen:
            continue
        whole = (start == 0 or text[start - 1] == "\n") and (end == len(text) or text[end] == "\n")
        if not is_claim(sentence, whole):
            continue
        speaker, verb = find_attribution(sentence)
        if speaker and speaker.lower() in PRONOUNS:
            resolved = last_org if speaker.lower() in {"it", "they"} and last_org else last_person
            speaker = resolved if speaker.lower() not in {"we", "i"} else (previous or {}).get("speaker")
        elif speaker:
            if is_organisation(speaker):
                last_org = speaker
            else:
                last_person = speaker
        if speaker is None and previous and previous_para == para and sentence.startswith(("\u201c", '"')) \
                and previous["speaker"] and previous["text"].startswith(("\u201c", '"')):
            # A quotation that goes on in the next sentence keeps its speaker.
            speaker, verb = previous["speaker"], previous["verb"]
        claim = {
            "id": content_hash(f"{article['id']}:{start}:{sentence}")[:12],
            "article_id": article["id"],
            "position": len(claims),
            "text": sentence,
            "start": start,
            "end": end,
            "speaker": speaker,
            "verb": verb,
        }
        claims.append(claim)
        seen.add(sentence)
        previous, previous_para = claim, para
    return claims


def segment_articles(articles: list[dict]) -> list[dict]:
    return [claim for article in articles for claim in segment_article(article)]
