"""Snippets for the hits shown: the same Python on both engines, over the runbook's own text.

The engines' own highlighters cost more than the rest of a search: PostgreSQL's
ts_headline parses and stems every word of every shown runbook against the
expanded query (several milliseconds for twenty hits, more with phrase
alternatives), SQLite's snippet() needs a MATCH over the index. Here the text
(summary, then the body of the published revision) is lower-cased once and
searched with str.find for the start each query word's forms share; only the
words found are read and compared (cutting every text into words costs
several times more):

* a word typed as a prefix ("replic") marks every word it begins;
* any other word marks its light inflections ("restarting" → restart,
  restarts, restarted; "failures" → failure, failed…), about what the
  engines' English stemmers match;
* a phrase (typed in quotes, or a vocabulary alternative such as
  "out of space") marks its words where they follow each other.

The fragment shown is the window of about `words` words (CHARS_PER_WORD
characters each, cut at whole words) holding the most distinct clauses, then
the most marked words; when one window cannot hold every clause found, two
half-size windows do. No match (the runbook was found
by its names or meta): the first words of the text, as ts_headline does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .queries import Clause

WORD_RE = re.compile(r"[^\W_]+")
# Window sizes are reckoned in characters: about this many per word and separator.
CHARS_PER_WORD = 7
SUFFIXES = ("ings", "ing", "ers", "er", "ies", "es", "ed", "s", "y", "e")
ENDINGS = ("", "s", "es", "ed", "ing", "e", "er", "ers", "ies", "y", "ion", "ions", "ure", "ures")
MIN_STEM = 3
# Suffixes before which a final consonant doubles ("stop" → "stopped").
DOUBLING = ("ed", "ing", "er", "ers", "ings")
CONTEXT_BEFORE = 2
ELLIPSIS = "…"


def _stem(word: str) -> tuple[str, str]:
    """(stem, suffix taken off): one common suffix, never below MIN_STEM letters."""
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            return word[: -len(suffix)], suffix
    return word, ""


def forms(word: str) -> set[str]:
    """The word and its light inflections (what it marks when it is not a prefix)."""
    base, suffix = _stem(word)
    found = {word, *(base + ending for ending in ENDINGS)}
    if suffix in DOUBLING and base[-1] == base[-2] and base[-1] not in "lsz":
        found.add(base[:-1])  # "stopped" → stopp → stop ("filling" keeps fill)
    elif not suffix or suffix in ("s", "e"):
        found |= {base + base[-1] + ending for ending in DOUBLING}  # stop → stopped
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
    # What every form of a word starts with: searched for in the text.
    starts: set[str] = field(default_factory=set)

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
                    matcher.starts.add(words[0])
                    continue
                first = forms(words[0])
                matcher.starts.add(os.path.commonprefix(sorted(first)))
                if len(words) == 1:
                    for form in first:
                        matcher.single.setdefault(form, set()).add(i)
                else:
                    rest = tuple(frozenset(forms(w)) for w in words[1:])
                    for form in first:
                        matcher.phrases.setdefault(form, []).append((rest, i))
        # A start inside another start finds nothing the shorter one misses.
        matcher.starts = {
            s
            for s in matcher.starts
            if s and not any(o != s and s.startswith(o) for o in matcher.starts)
        }
        return matcher

    def hits(self, low: str) -> list[tuple[int, int, int]]:
        """(start, end, clause) of each matched word in the lower-cased text, by start."""
        words: dict[int, str] = {}
        for key in self.starts:
            at = low.find(key)
            while at != -1:
                if at not in words and (at == 0 or not low[at - 1].isalnum()):
                    match = WORD_RE.match(low, at)
                    if match:
                        words[at] = match.group()
                at = low.find(key, at + len(key))
        found: list[tuple[int, int, int]] = []
        prefixes = tuple(self.prefixes)
        for at in sorted(words):
            word = words[at]
            end = at + len(word)
            for rest, clause in self.phrases.get(word, ()):
                spans = _following(low, end, len(rest))
                if len(spans) == len(rest) and all(
                    low[a:b] in options for (a, b), options in zip(spans, rest, strict=True)
                ):
                    found.append((at, end, clause))
                    found += [(a, b, clause) for a, b in spans]
            for clause in self.single.get(word, ()):
                found.append((at, end, clause))
            if prefixes and word.startswith(prefixes):
                for prefix, clause in self.prefixes.items():
                    if word.startswith(prefix):
                        found.append((at, end, clause))
        found.sort()
        return found


def _following(low: str, end: int, count: int) -> list[tuple[int, int]]:
    """The spans of the `count` words after position `end`."""
    spans = []
    for match in WORD_RE.finditer(low, end):
        spans.append(match.span())
        if len(spans) == count:
            break
    return spans


def snippet(text: str, matcher: Matcher, *, words: int, start: str, stop: str) -> str:
    """The best fragment(s) of `text`, each match wrapped in `start` … `stop` (plain text, not escaped)."""
    low = text.lower()
    if len(low) != len(text):  # a letter whose lower case is longer: keep positions aligned
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    hits = matcher.hits(low)
    windows = _windows(hits, text, words)
    if not windows:
        return ""
    marks = {(a, b) for a, b, _ in hits}
    text_out = f" {ELLIPSIS} ".join(_fragment(text, marks, a, b, start, stop) for a, b in windows)
    before = f"{ELLIPSIS} " if windows[0][0] > 0 else ""
    after = f" {ELLIPSIS}" if text[windows[-1][1] :].strip() else ""
    return before + text_out + after


def _windows(hits: list[tuple[int, int, int]], text: str, words: int) -> list[tuple[int, int]]:
    """One window of `words` words, or two of half that when one cannot hold every clause found."""
    if not hits:
        return [_cut(text, 0, words)] if text.strip() else []
    clauses = {clause for _, _, clause in hits}
    size = words * CHARS_PER_WORD
    anchor = _best_anchor(hits, size, set())
    if _clauses_in(hits, anchor, anchor + size) >= clauses:
        return [_cut(text, anchor, words)]
    first_anchor = _best_anchor(hits, size // 2, set())
    first = _cut(text, first_anchor, words // 2)
    others = [h for h in hits if h[1] <= first[0] or h[0] >= first[1]]
    if not others:
        return [_cut(text, anchor, words)]
    second = _cut(text, _best_anchor(others, size // 2, _clauses_in(hits, *first)), words // 2)
    if second[0] < first[1] and first[0] < second[1]:
        return [_cut(text, anchor, words)]
    return sorted([first, second])


def _best_anchor(hits: list[tuple[int, int, int]], size: int, seen: set[int]) -> int:
    """The match starting the window (of `size` characters) that holds the most new clauses, then the most matches.

    One pass: `hits` are in order, so the matches starting inside a window are
    a run of them, kept with a count per clause as the window slides.
    """
    best_key: tuple[int, int, int] | None = None
    best = hits[0][0]
    counts: dict[int, int] = {}
    low = high = 0
    for index, (first, _, _) in enumerate(hits):
        if index and hits[index - 1][0] == first:
            continue
        while low < index:  # matches starting before this window
            clause = hits[low][2]
            counts[clause] -= 1
            if not counts[clause]:
                del counts[clause]
            low += 1
        while high < len(hits) and hits[high][0] < first + size:
            clause = hits[high][2]
            counts[clause] = counts.get(clause, 0) + 1
            high += 1
        key = (sum(1 for clause in counts if clause not in seen), high - low, -first)
        if best_key is None or key > best_key:
            best_key, best = key, first
    return best


def _clauses_in(hits: list[tuple[int, int, int]], a: int, b: int) -> set[int]:
    return {clause for start, end, clause in hits if start >= a and end <= b}


def _cut(text: str, anchor: int, words: int) -> tuple[int, int]:
    """From CONTEXT_BEFORE words before `anchor` to the end of the `words`-th word from there."""
    before = [
        m.start() for m in WORD_RE.finditer(text, max(0, anchor - 20 * CONTEXT_BEFORE), anchor)
    ]
    start = (
        before[-CONTEXT_BEFORE]
        if len(before) >= CONTEXT_BEFORE
        else (before[0] if before else anchor)
    )
    if anchor - 20 * CONTEXT_BEFORE <= 0 and len(before) < CONTEXT_BEFORE:
        start = 0
    end = start
    for count, match in enumerate(WORD_RE.finditer(text, start), 1):
        end = match.end()
        if count == words:
            break
    return start, end


def _fragment(text: str, marks: set[tuple[int, int]], a: int, b: int, start: str, stop: str) -> str:
    """text[a:b] with the marked words wrapped."""
    out = []
    at = a
    for mark_start, mark_end in sorted(m for m in marks if m[0] >= a and m[1] <= b):
        if mark_start < at:
            continue  # the same word marked for two clauses
        out += [text[at:mark_start], start, text[mark_start:mark_end], stop]
        at = mark_end
    out.append(text[at:b])
    return "".join(out)
