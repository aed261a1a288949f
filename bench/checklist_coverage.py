"""Share of the corpus runbooks with an action section that yield checklist steps.

    .venv/bin/python -m bench.checklist_coverage [CORPUS_DIR]

Target (DESIGN.md): at least 95 % of the runbooks in ../shared/corpus/ that have
an action section (diagnosis, mitigation, resolution, …) yield at least one step.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

# Reading steps needs no database or settings: only the markdown outline.
from incidents.checklist import is_action_section, parse_steps
from runbooks.outline import outline

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"


def main(corpus: Path) -> int:
    per_collection: Counter[str] = Counter()
    followable: Counter[str] = Counter()
    steps_total = 0
    for path in sorted(corpus.rglob("*.md")):
        body = path.read_text(encoding="utf-8", errors="replace")
        if not any(is_action_section(title) for title in outline(body).headings):
            continue
        collection = path.relative_to(corpus).parts[0]
        per_collection[collection] += 1
        steps = parse_steps(body)
        steps_total += len(steps)
        if steps:
            followable[collection] += 1
    if not per_collection:
        print(f"No runbook with an action section under {corpus}.")
        return 1
    for collection in sorted(per_collection):
        print(f"{collection}: {followable[collection]} of {per_collection[collection]} yield steps")
    total, ok = sum(per_collection.values()), sum(followable.values())
    print(
        f"checklist coverage: {ok} of {total} runbooks with an action section = {ok / total:.1%} ({steps_total} steps)"
    )
    return 0 if ok / total >= 0.95 else 2


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CORPUS))
