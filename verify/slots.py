"""Slots: the values a claim states that another claim about the same event can contradict.

Dates (weekdays resolved against the article's own date: "on Wednesday" in a story of Friday
3 February is 1 February), clock times, numbers with what they measure ("7.8-magnitude",
"17.9km (11 miles)", "5,383 wounded", "three pilots"), and places with their compass words
("off the coast of South Carolina", "northwest of Moscow").

`clashes(a, b)` compares two claims' slots of the same type and says which differ and which
agree. Numbers are compared only within one measure (same unit after conversion), and a hedged
or round figure ("at least 4,000", "about 18 km") tolerates what an exact one does not.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache

_MONTHS = {m: i for i, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
     ("dec", "december")], start=1) for m in names}
_MONTH_RE = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
DATE_RE = re.compile(
    r"\b(?:(?P<m1>" + _MONTH_RE + r")\.?\s+(?P<d1>\d{1,2})(?:st|nd|rd|th)?\b(?P<r1>\s*[-\u2013]\s*\d{1,2}\b)?"
    r"(?:,?\s+(?P<y1>(?:19|20)\d\d))?"
    r"|(?P<r2>\d{1,2}(?:st|nd|rd|th)?\s*[-\u2013]\s*)?(?P<d2>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m2>" + _MONTH_RE
    + r")\b\.?(?:,?\s+(?P<y2>(?:19|20)\d\d))?"
    r"|(?:(?:early|mid|late|end of)[\s-]+)?(?P<m3>" + _MONTH_RE + r")\s+(?P<y3>(?:19|20)\d\d)"
    r"|(?P<wd>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
    r"|(?P<m4>January|February|March|April|June|July|August|September|October|November|December)\b(?!\s+\d))"
)
TIME_RE = re.compile(
    r"\b(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?\s*(?P<ampm>[ap]\.?\s?m\.?)(?![a-z])|\b(?P<h24>[01]\d|2[0-3])[:.]?(?P<m24>[0-5]\d)\s*(?:GMT|UTC|local time|hours)\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                 "ten": 10, "eleven": 11, "twelve": 12, "dozen": 12, "twenty": 20, "thirty": 30, "forty": 40,
                 "fifty": 50, "hundred": 100}
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
# Units of one measure convert to a base unit, so "17.9km (11 miles)" is one depth and "14m"
# against "50 feet" is a rounding, not a conflict.
_UNITS = {
    "km": ("length", 1000.0), "kilometre": ("length", 1000.0), "kilometer": ("length", 1000.0),
    "mile": ("length", 1609.34), "nautical mile": ("length", 1852.0), "m": ("length", 1.0), "metre": ("length", 1.0),
    "meter": ("length", 1.0), "foot": ("length", 0.3048), "feet": ("length", 0.3048), "ft": ("length", 0.3048),
    "minute": ("duration", 60.0), "min": ("duration", 60.0), "hour": ("duration", 3600.0), "second": ("duration", 1.0),
    "day": ("duration", 86400.0), "week": ("duration", 604800.0), "month": ("duration", 2.6e6), "year": ("duration", 3.15e7),
    "%": ("percent", 1.0), "percent": ("percent", 1.0), "per cent": ("percent", 1.0),
    "magnitude": ("magnitude", 1.0), "richter": ("magnitude", 1.0),
    "tonne": ("mass", 1000.0), "ton": ("mass", 1000.0), "kg": ("mass", 1.0), "kilogram": ("mass", 1.0),
    "cubic metre": ("volume", 1.0), "cubic meter": ("volume", 1.0), "bcm": ("volume", 1e9),
}
_UNIT_RE = r"(?:nautical miles?|cubic met(?:re|er)s?|per cent|percent|%|km|kilomet(?:re|er)s?|miles?|metres?|meters?|m|feet|foot|ft|minutes?|mins?|hours?|seconds?|days?|weeks?|months?|years?|magnitude|tonnes?|tons?|kg|kilograms?|bcm)"
NUMBER_RE = re.compile(
    r"(?P<hedge>\b(?:at least|more than|over|nearly|almost|about|around|some|roughly|approximately|up to|as many as|fewer than|less than|under|an estimated|estimated|close to)\s+)?"
    r"(?<![\w.,:-])(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|(?:" + "|".join(_NUMBER_WORDS) + r")\b)(?![.,:]\d)(?!st\b|nd\b|rd\b|th\b)"
    r"(?:\s*(?P<scale>thousand|million|billion|trillion)\b)?"
    r"(?:(?:\s*-\s*|\s*)(?P<unit>" + _UNIT_RE + r")\b)?"
    # The counted noun stops at a conjunction: "three pilots and seven passengers" is two counts.
    r"(?:[\s-]+(?P<noun>(?!(?:and|or|but|plus|while)\b)[a-z]+(?:\s+(?!(?:and|or|but|plus|while)\b)[a-z]+){0,3}))?",
    re.IGNORECASE,
)
# Counted things named differently: "5,383 wounded" and "5,385 others injured" are one count.
_SAME_MEASURE = {"wounded": "injured", "injury": "injured", "injurie": "injured", "dead": "killed", "death": "killed",
                 "died": "killed", "fatalitie": "killed", "fatality": "killed", "life": "killed", "victim": "killed"}
_AT_LEAST = {"at least", "more than", "over", "as many as", "an estimated"}
_AT_MOST = {"up to", "fewer than", "less than", "under", "nearly", "almost"}
# Words too common around numbers to tell two measures apart.
_ROLE_STOP = {"about", "around", "least", "than", "some", "said", "says", "according", "reported", "were", "was",
              "people", "more", "nearly", "almost", "approximately", "roughly", "estimated", "least", "total"}
# A capitalised word (not the sentence's first) right before a bare numeral: "Nord Stream 1".
_NAME_BEFORE = re.compile(r"(?<=[\w,;:)] )[A-Z][\w-]*\s+$")
# A figure a count went past: "exceeded 28,000", "soared above 5,300", "topped 20,000".
_PASSED_BEFORE = re.compile(r"\b(?:exceed(?:ed|s|ing)?|surpass(?:ed|es|ing)?|top(?:ped|s|ping)?|pass(?:ed|es|ing)|"
                            r"above|beyond|upwards\s+of|in\s+excess\s+of)\s+$", re.IGNORECASE)
# "magnitude 6 or larger", "10 or more people": a bound written after the figure.
_BOUND_AFTER = re.compile(r"\s+or\s+(more|larger|greater|higher|above|less|fewer|smaller|lower|below)\b", re.IGNORECASE)
# A bare decimal such as "7.4" in a sentence about an earthquake is its magnitude ("AFAD
# measured the quake at 7.4", "put the magnitude at 7.4 near Pazarcik").
_QUAKE_WORDS = re.compile(r"\b(?:earthquakes?|quakes?|tremors?|temblors?|aftershocks?|seismic|magnitude|richter)\b", re.IGNORECASE)
_MAGNITUDE_FIGURE = re.compile(r"^[1-9]\.\d$")
_MAGNITUDE_NOUNS = {"near", "quake", "earthquake", "tremor", "temblor", "aftershock", "magnitude", "struck", "hit", "jolted"}
_MAGNITUDE_BEFORE = re.compile(r"(?:\bmagnitude(?:\s+of)?|\bM|\bmeasuring|\bRichter(?:\s+scale)?(?:\s+of)?)\s*$", re.IGNORECASE)
_NOUN_STOP = {"the", "a", "an", "and", "or", "of", "in", "on", "at", "to", "for", "by", "with", "from", "as", "was", "were",
              "is", "are", "has", "have", "had", "that", "this", "its", "their", "his", "her", "after", "before", "since",
              "than", "who", "which", "people", "others", "more", "other", "out", "times", "per", "been", "be", "being",
              "also", "so", "far", "reportedly", "were", "had", "have", "has", "others", "over", "under", "into", "across",
              "during", "amid", "and", "but", "while", "because"}
_DIRECTIONS = ("northwest", "northeast", "southwest", "southeast", "north-west", "north-east", "south-west",
               "south-east", "north", "south", "east", "west")
# A named place something is told relative to: "Moscow", "the capital Moscow", "the Danish island
# of Bornholm", "the Turkish district of Nurdağı". Capitalised: "northwest of the country" names none.
_REFERENCE = (r"(?:the\s+(?:[A-Za-z-]+\s+){0,2}?(?:capital|city|town|village|island|port|region|province|district)"
              r"\s+(?:of\s+)?)?(?P<ref>[A-Z][\w-]+)")
_DIRECTION_WORD = r"(?P<dir>(?i:" + "|".join(_DIRECTIONS) + r"))(?i:ern)?"
DIRECTION_RE = re.compile(r"\b" + _DIRECTION_WORD + r"\s+of\s+" + _REFERENCE)
# What follows a distance that is told from a place: "290 kilometres (180 miles) northwest of
# Moscow", "160 km from the capital Moscow".
_DISTANCE_FROM = re.compile(r"\s*(?:\([^)]{0,30}\)\s*)?(?:(?i:due\s+)?" + _DIRECTION_WORD + r"\s+)?(?:of|from)\s+" + _REFERENCE)
_WITHIN_BEFORE = re.compile(r"\bwithin\s+(?:about\s+|some\s+)?$", re.IGNORECASE)
COMPASS_PLACE_RE = re.compile(r"\b(?P<dir>North|South|East|West)(?:ern)?\s+(?P<name>[A-Z][a-z]{3,}(?:\s+[A-Z][a-z]+)?)")
PLACE_RE = re.compile(r"\b(?:in|to|at|near|off|from|over)\s+(?:the\s+)?(?:(?:coast|city|town|village|province|region|district|port|island)\s+of\s+)?(?P<place>[A-Z][a-z]+(?:[\s-][A-Z][a-z]+){0,2})")
# The places that bound a figure's scope: as PLACE_RE, and also a compass part of one ("in
# northwestern Syria" is not "in Syria": a part, not the whole) and "the areas of" an authority
# ("in the areas of the Autonomous Administration of North and East Syria").
SCOPE_RE = re.compile(r"\b(?:in|to|at|near|off|from|over|of)\s+(?:the\s+)?(?:(?!north|south|east|west)[a-z-]+\s+)?"
                      r"(?:(?:coast|city|town|village|province|region|district|port|island|areas?|parts?)\s+(?:in|of)\s+(?:the\s+)?)?"
                      r"(?P<place>(?:(?:north|south|east|west|north-?west|north-?east|south-?west|south-?east)(?:ern)?\s+)?"
                      r"[A-Z][a-z]+(?:[\s-][A-Z][a-z]+){0,2})")
# A count told after what it counts: "the death toll rose to 17,000".
_TOLL_BEFORE = re.compile(r"\b(?:death|fatality)\s+tolls?\b[^.,;]{0,40}$", re.IGNORECASE)
_YEAR_RE = re.compile(r"\b(?:19[5-9]\d|20[0-4]\d)\b")
# Words that make a count a part or an increment: "six other passengers" (besides one named),
# "an additional 15,384 injured", "12 more bodies". Not a total to compare with another's.
_PART_WORDS = {"other", "additional", "more", "further", "new", "extra"}
_INCREMENT_BEFORE = re.compile(r"\b(?:an?\s+)?(?:additional|further|another)\s+$", re.IGNORECASE)


# "one of the divers", "two of them": members of a group whose size is not told. Not "two of the
# four lines" (a count of a told whole).
_MEMBER_OF = re.compile(r"\s+of\s+(?:the|them|those|these|its|their|his|her|our|whom|which)\b"
                        r"(?!\s+(?:\d|(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|thousands?)\b))",
                        re.IGNORECASE)


def _part_or_increment(noun_words: list[str], before: str) -> bool:
    """A count that is not a total: "six other passengers" (besides one named), "12 more bodies",
    "an additional 15,384" (`before`: the words right before the figure)."""
    named_part = len(noun_words) >= 2 and noun_words[0] in _PART_WORDS and noun_words[1] not in _NOUN_STOP
    return named_part or bool(_INCREMENT_BEFORE.search(before))


_SPEECH = (r"said|says|saying|told|tells|announced|stated|denied|denies|added|called|calls|insisted|confirmed|warned|"
           r"reported|accused|rejected|dismissed|claimed|tweeted|wrote|declared|statement|remarks|briefing|"
           r"expressed|voiced|urged|vowed|pledged|reiterated|condemned|critici[sz]ed|praised")
_SPEECH_BEFORE = re.compile(r"\b(?:" + _SPEECH + r")\s+(?:on\s+|late\s+|early\s+|last\s+|this\s+)?$", re.IGNORECASE)
_SPEECH_AFTER = re.compile(r"^(?:\s+(?:morning|afternoon|evening|night))?,?\s+(?:(?:also|again|publicly)\s+)?(?:" + _SPEECH + r")\b", re.IGNORECASE)


def reference_key(name: str) -> str:
    """One spelling of a reference place: "Nurdağı" and "Nurdagi" are one town."""
    folded = unicodedata.normalize("NFKD", name.replace("ı", "i"))
    return "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()


def _scope_name(place: str) -> str:
    """One spelling of a scope: "North-western Syria", "northwest Syria" -> "northwest syria"."""
    return re.sub(r"^(north|south)-?(east|west)(?:ern)?\b|^(north|south|east|west)ern\b",
                  lambda m: (m.group(1) or m.group(3)) + (m.group(2) or ""), reference_key(place))


# "confirmed Prigozhin's death on Sunday", "praised him as a talented man on Thursday": a speech
# verb, its object (a few words, no event verb, no clause break) and the day it was said.
_SPEECH_OBJECT_BEFORE = re.compile(r"\b(?:" + _SPEECH + r")\s+(?P<object>(?:[\w'’-]+\s+){1,8}?)on\s+$", re.IGNORECASE)
_EVENT_VERB = re.compile(r"\b(?:crash(?:ed)?|died|killed|struck|hit|exploded|happened|occurred|took|shot|downed|"
                         r"launched|began|started|attacked|fired|arrived|left|landed|flew|came|went|was|were|is|are)\b",
                         re.IGNORECASE)


def spoken_on(text: str, start: int, end: int) -> bool:
    """Is the date at text[start:end] the day someone spoke ("said on Tuesday", "Moscow on Monday
    called", "confirmed his death on Sunday"), not the day of the event?"""
    if _SPEECH_BEFORE.search(text[max(0, start - 30):start]) or _SPEECH_AFTER.match(text[end:end + 40]):
        return True
    clause = re.split(r"[,;:()\u2014\u2013]", text[max(0, start - 70):start])[-1]
    m = _SPEECH_OBJECT_BEFORE.search(clause)
    return bool(m and not _EVENT_VERB.search(m.group("object")))


@dataclass(frozen=True)
class Number:
    value: float      # in the base unit of its measure
    measure: str      # "length", "magnitude", or the counted noun ("wounded", "aftershocks")
    approximate: bool
    text: str
    bound: str = ""   # "min" for "at least 4,000", "max" for "up to 10", "" for a plain figure
    role: frozenset = frozenset()   # content words around it: "depth", "east", "first"...
    scope: frozenset = frozenset()  # places named around it: "Turkey", "Syria", "Idlib"
    year: int | None = None         # a year told in its clause ("on January 24, 2020"): the year of its event
    kind: str = ""                  # of a length: "altitude", "depth", "distance" or "size" (`length_kind`)


@dataclass
class Slots:
    dates: list[tuple[str, tuple]] = field(default_factory=list)   # (text, (year|None, month|None, day|None))
    times: list[tuple[str, int]] = field(default_factory=list)     # (text, minutes after midnight)
    numbers: list[Number] = field(default_factory=list)
    places: list[tuple[str, str]] = field(default_factory=list)    # (text, canonical place)
    directions: list[tuple[str, str, str]] = field(default_factory=list)  # (text, direction, reference)
    # Dates of a speech act ("said on Tuesday", "North Korea on Monday called"): when someone
    # spoke, not when the event happened; two speakers speaking on two days do not clash.
    speech_dates: frozenset = frozenset()
    # The words around each date, time or figure (by its text): what it is the date or figure of.
    frames: dict = field(default_factory=dict)
    orders: dict = field(default_factory=dict)  # by text: the event's rank in a sequence (`_event_order`)
    # By text: the weekday a date was named by ("on Saturday"). Its resolved date is a guess when
    # the article is read weeks after the day (or has no date of its own); the name is not.
    weekdays: dict = field(default_factory=dict)
    zones: dict = field(default_factory=dict)  # by a time's text: "utc", "local" or "" (`_time_zone`)
    year: int | None = None  # of the article's date: the year of a figure told without one
    wholes: frozenset = frozenset()  # the sums of two or more of its counts (`_sums`): wholes of its parts
    clauses: dict = field(default_factory=dict)  # by a date's text: the content words of its clause (`_clause_words`)


def _number(token: str) -> float | None:
    token = token.lower().replace(",", "")
    if token in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[token])
    try:
        return float(token)
    except ValueError:
        return None


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def resolve_weekday(weekday: str, published: str | None) -> tuple | None:
    """The date of "on Wednesday" in an article of `published` (ISO): the last such weekday on
    or before the article's date (news reports what happened, or happens that day)."""
    if not published:
        return None
    try:
        day = dt.date.fromisoformat(published[:10])
    except ValueError:
        return None
    back = (day.weekday() - _WEEKDAYS.index(weekday.lower())) % 7
    d = day - dt.timedelta(days=back)
    return (d.year, d.month, d.day)


_FRAME_WORD = re.compile(r"[a-z]{3,}")
_FRAME_SKIP = (_NOUN_STOP | _ROLE_STOP | set(_WEEKDAYS) | {m for m in _MONTHS}
               | {"said", "says", "told", "according", "reported", "local", "time", "gmt", "utc", "am", "pm", "near", "all"})


def _frame(text: str, start: int, end: int) -> frozenset:
    """The content words of the clause around text[start:end], cut to five letters so that
    "crashed" and "crash" meet: "the jet crashed on 23 August" -> {"jet", "crash"}."""
    before = re.split(r"[,;:()\u201c\u201d\"]", text[max(0, start - 70):start])[-1]
    after = re.split(r"[,;:()\u201c\u201d\".]", text[end:end + 50])[0]
    words = _FRAME_WORD.findall(before.lower())[-5:] + _FRAME_WORD.findall(after.lower())[:4]
    return frozenset(w[:5] for w in words if w not in _FRAME_SKIP)


_CLAUSE_END = re.compile(r"[,;:()\u201c\u201d\"]|(?<=[a-z]{3})\.(?:\s|$)")  # not "St. Petersburg"


def _clause_words(text: str, start: int, end: int) -> frozenset:
    """The content words of the whole clause holding text[start:end] (at most 120 characters
    each way), cut to four letters ("downed" and "down", "crashed" and "crash" meet): wider than
    its frame, to tell whether two dates can be said of one thing at all."""
    before = _CLAUSE_END.split(text[max(0, start - 120):start])[-1]
    after = _CLAUSE_END.split(text[end:end + 120])[0]
    return frozenset(w[:4] for w in _FRAME_WORD.findall((before + " " + after).lower()) if w not in _FRAME_SKIP)


# Words that place an event in a sequence: a figure of "the second quake" or "a fresh blast" is
# not a figure of the first one.
_EVENT_ORDER = {"first": 1, "initial": -1, "initially": -1, "earlier": -1, "preliminary": -1, "second": 2, "another": 2, "fresh": 2, "later": 2,
                "subsequent": 2, "followed": 2, "next": 2, "third": 3, "fourth": 4,
                # "The first shaking measured 2.3, while the other measured 2.1."
                "the other": 2, "the latter": 2,
                # An aftershock is a later quake than the one a report is about, and not the
                # one a sequence calls "the second quake" (a 6.7 aftershock, a second 7.5 quake).
                "aftershock": 5, "aftershocks": 5}
_ORDER_WORD = re.compile(r"\b(" + "|".join(w.replace(" ", r"\s+") for w in _EVENT_ORDER) + r")\b", re.IGNORECASE)


_ORDINAL_COMMA = re.compile(r"\b((?:[Aa]|[Tt]he)\s+(?:second|third|fourth|first|fresh|subsequent)),")


def _event_order(text: str, start: int, end: int, words: dict = _EVENT_ORDER) -> int:
    """The sequence word nearest before the figure in its clause (or right after it), as a rank;
    0 when there is none. `words`: the sequence words read (`_OBJECT_ORDER` for a date)."""
    # "A second, more powerful blast ... a magnitude 2.3": the comma after an ordinal of the
    # subject does not end its clause.
    window = _ORDINAL_COMMA.sub(r"\1 ", text[max(0, start - 120):start])
    before = re.split(r"[,;:()]|\band\b|\bwhile\b", window)[-1]
    after = re.split(r"[,;:().]|\band\b|\bwhile\b", text[end:end + 40])[0]  # not "7.8 quake and its aftershocks"
    # The figure's own noun first: "followed later by a 6.7 aftershock" is the aftershock's.
    own = _ORDER_WORD.match(after.strip())
    found = [own.group(1)] if own else _ORDER_WORD.findall(before) or _ORDER_WORD.findall(after)
    found = [w for w in found if " ".join(w.lower().split()) in words]
    return words[" ".join(found[-1].lower().split())] if found else 0


# For a date, only the words that tell another thing of a series ("another balloon was detected
# on Friday", "the third object ... on Sunday"): "later", "earlier", "initially" tell when within
# one account ("shot down later on Saturday"), not which event.
_OBJECT_ORDER = {w: r for w, r in _EVENT_ORDER.items()
                 if w not in ("initial", "initially", "earlier", "preliminary", "later", "subsequent", "followed", "first")}


_ZONE_LOCAL = re.compile(r"\blocal(?:\s+time)?\b|\b[A-Z][a-z]+\s+time\b")


def _time_zone(words: str) -> str:
    """The clock a time is told on, from the words at it: "utc" ("01:17 GMT"), "local" ("4:17
    a.m. local time", "19:04 Moscow time"), or "" when not said (news mostly tells local time)."""
    head = re.split(r"[(,;]", words, maxsplit=1)[0]
    if re.search(r"\b(?:GMT|UTC)\b", head, re.IGNORECASE):
        return "utc"
    return "local" if _ZONE_LOCAL.search(head) else ""


def times_comparable(x: str, y: str) -> bool:
    """Two clock times told on one clock: a time in GMT against a local one is an hour or more
    off by the zone alone ("00:03 GMT" is "2:03 am" in Bornholm); an unmarked time is local."""
    x, y = x or "local", y or "local"
    return x == y


def other_events(x: int, y: int) -> bool:
    """Two figures said of different events of a sequence: "first" against "second", a later
    one ("second", "another", "fresh") against one not placed in the sequence, or an early
    report ("initially", "preliminary": rank -1) against a figure not so marked."""
    return x != y and (bool(x and y) or max(x, y) >= 2 or min(x, y) < 0)


_BEARING = {"north": 0, "northeast": 45, "east": 90, "southeast": 135, "south": 180, "southwest": 225,
            "west": 270, "northwest": 315}


def directions_differ(x: str, y: str) -> bool:
    """Two compass words whose sectors do not meet. "North" covers a quarter turn (northwest to
    northeast), "northwest" an eighth: "northwest" against "northeast" clash, "north" against
    "northwest" or "west" is one bearing told roughly (a town north-west of a city is told "north
    of" by one outlet and "west of" by another)."""
    turn = abs(_BEARING[x] - _BEARING[y]) % 360
    return min(turn, 360 - turn) > _SECTOR[x] + _SECTOR[y]


_SECTOR = {d: 45.0 if d in ("north", "south", "east", "west") else 22.5 for d in _BEARING}  # half-width, degrees


def frame_overlap(x: frozenset, y: frozenset) -> float:
    """Jaccard overlap of two frames; 0 when either is empty."""
    return len(x & y) / len(x | y) if x and y else 0.0


# A photo caption: its date is when the picture was taken ("..., Russia, August 24, 2023, in this
# handout picture", "... on February 4, 2023.— AP FILE"), not the date of what it shows.
CAPTION_RE = re.compile(r"(?i:\bin\s+this\s+(?:[\w-]+\s+){0,2}(?:picture|photo(?:graph)?|image)\b)"
                        r"|\b(?:AP|AFP|Reuters|Getty Images)\s+(?:Photo|FILE)\b|\bREUTERS/|\bFILE PHOTO\b")


@lru_cache(maxsize=65536)
def _extract(text: str) -> tuple:
    dates, weekdays, speech, frames, orders, clauses = [], [], set(), {}, {}, {}
    for m in DATE_RE.finditer(text) if not CAPTION_RE.search(text) else ():
        g = m.groupdict()
        frames.setdefault(m.group(0), _frame(text, *m.span()))
        clauses.setdefault(m.group(0), _clause_words(text, *m.span()))
        orders.setdefault(m.group(0), _event_order(text, *m.span(), words=_OBJECT_ORDER))
        if spoken_on(text, *m.span()):
            speech.add(m.group(0))
        if g["wd"]:
            weekdays.append((m.group(0), g["wd"]))
            continue
        name = (g["m1"] or g["m2"] or g["m3"] or g["m4"]).lower()
        month = _MONTHS.get(name) or _MONTHS[name[:3]]
        day = int(g["d1"] or g["d2"]) if (g["d1"] or g["d2"]) else None
        if g["r1"] or g["r2"]:
            day = None  # "June 23-24": two days, told at the month's grain (neither day clashes)
        year = int(g["y1"] or g["y2"] or g["y3"]) if (g["y1"] or g["y2"] or g["y3"]) else None
        if g["m4"] and g["m4"].lower() == "may":
            continue
        dates.append((m.group(0), (year, month, day if day and day <= 31 else None)))
    times, zones = [], {}
    for m in TIME_RE.finditer(text):
        frames.setdefault(m.group(0), _frame(text, *m.span()))
        orders.setdefault(m.group(0), _event_order(text, *m.span()))
        zones.setdefault(m.group(0), _time_zone(m.group(0) + text[m.end():m.end() + 20]))
        if m.group("h24"):
            times.append((m.group(0), int(m.group("h24")) * 60 + int(m.group("m24"))))
            continue
        h = int(m.group("h")) % 12 + (12 if m.group("ampm").lower().startswith("p") else 0)
        if int(m.group("h")) <= 12:
            times.append((m.group(0), h * 60 + int(m.group("m") or 0)))
    numbers = []
    date_spans = [m.span() for m in DATE_RE.finditer(text)] + [m.span() for m in TIME_RE.finditer(text)]
    for m in NUMBER_RE.finditer(text):
        if any(s <= m.start("num") < e for s, e in date_spans):
            continue
        value = _number(m.group("num"))
        if value is None:
            continue
        if m.group("num")[0].isdigit() and not m.group("hedge") and _NAME_BEFORE.search(text[max(0, m.start("num") - 30):m.start("num")]) \
                and not _MAGNITUDE_BEFORE.search(text[max(0, m.start("num") - 25):m.start("num")]):
            continue  # "Nord Stream 2", "Flight 17", "Article 5": a numeral of a name, not a count
        # A round figure ("4,000", "300") is a rounding of whatever exact count lies near it.
        round_figure = value >= 100 and value % 100 == 0
        if m.group("scale"):
            value *= _SCALE[m.group("scale").lower()]
        unit = (m.group("unit") or "").lower()
        if not unit and m.group(0)[m.end("num") - m.start(0):][:1].isalpha():
            continue  # "9X", "4G": part of a name, not a count
        raw_words = (m.group("noun") or "").lower().split()
        if _part_or_increment(raw_words, text[max(0, m.start() - 20):m.start()] if not m.group("hedge") else ""):
            continue
        if not unit and _MEMBER_OF.match(text, m.end("num")):
            continue  # "one of the divers": a member of a group, not a count of it
        words = [w for w in raw_words if w not in _NOUN_STOP]
        if words and (words[0] in _WEEKDAYS or words[0] in _MONTHS):
            words = []  # "35,000 on Monday": the day it was told, not what was counted
        if not words and _TOLL_BEFORE.search(text[max(0, m.start() - 50):m.start()]):
            words = ["killed"]  # "the death toll ... exceeded 17,000"
        if not unit and words and (words[0] in _UNITS or _singular(words[0]) in _UNITS):
            unit = words[0]  # "2.3 on the Richter scale"
        if not unit and _MAGNITUDE_BEFORE.search(text[max(0, m.start("num") - 25):m.start("num")]):
            unit = "magnitude"  # "a magnitude of 7.4", "M 7.5", "measuring 7.8"
        if not unit and not m.group("scale") and _MAGNITUDE_FIGURE.match(m.group("num")) \
                and (not words or _singular(words[0]) in _MAGNITUDE_NOUNS) and _QUAKE_WORDS.search(text):
            unit = "magnitude"
        if unit:
            key = unit if unit in _UNITS else _singular(unit)
            key = {"kilometres": "km", "kilometers": "km"}.get(key, key)
            measure, factor = _UNITS.get(key, (key, 1.0))
            value *= factor
        elif words:
            noun = _singular(words[0])
            measure = _SAME_MEASURE.get(noun, noun)
            if re.fullmatch(r"[1-9]\d{0,2}\.\d{3}", m.group("num")):
                value *= 1000  # "1.414 deaths": a count written with a point for thousands
        else:
            continue  # a bare number measures nothing we can compare
        if measure in ("year",) or (not unit and 1900 <= value <= 2100 and value.is_integer()):
            continue
        approximate = bool(m.group("hedge")) or round_figure or bool(m.group("scale"))
        hedge = (m.group("hedge") or "").lower().strip()
        bound = "min" if hedge in _AT_LEAST else "max" if hedge in _AT_MOST else ""
        if tail := _BOUND_AFTER.match(text[m.end("unit") if m.group("unit") else m.end("num"):][:25]):
            bound = "min" if tail.group(1).lower() in ("more", "larger", "greater", "higher", "above") else "max"
        if not bound and _PASSED_BEFORE.search(text[max(0, m.start() - 25):m.start()]):
            bound = "min"  # "the death toll exceeded 28,000": more than 28,000
        role, scope, year = _figure_context(text, m.start(), m.end())
        if measure == "length" and m.group("unit") and (ref := distance_reference(text, m.end("unit"), m.start())):
            role |= {"from " + ref}  # a distance from a place: comparable with any other distance from it
        kind = length_kind(text, m.start(), m.end("unit") if m.group("unit") else m.end(), unit) if measure == "length" else ""
        numbers.append(Number(value, measure, approximate, m.group(0).strip(), bound, role, scope, year, kind))
        frames.setdefault(m.group(0).strip(), _frame(text, m.start("num"), m.end()))
        orders.setdefault(m.group(0).strip(), _event_order(text, m.start("num"), m.end("num")))
    for m in SPELLED_DURATION_RE.finditer(text):
        if any(s <= m.start("dur") < e for s, e in date_spans):
            continue
        hedge = (m.group("hedge") or "").lower().strip()
        bound = "min" if hedge in _AT_LEAST else "max" if hedge in _AT_MOST else ""
        role, scope, year = _figure_context(text, m.start(), m.end())
        numbers.append(Number(_spelled_minutes(m.group("dur")) * 60.0, "duration", True, m.group(0).strip(), bound, role, scope, year))
        frames.setdefault(m.group(0).strip(), _frame(text, m.start("dur"), m.end()))
        orders.setdefault(m.group(0).strip(), _event_order(text, m.start("dur"), m.end()))
    places = [(m.group("place"), m.group("place")) for m in PLACE_RE.finditer(text)
              if m.group("place").split()[0].lower() not in _MONTHS and m.group("place").lower() not in _WEEKDAYS]
    directions = []
    for m in DIRECTION_RE.finditer(text):
        directions.append((m.group(0), m.group("dir").lower().replace("-", ""), reference_key(m.group("ref"))))
        orders.setdefault(m.group(0), _event_order(text, *m.span()))
    return (tuple(dates), tuple(weekdays), tuple(times), tuple(numbers), tuple(places), tuple(directions),
            frozenset(speech), frames, orders, zones, clauses)


def reference_dates(articles: list[dict], extract=None) -> dict[str, str | None]:
    """Article id -> the date its relative words ("on Wednesday", "Feb. 4") are read against:
    its publication date, else the latest full date its own text gives ("Wednesday, Feb. 1,
    2023"), a day and month taking the year the corpus mostly writes about. `extract`: what
    reads a text's slots (default `_extract`; a build passes one that reads its cache)."""
    _extract = extract or globals()["_extract"]
    years: dict[int, int] = {}
    for a in articles:
        if a.get("published") and a["published"][:4].isdigit():
            years[int(a["published"][:4])] = years.get(int(a["published"][:4]), 0) + 1
    for a in articles:
        for _, (y, _, _) in _extract(a["text"])[0]:
            if isinstance(y, int):
                years[y] = years.get(y, 0) + 1
    corpus_year = max(years, key=years.get) if years else None
    out = {}
    for a in articles:
        if a.get("published"):
            out[a["id"]] = a["published"][:10]
            continue
        latest = None
        for _, (y, mo, d) in _extract(a["text"])[0]:
            y = y if isinstance(y, int) else corpus_year
            if y and mo and d:
                try:
                    day = dt.date(y, mo, d)
                except ValueError:
                    continue
                latest = max(latest, day) if latest else day
        out[a["id"]] = latest.isoformat() if latest else None
    return out


def extract(text: str, published: str | None = None) -> Slots:
    """The slots of one claim; `published` (ISO date of its article) resolves weekdays and
    fills in the year of a day and month."""
    dates, weekdays, times, numbers, places, directions, speech, frames, orders, zones, clauses = _extract(text)
    year = int(published[:4]) if published and published[:4].isdigit() else None
    month_now = int(published[5:7]) if published and published[5:7].isdigit() else 12
    # "in June" in an article of August 2024 is June 2024; "in December" then is December 2023.
    resolved = [(t, (y or (year if mo <= month_now else year - 1) if year else y, mo, d)) for t, (y, mo, d) in dates]
    for t, wd in weekdays:
        if (date := resolve_weekday(wd, published)) is not None:
            resolved.append((t, date))
        else:
            resolved.append((t, ("weekday", wd.lower(), None)))  # no date to resolve against: compared by its name
    return Slots(resolved, list(times), list(numbers), list(places), list(directions), speech, frames, orders,
                 {t: wd.lower() for t, wd in weekdays}, zones, year, frozenset(_sums(numbers)), clauses)


def _figure_context(text: str, start: int, end: int) -> tuple[frozenset, frozenset, int | None]:
    """What a figure at text[start:end] is said of: its role (content words around it), its
    scope (places of its clause) and the year its clause tells, if any."""
    before = text[max(0, start - 60):start]
    after = text[end:end + 60]
    near = re.findall(r"[a-z]+", before.split(",")[-1].lower())[-3:] + re.findall(r"[a-z]+", after.split(",")[0].lower())[:3]
    role = frozenset(w for w in near if w not in _NOUN_STOP and w not in _ROLE_STOP and len(w) > 2
                     and w not in _UNITS and _singular(w) not in _UNITS and w not in ("kilometres", "kilometers", "metres", "meters"))
    # Scope: the places of the figure's clause, read in the whole sentence (a window cut
    # "Pazarcik" short), starting at most 90 characters before it and 100 after.
    scope = frozenset(_scope_name(p.group("place")) for p in SCOPE_RE.finditer(text, max(0, start - 90), end + 160)
                      if p.start() < end + 100)
    # The year of its clause, if the text tells one: a figure of another year is another event.
    years = {int(y.group(0)) for y in _YEAR_RE.finditer(text, max(0, start - 80), end + 80) if not start <= y.start() < end}
    return role, scope, (years.pop() if len(years) == 1 else None)


# A duration told in words: "about half an hour", "an hour and a half", "two and a half hours".
# Longer phrases first: "an hour and a half" is not "an hour".
SPELLED_DURATION_RE = re.compile(
    r"(?P<hedge>\b(?:about|around|some|roughly|nearly|almost|less than|more than|over|under|up to|at least)\s+)?"
    r"\b(?P<dur>half\s+an\s+hour|a\s+quarter\s+of\s+an\s+hour|(?:an|one)\s+hour\s+and\s+a\s+(?:half|quarter)"
    r"|(?:one|two|three|four|five|six|seven|eight|nine|ten|\d+)\s+and\s+a\s+half\s+hours|an\s+hour)\b",
    re.IGNORECASE)


def _spelled_minutes(phrase: str) -> float:
    """The minutes of a SPELLED_DURATION_RE phrase."""
    words = phrase.lower().split()
    if words[0] == "half":
        return 30.0
    if words[:2] == ["a", "quarter"]:
        return 15.0
    if words[-1] in ("half", "quarter") and words[1] == "hour":
        return 60.0 + (30.0 if words[-1] == "half" else 15.0)
    if words[-1] == "hours":  # "two and a half hours"
        whole = _NUMBER_WORDS.get(words[0]) or float(words[0])
        return (whole + 0.5) * 60.0
    return 60.0


def distance_reference(text: str, end: int, start: int) -> str | None:
    """The place a distance (from `start` to the end of its unit, `end`) is told from ("290 km northwest of Moscow" ->
    "moscow"), or None. Not a bound of another kind ("march to within 200 km of Moscow": how
    close something came, not where it is)."""
    if _WITHIN_BEFORE.search(text[max(0, start - 25):start]):
        return None
    m = _DISTANCE_FROM.match(text, end)
    return reference_key(m.group("ref")) if m else None


def located(text: str) -> set[str]:
    """The reference places a claim tells a bearing or a distance from (`reference_key`): what
    the conflict search blocks on, so "crashed northwest of Moscow" meets "northeast of Moscow"
    however unlike the two sentences are otherwise."""
    refs = {reference_key(m.group("ref")) for m in DIRECTION_RE.finditer(text)}
    for m in NUMBER_RE.finditer(text):
        if (m.group("unit") or "").lower() in _DISTANCE_UNITS and (ref := distance_reference(text, m.end("unit"), m.start())):
            refs.add(ref)
    return refs


_DISTANCE_UNITS = {"km", "kilometres", "kilometers", "kilometre", "kilometer", "miles", "mile", "nautical miles", "nautical mile"}


def _weekday_dates_differ(name: str, other: tuple, other_name: str | None, year: int | None) -> bool | None:
    """A date named by its weekday (`name`) against another date: by the names when both are
    weekdays ("Saturday" and "Saturday" agree whatever week each article's date puts them in);
    against a full date by the calendar ("Saturday" and "February 4, 2023" agree, "Feb. 5" does
    not); against a month or a year alone, not comparable (which week was meant is a guess)."""
    if other_name is not None:
        return name != other_name
    if not (other[1] and other[2]):
        return None
    y = other[0] if isinstance(other[0], int) else year
    if y is None:
        return None
    try:
        return _WEEKDAYS[dt.date(y, other[1], other[2]).weekday()] != name
    except ValueError:
        return None


def _dates_differ(a: tuple, b: tuple) -> bool | None:
    """True / False when two dates are comparable at a shared grain, None when not. Neither is
    a weekday (`_weekday_dates_differ` compares those)."""
    (ya, ma, da), (yb, mb, db) = a, b
    if ma and mb and ma != mb:
        if ya and yb and ya != yb:
            return True
        return True
    if ma == mb and da and db:
        return da != db
    if ya and yb and ma == mb and ya != yb:
        return True
    return False if ma == mb else None


def _numbers_differ(x: Number, y: Number) -> bool:
    """Two figures of one measure that cannot both hold. A lower bound ("at least 10 deaths")
    is not contradicted by a larger figure; a rounded or hedged one tolerates 10 %."""
    lo_x, hi_x = (x.value, float("inf")) if x.bound == "min" else (0.0, x.value) if x.bound == "max" else (x.value, x.value)
    lo_y, hi_y = (y.value, float("inf")) if y.bound == "min" else (0.0, y.value) if y.bound == "max" else (y.value, y.value)
    big = max(x.value, y.value)
    if big == 0:
        return False
    tolerance = 0.1 if (x.approximate or y.approximate) else 0.0
    if x.measure in ("length", "duration", "mass", "volume"):
        tolerance = max(tolerance, 0.12)  # unit conversions round: 14 m against 50 feet
    slack = tolerance * big
    return lo_x > hi_y + slack or lo_y > hi_x + slack


# What a length measures, from the words right after it ("11 miles deep", "7 miles off the
# coast", "200 feet long") or, failing those, right before it ("a depth of", "an altitude of").
_LENGTH_KINDS = (
    ("depth", re.compile(r"\b(?:deep|depths?|beneath|below|underground|under\s+(?:the\s+)?(?:sea|surface|ground|water|seabed))\b", re.IGNORECASE)),
    ("altitude", re.compile(r"\b(?:altitudes?|high|height|heights|above|elevation|aloft|ceiling)\b", re.IGNORECASE)),
    ("distance", re.compile(r"\b(?:off|from|away|offshore|distance|inland|(?:north|south|east|west)(?:-?(?:east|west))?(?:ern)?|"
                            r"(?-i:[NSEW]{1,3})|nearby|outside|short\s+of|within)\b", re.IGNORECASE)),
    ("size", re.compile(r"\b(?:long|wide|tall|across|diameter|length|width|wingspan|size|radius|thick)\b", re.IGNORECASE)),
)
# A height told in feet after "at" or "to": "fired at 58,000 ft.", "climbed to 28,000 feet".
_AT_FEET_BEFORE = re.compile(r"\b(?:at|to)\s+(?:an?\s+)?(?:about|around|some|roughly|nearly|approximately|over|under)?\s*$",
                             re.IGNORECASE)


def length_kind(text: str, start: int, end: int, unit: str) -> str:
    """What the length at text[start:end] measures: "altitude", "depth", "distance" or "size",
    or "" when its clause does not say. Two lengths of different kinds are different measures,
    however alike the words around them ("fired at 58,000 ft" / "shot down 7 miles off the coast")."""
    after = re.split(r"[,;:()]|\band\b", re.sub(r"^\s*\([^)]{0,30}\)", "", text[end:end + 60])[:30])[0]
    before = re.split(r"[,;:()]|\band\b", text[max(0, start - 40):start])[-1]
    nearest_after = min(((m.start(), kind) for kind, rx in _LENGTH_KINDS if (m := rx.search(after))), default=None)
    if nearest_after:
        return nearest_after[1]
    nearest_before = max(((m.end(), kind) for kind, rx in _LENGTH_KINDS for m in rx.finditer(before)), default=None)
    if nearest_before:
        return nearest_before[1]
    if unit in ("feet", "foot", "ft") and _AT_FEET_BEFORE.search(before):
        return "altitude"
    return ""


def same_measure(x: Number, y: Number) -> bool:
    """One measure of one thing: same unit or counted noun, a shared word around both figures
    when the unit alone says little ("depth" for two lengths), and no two different places."""
    if x.measure != y.measure:
        return False
    # Deaths in Turkey against deaths in Syria: parts, not the same whole. Not for magnitudes: one
    # quake's is told with whichever town it struck near ("near Kahramanmaras", "in Pazarcik"),
    # and which quake it was is read from sequence words ("the second quake": `other_events`).
    if x.scope and y.scope and not (x.scope & y.scope) and x.measure != "magnitude":
        return False
    if x.kind and y.kind and x.kind != y.kind:
        return False  # an altitude against a distance: two lengths of two things
    if x.measure in _GENERIC_MEASURES:
        return bool(x.role & y.role)
    return True


_GENERIC_MEASURES = {"length", "duration", "mass", "volume", "percent"}


def same_year(x: Number, year_a: int | None, y: Number, year_b: int | None) -> bool:
    """Figures of one year: a figure told with a year ("the largest, a 6.7 on January 24, 2020")
    against one of another year (told, or its article's) is a figure of another event. Two
    figures told with no year are not compared by their articles' years: a story runs across
    New Year."""
    if not (x.year or y.year):
        return True
    ya, yb = x.year or year_a, y.year or year_b
    return ya is None or yb is None or ya == yb


def _sums(numbers) -> set[float]:
    """The sums of two or more counts of one text (not of lengths, times or magnitudes)."""
    counts = [n.value for n in numbers if n.measure not in _UNIT_MEASURES and n.value.is_integer()][:6]
    out: set[float] = set()
    for size in range(2, len(counts) + 1):
        out.update(sum(c) for c in itertools.combinations(counts, size))
    return out


_UNIT_MEASURES = {"length", "duration", "mass", "volume", "percent", "magnitude"}


@dataclass
class Comparison:
    """What two claims' slots say: counts of agreeing and clashing values by type, and the
    first clash of each type as the words a reviewer reads."""
    agree: dict = field(default_factory=dict)
    clash: dict = field(default_factory=dict)
    cues: dict = field(default_factory=dict)  # type -> (text in a, text in b)
    # The largest frame overlap of a clashing pair: 1.0 when both figures are said of the same
    # thing in the same words ("crashed on 23 August" / "crashed on 25 August"), near 0 when a
    # date of one event meets a date of another.
    clash_frame: float = 0.0


def compare(a: Slots, b: Slots, same_speaker: bool = False) -> Comparison:
    """`same_speaker`: the two claims come from one party, so the days they spoke can clash.

    A value clashes only when neither side's value is matched on the other side: "entered on
    Jan 28" does not clash with "entered on Jan 28 and reached the sea on Feb 4" (the first
    side's only date is there), nor "a 7.8 quake" with "the 7.8 quake was followed by a 7.5
    one". Two accounts of one fact clash when each holds a figure the other lacks."""
    out = Comparison()

    def note(kind: str, differ: bool, ta: str, tb: str) -> None:
        bucket = out.clash if differ else out.agree
        bucket[kind] = bucket.get(kind, 0) + 1
        if differ:
            out.cues.setdefault(kind, (ta, tb))
            overlap = frame_overlap(a.frames.get(ta, frozenset()), b.frames.get(tb, frozenset()))
            out.clash_frame = max(out.clash_frame, overlap)

    def note_all(kind: str, comparisons: list[tuple[int, int, bool, str, str]]) -> None:
        """`comparisons`: (index in a, index in b, differ, text in a, text in b) of comparable values."""
        # The magnitude of the second quake against the first one's: neither a clash nor an
        # agreement ("the first measured 2.3" and "a second of magnitude 2.3" are two quakes).
        comparisons = [c for c in comparisons if not other_events(a.orders.get(c[3], 0), b.orders.get(c[4], 0))]
        matched_a = {ia for ia, _, differ, _, _ in comparisons if not differ}
        matched_b = {ib for _, ib, differ, _, _ in comparisons if not differ}
        for ia, ib, differ, ta, tb in comparisons:
            if differ and (ia in matched_a or ib in matched_b):
                continue  # one side's value is also on the other side: an extra figure, not another one
            note(kind, differ, ta, tb)

    dates = []
    for ia, (ta, da) in enumerate(a.dates):
        for ib, (tb, db) in enumerate(b.dates):
            if ta in a.speech_dates or tb in b.speech_dates:
                # The days two parties spoke never clash; one party's two days clash only when
                # told of one statement ("in a statement on Sunday" / "in a statement Monday").
                if not same_speaker or not frame_overlap(a.frames.get(ta, frozenset()), b.frames.get(tb, frozenset())):
                    continue
            clause_a, clause_b = a.clauses.get(ta, frozenset()), b.clauses.get(tb, frozenset())
            if clause_a and clause_b and not clause_a & clause_b:
                # Both clauses say what their date is of, and in no word alike: two events ("the
                # mutiny on June 24" / "died in a plane crash on Wednesday").
                continue
            name_a, name_b = a.weekdays.get(ta), b.weekdays.get(tb)
            if name_a or name_b:
                year = next((x[0] for x in (da, db) if isinstance(x[0], int)), None)
                d = (_weekday_dates_differ(name_a, db, name_b, year) if name_a
                     else _weekday_dates_differ(name_b, da, None, year))
            else:
                d = _dates_differ(da, db)
            if d is not None:
                dates.append((ia, ib, d, ta, tb))
    note_all("date", dates)
    note_all("time", [(ia, ib, abs(ma - mb) > 15, ta, tb)
                      for ia, (ta, ma) in enumerate(a.times) for ib, (tb, mb) in enumerate(b.times)
                      if times_comparable(a.zones.get(ta, ""), b.zones.get(tb, ""))])
    # A figure equal to the sum of the other side's counts is their whole ("10 people on board"
    # against "seven passengers and three crew"): neither a clash nor an agreement.
    comparable = [(ia, ib, x, y) for ia, x in enumerate(a.numbers) for ib, y in enumerate(b.numbers)
                  if same_measure(x, y) and same_year(x, a.year, y, b.year)
                  and x.value not in b.wholes and y.value not in a.wholes]
    note_all("number", [(ia, ib, _numbers_differ(x, y), x.text, y.text) for ia, ib, x, y in comparable])
    # Two values of one measure, clashing or not: "exceeded 35,000" and "exceeded 17,000" are both
    # lower bounds, and still two moments of a count.
    other_values = any(_numbers_differ(replace(x, bound=""), replace(y, bound="")) for _, _, x, y in comparable)
    if out.clash.get("date") and (out.clash.get("number") or other_values):
        # Another figure on another day: a count told at two moments ("exceeded 35,000 on
        # Monday" / "on Thursday ... exceeded 17,000"), not two accounts of one moment.
        for kind in ("date", "number"):
            out.clash.pop(kind, None)
            out.cues.pop(kind, None)
        if not out.clash:
            out.clash_frame = 0.0  # it was read from the clashes just taken back
    note_all("direction", [(ia, ib, directions_differ(da, db), ta, tb)
                           for ia, (ta, da, ra) in enumerate(a.directions) for ib, (tb, db, rb) in enumerate(b.directions)
                           if ra == rb])
    places_a = {p for _, p in a.places}
    places_b = {p for _, p in b.places}
    for ta, pa in a.places:
        for tb, pb in b.places:
            if pa == pb:
                note("place", False, ta, tb)
    # "South Carolina" against "North Carolina": the same name with another compass word.
    # Each place on its own, in a fixed order: joined in a set's order, "South Carolina" and
    # "North ..." could run together differently from one run to the next.
    compass_a = [m for p in sorted(places_a) for m in COMPASS_PLACE_RE.finditer(p)]
    compass_b = [m for p in sorted(places_b) for m in COMPASS_PLACE_RE.finditer(p)]
    for ma in compass_a:
        for mb in compass_b:
            if ma.group("name") == mb.group("name") and ma.group("dir") != mb.group("dir"):
                note("place", True, ma.group(0), mb.group(0))
    return out
