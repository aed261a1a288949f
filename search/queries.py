"""Turn what a person typed into a safe, engine-neutral query plan.

User text never reaches an engine's query syntax: it is cut into word tokens
(letters and digits only), quoted phrases, `or` alternatives and `-word`
exclusions, and each engine's expression is rebuilt from those tokens. So
`NEAR(`, `*"`, `col:term`, `AND OR` or unbalanced quotes are just words.

Each clause also carries its alternatives: the entries of the operations
vocabulary its words belong to (search/vocabulary.py) and, for a CamelCase
token, its words ("KubePodCrashLooping" also matches "kube pod crash
looping"). A clause matches a runbook when any of them does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from .vocabulary import STOPWORDS, expand, split_camel, words

__all__ = ["STOPWORDS", "Clause", "ParsedQuery", "parse", "split_camel", "words"]

MAX_QUERY_CHARS = 500
MAX_TERMS = 12
MAX_TERM_CHARS = 40
MAX_ALTERNATIVES = 12

# A quoted phrase, a -word exclusion, or a run of other characters.
PIECE_RE = re.compile(r'"([^"]*)"|(?:(?<=\s)|^)-([^\s"]+)|([^\s"]+)')
COMPACT_RE = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Clause:
    """One term (prefix-matched) or one quoted phrase, and the alternatives that satisfy it too."""

    words: tuple[str, ...]
    phrase: bool = False
    alternatives: tuple[tuple[str, ...], ...] = ()
    # A single typed word also matches the words it begins ("certif" → certificate),
    # unless it is a whole word of the library already.
    prefix: bool = True

    @property
    def is_prefix(self) -> bool:
        return self.prefix and not self.phrase and len(self.words) == 1

    def text(self) -> str:
        return '"' + " ".join(self.words) + '"' if self.phrase else " ".join(self.words)

    def fts5(self, columns: str = "") -> str:
        """FTS5: the typed word as a prefix (or the quoted phrase), OR each alternative as a phrase."""
        typed = '"' + " ".join(self.words) + '"' + (" *" if self.is_prefix else "")
        options = [typed, *('"' + " ".join(a) + '"' for a in self.alternatives)]
        expression = "(" + " OR ".join(options) + ")"
        return f"{{{columns}}} : {expression}" if columns else expression

    def tsquery(self, weights: str = "") -> str:
        """to_tsquery: the same, `weights` ("A", "AB") restricting where each word may be."""

        def phrase(ws: tuple[str, ...], prefix: bool) -> str:
            suffix = (":*" if prefix else ":") + weights if prefix or weights else ""
            return "(" + " <-> ".join(f"{w}{suffix}" for w in ws) + ")"

        typed = phrase(self.words, self.is_prefix)
        return "(" + " | ".join([typed, *(phrase(a, False) for a in self.alternatives)]) + ")"


@dataclass
class Conjunction:
    """Clauses that must all match, and words that must not."""

    clauses: list[Clause] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)


@dataclass
class ParsedQuery:
    """`or` separates alternatives, as in websearch_to_tsquery: `a b or c -d` is (a & b) | (c & !d)."""

    alternatives: list[Conjunction] = field(default_factory=list)
    # The letters and digits typed, lower-cased: "kube_hpa_maxed_out" → "kubehpamaxedout",
    # compared with alert names for the exact-name bonus.
    compact: str = ""

    @property
    def is_empty(self) -> bool:
        return not self.alternatives

    @property
    def clauses(self) -> list[Clause]:
        """Every distinct positive clause, in order: what ranking weighs."""
        return list(dict.fromkeys(c for alt in self.alternatives for c in alt.clauses))

    @property
    def terms(self) -> list[str]:
        """Every positive word as typed, in order, for spelling suggestions."""
        return [w for alt in self.alternatives for clause in alt.clauses for w in clause.words]

    def text(self) -> str:
        """The query written back, from sanitised tokens only."""
        return " or ".join(
            " ".join([c.text() for c in alt.clauses] + [f"-{w}" for w in alt.excluded])
            for alt in self.alternatives
        )

    def whole_words(self, known: set[str]) -> ParsedQuery:
        """The same query with the words in `known` matched as whole words, not as prefixes."""
        return ParsedQuery(
            [
                Conjunction(
                    [
                        replace(c, prefix=False) if len(c.words) == 1 and c.words[0] in known else c
                        for c in alt.clauses
                    ],
                    list(alt.excluded),
                )
                for alt in self.alternatives
            ],
            self.compact,
        )

    def relaxed(self) -> ParsedQuery:
        """Any one of the clauses: recall for long, symptom-style queries."""
        excluded = self.alternatives[0].excluded if len(self.alternatives) == 1 else []
        return ParsedQuery([Conjunction([c], list(excluded)) for c in self.clauses], self.compact)

    def replaced(self, corrections: dict[str, str]) -> ParsedQuery:
        """The query with misspelt words replaced (a replacement may be two words: "disk pressure")."""
        text = " or ".join(
            " ".join(
                [
                    ('"' + " ".join(corrections.get(w, w) for w in c.words) + '"')
                    if c.phrase
                    else " ".join(corrections.get(w, w) for w in c.words)
                    for c in alt.clauses
                ]
                + [f"-{w}" for w in alt.excluded]
            )
            for alt in self.alternatives
        )
        return parse(text)

    # --- engine expressions, built from word tokens only ------------------

    def fts5(self, columns: str = "") -> str:
        """An FTS5 MATCH expression: every token double-quoted."""

        def conjunction(alt: Conjunction) -> str:
            expr = " AND ".join(c.fts5(columns) for c in alt.clauses)
            return "(" + expr + "".join(f' NOT "{w}"' for w in alt.excluded) + ")"

        return " OR ".join(conjunction(alt) for alt in self.alternatives)

    def tsquery(self, weights: str = "") -> str:
        return " | ".join(
            "("
            + " & ".join(
                [c.tsquery(weights) for c in alt.clauses] + [f"!{w}" for w in alt.excluded]
            )
            + ")"
            for alt in self.alternatives
        )


def _clauses(tokens: list[str], raw_tokens: list[str]) -> list[Clause]:
    """Plain words → clauses with their vocabulary alternatives and CamelCase splits."""
    camel = {}
    for raw in raw_tokens:
        parts = tuple(w for w in words(split_camel(raw)) if w not in STOPWORDS)
        if len(parts) > 1:
            camel[raw.lower()] = parts
    clauses = []
    for matched, alternatives in expand(tokens):
        extra = [camel[w] for w in matched if w in camel]
        options = tuple(dict.fromkeys(a for a in (*alternatives, *extra) if a != matched))[
            :MAX_ALTERNATIVES
        ]
        clauses.append(Clause(matched, phrase=len(matched) > 1, alternatives=options))
    return clauses


def parse(raw: str) -> ParsedQuery:
    text = (raw or "")[:MAX_QUERY_CHARS]
    if text.count('"') % 2:
        # An unbalanced quote means nothing; read the text as plain words.
        text = text.replace('"', " ")
    query = ParsedQuery(compact=COMPACT_RE.sub("", text).lower()[:200])
    current = Conjunction()
    count = 0
    pending: list[str] = []
    pending_raw: list[str] = []

    def flush() -> None:
        nonlocal count, pending, pending_raw
        for clause in _clauses(pending, pending_raw):
            if count < MAX_TERMS:
                current.clauses.append(clause)
                count += len(clause.words)
        pending, pending_raw = [], []

    for match in PIECE_RE.finditer(text):
        phrase, negated, plain = match.groups()
        if negated is not None:
            current.excluded += [w[:MAX_TERM_CHARS] for w in words(negated) if w not in STOPWORDS]
            continue
        if phrase is not None:
            flush()
            # Inside quotes every word counts: the engines index stop words too.
            tokens = tuple(w[:MAX_TERM_CHARS] for w in words(phrase))
            if len(tokens) > 1 and count < MAX_TERMS:
                current.clauses.append(Clause(tokens, phrase=True))
                count += len(tokens)
            else:
                pending += [t for t in tokens if t not in STOPWORDS]
                pending_raw += [t for t in tokens if t not in STOPWORDS]
            continue
        if plain.lower() == "or":
            flush()
            query.alternatives.append(current)
            current = Conjunction()
            continue
        pending += [w[:MAX_TERM_CHARS] for w in words(plain) if w not in STOPWORDS]
        pending_raw += re.findall(r"[^\W_]+", plain)
    flush()
    query.alternatives.append(current)
    # An alternative of exclusions only would match almost everything; drop it.
    query.alternatives = [
        Conjunction(alt.clauses, list(dict.fromkeys(alt.excluded))[:MAX_TERMS])
        for alt in query.alternatives
        if alt.clauses
    ]
    return query
