"""The in-project text embedding: deterministic, unit length, related phrases close."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from gauntlet.platform.seed.embeddings import (
    DIMENSIONS,
    cosine,
    embed,
    features,
    normalise,
    to_pgvector,
    weighted_mean,
    words,
)


def test_embedding_has_the_schema_dimension_and_unit_length() -> None:
    vector = embed("Trail Running")
    assert len(vector) == DIMENSIONS == 384
    assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-9)


def test_embedding_is_deterministic_across_processes() -> None:
    # Python's own hash() is salted per process; the embedding must not depend on it.
    code = "from gauntlet.platform.seed.embeddings import embed; print(repr(embed('sourdough baking')[:8]))"
    runs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    assert len(runs) == 1
    assert runs.pop().strip() == repr(embed("sourdough baking")[:8])


def test_case_and_punctuation_do_not_matter() -> None:
    assert embed("Trail-Running!") == embed("trail running")


@pytest.mark.parametrize(
    ("anchor", "related", "unrelated"),
    [
        ("trail running", "running shoes", "sourdough baking"),
        ("sourdough baking", "bread baking", "rock climbing"),
        ("western pleasure horse", "horse riding", "music production"),
        ("acoustic guitar", "electric guitar", "cast iron cooking"),
    ],
)
def test_related_phrases_land_closer_than_unrelated(anchor: str, related: str, unrelated: str) -> None:
    near = cosine(embed(anchor), embed(related))
    far = cosine(embed(anchor), embed(unrelated))
    assert near > 0.3
    assert abs(far) < 0.15
    assert near > far + 0.2


def test_stem_overlap_counts_through_character_trigrams() -> None:
    # "baking" and "bakery" share no word, only trigrams: close, but less than shared words.
    assert 0.1 < cosine(embed("baking"), embed("bakery")) < cosine(embed("bread baking"), embed("baking"))


def test_text_without_words_embeds_to_zeros() -> None:
    assert embed("  &&  ") == (0.0,) * DIMENSIONS
    assert cosine(embed(""), embed("trail running")) == 0.0


def test_features_weigh_words_bigrams_and_trigrams() -> None:
    found = features("the trail runner")
    assert words("the trail runner") == ["trail", "runner"]  # stopwords dropped
    assert found["w:trail"] == 1.0 and found["b:trail_runner"] == 0.5 and found["c:<tr"] == 0.25


def test_weighted_mean_and_normalise() -> None:
    assert weighted_mean([(1.0, 0.0), (0.0, 1.0)], [3.0, 1.0]) == (0.75, 0.25)
    assert normalise([3.0, 4.0]) == (0.6, 0.8)
    with pytest.raises(ValueError, match="at least one vector"):
        weighted_mean([], [])
    with pytest.raises(ValueError, match="differ in length"):
        cosine((1.0,), (1.0, 0.0))
    with pytest.raises(ValueError, match="dimensions"):
        embed("x", dimensions=0)


def test_pgvector_literal() -> None:
    assert to_pgvector((0.5, -0.25, 1e-8)) == "[0.5,-0.25,1e-08]"
    assert to_pgvector(embed("yoga")).count(",") == DIMENSIONS - 1
