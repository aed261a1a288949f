"""Turn what a person typed into a safe, engine-neutral query plan.

User text never reaches an engine's query syntax: it is cut into word tokens
(letters and digits only), quoted phrases, `or` alternatives and `-word`
exclusions, and each engine's expression is rebuilt from those tokens. So
`NEAR(`, `*"`, `col:term`, `AND OR` or unbalanced quotes are just words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_QUERY_CHARS = 500
MAX_TERMS = 12
MAX_TERM_CHARS = 40

WORD_RE = re.compile(r"[^\W_]+")
# A quoted phrase, a -word exclusion, or a run of other characters.
PIECE_RE = re.compile(r'"([^"]*)"|(?:(?<=\s)|^)-([^\s"]+)|([^\s"]+)')

# The snowball English list PostgreSQL's 'english' configuration drops; dropping
# them here too keeps both engines' results the same.
STOPWORDS = frozenset(
    """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her
    hers herself it its itself they them their theirs themselves what which who whom this that these
    those am is are was were be been being have has had having do does did doing a an the and but if
    or because as until while of at by for with about against between into through during before after
    above below to from up down in out on off over under again further then once here there when where
    why how all any both each few more most other some such no nor not only own same so than too very
    s t can will just don should now
    """.split()  # noqa: SIM905
)

CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def split_camel(text: str) -> str:
    """"KubePodCrashLooping" → "Kube Pod Crash Looping" (the same regex runs in SQL on PostgreSQL)."""
    return CAMEL_RE.sub(" ", text)


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD_RE.findall(text)]


@dataclass(frozen=True)
class Clause:
    """One term (prefix-matched) or one quoted phrase (exact words in order)."""

    words: tuple[str, ...]
    phrase: bool = False

    def text(self) -> str:
        return '"' + " ".join(self.words) + '"' if self.phrase else self.words[0]


@dataclass
class Conjunction:
    """Clauses that must all match, and words that must not."""

    clauses: list[Clause] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)


@dataclass
class ParsedQuery:
    """`or` separates alternatives, as in websearch_to_tsquery: `a b or c -d` is (a & b) | (c & !d)."""

    alternatives: list[Conjunction] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.alternatives

    @property
    def terms(self) -> list[str]:
        """Every positive word, in order, for suggestions and title bonuses."""
        return [w for alt in self.alternatives for clause in alt.clauses for w in clause.words]

    def text(self) -> str:
        """The query written back in websearch syntax, from sanitised tokens only."""
        return " or ".join(
            " ".join([c.text() for c in alt.clauses] + [f"-{w}" for w in alt.excluded])
            for alt in self.alternatives
        )

    def relaxed(self) -> ParsedQuery:
        """Any one of the words: recall for long, symptom-style queries."""
        excluded = self.alternatives[0].excluded if len(self.alternatives) == 1 else []
        clauses = list(dict.fromkeys(c for alt in self.alternatives for c in alt.clauses))
        return ParsedQuery([Conjunction([c], list(excluded)) for c in clauses])

    def replaced(self, corrections: dict[str, str]) -> ParsedQuery:
        def fix(clause: Clause) -> Clause:
            return Clause(tuple(corrections.get(w, w) for w in clause.words), clause.phrase)

        return ParsedQuery(
            [Conjunction([fix(c) for c in alt.clauses], list(alt.excluded)) for alt in self.alternatives]
        )

    # --- engine expressions, built from word tokens only ------------------

    def fts5(self) -> str:
        """An FTS5 MATCH expression: every token double-quoted, bare terms as prefixes."""

        def clause(c: Clause) -> str:
            quoted = '"' + " ".join(c.words) + '"'
            return quoted if c.phrase else quoted + " *"

        def conjunction(alt: Conjunction) -> str:
            expr = " AND ".join(clause(c) for c in alt.clauses)
            return "(" + expr + "".join(f' NOT "{w}"' for w in alt.excluded) + ")"

        return " OR ".join(conjunction(alt) for alt in self.alternatives)

    def tsquery_prefix(self) -> str:
        """A to_tsquery expression: the same query with every bare term extended to its completions."""

        def clause(c: Clause) -> str:
            return "(" + " <-> ".join(c.words) + ")" if c.phrase else f"{c.words[0]}:*"

        return " | ".join(
            "(" + " & ".join([clause(c) for c in alt.clauses] + [f"!{w}" for w in alt.excluded]) + ")"
            for alt in self.alternatives
        )


def parse(raw: str) -> ParsedQuery:
    text = (raw or "")[:MAX_QUERY_CHARS]
    if text.count('"') % 2:
        # An unbalanced quote means nothing; read the text as plain words.
        text = text.replace('"', " ")
    query = ParsedQuery()
    current = Conjunction()
    count = 0
    for match in PIECE_RE.finditer(text):
        phrase, negated, plain = match.groups()
        if negated is not None:
            current.excluded += [w[:MAX_TERM_CHARS] for w in words(negated) if w not in STOPWORDS]
            continue
        if phrase is not None:
            tokens = [w[:MAX_TERM_CHARS] for w in words(phrase) if w not in STOPWORDS]
            clauses = [Clause(tuple(tokens), phrase=True)] if len(tokens) > 1 else [Clause((t,)) for t in tokens]
        elif plain.lower() == "or":
            query.alternatives.append(current)
            current = Conjunction()
            continue
        else:
            clauses = [Clause((w[:MAX_TERM_CHARS],)) for w in words(plain) if w not in STOPWORDS]
        for clause in clauses:
            if count < MAX_TERMS:
                current.clauses.append(clause)
                count += 1
    query.alternatives.append(current)
    # An alternative of exclusions only would match almost everything; drop it.
    query.alternatives = [
        Conjunction(alt.clauses, list(dict.fromkeys(alt.excluded))[:MAX_TERMS])
        for alt in query.alternatives
        if alt.clauses
    ]
    return query
