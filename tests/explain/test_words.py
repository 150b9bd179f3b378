"""Word weights of text models: Shapley values over the words' presence, and their highlights."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from dlstudio.errors import DLStudioError
from dlstudio.explain.words import MAX_WORDS, word_weights
from dlstudio.views.text_try import highlighted


def keyword_model(frame: pd.DataFrame) -> pd.DataFrame:
    """positive when "good" outweighs "bad"; every other word means nothing."""
    score = frame["text"].str.count(r"\bgood\b") * 2.0 - frame["text"].str.count(r"\bbad\b") * 1.5
    positive = 1 / (1 + np.exp(-score))
    return pd.DataFrame({
        "prediction": np.where(positive >= 0.5, "positive", "negative"),
        "probability_negative": 1 - positive,
        "probability_positive": positive,
    })  # fmt: skip


def test_the_deciding_words_carry_the_weight_and_the_others_none() -> None:
    (weights,) = word_weights(keyword_model, "text", ["the film was good but the end was bad"])
    assert weights.label == "positive"  # the predicted class is explained
    by_word = dict(zip(weights.words, weights.weights, strict=True))
    assert by_word["good"] > 0 > by_word["bad"]
    assert weights.strongest(2) == ["good", "bad"]
    assert all(by_word[w] == 0 for w in ("the", "film", "was", "but", "end"))


def test_a_texts_weights_add_up_to_its_chance_minus_the_empty_texts() -> None:
    text = "good good bad and bad again good"
    (weights,) = word_weights(keyword_model, "text", [text], labels=["negative"])
    full, empty = keyword_model(pd.DataFrame({"text": [text, ""]}))["probability_negative"]
    assert sum(weights.weights) == pytest.approx(full - empty, abs=1e-6)
    assert weights.label == "negative"


def test_words_past_the_limit_are_kept_but_not_weighed() -> None:
    text = " ".join(["filler"] * MAX_WORDS + ["good"])
    (weights,) = word_weights(keyword_model, "text", [text])
    assert len(weights.words) == MAX_WORDS + 1 and weights.weights[-1] == 0
    assert weights.label == "positive"  # "good" stays in every sentence the model reads


def test_an_empty_text_has_no_words_to_weigh() -> None:
    (weights,) = word_weights(keyword_model, "text", ["   "])
    assert weights.words == () and weights.strongest() == []


def test_a_model_without_the_labels_probability_is_refused_in_words() -> None:
    with pytest.raises(DLStudioError, match="no probability for 'neutral'"):
        word_weights(keyword_model, "text", ["good"], labels=["neutral"])


def test_highlights_colour_the_deciding_words_and_escape_every_word() -> None:
    (weights,) = word_weights(keyword_model, "text", ["good <script>x</script> [a](http://e) bad"])
    shown = highlighted(weights)
    assert ":green-background[**good**]" in shown
    assert ":red-background[bad]" in shown
    assert "\\<script>x\\</script>" in shown and "\\[a\\](http" in shown
    assert not re.search(r"(?<!\\)[<\[]", shown.replace("-background[", ""))
