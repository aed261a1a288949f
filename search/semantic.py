"""Semantic re-ranking: symptom words meet runbook words by meaning, not spelling.

A small static word-embedding model (WordLlama, 256 dimensions, its weights
and tokenizer shipped inside the wheel, so nothing is downloaded at run time)
turns each runbook's names and lead (search.index.document_fields) into one
unit vector when the index row is written; a query is embedded once. After the
lexical ranking, the first RERANK_DEPTH candidates are ordered again by

    (1 - SEMANTIC_WEIGHT) × score / best score + SEMANTIC_WEIGHT × cosine(query, runbook)

so the lexical evidence (exact names, freshness, incident learning) still
counts, and among candidates the words already gathered, the one whose
meaning is closest to the query moves up. Nothing outside the lexical
candidates is ever added: the model only reorders.

On by default; the environment variable `SEARCH_SEMANTIC_RERANK=0` turns it off
(the index then stores no vectors and queries skip the model). The weight and
depth were chosen on the tuning half of search.quality only; the README gives
what they did to the (old) held-out half and what they cost.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

RERANK_DEPTH = 30
SEMANTIC_WEIGHT = 0.6
DIMENSIONS = 256
VECTOR_BYTES = DIMENSIONS * 4  # float32


def enabled() -> bool:
    return settings.SEARCH_SEMANTIC_RERANK and _model() is not None


@functools.cache
def _model() -> Any:
    """The model, loaded once per process from the package's own files (never from the network)."""
    try:
        import wordllama
        from wordllama import WordLlama
    except ImportError:
        logger.warning("wordllama is not installed: semantic re-ranking is off")
        return None
    # The wheel carries weights/ and tokenizers/; pointing the cache at the
    # package makes load() find both there and disable_download keeps it offline.
    package = Path(wordllama.__file__).resolve().parent
    return WordLlama.load(cache_dir=package, dim=DIMENSIONS, disable_download=True)


def embed(texts: Sequence[str]) -> list[bytes]:
    """Unit vectors of `texts` as float32 bytes (what the index stores)."""
    import numpy as np

    if not texts:
        return []
    vectors = _model().embed(list(texts), norm=True).astype(np.float32)
    # An empty text embeds as zeros and normalises to NaN: store zeros (no opinion).
    vectors = np.nan_to_num(vectors, nan=0.0)
    return [vector.tobytes() for vector in vectors]


def rerank(query: str, ranked: list[tuple[int, float]], vectors: dict[int, bytes]) -> list[int]:
    """Ids of `ranked` ((id, lexical score), best first) in blended order.

    A candidate without a stored vector (indexed before this was switched on)
    gets the mean similarity of the others, so it neither gains nor loses.
    """
    import numpy as np

    if not ranked:
        return []
    query_vector = np.nan_to_num(_model().embed([query], norm=True)[0].astype(np.float32))
    similarity = {
        pk: float(np.frombuffer(vectors[pk], dtype=np.float32) @ query_vector)
        for pk, _ in ranked
        if len(vectors.get(pk) or b"") == VECTOR_BYTES
    }
    neutral = sum(similarity.values()) / len(similarity) if similarity else 0.0
    best = max(score for _, score in ranked) or 1.0
    blended = [
        (
            (1 - SEMANTIC_WEIGHT) * score / best + SEMANTIC_WEIGHT * similarity.get(pk, neutral),
            position,
            pk,
        )
        for position, (pk, score) in enumerate(ranked)
    ]
    blended.sort(key=lambda item: (-item[0], item[1]))
    return [pk for _, _, pk in blended]
