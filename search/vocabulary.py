"""The operations vocabulary (search/data/synonyms.txt) as query alternatives.

A query's words are matched against the groups longest phrase first: "disk
filling up" finds the group of "disk" and the group of "filling up", and each
becomes one clause that any entry of its group satisfies. The same expansion
runs for both engines, so they are asked the same question.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

SYNONYMS_FILE = Path(__file__).resolve().parent / "data" / "synonyms.txt"
WORD_RE = re.compile(r"[^\W_]+")
# Words that carry no meaning in a query (a subset of the snowball English
# list: "down", "up", "out", "off", "over" and "under" stay, they are what
# alerts and symptoms say; plus the filler of spoken symptoms: "keeps",
# "cannot", "gets").
STOPWORDS = frozenset(
    """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her
    hers herself it its itself they them their theirs themselves what which who whom this that these
    those am is are was were be been being have has had having do does did doing a an the and but if
    or because as until while of at by for with about against between into through during before after
    above below to from in on again further then once here there when where why how all any both each
    few more most other some such no nor not only own same so than too very s t can will just don
    should now
    cannot could would get gets got getting keep keeps kept right still also like seem seems really
    anymore please help whats etc
    """.split()  # noqa: SIM905
)
CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
MAX_PHRASE_WORDS = 4


def split_camel(text: str) -> str:
    """ "KubePodCrashLooping" → "Kube Pod Crash Looping"; "kube_hpa" → "kube hpa"."""
    return CAMEL_RE.sub(" ", text).replace("_", " ")


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD_RE.findall(text)]


def content_words(text: str) -> tuple[str, ...]:
    return tuple(w for w in words(text) if w not in STOPWORDS)


def parse_groups(text: str) -> list[tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]]:
    """Each group as (key, words) entries: the key drops stop words (what a query's
    words are looked up by), the words keep them (what a phrase must match)."""
    groups = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        entries: dict[tuple[str, ...], tuple[str, ...]] = {}
        for part in line.split(","):
            key, full = content_words(part), tuple(words(part))
            if key:
                entries.setdefault(key, full)
        if len(entries) > 1:
            groups.append(tuple(entries.items()))
    return groups


@cache
def phrase_index() -> dict[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """Each entry's key → the words of every entry of the groups it belongs to."""
    index: dict[tuple[str, ...], tuple[tuple[str, ...], ...]] = {}
    for group in parse_groups(SYNONYMS_FILE.read_text(encoding="utf-8")):
        for key, _ in group:
            index[key] = tuple(dict.fromkeys(index.get(key, ()) + tuple(full for _, full in group)))
    return index


@cache
def known_words() -> frozenset[str]:
    """Every word of the vocabulary file: real words, never "corrected" even if no runbook uses them."""
    return frozenset(w for entries in phrase_index().values() for entry in entries for w in entry)


def expand(tokens: list[str]) -> list[tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]]:
    """Cut `tokens` into (matched words, alternatives) pieces, longest group phrase first.

    A word no group knows comes back alone with no alternatives.
    """
    index = phrase_index()
    pieces = []
    position = 0
    while position < len(tokens):
        for size in range(min(MAX_PHRASE_WORDS, len(tokens) - position), 0, -1):
            candidate = tuple(tokens[position : position + size])
            if candidate in index:
                alternatives = tuple(a for a in index[candidate] if a != candidate)
                pieces.append((candidate, alternatives))
                position += size
                break
        else:
            pieces.append(((tokens[position],), ()))
            position += 1
    return pieces
