"""Snippets for the hits shown: the same Python on both engines, over the runbook's own text.

The engines' own highlighters cost more than the rest of a search: PostgreSQL's
ts_headline parses and stems every word of every shown runbook against the
expanded query (several milliseconds for twenty hits, more with phrase
alternatives), SQLite's snippet() needs a MATCH over the index. Here the text
(summary, then the body of the published revision) is cut into words once,
in C (one `re.split`), and the query's words are compared with them:

* a word typed as a prefix ("replic") marks every word it begins;
* any other word marks its light inflections ("restarting" → restart,
  restarts, restarted; "failures" → failure, failed…), about what the
  engines' English stemmers match;
* a phrase (typed in quotes, or a vocabulary alternative such as
  "out of space") marks its words where they follow each other.

The fragment shown is the window of SNIPPET_WORDS words holding the most
distinct clauses, then the most marked words; when one window cannot hold
every clause found, two half-size windows do. No match (the runbook was found
by its names or meta): the first words of the text, as ts_headline does.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field

from .queries import Clause

# A capturing split: [separator, word, separator, word, …, separator], so the
# text comes back whole (punctuation and case kept) by joining the pieces.
WORD_SPLIT_RE = re.compile(r"([^\W_]+)")
SUFFIXES = ("ings", "ing", "ers", "er", "ies", "es", "ed", "s", "y", "e")
ENDINGS = ("", "s", "es", "ed", "ing", "e", "er", "ers", "ies", "y", "ion", "ions", "ure", "ures")
MIN_STEM = 3
CONTEXT_BEFORE = 2
ELLIPSIS = "…"


def stem(word: str) -> str:
    """A light English stem: one common suffix off, never below MIN_STEM letters."""
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            return word[: -len(suffix)]
    return word


def forms(word: str) -> set[str]:
    """The word and its light inflections (what it marks when it is not a prefix)."""
    base = stem(word)
    found = {word, *(base + ending for ending in ENDINGS)}
    if len(base) >= 2 and base[-1] == base[-2]:
        found.add(base[:-1])  # "stopped" → stopp → stop
    else:
        found |= {base + base[-1] + ending for ending in ("ed", "ing", "er")}  # stop → stopped
    return found


@dataclass
class Matcher:
    """The query's clauses as lookups: built once per search, applied to each shown runbook."""

    # A lowered word → the clauses whose one-word option it satisfies.
    single: dict[str, set[int]] = field(default_factory=dict)
    # Prefixes typed (lowered) → their clause.
    prefixes: dict[str, int] = field(default_factory=dict)
    # A phrase's first word (any form) → (the forms of each following word, clause).
    phrases: dict[str, list[tuple[tuple[frozenset[str], ...], int]]] = field(default_factory=dict)

    @classmethod
    def for_clauses(cls, clauses: Iterable[Clause]) -> Matcher:
        matcher = cls()
        for i, clause in enumerate(clauses):
            options = [(clause.words, clause.is_prefix), *((a, False) for a in clause.alternatives)]
            for words, prefix in options:
                if not words:
                    continue
                if prefix:
                    matcher.prefixes[words[0]] = i
                elif len(words) == 1:
                    for form in forms(words[0]):
                        matcher.single.setdefault(form, set()).add(i)
                else:
                    rest = tuple(frozenset(forms(w)) for w in words[1:])
                    for form in forms(words[0]):
                        matcher.phrases.setdefault(form, []).append((rest, i))
        return matcher

    def hits(self, words: list[str]) -> list[tuple[int, int, int]]:
        """(first word, word count, clause) of each match among the lowered `words`, in order."""
        single, phrases, prefixes = self.single, self.phrases, tuple(self.prefixes)
        distinct = set(words)
        wanted = (distinct & single.keys()) | (distinct & phrases.keys())
        if prefixes:
            wanted.update(w for w in distinct if w.startswith(prefixes))
        if not wanted:
            return []
        found: list[tuple[int, int, int]] = []
        for i, word in enumerate(words):
            if word not in wanted:
                continue
            for rest, clause in phrases.get(word, ()):
                following = words[i + 1 : i + 1 + len(rest)]
                if len(following) == len(rest) and all(
                    w in options for w, options in zip(following, rest, strict=True)
                ):
                    found.append((i, 1 + len(rest), clause))
            for clause in single.get(word, ()):
                found.append((i, 1, clause))
            if prefixes and word.startswith(prefixes):
                for prefix, clause in self.prefixes.items():
                    if word.startswith(prefix):
                        found.append((i, 1, clause))
        return found


def snippet(text: str, matcher: Matcher, *, words: int, start: str, stop: str) -> str:
    """The best fragment(s) of `text`, each match wrapped in `start` … `stop` (plain text, not escaped)."""
    pieces = WORD_SPLIT_RE.split(text)
    tokens = pieces[1::2]
    if not tokens:
        return ""
    # Lowered in one call; NUL never occurs inside a word, so the words stay aligned.
    lowered = "\0".join(tokens).lower().split("\0")
    hits = matcher.hits(lowered)
    marked: set[int] = set()
    for first, count, _ in hits:
        marked.update(range(first, first + count))
    windows = _windows(hits, len(tokens), words)
    text = f" {ELLIPSIS} ".join(_fragment(pieces, marked, a, b, start, stop) for a, b in windows)
    before = f"{ELLIPSIS} " if windows[0][0] > 0 else ""
    after = f" {ELLIPSIS}" if windows[-1][1] < len(tokens) else ""
    return before + text + after


def _windows(hits: list[tuple[int, int, int]], length: int, size: int) -> list[tuple[int, int]]:
    """One window of `size` words, or two of half that when one cannot hold every clause found."""
    if not hits:
        return [(0, min(size, length))]
    clauses = {clause for _, _, clause in hits}
    best = _best_window(hits, length, size, set())
    if _clauses_in(hits, *best) >= clauses:
        return [best]
    half = max(1, size // 2)
    first = _best_window(hits, length, half, set())
    others = [h for h in hits if h[0] + h[1] <= first[0] or h[0] >= first[1]]
    if not others:
        return [best]
    second = _best_window(others, length, half, _clauses_in(hits, *first))
    if second[0] < first[1] and first[0] < second[1]:
        return [best]
    return sorted([first, second])


def _best_window(
    hits: list[tuple[int, int, int]], length: int, size: int, seen: set[int]
) -> tuple[int, int]:
    """The window starting just before a match that holds the most new clauses, then the most matches."""
    firsts = [first for first, _, _ in hits]  # in order
    best: tuple[tuple[int, int, int], tuple[int, int]] | None = None
    tried = set()
    for first in firsts:
        a = max(0, min(first - CONTEXT_BEFORE, length - size))
        if a in tried:
            continue
        tried.add(a)
        b = min(length, a + size)
        inside = [
            h for h in hits[bisect_left(firsts, a) : bisect_left(firsts, b)] if h[0] + h[1] <= b
        ]
        new = {clause for _, _, clause in inside} - seen
        key = (len(new), len(inside), -a)
        if best is None or key > best[0]:
            best = (key, (a, b))
    assert best is not None
    return best[1]


def _clauses_in(hits: list[tuple[int, int, int]], a: int, b: int) -> set[int]:
    return {clause for first, count, clause in hits if first >= a and first + count <= b}


def _fragment(pieces: list[str], marked: set[int], a: int, b: int, start: str, stop: str) -> str:
    """Words a..b-1 with the separators between them, marked words wrapped."""
    out = []
    for i in range(a, b):
        word = pieces[2 * i + 1]
        out.append(f"{start}{word}{stop}" if i in marked else word)
        if i < b - 1:
            out.append(pieces[2 * i + 2])
    return "".join(out)
