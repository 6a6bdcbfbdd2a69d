"""Provenance: which newsroom wrote a page, read from the credits its own text carries.

A reprint names its wire in many ways, and sites put those credits anywhere on the page:
datelines ("KYIV (Reuters) –", "Washington, Feb 14 (PTI) There is", "(Xinhua) 11:07, ..."),
bylines ("By The Associated Press", "By Euronews with AP", a lone "Associated Press" line under
the reporter's name), credit lines ("Written by ... for Reuters", "This report by The Canadian
Press was first published ...", "auto-generated from PTI", "originally published on
www.bbc.co.uk", "Read it at AFP NEWS", "via aljazeera.com"), copyright lines ("© 2022 Reuters"),
a credit closing a paragraph ("... on Wednesday. REUTERS", "(AP)"), Reuters' own
"(Reporting by ...)" and, weakest, interviews ("told AFP", "verified by AFP").

`credited_origin(lines, ...)` weighs that evidence; photo captions and their credits
("REUTERS/Vitaly Nevar", "(AFP)" after "This aerial view shows ...") are never evidence: a
picture bought from a wire says nothing about who wrote the words.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from functools import lru_cache
from importlib import resources

import numpy as np

from verify.unionfind import find_root

_MONTH = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
_DATE = _MONTH + r"\.?\s+\d{1,2}(?:,?\s+\d{4})?"
# "KYIV", "COPENHAGEN, Denmark", "NURDAGI Turkey", "KUZHENKINO, Russia": a capitalised place;
# "Washington, Feb 14" and "United Nations, Feb 14": a mixed-case place needs the date after it.
_CAPS_PLACE = r"[A-Z][A-Z'\u2019.-]+(?:[ -][A-Z][A-Z'\u2019.-]+)*(?:,?\s+[A-Z][A-Za-z.]+(?:\s+[A-Z][a-z]+)?)?"
_MIXED_PLACE = r"[A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,2}"
DATELINE_RE = re.compile(
    r"^(?:" + _CAPS_PLACE + r"(?:,\s*" + _DATE + r")?\s*|" + _MIXED_PLACE + r",\s+" + _DATE + r"\s*|" + _DATE + r"\s*)?"
    r"\((?P<credit>[^()]{2,80})\)\s*(?:--|-|\u2013|\u2014|:|(?=[A-Z0-9\"\u201c])|$)"
)
BYLINE_RE = re.compile(r"^By[.:]?\s+(?P<credit>.{2,120})$")
# Credit sentences may be full sentences ("This report by The Canadian Press was first published
# Feb. 12, 2023."); credit lines must be short furniture ("Written by Phil Stewart for Reuters ->"),
# since story text says "imagery published by CNN" too.
CREDIT_SENTENCE_RE = re.compile(
    r"(?:\bthis (?:report|story|article) (?:by|from)\b|\bauto-generated from\b|\boriginally published (?:on|by|in|at)\b"
    r"|\bwas written by and (?:originally )?published (?:on|by|in|at)\b)\s*(?P<credit>.{2,80})",
    re.IGNORECASE,
)
CREDIT_LINE_RE = re.compile(
    r"(?:\bwritten by\b.{0,80}?\bfor\b|\bpublished (?:on|by|in|at)\b|\bread it at\b|^via\b|\bcourtesy of\b"
    r"|\bdistributed by\b|\brepublished (?:from|with permission (?:of|from))\b|\breporting by\b|\bwith (?:inputs|reporting) from\b)"
    r"\s*(?P<credit>.{2,80})",
    re.IGNORECASE,
)
PROMO_LINE_RE = re.compile(r"^(?:read more at|more at|continue reading at)\s+(?P<credit>.{2,60})$", re.IGNORECASE)
SOURCE_LINE_RE = re.compile(r"^(?:Source|Sources)\s*[:\-]\s*(?P<credit>.{2,60})$", re.IGNORECASE)
COPYRIGHT_RE = re.compile(r"^(?:\u00a9|\(c\)|copyright)\s*(?:copyright\s*)?(?:\d{4}\s*)?(?P<credit>[^.|]{2,60})", re.IGNORECASE)
TRAILING_RE = re.compile(r"(?:\((?P<paren>[^()]{2,40})\)|[.!\"\u201d]\s*(?:--|-|\u2013|\u2014)?\s*(?P<caps>[A-Z][A-Z]{1,}(?:\s+[A-Z]{2,})?))\s*$")
WIRE_STYLE_RE = re.compile(r"^\(?(?:Reporting|Writing|Additional reporting|Editing) by\b", re.IGNORECASE)
# "As Voice of America's Heather Murdock reports from ...": a newsroom introducing its reporter.
AS_REPORTS_RE = re.compile(r"\bAs\s+(?P<credit>[A-Z][^,.]{1,80}?)\s+reports?\b")
# An author box: "Agence France-Presse (AFP) is a French international news agency ...".
AUTHOR_BIO_RE = re.compile(
    r"^(?P<credit>[A-Z][^.]{1,60}?)\s+is\s+(?:an?|the)\s+(?:[\w-]+\s+){0,4}(?:news agency|wire service|news organi[sz]ation|newswire)\b"
)
# Weak: a newsroom's own interviews and checks ("told AFP", "verified by AFP"). Outlets quote
# each other's interviews ("officials told The New York Times"), so it takes three.
INTERVIEW_RE = re.compile(
    r"\b(?:told|verified by|comments to|interview with|speaking to|seen by|obtained by)\s+"
    r"(?P<credit>(?:the\s+)?[A-Z][\w&.'-]*(?:\s+[A-Z][\w&.'-]*){0,3})"
)
# Photo captions and picture credits: never evidence of who wrote the words.
PICTURE_RE = re.compile(
    r"\b(?:view|image|picture|photo|photograph|handout|screengrab|screenshot|footage|satellite image)s?\b[^.]{0,80}\b(?:shows?|seen|taken)\b"
    r"|\bin this (?:\w+ )?(?:picture|photo|image|handout)|FILE PHOTO|^FILE\s*[-\u2013\u2014:]|\bpictured\b|\bPhoto(?:graph)?:"
    r"|\bvia (?:AP|Reuters|REUTERS|AFP|Getty)\b|/(?:AFP|AP|Reuters|REUTERS|Getty|EPA)\b|REUTERS/|\bGetty Images\b|^Credit:"
    # The agencies' notes to editors that travel with a picture.
    r"|\bATTENTION EDITORS\b|\bTHIS IMAGE WAS PROVIDED\b",
)

@lru_cache(maxsize=1)
def outlet_table() -> dict:
    """The gazetteer of news organisations: {"aliases": alias -> canonical name, "wires": names of
    agencies, "domains": web domain -> name, "pattern": regex matching any alias as a whole word}."""
    data = json.loads(resources.files("verify.data").joinpath("outlets.json").read_text("utf-8"))
    aliases: dict[str, str] = {}
    wires: set[str] = set()
    domains: dict[str, str] = {}
    for name, info in data["outlets"].items():
        for alias in [name, *info["aliases"]]:
            aliases[alias.casefold()] = name
        for domain in info.get("domains", []):
            domains[domain] = name
        if info.get("wire"):
            wires.add(name)
    # Longest alias first so "Yonhap News Agency" wins over "Yonhap".
    alternatives = sorted(aliases, key=len, reverse=True)
    pattern = re.compile(
        r"(?<![\w-])(" + "|".join(re.escape(a) for a in alternatives) + r")(?![\w-])", re.IGNORECASE
    )
    return {"aliases": aliases, "wires": wires, "domains": domains, "pattern": pattern}


def canonical_outlet(name: str | None) -> str | None:
    """Map an outlet alias ("Donga", "AP") to its canonical name; other names pass through as
    given ("The Week (India)" stays whole)."""
    if not name:
        return None
    cleaned = " ".join(name.split())
    return known_outlet(cleaned) or known_outlet(cleaned.strip(".,;:()[]")) or cleaned or None


def known_outlet(name: str) -> str | None:
    """The canonical name if `name` is a known news organisation, else None."""
    table = outlet_table()["aliases"]
    key = name.strip().casefold()
    return table.get(key) or (table.get(key[4:]) if key.startswith("the ") else None)


# Strength of each kind of evidence; an origin needs at least STRONG in total.
STRONG = 3
MEDIUM = 2
INTERVIEWS_NEEDED = 3


def is_picture_line(line: str) -> bool:
    return bool(PICTURE_RE.search(line))


def outlets_named(fragment: str) -> list[str]:
    """Canonical names of the news organisations a credit fragment names ("Euronews with AP",
    "www.bbc.co.uk", "Pakistan Point News / Sputnik - 09th February")."""
    table = outlet_table()
    found = [table["aliases"][m.group(1).casefold()] for m in table["pattern"].finditer(fragment)]
    for host in re.findall(r"(?:[a-z0-9-]+\.)+[a-z]{2,}", fragment.lower()):
        host = host.removeprefix("www.")
        for domain, name in table["domains"].items():
            if host == domain or host.endswith("." + domain):
                found.append(name)
    return list(dict.fromkeys(found))


def _lone_outlet(line: str) -> str | None:
    """A line that is nothing but a newsroom's name ("Reuters", "AFP |", "Associated Press")."""
    core = line.strip(" |\u00b7\u2022-\u2013\u2014:")
    return known_outlet(core) if core and len(core) <= 40 else None


def credited_origin(lines: list[str], last_prose: int, outlet: str | None) -> tuple[str | None, str | None]:
    """(origin, the line that says so) from the credits in `lines` (the page, one paragraph a
    line); `last_prose` is the index of the last paragraph of story text (a "Source:" line only
    credits the story when nothing of the story follows it). None when the page credits nobody
    but, at most, its own outlet."""
    score: Counter = Counter()
    why: dict[str, str] = {}

    def credit(names: list[str], strength: int, line: str) -> None:
        for name in names:
            score[name] += strength
            why.setdefault(name, line)

    seen: set[str] = set()
    interviews: Counter = Counter()
    for i, line in enumerate(lines):
        if is_picture_line(line) or line in seen:
            continue  # a picture's credit; a paragraph printed twice counts once
        seen.add(line)
        furniture = len(line.split()) <= 14 or not re.search(r"[.!?][\"\u201d\u2019)]*$", line)
        if i < 8 and (m := DATELINE_RE.match(line)):
            credit(outlets_named(m.group("credit")), STRONG, line)
        if (m := BYLINE_RE.match(line)) and len(line.split()) <= 16:
            credit(outlets_named(m.group("credit")), STRONG, line)
        if name := _lone_outlet(line):
            credit([name], STRONG, line)
        if m := CREDIT_SENTENCE_RE.search(line):
            credit(outlets_named(m.group("credit")), STRONG, line)
        elif furniture and (m := CREDIT_LINE_RE.search(line)):
            credit(outlets_named(m.group("credit")), STRONG, line)
        if m := PROMO_LINE_RE.match(line):
            credit(outlets_named(m.group("credit")), MEDIUM, line)
        if (m := SOURCE_LINE_RE.match(line)) and i > last_prose:
            credit(outlets_named(m.group("credit")), STRONG, line)
        if m := COPYRIGHT_RE.match(line):
            credit(outlets_named(m.group("credit")), STRONG, line)
        if i == last_prose and (m := TRAILING_RE.search(line)):
            # "... on Wednesday. REUTERS" closing the story (mid-page, such a credit is a caption's).
            if name := known_outlet(m.group("paren") or m.group("caps") or ""):
                credit([name], STRONG, line)
        if WIRE_STYLE_RE.match(line):
            # "(Reporting by ...; Editing by ...)" is Reuters' house style for its own copy.
            credit(["Reuters"], MEDIUM, line)
        if m := AS_REPORTS_RE.search(line):
            credit(outlets_named(m.group("credit")), MEDIUM, line)
        if m := AUTHOR_BIO_RE.match(line):
            credit(outlets_named(m.group("credit")), STRONG, line)
        for m in INTERVIEW_RE.finditer(line):
            for name in outlets_named(m.group("credit")):
                interviews[name] += 1
                why.setdefault(name, line)
    for name, n in interviews.items():
        if n >= INTERVIEWS_NEEDED:
            score[name] += MEDIUM
    if not score:
        return None, None
    best, strength = max(score.items(), key=lambda kv: (kv[1], kv[0] != outlet))
    if strength < MEDIUM:
        return None, None
    return best, why[best]


# ---------------------------------------------------------------------------
# Copies without a credit
# ---------------------------------------------------------------------------

SHINGLE_WORDS = 8
COPY_CONTAINMENT = 0.5  # share of the shorter text's word 8-grams found in the other
COMMON_SHINGLE = 50     # an 8-gram in more articles than this is boilerplate, not copying


def shingles(text: str) -> np.ndarray:
    """The text's word 8-grams (casefolded), each as a 64-bit hash stable across processes, sorted
    and distinct."""
    words = re.findall(r"\w+", text.casefold())
    grams = {" ".join(words[i:i + SHINGLE_WORDS]) for i in range(max(1, len(words) - SHINGLE_WORDS + 1))}
    return np.unique(np.fromiter((int.from_bytes(hashlib.blake2b(g.encode("utf-8", "surrogatepass"), digest_size=8).digest(),
                                                 "little") for g in grams), dtype=np.uint64, count=len(grams)))


def copy_groups(articles: list[dict], shingled: list[np.ndarray] | None = None) -> list[list[int]]:
    """Indices of articles that are word for word the same story (one contains at least half
    of the other's 8-word runs), in groups of two or more. Only 8-grams that two to COMMON_SHINGLE
    articles share are counted (an inverted index, so unrelated articles are never compared).
    `shingled`: `shingles(a["text"])` of each article when the caller has them (a build's cache)."""
    grams = shingled if shingled is not None else [shingles(a["text"]) for a in articles]
    n = len(articles)
    parent = list(range(n))

    def find(i: int) -> int:
        return find_root(parent, i)

    if n > 1:
        every = np.concatenate(grams) if grams else np.zeros(0, dtype=np.uint64)
        owner = np.repeat(np.arange(n), [len(g) for g in grams])
        order = np.lexsort((owner, every))  # by 8-gram, then article: each posting list in article order
        every, owner = every[order], owner[order]
        starts = np.flatnonzero(np.r_[True, every[1:] != every[:-1]])
        sizes = np.diff(np.r_[starts, len(every)])
        pairs = []
        for size in np.unique(sizes[(sizes > 1) & (sizes <= COMMON_SHINGLE)]):
            holders = owner[starts[sizes == size][:, None] + np.arange(size)]  # one row per 8-gram
            x, y = np.triu_indices(size, 1)
            pairs.append(holders[:, x].ravel() * n + holders[:, y].ravel())
        if pairs:
            keys, shared = np.unique(np.concatenate(pairs), return_counts=True)
            length = np.asarray([len(g) for g in grams])
            first, second = keys // n, keys % n
            copies = shared >= COPY_CONTAINMENT * np.minimum(length[first], length[second])
            for i, j in zip(first[copies].tolist(), second[copies].tolist()):
                parent[find(j)] = find(i)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def share_origins(articles: list[dict], shingled: list[np.ndarray] | None = None) -> None:
    """Copies count as one origin: an uncredited copy takes the origin its group's credits name
    (the wire), else the origin of the group's earliest article. Sets `origin` and `copy_of`
    (the id of the article whose origin it took) on the copies; returns nothing. `shingled`: see
    `copy_groups`."""
    for group in copy_groups(articles, shingled):
        members = [articles[i] for i in group]
        credited = Counter(a["origin"] for a in members if a["origin"] and a["origin"] != a["outlet"])
        if credited:
            origin = credited.most_common(1)[0][0]
            source = next(a for a in members if a["origin"] == origin)
        else:
            source = min(members, key=lambda a: (a.get("published") or "9999", a["id"]))
            origin = source["origin"]
        for a in members:
            if a is not source and (a["origin"] == a["outlet"] or not a["origin"]):
                a["origin"] = origin
                a["copy_of"] = source["id"]
