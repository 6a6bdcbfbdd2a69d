"""Conflicts: pairs of claims that cannot both be true, each with its kind and the words that say so.

Two layers, both offline and explainable:

* `relate(a, b, similarity)` compares two statements: a denial of what the other asserts, a
  negated or reversed predicate (will close / has no plans to close; rose / fell; arrested /
  remains at large), different numbers for the same counted thing, different dates or places
  for the same event, opposite verdicts (rigged / free and fair). It answers one of
  corroborates | conflicts | related | unrelated, with cue words for each side.
  `verify compare`, `verify check` and the FNC-1 benchmark use it as it is.

* `find_conflicts(articles, claims, vectors, ...)` finds the pairs worth comparing in a corpus
  without comparing all pairs: nearest neighbours in embedding space, plus, for denials, what
  the denial refers to. "All such statements are absolutely unfounded" is far in embedding space
  from the accusation it answers; its context ("Asked about Austin's comment, ...") names whose
  statements, and the speaker's party (Peskov -> the Kremlin -> Russia) says who is denying.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from functools import lru_cache
from dataclasses import dataclass, field

import numpy as np

from verify import names, slots

# Similarity bands (cosine, all-MiniLM-L6-v2 on canonical text).
CORROBORATE = 0.75  # similar enough to say the same thing (relate's "corroborates"; FNC-1 stance reads it)
SAME_EVENT = 0.62   # close enough that differing numbers, dates or places contradict
RELATED = 0.40      # about the same thing
NEAR_IDENTICAL = 0.82  # one statement, told with or without a negation
MAX_DENIAL_TARGETS = 3

KINDS = ("denial", "negation", "quantity", "date", "place", "verdict")

# ---------------------------------------------------------------------------
# Cue lexicons
# ---------------------------------------------------------------------------

DENIAL_RE = re.compile(
    r"\b(den(?:y|ies|ied|ying|ial)|reject(?:s|ed|ing)?|refut(?:e|es|ed|ing)|rebuff(?:s|ed)?|(?:dismiss(?:es|ed|ing)?|slam(?:s|med|ming)?|rubbish(?:es|ed|ing)?|shot down|shoots? down|pushed back (?:on|against)|brush(?:es|ed)? (?:off|aside))"
    r" (?:the |such |these |those |a |an |\w+['\u2019]s )?(?:\w+ ){0,2}?(?:claims?|reports?|allegations?|accusations?|suggestions?|speculation|blog post|article)"
    r"|unfounded|baseless|groundless|untrue|not true|false(?:ly)?|fabricat(?:ed|ion|ions)|lies|lying|nonsense|absurd|ridiculous"
    r"|slander(?:ous)?|smear|hoax|fake|debunk(?:ed|s)?|no evidence|disinformation|misinformation|not substantiated|unsubstantiated"
    r"|categorically|never happened|made up|satir(?:e|ical)|not real|rumou?rs? (?:are|were|is|was) (?:false|untrue|wrong)"
    # Calling a claim a lie, an invention or stupid: "an absolute lie", "this invented story",
    # "claims ... were 'predictably stupid'". Not the verb ("lie in ruins") nor a lie detector.
    r"|(?:a|an|absolute|complete|total|outright|blatant|big|utter|pure|another)\s+lie(?!\s+detector)"
    r"|invented (?:story|stories|claims?|allegations?|accusations?)|(?:complete|pure|total|utter) fiction"
    r"|(?:is|are|was|were|as)\s+[\"'\u2018\u201c]?(?:\w+ly\s+)?stupid)\b",
    re.IGNORECASE,
)
COMPLIANCE_RE = re.compile(
    r"\b(compl(?:y|ies|ying|ied|iance)|abid(?:e|es|ing|ed) by|adher(?:e|es|ing|ed) to|fulfil(?:l|ls|ling|led)?|honou?r(?:s|ing|ed)?)\b"
    r"[^.;]{0,50}?\b(obligations?|resolutions?|sanctions|law|laws|rules|commitments?|treaty|agreements?)\b",
    re.IGNORECASE,
)
VIOLATION_RE = re.compile(
    r"\b(evad(?:e|es|ing|ed)|evasion|violat(?:e|es|ing|ed|ion|ions)|breach(?:es|ed|ing)?|circumvent(?:s|ed|ing)?|"
    r"flout(?:s|ed|ing)?|defy(?:ing)?|defied|bust(?:ing)?|illicit|illegal|helping|supplying|providing|shipped|supplied)\b",
    re.IGNORECASE,
)
# Saying a party did something culpable: what that party's denial answers ("Russia has accused the
# US of sabotage" / "The US categorically denied involvement"). Violations above are one kind.
ACCUSATION_RE = re.compile(
    r"\b(accus(?:e|es|ed|ing|ations?)|blam(?:e|es|ed|ing)|behind (?:the|a|an|this|these|it)\b|responsible for|culpab\w+|"
    r"involv(?:ed|ement)|orchestrat(?:e|ed|ing)|mastermind(?:ed)?|carried out|carry(?:ing)? out|perpetrat\w+|"
    r"organi[sz](?:ed|ing) (?:the|an?)\b|plott?(?:ed|ing)|sabotag(?:e|ed|ing)|blew up|blown up|role in)\b",
    re.IGNORECASE,
)
ANAPHORIC_OBJECT_RE = re.compile(
    r"\b(?:such|these|those|the|this|that|all such|all these|similar)\s+(?:new\s+)?(statements?|allegations?|accusations?|claims?|reports?|charges?|remarks?|comments?|assertions?|suggestions?)\b",
    re.IGNORECASE,
)
ASKED_ABOUT_RE = re.compile(
    r"\b(?:asked about|responding to|in response to|reacting to|commenting on)\s+(?P<who>(?:[A-Z][\w.'\u2019-]*\s+){0,3}[A-Z][\w'\u2019-]*?)(?:[\u2019']s?)?\s+(?:comments?|remarks?|statements?|accusations?|allegations?|claims?|words)",
    re.IGNORECASE,
)
NEGATION_RE = re.compile(
    r"\b(not|no|never|n't|none|nobody|nothing|neither|nor|without|cannot|no longer|has yet to|have yet to|refused to|failed to)\b|n\u2019t\b|n't\b",
    re.IGNORECASE,
)
HEDGE_RE = re.compile(
    r"\b(reportedly|allegedly|alleged|claims?|claimed|rumou?rs?|unconfirmed|unverified|may|might|could|possibly|apparently|"
    r"believed to|said to|appears? to|according to|purported(?:ly)?|suspected|speculat\w+|if true)\b",
    re.IGNORECASE,
)
# Opposite predicates: the same event told two incompatible ways.
POLARITY_PAIRS = [
    (r"ris(?:e|es|en|ing)|rose|increas(?:e|ed|es|ing)|gain(?:s|ed)?|grew|grow(?:s|n|ing)?|up\b|climb(?:s|ed)?|jump(?:s|ed)?|surg(?:e|ed|es)",
     r"f(?:a|e)ll(?:s|en|ing)?|drop(?:s|ped|ping)?|declin(?:e|ed|es|ing)|decreas(?:e|ed|es|ing)|down\b|shr(?:ank|ink|inks|unk)|slump(?:s|ed)?|plung(?:e|ed|es)"),
    (r"arrest(?:ed)?|detain(?:ed)?|captured|in custody|caught|apprehended",
     r"at large|escaped|on the run|fled|released|freed|evaded capture"),
    (r"alive|survived|surviv(?:es|ing)|rescued",
     r"dead|died|killed|death|perished|body (?:was )?found"),
    (r"will close|to close|closing|shut(?:ting)? down|will shut",
     r"no plans? to close|remain open|stay open|not (?:be )?clos(?:e|ing)|keep(?:s|ing)? open"),
    (r"\bwon\b|\bwins?\b|victory|victorious", r"\blost\b|\bloses?\b|defeat(?:ed)?|conceded"),
    (r"approv(?:e|ed|es)|passed|adopted|signed into law", r"vetoed|blocked|struck down|voted down|failed to pass"),
    (r"confirm(?:s|ed)?", r"den(?:y|ies|ied)"),
    (r"resign(?:s|ed)?|stepp(?:ed|ing) down|quit", r"remain(?:s|ed)? in (?:office|post)|refus(?:es|ed) to (?:resign|step down)"),
]
VERDICT_PAIRS = [
    (r"rigged|fraudulent|stolen|unfair|sham|illegitimate|manipulated|not free|neither free nor fair",
     r"free and fair|credible|legitimate|transparent|fair and transparent|clean"),
    (r"guilty|convicted", r"acquitted|not guilty|cleared|exonerated"),
    (r"authentic|genuine|real", r"fake|forged|doctored|fabricated|hoax"),
]
# Words that make two statements about different subjects even when they look alike.
CONTRAST_SETS = [
    {"exports", "imports"}, {"export", "import"}, {"minister", "deputy minister", "vice minister"},
    {"revenue", "profit"}, {"q1", "q2", "q3", "q4"}, {"first quarter", "second quarter", "third quarter", "fourth quarter"},
    {"forecast", "reported"}, {"men", "women"}, {"adults", "children"}, {"injured", "killed"}, {"wounded", "killed"},
    {"north", "south"}, {"upper house", "lower house"}, {"senate", "house"},
]
# Compiled once: each statement's polar phrases and contrast words are read in `analyse`, so
# that `relate` only compares what two analyses hold (it runs on every candidate pair).
_POLAR = [(kind, re.compile(r"\b(?:" + left + r")", re.I), re.compile(r"\b(?:" + right + r")", re.I))
          for kind, pairs in (("verdict", VERDICT_PAIRS), ("negation", POLARITY_PAIRS)) for left, right in pairs]
_CONTRAST = [[(word, re.compile(r"\b" + re.escape(word) + r"\b")) for word in sorted(group, key=len, reverse=True)]
             for group in CONTRAST_SETS]

_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                 "ten": 10, "eleven": 11, "twelve": 12, "dozen": 12, "twenty": 20, "hundred": 100, "thousand": 1000}
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
QUANTITY_RE = re.compile(
    r"(?<![\w.])(?P<num>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|" + "|".join(_NUMBER_WORDS) + r")(?![\w.,]*\w)(?<!\d(?:st|nd|rd|th))"
    r"(?:\s*(?P<scale>thousand|million|billion|trillion))?\s*(?P<unit>%|percent|per cent|[a-z]+)?",
    re.IGNORECASE,
)
MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
DATE_RE = re.compile(
    r"\b(?:(?P<month>" + MONTHS + r")\.?\s+(?P<day>\d{1,2})\b(?:,?\s+(?P<year1>(?:19|20)\d\d))?"
    r"|(?P<day2>\d{1,2})\s+(?P<month2>" + MONTHS + r")\b(?:\s+(?P<year2>(?:19|20)\d\d))?"
    r"|(?:in\s+)?(?P<month3>" + MONTHS + r")\s+(?P<year3>(?:19|20)\d\d)"
    r"|(?P<weekday>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
    r"|\bin\s+(?P<year4>(?:19|20)\d\d)\b)",
)
PLACE_RE = re.compile(r"\b(?:in|at|near|from)\s+(?P<place>(?:[A-Z][a-z]+(?:[\s-][A-Z][a-z]+){0,2}))")
_STOP_UNITS = {"the", "a", "an", "and", "or", "of", "in", "on", "at", "to", "for", "by", "with", "from", "as", "was", "were",
               "is", "are", "has", "have", "had", "that", "this", "its", "their", "his", "her", "after", "before", "since"}


@dataclass
class Quantity:
    value: float
    unit: str
    text: str


@dataclass
class Analysis:
    text: str
    denial: list[str] = field(default_factory=list)
    compliance: list[str] = field(default_factory=list)
    violation: list[str] = field(default_factory=list)
    accused: list[str] = field(default_factory=list)     # the parties it accuses (accused_in)
    accusation: list[str] = field(default_factory=list)  # the words that accuse them
    denier: list[str] = field(default_factory=list)      # the parties named as denying (denying_parties)
    negation: list[str] = field(default_factory=list)
    hedges: list[str] = field(default_factory=list)
    quantities: list[Quantity] = field(default_factory=list)
    dates: list[dict] = field(default_factory=list)
    places: set[str] = field(default_factory=set)
    entities: set[str] = field(default_factory=set)
    lower: str = ""
    # Per _POLAR entry: (left phrase, right phrase, right phrase once left ones are taken out,
    # left phrase once right ones are taken out); None where absent.
    polar: tuple = ()
    # Per CONTRAST_SETS group: the words present, longest first ("deputy minister", not also "minister").
    contrast: tuple = ()
    located: tuple = ()  # the places it tells a bearing or distance from (`slots.located`), sorted


def _number(token: str) -> float | None:
    token = token.lower().replace(",", "")
    if token in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[token])
    try:
        return float(token)
    except ValueError:
        return None


def _quantities(text: str) -> list[Quantity]:
    found = []
    for m in QUANTITY_RE.finditer(text):
        value = _number(m.group("num"))
        if value is None:
            continue
        if m.group("scale"):
            value *= _SCALE[m.group("scale").lower()]
        unit = (m.group("unit") or "").lower().strip()
        if unit in ("percent", "per cent"):
            unit = "%"
        if not unit or unit in _STOP_UNITS or (1900 <= value <= 2100 and float(value).is_integer() and unit not in {"%", "people", "troops"}):
            continue  # a bare number or a year says nothing countable
        found.append(Quantity(value, unit.rstrip("s") if unit != "%" else unit, m.group(0).strip()))
    return found


def _dates(text: str) -> list[dict]:
    dates = []
    for m in DATE_RE.finditer(text):
        g = m.groupdict()
        month = (g["month"] or g["month2"] or g["month3"] or "")[:3].lower() or None
        day = g["day"] or g["day2"]
        year = g["year1"] or g["year2"] or g["year3"] or g["year4"]
        dates.append({"month": month, "day": int(day) if day else None, "year": int(year) if year else None,
                      "weekday": (g["weekday"] or "").lower() or None, "text": m.group(0),
                      "spoken": slots.spoken_on(text, *m.span())})
    return dates



@lru_cache(maxsize=1)
def _known_places() -> dict[str, str]:
    """Place name -> canonical entity, from the entity gazetteer (countries, capitals)."""
    entity, _ = names._tables()
    places = {canonical: canonical for canonical in entity.values()}
    places.update(entity)
    return places


@lru_cache(maxsize=1)
def _party_pattern() -> re.Pattern:
    alternatives = sorted(names.party_names(), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, alternatives)) + r")(?![\w-])")


def entities_in(text: str) -> set[str]:
    """Canonical parties named in `text` ("Pyongyang" and "DPRK" both give North Korea; "a
    Ukrainian adviser" gives Ukraine)."""
    pattern, states = names.demonym_pattern()
    return set(_party_pattern().findall(names.canonical_text(text))) | {states[d] for d in pattern.findall(text)}


_ACTIVE_ACCUSING = re.compile(r"accus|blam", re.IGNORECASE)
_SAYING_BETWEEN = re.compile(r"\b(?:said|says|say|told|accus\w*|blam\w*|claim\w*|alleg\w*|suggest\w*|report\w*)\b", re.IGNORECASE)
_NEGATED_BEFORE = re.compile(r"\b(?:no|not|never|nothing|without|den(?:y|ies|ied)|n't)\W+(?:\w+\W+){0,3}$|n\u2019t\W+(?:\w+\W+){0,3}$",
                             re.IGNORECASE)
# An open question accuses nobody: "speculation about who was to blame", "whoever is behind it".
_ASKED_BEFORE = re.compile(r"\b(?:who|whom|whoever|whether|which\s+\w+)\s+(?:\w+\s+){0,2}(?:to\s+)?$", re.IGNORECASE)


DISOWNING_RE = re.compile(
    r"\b(?:(?:was|were|is|are|has been|have been)\s*(?:not|n[o\u2019']t)|wasn[\u2019']t|weren[\u2019']t|isn[\u2019']t|aren[\u2019']t|never)\s+"
    r"(?:in any way\s+|at all\s+)?(?:involved|behind|responsible|to blame)\b"
    r"|\b(?:had|has|have|played)\s+no\s+(?:role|part|involvement|connection|link)\b",
    re.IGNORECASE,
)


def disowning_in(text: str) -> list[str]:
    """A party saying it had no part in what happened ("the Kremlin insisted it wasn't
    involved", "officials say they had no role in the attack"): a denial without a word of
    denial. Not "has nothing to do with", which as often describes ("a tool that has nothing
    to do with the United Nations")."""
    return [m.group(0) for m in DISOWNING_RE.finditer(text)]


# What ends the subject of a denial, looking back from its cue: a sentence, a quotation.
_SUBJECT_END = re.compile(r"[.;:!?\"\u201c\u201d]")


def _party_spans(canonical: str) -> list[tuple[int, int, str]]:
    """(start, end, party) of each party named in `canonical` (names.canonical_text), by name or demonym."""
    spans = [(m.start(), m.end(), m.group(1)) for m in _party_pattern().finditer(canonical)]
    pattern, states = names.demonym_pattern()
    return spans + [(m.start(), m.end(), states[m.group(1)]) for m in pattern.finditer(canonical)]


def denying_parties(text: str) -> set[str]:
    """The parties `text` names as the ones denying: those in the words before its first cue of
    denial, back to the sentence's or quotation's start ("Kyiv denied those allegations",
    "North Korea and Russia have denied any arms deals", "The UK defence ministry on Saturday
    rejected claims by Russia": the UK, not Russia). A party named elsewhere in a denial is what
    it is about, or whom it answers, not who denies ("'This never happened,' Trump said, adding
    that Beijing respected us": nobody named)."""
    canonical = names.canonical_text(text)
    cue = DENIAL_RE.search(canonical) or DISOWNING_RE.search(canonical)
    if not cue:
        return set()
    before = canonical[max(0, cue.start() - 100):cue.start()]
    ends = [m.end() for m in _SUBJECT_END.finditer(before)]
    start = cue.start() - len(before) + (ends[-1] if ends else 0)
    return {name for s, e, name in _party_spans(canonical) if start <= s and e <= cue.start()}


def denier_of(analysis: Analysis, speaker_parties: set[str] | frozenset[str]) -> set[str]:
    """Who denies, for a denial: the parties it names as denying, else its speaker's parties.
    Never simply every party it names: that made China the denier of "'This never happened,'
    Trump said, adding that Beijing respected us", and China's accusations its targets."""
    return set(analysis.denier) or set(speaker_parties)


def accused_in(text: str) -> set[str]:
    """The parties `text` accuses of something culpable (see `_accusations`)."""
    return _accusations(text)[0]


def _accusations(text: str) -> tuple[set[str], list[str]]:
    """The parties `text` says did something culpable: "Russia has accused the US of sabotage"
    gives the US, not Russia; "Russia is behind the attacks" and "the involvement of Kyiv" give
    Russia and Ukraine. Read by word order around each accusation cue (a party just after an
    active "accused"/"blamed", else just before the cue, or after "involvement of", "carried out
    by"); a negated cue ("had no role", "was not involved") accuses nobody."""
    canonical = names.canonical_text(text)
    parties = _party_spans(canonical)
    accused: set[str] = set()
    cues: list[str] = []
    for cue in ACCUSATION_RE.finditer(canonical):
        before_cue = set(accused)
        before = canonical[max(0, cue.start() - 60):cue.start()]
        if _NEGATED_BEFORE.search(before) or _ASKED_BEFORE.search(before):
            continue
        after_text = canonical[cue.end():cue.end() + 60]
        passive = re.match(r"\s+(?:of|for)\b", after_text)
        by_after = re.match(r"\s+(?:of|by)\b", after_text)
        if _ACTIVE_ACCUSING.match(cue.group(0)) and not passive:
            accused |= {name for start, end, name in parties if cue.end() <= start and end <= cue.end() + 60}
            cues += [cue.group(0)] if accused - before_cue else []
            continue
        # The nearest party before the cue, unless a verb of saying or accusing comes between
        # ("Ukraine accused Russia of being responsible": Russia, not Ukraine).
        near = [(start, end, name) for start, end, name in parties if cue.start() - 40 <= start and end <= cue.start()]
        if near:
            start, end, name = max(near)
            if not _SAYING_BETWEEN.search(canonical[end:cue.start()]):
                accused.add(name)
        if by_after:
            accused |= {name for start, end, name in parties if cue.end() <= start and end <= cue.end() + 60}
        cues += [cue.group(0)] if accused - before_cue else []
    return accused, cues


@lru_cache(maxsize=65536)
def analyse(text: str) -> Analysis:
    """Cues, numbers, dates, places and entities of one statement (cached: texts recur)."""
    places = _known_places()
    accused, accusation = _accusations(text)
    denial = [m.group(0) for m in DENIAL_RE.finditer(text)] + disowning_in(text)
    return Analysis(
        text=text,
        denial=denial,
        compliance=[m.group(0) for m in COMPLIANCE_RE.finditer(text)],
        violation=[m.group(0) for m in VIOLATION_RE.finditer(text)],
        accused=sorted(accused), accusation=accusation, denier=sorted(denying_parties(text)) if denial else [],
        negation=[m.group(0) for m in NEGATION_RE.finditer(re.sub(r"\bnot only\b", "", text, flags=re.IGNORECASE))],
        hedges=[m.group(0) for m in HEDGE_RE.finditer(text)],
        quantities=_quantities(text),
        dates=_dates(text),
        places={places[m.group("place")] for m in PLACE_RE.finditer(text) if m.group("place") in places},
        entities=entities_in(text),
        lower=text.lower(),
        polar=tuple(_polar_phrases(text)),
        contrast=tuple(_contrast_words(text.lower())),
        located=tuple(sorted(slots.located(text))),
    )


def _first_match(pattern: re.Pattern, text: str) -> str | None:
    m = pattern.search(text)
    return m.group(0) if m else None


def _polar_phrases(text: str):
    for _, left, right in _POLAR:
        # "no plans to close" holds "to close": each side is also judged on what is left once
        # the opposite phrase is taken out.
        l, r = _first_match(left, text), _first_match(right, text)
        yield (l, r, _first_match(right, left.sub(" ", text)) if l and r else r,
               _first_match(left, right.sub(" ", text)) if l and r else l)


def _contrast_words(lower: str):
    for group in _CONTRAST:
        found, rest = set(), lower
        for word, pattern in group:
            if pattern.search(rest):
                found.add(word)
                rest = pattern.sub(" ", rest)
        yield frozenset(found)


# ---------------------------------------------------------------------------
# Comparing two statements
# ---------------------------------------------------------------------------


@dataclass
class Relation:
    relation: str  # corroborates | conflicts | related | unrelated
    kind: str | None
    score: float
    explanation: str
    cues: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"relation": self.relation, "kind": self.kind, "score": round(self.score, 3),
                "explanation": self.explanation, "cues": self.cues}


def _contrasting(a: Analysis, b: Analysis) -> str | None:
    """A word pair showing the two statements are about different subjects."""
    for in_a, in_b in zip(a.contrast, b.contrast):
        if in_a and in_b and not (in_a & in_b):
            return f"{sorted(in_a)[0]} / {sorted(in_b)[0]}"
    return None


_DATE_KEYS = ("year", "month", "day", "weekday")


def _dates_agree(x: dict, y: dict) -> bool:
    shared = [k for k in _DATE_KEYS if x[k] and y[k]]
    return bool(shared) and all(x[k] == y[k] for k in shared)


def _date_clash(a: Analysis, b: Analysis) -> tuple[str, str] | None:
    """Dates given for the same event that cannot both hold (compared at the finer shared grain).
    Not the days someone spoke ("the Pentagon said on Thursday"), nor a date the other side
    also gives: "entered on Jan. 28" and "entered on Jan. 28 and reached the sea on Feb. 4"
    agree (as `slots.compare` reads them)."""
    told_a = [d for d in a.dates if not d["spoken"]]
    told_b = [d for d in b.dates if not d["spoken"]]
    told_a, told_b = ([x for x in told_a if not any(_dates_agree(x, y) for y in told_b)],
                      [y for y in told_b if not any(_dates_agree(x, y) for x in told_a)])
    for da in told_a:
        for db in told_b:
            for key in _DATE_KEYS:
                if da[key] and db[key] and da[key] != db[key]:
                    # "July 1950" vs "1950": compatible; "July" vs "August", 1950 vs 1953: not.
                    if key == "day" and da["month"] != db["month"]:
                        continue
                    return da["text"], db["text"]
    return None


def _quantity_clash(a: Analysis, b: Analysis) -> tuple[Quantity, Quantity] | None:
    for qa in a.quantities:
        for qb in b.quantities:
            if qa.unit == qb.unit and qa.value != qb.value:
                big, small = max(qa.value, qb.value), min(qa.value, qb.value)
                if big > 0 and (big - small) / big > 0.1:
                    return qa, qb
    return None


def relate(a: str | Analysis, b: str | Analysis, similarity: float) -> Relation:
    """How statement `b` stands to statement `a`, given their embedding similarity."""
    a = a if isinstance(a, Analysis) else analyse(a)
    b = b if isinstance(b, Analysis) else analyse(b)
    if similarity < RELATED:
        return Relation("unrelated", None, similarity, "not about the same thing")

    # Denial: one side rejects what the other asserts.
    for x, y, flip in ((a, b, False), (b, a, True)):
        if x.denial and not y.denial:
            accuses = y.violation[:3] or y.accusation[:3]
            cues = {"a": accuses, "b": x.denial[:3]} if flip else {"a": x.denial[:3], "b": accuses}
            return Relation("conflicts", "denial", similarity,
                            f"one side rejects what the other asserts ({', '.join(x.denial[:3])})", cues)
        if x.compliance and y.violation and not y.compliance:
            cues = {"a": y.violation[:3], "b": x.compliance[:2]} if flip else {"a": x.compliance[:2], "b": y.violation[:3]}
            return Relation("conflicts", "denial", similarity,
                            f"one side says it complies ({x.compliance[0]}) where the other accuses it ('{y.violation[0]}')", cues)

    contrast = _contrasting(a, b) if similarity >= SAME_EVENT else None
    if similarity >= SAME_EVENT and not contrast:
        # Opposite verdicts and predicates.
        for (kind, _, _), pa, pb in zip(_POLAR, a.polar, b.polar):
            for (left_x, _, right_x_rest, _), (_, right_y, _, left_y_rest), flip in ((pa, pb, False), (pb, pa, True)):
                if left_x and right_y and not right_x_rest and not left_y_rest:
                    cues = {"a": [right_y], "b": [left_x]} if flip else {"a": [left_x], "b": [right_y]}
                    return Relation("conflicts", kind, similarity, f"“{left_x}” against “{right_y}”", cues)
        # Negation: one side negates what the other affirms.
        # Only for near-identical statements: "X will attend" / "X will not attend". Looser pairs
        # carry negations about other things ("has nothing to do with the UN").
        if bool(a.negation) != bool(b.negation) and similarity >= NEAR_IDENTICAL:
            negated = a if a.negation else b
            cues = {"a": a.negation[:3], "b": b.negation[:3]}
            return Relation("conflicts", "negation", similarity, f"one side negates the other ({', '.join(negated.negation[:3])})", cues)
        clash_q = _quantity_clash(a, b)
        clash_d = _date_clash(a, b)
        if clash_q and not clash_d:
            qa, qb = clash_q
            return Relation("conflicts", "quantity", similarity, f"{qa.text} against {qb.text} ({qa.unit})",
                            {"a": [qa.text], "b": [qb.text]})
        if clash_d and not clash_q and similarity >= 0.80:
            return Relation("conflicts", "date", similarity, f"{clash_d[0]} against {clash_d[1]}",
                            {"a": [clash_d[0]], "b": [clash_d[1]]})
        if a.places and b.places and not (a.places & b.places) and not clash_q and not clash_d and similarity >= 0.80:
            pa, pb = sorted(a.places)[0], sorted(b.places)[0]
            return Relation("conflicts", "place", similarity, f"{pa} against {pb}", {"a": [pa], "b": [pb]})

    if similarity >= SAME_EVENT and _quantity_clash(a, b) and _date_clash(a, b):
        return Relation("related", None, similarity, "alike, but numbers and dates both differ: different events")
    if similarity >= CORROBORATE and not contrast:
        return Relation("corroborates", None, similarity, "says the same thing")
    contrast = contrast or _contrasting(a, b)
    why = f"about the same thing; different subjects ({contrast})" if contrast else "about the same thing"
    return Relation("related", None, similarity, why)


class NliJudge:
    """A local NLI cross-encoder (sentence-transformers CrossEncoder whose labels include
    contradiction and entailment), used on top of the rules when a user has one.

    It never downloads: the path must be a local model folder.
    """

    def __init__(self, path: str):
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import CrossEncoder

        try:
            self.model = CrossEncoder(path, device="cpu", local_files_only=True)
        except Exception as err:
            raise RuntimeError(f"{path}: cannot load NLI cross-encoder ({type(err).__name__}: {err})".splitlines()[0]) from None
        labels = {str(v).lower(): int(k) for k, v in (self.model.config.id2label or {}).items()}
        if not {"contradiction", "entailment"} <= set(labels):
            raise RuntimeError(f"{path}: NLI model labels {sorted(labels)} lack contradiction/entailment")
        self.labels = labels

    def __call__(self, pairs: list[tuple[str, str]]) -> list[dict[str, float]]:
        if not pairs:
            return []
        probs = self.model.predict(pairs, apply_softmax=True, show_progress_bar=False)
        return [{name: float(row[i]) for name, i in self.labels.items()} for row in np.atleast_2d(probs)]


def judged(relation: Relation, probs: dict[str, float] | None) -> Relation:
    """Combine the rules' answer with an NLI model's probabilities, when there are any."""
    if probs is None or relation.relation == "unrelated":
        return relation
    contradiction, entailment = probs["contradiction"], probs["entailment"]
    nli = f"NLI model: contradiction {contradiction:.2f}, entailment {entailment:.2f}"
    if relation.relation == "conflicts":
        if entailment >= 0.8:  # the model is sure they agree: the rule misfired
            return Relation("related", None, relation.score, f"{relation.explanation}; overruled by {nli}")
        return Relation("conflicts", relation.kind, (relation.score + contradiction) / 2, f"{relation.explanation}; {nli}", relation.cues)
    if contradiction >= 0.6 and contradiction > entailment:
        return Relation("conflicts", "contradiction", contradiction, nli, {"a": [], "b": []})
    if entailment >= 0.6 and relation.relation == "related":
        return Relation("corroborates", None, entailment, nli)
    return Relation(relation.relation, relation.kind, relation.score, f"{relation.explanation}; {nli}", relation.cues)


# ---------------------------------------------------------------------------
# Who speaks for whom
# ---------------------------------------------------------------------------


def speaker_parties(claims: list[dict]) -> dict[str, set[str]]:
    """claim id -> the parties its speaker stands for (Peskov -> Kremlin -> Russia).

    A bare surname ("Austin said") takes the party of the fullest mention of that surname in
    the corpus ("U.S. Defense Secretary Lloyd Austin").
    """
    # Read once per distinct speaker: most claims have none, and the rest repeat a few names
    # (entities_in over every claim twice took seconds a build at 40k claims).
    read: dict[str, set[str]] = {}

    def entities_of(speaker: str) -> set[str]:
        if speaker not in read:
            read[speaker] = entities_in(speaker)
        return set(read[speaker])  # each claim its own set, as before

    by_surname: dict[str, set[str]] = {}
    for c in claims:
        speaker = c.get("speaker") or ""
        parties = entities_of(speaker)
        surname = speaker.split()[-1] if speaker.split() else ""
        if parties and surname[:1].isupper():
            by_surname.setdefault(surname, set()).update(parties)
    result = {}
    for c in claims:
        speaker = c.get("speaker") or ""
        parties = entities_of(speaker)
        if not parties and speaker.split():
            parties = by_surname.get(speaker.split()[-1], set())
        result[c["id"]] = parties
    return result


# ---------------------------------------------------------------------------
# Corpus search for conflicts
# ---------------------------------------------------------------------------


def text_key(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def pair_key(text_a: str, text_b: str) -> str:
    """Identity of a conflict by the content of its two claims, whatever their row ids."""
    return hashlib.sha256("|".join(sorted((text_key(text_a), text_key(text_b)))).encode()).hexdigest()


def _denial_referents(claim: dict, article_claims: list[dict]) -> list[dict]:
    """The claims a denial answers, from its own article: "Asked about Austin's comment, ..." or
    "such statements" pointing at what came just before."""
    text = claim["text"]
    earlier = [c for c in article_claims if c["position"] < claim["position"]]
    if m := ASKED_ABOUT_RE.search(text):
        who = m.group("who").split()[-1]
        named = [c for c in article_claims if c["id"] != claim["id"] and who in (c.get("speaker") or "")]
        if named:
            return named
    if ANAPHORIC_OBJECT_RE.search(text) and earlier:
        return [c for c in earlier[-3:] if c.get("speaker") != claim.get("speaker")]
    return []


DENIED_OBJECT_RE = re.compile(
    r"\b(?:den(?:y|ies|ied|ying)|reject(?:s|ed|ing)?|dismiss(?:es|ed|ing)?|refut(?:e|es|ed|ing))\s+(?P<obj>[^,.;:\u201c\u201d\"]{3,80})",
    re.IGNORECASE,
)


def denied_object(claim: dict, denier: set[str]) -> str | None:
    """What an explicit denial rejects, with who rejects it: "North Korea Russia any arms deals"."""
    if m := DENIED_OBJECT_RE.search(claim["text"]):
        return " ".join(sorted(denier) + [m.group("obj")])
    return None


def _is_assertion(analysis: Analysis) -> bool:
    return not analysis.denial and not analysis.compliance


# Copies of one text a neighbour pair is expanded to (boilerplate repeated on every page of a
# site would otherwise pair every copy with every copy of its neighbours).
MAX_COPIES = 8


def distinct_neighbours(vectors: np.ndarray, k: int, origin: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(similarities, i, j), i < j: each distinct vector's k nearest distinct vectors (exact
    search), expanded to the claims that hold them. Searched over claims, a text reprinted
    word for word is its copy's nearest neighbour and pushes another outlet's sentence out of
    the k; two copies of one text never conflict, so they are not paired. A text held more
    than MAX_COPIES times pairs through its first copies of each origin."""
    from verify.cluster import nearest_neighbour_edges

    groups: dict[bytes, list[int]] = {}
    for i in range(len(vectors)):
        groups.setdefault(np.ascontiguousarray(vectors[i]).tobytes(), []).append(i)
    members = []
    for rows in groups.values():
        if len(rows) > MAX_COPIES:  # one copy of each origin first, then the rest in order
            seen: set[str] = set()
            firsts = [i for i in rows if not (origin[i] in seen or seen.add(origin[i]))]
            taken = set(firsts)
            rows = (firsts + [i for i in rows if i not in taken])[:MAX_COPIES]
        members.append(rows)
    first = np.fromiter((rows[0] for rows in members), dtype=np.int64, count=len(members))
    edges = nearest_neighbour_edges(vectors[first], k, RELATED)
    sims, lo, hi = [], [], []
    for sim, u, v in edges:
        for i in members[u]:
            for j in members[v]:
                sims.append(sim)
                lo.append(min(i, j))
                hi.append(max(i, j))
    return (np.asarray(sims, dtype=np.float64), np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64))


class PairList:
    """Candidate pairs (i, j, similarity) kept in three arrays and read back as tuples of Python
    numbers: ~16 bytes a pair where a list of tuples took ~150 (a 39k-claim corpus has ~300k).
    Indexing gives a tuple, a slice a list of tuples, iteration tuples in order."""

    _CHUNK = 65536  # rows turned into Python numbers at once while iterating

    def __init__(self, i: np.ndarray, j: np.ndarray, sim: np.ndarray):
        self.i, self.j, self.sim = i, j, sim

    def __len__(self) -> int:
        return len(self.i)

    def __getitem__(self, n):
        if isinstance(n, slice):
            return list(zip(self.i[n].tolist(), self.j[n].tolist(), self.sim[n].tolist()))
        return int(self.i[n]), int(self.j[n]), float(self.sim[n])

    def __iter__(self):
        for start in range(0, len(self), self._CHUNK):
            yield from self[start : start + self._CHUNK]

    def __eq__(self, other) -> bool:
        return list(self) == list(other)


# Candidate pairs read, featured and scored at once: the inputs of a pair (analyses, slots, a
# relation with its cue lists, a feature row) take a few kB, so a 39k-claim corpus's ~300k pairs
# held together took about a GB; a block of this size takes a few MB whatever the corpus.
PAIR_BLOCK = 4096


def pair_blocks(pairs, block: int | None = None):
    """(offset, pairs[offset : offset + block]) in order: the candidate pairs a block at a time.
    Every per-pair step (rules, slots, features, score) reads only its own pair, so the result
    does not depend on the block size."""
    block = block or PAIR_BLOCK
    for start in range(0, len(pairs), block):
        yield start, pairs[start : start + block]


@dataclass
class Candidates:
    """The pairs of a corpus worth comparing, with what the comparison needs about each claim."""
    pairs: list[tuple[int, int, float]] | PairList  # (i, j, similarity), i < j, independent sides only
    analyses: list[Analysis]
    parties: dict[str, set[str]]          # claim id -> the parties its speaker stands for
    origin: list[str]                     # per claim: who independently stands behind it
    referents_of: dict[int, set[int]]     # denial -> the claims its own article says it answers


MAX_LOCATED = 200  # claims told from one reference place beyond which it is a landmark, not a location


def located_clashes(texts: list[str], located: list[tuple] | None = None) -> list[tuple[int, int]]:
    """Pairs (i < j) of distinct texts told from one reference place whose bearings or distances
    clash (`slots.compare`). Blocked by reference, so the cost is that of the few claims that
    place something; a reference named by more than MAX_LOCATED of them is skipped. `located`:
    each text's `Analysis.located`, when the caller has them (read back from a build's cache)."""
    by_ref: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        for ref in (located[i] if located is not None else sorted(slots.located(text))):
            by_ref.setdefault(ref, []).append(i)
    extracted: dict[int, slots.Slots] = {}
    out: set[tuple[int, int]] = set()
    for members in by_ref.values():
        if len(members) > MAX_LOCATED:
            continue
        for i, j in itertools.combinations(members, 2):
            if (i, j) in out or texts[i] == texts[j]:
                continue
            a = extracted.setdefault(i, slots.extract(texts[i]))
            b = extracted.setdefault(j, slots.extract(texts[j]))
            clash = slots.compare(a, b).clash
            if clash.get("direction") or clash.get("number"):
                out.add((i, j))
    return sorted(out)


def candidate_pairs(articles: list[dict], claims: list[dict], vectors: np.ndarray, source_key,
                    encode=None, k: int = 12, neighbours=None, analyses: list[Analysis] | None = None) -> Candidates:
    """Pairs worth comparing without comparing all pairs: nearest neighbours in embedding space,
    plus, for denials, what they answer. `source_key(article) -> origin` decides independence;
    `encode(texts) -> vectors` (same model as `vectors`) embeds what explicit denials reject.
    `neighbours`: a cluster.NeighbourIndex prepared on `vectors` (a large corpus), else exact search.
    `analyses`: `analyse` of each claim's text when the caller has them (a build reads them from its cache)."""
    by_article: dict[str, list[dict]] = {}
    for c in claims:
        by_article.setdefault(c["article_id"], []).append(c)
    articles_by_id = {a["id"]: a for a in articles}
    index = {c["id"]: i for i, c in enumerate(claims)}
    analyses = analyses if analyses is not None else [analyse(c["text"]) for c in claims]
    parties = speaker_parties(claims)
    origin = [source_key(articles_by_id[c["article_id"]]) for c in claims]
    if len(claims) < 2:
        return Candidates([], analyses, parties, origin, {})

    def independent(i: int, j: int) -> bool:
        """Different origins, or one outlet reporting two parties that disagree."""
        if origin[i] != origin[j]:
            return True
        pi, pj = parties[claims[i]["id"]], parties[claims[j]["id"]]
        return bool(pi and pj and not (pi & pj))

    # 1. Neighbours in embedding space (sub-quadratic: k per claim), kept as arrays: a dict or a
    #    list of tuples of ~500k edges took ~150 MB at 40k claims.
    n = len(claims)
    if neighbours is not None and neighbours.ready_for(vectors, k):
        near_sims, near_i, near_j = neighbours.edge_arrays(k, RELATED)
    else:
        near_sims, near_i, near_j = distinct_neighbours(vectors, k, origin)
    near_code = near_i * n + near_j  # a pair (i, j), i < j, as one number
    near_order = np.argsort(near_code)
    # What the denial search sets, by pair code, in the order it first sets each: the pairs among
    # the neighbours keep their place, the others come after them (a dict's order, as before).
    denial_sims: dict[int, float] = {}

    def candidate_sim(code: int) -> float:
        if code in denial_sims:
            return denial_sims[code]
        at = int(np.searchsorted(near_code, code, sorter=near_order))
        if at < len(near_code) and near_code[near_order[at]] == code:
            return float(near_sims[near_order[at]])
        return 0.0

    # 2. Denials, linked to what they answer: their referents in context, the referents'
    #    paraphrases elsewhere, and assertions about the denying party found by entity blocking.
    mentions: dict[str, list[int]] = {}
    for i, an in enumerate(analyses):
        for entity in an.entities:
            mentions.setdefault(entity, []).append(i)
    referents_of: dict[int, set[int]] = {}
    for i, an in enumerate(analyses):
        if not (an.denial or an.compliance):
            continue
        claim = claims[i]
        referents = [index[c["id"]] for c in _denial_referents(claim, by_article[claim["article_id"]])]
        referents_of[i] = set(referents)
        pool = set(referents)
        # Blocking casts wider than `denier_of`: any party the denial names finds candidates.
        denier = denier_of(an, parties[claim["id"]]) or an.entities
        obj = denied_object(claim, denier)
        if referents:  # paraphrases of the referents anywhere in the corpus
            target = vectors[referents].mean(axis=0)
        elif obj and encode is not None:  # an explicit object: "have denied any arms deals"
            target = encode([names.canonical_text(obj)])[0]
        else:
            target = vectors[i]
        target = target / (np.linalg.norm(target) or 1.0)
        blocked = {j for e in denier for j in mentions.get(e, [])}
        if blocked:
            idx = np.fromiter(sorted(blocked), dtype=int)  # sorted: set order varies with the hash seed
            sims = vectors[idx] @ target
            texts_taken: set[str] = set()
            for j in idx[np.argsort(-sims)]:  # the closest distinct texts: reprints don't crowd others out
                if claims[int(j)]["text"] not in texts_taken:
                    texts_taken.add(claims[int(j)]["text"])
                    pool.add(int(j))
                if len(texts_taken) >= 4 * MAX_DENIAL_TARGETS:
                    break
        for j in sorted(pool):
            if j == i:
                continue
            sim = float(vectors[j] @ target)
            bonus = 0.15 if j in referents else 0.0
            code = min(i, j) * n + max(i, j)
            denial_sims[code] = max(candidate_sim(code), min(1.0, sim + bonus))
    # 3. Places told from one reference ("northwest of Moscow" / "160 km from Moscow") whose
    #    bearings or distances cannot both hold: sentences alike in nothing else meet here.
    for i, j in located_clashes([c["text"] for c in claims], [an.located for an in analyses]):
        code = i * n + j
        denial_sims[code] = max(candidate_sim(code), float(vectors[i] @ vectors[j]))
    # The neighbours (raised where a denial's or a place's search set them higher), then the
    # pairs only those searches found; each kept when its sides are independent.
    codes = np.fromiter(denial_sims, dtype=np.int64, count=len(denial_sims))
    values = np.fromiter(denial_sims.values(), dtype=np.float64, count=len(denial_sims))
    at = np.searchsorted(near_code, codes, sorter=near_order)
    at = near_order[np.minimum(at, max(len(near_code) - 1, 0))] if len(near_code) else at
    known = (at < len(near_code)) & (near_code[at] == codes) if len(near_code) else np.zeros(len(codes), dtype=bool)
    near_sims = near_sims.copy()
    near_sims[at[known]] = values[known]
    all_codes = np.concatenate([near_code, codes[~known]])
    all_sims = np.concatenate([near_sims, values[~known]])
    first, second = all_codes // n, all_codes % n
    numbers: dict[str, int] = {}
    origin_number = np.fromiter((numbers.setdefault(o, len(numbers)) for o in origin), dtype=np.int64, count=n)
    keep = origin_number[first] != origin_number[second]
    for m in np.flatnonzero(~keep):  # one origin: independent when its two speakers' parties differ
        keep[m] = independent(int(first[m]), int(second[m]))
    pairs = PairList(first[keep].astype(np.int32), second[keep].astype(np.int32), all_sims[keep])
    return Candidates(pairs, analyses, parties, origin, referents_of)


def _conflict_row(a: dict, b: dict, kind: str, score: float, explanation: str, cues: dict, attribution: str) -> dict:
    key = pair_key(a["text"], b["text"])
    return {"id": "x" + key[:11], "claim_a": a["id"], "claim_b": b["id"], "pair_key": key, "kind": kind,
            "score": round(score, 3), "explanation": explanation, "cues": cues, "attribution": attribution}


def _attribution(a: dict, b: dict, origin_a: str, origin_b: str) -> str:
    """"outlets" when two outlets state incompatible facts in their own voice, else "parties"."""
    return "outlets" if not a.get("speaker") and not b.get("speaker") and origin_a != origin_b else "parties"


def _rule_conflicts(claims: list[dict], cand: Candidates, judge: NliJudge | None, block: int | None = None) -> list[dict]:
    """Conflicts by the rules alone (no shipped scorer): what `relate` calls a conflict, with a
    denial kept only when its other side is what it answers or accuses the denying party."""
    found: list[dict] = []
    for _, pairs in pair_blocks(cand.pairs, block):
        found += _rule_block(claims, cand, judge, pairs)
    return found


def _rule_block(claims: list[dict], cand: Candidates, judge: NliJudge | None, pairs) -> list[dict]:
    analyses, parties, origin, referents_of = cand.analyses, cand.parties, cand.origin, cand.referents_of
    probs = judge([(claims[i]["text"], claims[j]["text"]) for i, j, _ in pairs]) if judge else [None] * len(pairs)
    found: list[dict] = []
    for (i, j, sim), p in zip(pairs, probs):
        relation = judged(relate(analyses[i], analyses[j], sim), p)
        if relation.relation != "conflicts":
            continue
        if relation.kind == "denial":
            denier_i = bool(analyses[i].denial or analyses[i].compliance)
            d, t = (i, j) if denier_i else (j, i)
            if not _is_assertion(analyses[t]):
                continue
            # The asserted side must be about the denying party, or be what the denial answers.
            denier = denier_of(analyses[d], parties[claims[d]["id"]])
            about_denier = bool(denier & analyses[t].entities)
            referent = t in referents_of.get(d, set())
            # Unless it is what the denial answers, the other side must accuse the denying party
            # of the act: name it and say it supplies, helps, violates, evades..., or accuse it
            # by word order ("X accused <party> of ...", "<party> was behind ...": accused_in).
            accused = bool(denier & set(analyses[t].accused))
            if not referent and not (about_denier and analyses[t].violation) and not accused:
                continue
            if parties[claims[t]["id"]] and parties[claims[t]["id"]] <= denier:
                continue  # a party does not deny itself
        found.append(_conflict_row(claims[i], claims[j], relation.kind, relation.score, relation.explanation,
                                   relation.cues, _attribution(claims[i], claims[j], origin[i], origin[j])))
    return found


def _scored_conflicts(articles: list[dict], claims: list[dict], cand: Candidates, scorer, nli, judge,
                      flag_threshold: float, block: int | None = None) -> list[dict]:
    """Conflicts by the learned scorer over the rules' cues, the slots and the pair model, the
    pairs a block at a time (pair_blocks): only the flagged rows outlive their block."""
    from verify import conflict_model

    idf = conflict_model.corpus_idf([c["text"] for c in claims])
    slots = conflict_model.claim_slots(articles, claims)
    found = []
    for _, pairs in pair_blocks(cand.pairs, block):
        inputs = conflict_model.pair_inputs(articles, claims, cand, nli, pairs=pairs, idf=idf, slots=slots)
        overruled = [False] * len(inputs)
        if judge is not None:  # a user's own NLI cross-encoder refines what the rules say, and overrules
            probs = judge([(claims[i]["text"], claims[j]["text"]) for i, j, _ in pairs])
            for n, (p, pr) in enumerate(zip(inputs, probs)):
                p.relation = judged(p.relation, pr)
                overruled[n] = pr["entailment"] >= 0.8
        rows, comparisons = [], []
        for p in inputs:
            row, cmp = conflict_model.features(p)
            rows.append(row)
            comparisons.append(cmp)
        scores = scorer.probability(rows)
        for (i, j, _), p, cmp, score, no in zip(pairs, inputs, comparisons, scores, overruled):
            if score < flag_threshold or no:
                continue
            kind, explanation, cues = conflict_model.explain(p, cmp, float(score))
            if kind == "contradiction" and p.nli is None:
                continue  # nothing in the two texts says why: a conflict is never flagged unexplained
            found.append(_conflict_row(claims[i], claims[j], kind, float(score), explanation, cues,
                                       _attribution(claims[i], claims[j], cand.origin[i], cand.origin[j])))
    return found


def find_conflicts(articles: list[dict], claims: list[dict], vectors: np.ndarray, source_key,
                   encode=None, k: int = 12, judge: NliJudge | None = None, scorer=None, nli=None,
                   flag_threshold: float | None = None, neighbours=None, block: int | None = None) -> list[dict]:
    """Conflict rows for a corpus. `source_key(article) -> origin` decides independence;
    `encode(texts) -> vectors` (same model as `vectors`) embeds what explicit denials reject.
    The rules flag what they can explain; `scorer` (conflict_model.Scorer) adds pairs scoring at
    least `flag_threshold` (default: its own). `nli(pairs) -> (n, 3)` is the shipped pair model.
    `block`: candidate pairs processed at once (default PAIR_BLOCK; the result is the same)."""
    cand = candidate_pairs(articles, claims, vectors, source_key, encode, k, neighbours)
    found = _rule_conflicts(claims, cand, judge, block)
    # A denial's targets the rules found (what it answers, or an accusation of the denier) come
    # before the ones only the scorer adds, within the few a denial may have.
    rule_denials = {row["pair_key"] for row in found if row["kind"] == "denial"}
    if scorer is not None:
        threshold = scorer.flag_threshold if flag_threshold is None else flag_threshold
        scored = _scored_conflicts(articles, claims, cand, scorer, nli, judge, threshold, block)
        # The cap goes with the scorer's own threshold (a threshold given here is a caller's
        # sweep over every score, as benchmarks/stories.py does).
        cap = scorer.flags_per_article if flag_threshold is None else None
        found = merge_flags(found, cap_scored(scored, len(articles), cap))
    return select_conflicts(found, claims, cand.analyses, rule_denials)


def cap_scored(rows: list[dict], n_articles: int, per_article: float | None) -> list[dict]:
    """The scorer's flags, at most `per_article` a corpus article (the best scored; ties by
    content, so the same every run): see conflict_model.Scorer.flags_per_article."""
    if per_article is None:
        return rows
    limit = max(1, int(round(per_article * n_articles)))
    return sorted(rows, key=lambda r: (-r["score"], r["pair_key"]))[:limit]


# Rule kinds whose cue alone is weak evidence, so that the scorer decides on them: a number of
# one measure told twice differently is as often a count that rose, a part against the whole or
# another event's figure; a negation on one side as often a negation about something else. On
# the development stories (scored leave-one-story-out), 86 such rule flags held 4 gold conflicts;
# the scorer kept all 4 among 10 at 0.7. Denials (a party rejecting what is said of it) and dates
# stand on the rules, and so does one sentence told by two outlets with another figure (the
# rule's similarity at least NEAR_IDENTICAL): the plainest discrepancy of a figure, and too rare
# among the stories' pairs for the scorer to have learnt it.
SCORER_DECIDES = frozenset({"quantity", "negation"})


def _stands_alone(row: dict) -> bool:
    return row["kind"] not in SCORER_DECIDES or (row["kind"] == "quantity" and row["score"] >= NEAR_IDENTICAL)


def merge_flags(rule_rows: list[dict], scored_rows: list[dict]) -> list[dict]:
    """The rules' conflicts stand (each names its cue), but most of those of the kinds in
    SCORER_DECIDES stand only when the scorer flags them too (`_stands_alone`). The scorer adds
    the pairs it rates at least the threshold; where both flag a pair, the rules' explanation
    is kept."""
    scored_keys = {row["pair_key"] for row in scored_rows}
    by_key = {row["pair_key"]: row for row in rule_rows if _stands_alone(row) or row["pair_key"] in scored_keys}
    for row in scored_rows:
        if row["pair_key"] in by_key:
            rule = by_key[row["pair_key"]]
            rule.setdefault("rule_score", rule["score"])  # what `select_conflicts` ranks a denial's targets by
            rule["score"] = max(rule["score"], row["score"])
        else:
            by_key[row["pair_key"]] = row
    return list(by_key.values())


def select_conflicts(found: list[dict], claims: list[dict], analyses: list[Analysis],
                     rule_denials: set[str] = frozenset()) -> list[dict]:
    """The flagged rows kept: one conflict per (claim, other side's cluster), at most a few
    targets per denial. `analyses`: of each claim, in the order of `claims`; `rule_denials`: the
    pair keys of the denials the rules flagged (before any scorer-only target)."""
    index = {c["id"]: i for i, c in enumerate(claims)}
    # One conflict per (claim, other side's cluster), and at most a few targets per denial.
    # The rules' denials first, their targets in the order of the rules' own score (how close the
    # target is to what the denial rejects), not the scorer's: which statement a denial answers
    # is a matter of what it denies, and the scorer rates how likely a pair is to clash at all.
    # Ties broken by content: the same flags every run.
    found.sort(key=lambda r: (r["pair_key"] not in rule_denials,
                              -(r.get("rule_score", r["score"]) if r["pair_key"] in rule_denials else r["score"]),
                              r["pair_key"]))
    cluster_of = {c["id"]: c.get("cluster_id") for c in claims}
    seen: set[tuple] = set()
    per_claim: dict[str, int] = {}
    kept = []
    for row in found:
        ka = (row["claim_a"], cluster_of[row["claim_b"]])
        kb = (row["claim_b"], cluster_of[row["claim_a"]])
        pair = tuple(sorted((cluster_of[row["claim_a"]] or row["claim_a"], cluster_of[row["claim_b"]] or row["claim_b"])))
        if pair[0] == pair[1]:
            # Both claims in one cluster (a loose cluster holding two accounts): one conflict per
            # claim there, not one for the whole cluster, which would hide every other clash in it.
            pair = (row["claim_a"], row["claim_b"])
        # Verbatim reprints give the same two texts twice: one conflict per pair of texts.
        if ka in seen or kb in seen or pair in seen or row["pair_key"] in seen:
            continue
        if row["kind"] == "denial":
            denier = row["claim_a"] if analyses[index[row["claim_a"]]].denial or analyses[index[row["claim_a"]]].compliance else row["claim_b"]
            statement = cluster_of[denier] or denier  # reprints of one denial share the cap
            if per_claim.get(statement, 0) >= MAX_DENIAL_TARGETS:
                continue
            per_claim[statement] = per_claim.get(statement, 0) + 1
        seen.update({ka, kb, pair, row["pair_key"]})
        kept.append(row)
    for row in found:
        row.pop("rule_score", None)  # a ranking key, not a column
    return kept
