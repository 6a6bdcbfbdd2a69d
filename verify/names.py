"""Name variants -> one canonical form, so that paraphrases naming things differently embed close.

"DPRK", "N. Korea" and "Pyongyang" all become "North Korea"; "Tony Blinken" and "Antony Blinken"
both become "Anthony Blinken"; an article's own "United Nations Command (UNC)" teaches that "UNC"
is that body. Only the text given to the embedding model is rewritten: claims keep their words.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

# "United Nations Command (UNC)", "U.S. Forces Korea (USFK)": capitalised words (dotted ones too)
# then the abbreviation in brackets. A sentence-initial "The" is not part of the name.
_NAME_WORD = r"(?:(?:[A-Z]\.){2,}|[A-Z][\w'\u2019-]*)"
ABBREVIATION_DEF_RE = re.compile(
    r"(?<![\w.])((?:" + _NAME_WORD + r"\s+(?:of\s+(?:the\s+)?|for\s+|and\s+)?){1,6}" + _NAME_WORD + r")\s+\(([A-Z][A-Z0-9&.]{1,7})\)"
)


@lru_cache(maxsize=1)
def party_names() -> set[str]:
    """Canonical names that can be a party to a dispute: countries and bodies, not job titles."""
    data = json.loads(resources.files("verify.data").joinpath("aliases.json").read_text("utf-8"))
    return set(data["entities"])


@lru_cache(maxsize=1)
def demonym_pattern() -> tuple[re.Pattern, dict[str, str]]:
    """("Ukrainian", "Norwegians", ... as whole words; demonym -> state): who a speaker such as
    "Ukrainian presidential adviser Mykhailo Podolyak" stands for."""
    data = json.loads(resources.files("verify.data").joinpath("aliases.json").read_text("utf-8"))
    table = {d: state for state, ds in data.get("demonyms", {}).items() if not state.startswith("_") for d in ds}
    return re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, sorted(table, key=len, reverse=True))) + r")(?![\w-])"), table


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, str], dict[str, str]]:
    data = json.loads(resources.files("verify.data").joinpath("aliases.json").read_text("utf-8"))
    entity = {}
    for canonical, variants in [*data["entities"].items(), *((k, v) for k, v in data["roles"].items() if not k.startswith("_"))]:
        for variant in variants:
            entity[variant] = canonical
            if variant.startswith("the "):  # "The PRC and Russia ..." opens a sentence
                entity["T" + variant[1:]] = canonical
    given = {}
    for canonical, variants in data["given_names"].items():
        if canonical.startswith("_"):
            continue
        for variant in variants:
            given[variant] = canonical
    return entity, given


def _alias_pattern(aliases: dict[str, str]) -> re.Pattern | None:
    if not aliases:
        return None
    alternatives = sorted(aliases, key=len, reverse=True)
    # Case-sensitive: "US" the country, not "us" the pronoun; "UN", not "un-".
    # Not when the alias starts a longer name ("the North Korea-Russia", "Washington Post"),
    # except a dotted abbreviation, which is never the head of one: "U.S. Defense Secretary".
    return re.compile(r"(?<![\w.-])(" + "|".join(
        re.escape(a) + ("" if a.endswith(".") else r"(?![\w-])(?!\s+[A-Z])") for a in alternatives
    ) + r")")


@lru_cache(maxsize=1)
def _base_patterns() -> tuple[re.Pattern, re.Pattern, dict[str, str], dict[str, str]]:
    entity, given = _tables()
    given_re = re.compile(r"\b(" + "|".join(map(re.escape, sorted(given, key=len, reverse=True))) + r")(?=\s+[A-Z][a-z])")
    return _alias_pattern(entity), given_re, entity, given


def article_aliases(text: str) -> dict[str, str]:
    """Abbreviations an article defines itself: "United Nations Command (UNC)" -> UNC."""
    entity = _base_patterns()[2]
    found = {}
    for candidate, abbr in ABBREVIATION_DEF_RE.findall(text):
        if full := _long_form(candidate.split(), abbr):
            found[abbr] = entity.get(full, full)
    return found


def _long_form(words: list[str], abbr: str) -> str | None:
    """The shortest tail of `words` that spells `abbr` (after Schwartz & Hearst, 2003): it starts
    with the abbreviation's first letter and holds its letters in order. Drops "Troops of the" in
    "Troops of the U.S. Forces Korea (USFK)" and a sentence-initial "The"."""
    letters = [c.lower() for c in abbr if c.isalnum()]
    for start in range(len(words) - 1, -1, -1):
        phrase = " ".join(words[start:])
        if phrase[0].lower() != letters[0]:
            continue
        rest = iter(phrase.lower())
        if all(letter in rest for letter in letters):
            return phrase
    return None


def canonical_text(text: str, local_aliases: dict[str, str] | None = None) -> str:
    entity_re, given_re, entity, given = _base_patterns()
    if local_aliases:
        local = {k: v for k, v in local_aliases.items() if k not in entity}
        if local and (local_re := _alias_pattern(local)):
            text = local_re.sub(lambda m: local[m.group(1)], text)
    text = entity_re.sub(lambda m: entity[m.group(1)], text)
    return given_re.sub(lambda m: given[m.group(1)], text)
