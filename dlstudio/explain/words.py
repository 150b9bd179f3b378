"""Which words made a text model say what it said: each word's Shapley value for the chance of
one class (by default the predicted one), shown as highlighted words.

Shapley values by permutation sampling (captum's ``ShapleyValueSampling``) over the words'
presence: a word is kept or deleted, and the model's own predict reads the sentence that is left.
The issue suggested Integrated Gradients on the embedding layer; deleting words measures the
same thing on every text family at once (a network trained from scratch, MiniLM whose frozen
sentence vectors are cached, any Hugging Face model a user names), on the registered predictor
itself, and in the words the user reads rather than in word pieces. A sentence of ``n`` words
costs ``PERMUTATIONS x (n + 1)`` predictions, made ``n + 1`` at a time; the values of a sentence
add up to its class probability minus the probability of the empty sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dlstudio.errors import DLStudioError

WORD = re.compile(r"\S+")
MAX_WORDS = 60  # words weighed per text; the rest of a longer text is kept as it is
PERMUTATIONS = 4  # random orders of the words; more steadies the order of close words
PROBABILITY_PREFIX = "probability_"


@dataclass(frozen=True)
class WordWeights:
    """One text's words and how much each moved the chance of ``label``."""

    label: str
    words: tuple[str, ...]
    weights: tuple[float, ...]  # one per word; 0 for words past MAX_WORDS

    def strongest(self, n: int = 3) -> list[str]:
        """The ``n`` words that moved the chance the most, either way, the strongest first."""
        order = np.argsort(-np.abs(np.asarray(self.weights)), kind="stable")[:n]
        return [self.words[i] for i in order if self.weights[i] != 0]


def word_weights(
    predict: Callable[[pd.DataFrame], pd.DataFrame],
    column: str,
    texts: list[str],
    *,
    labels: list[str] | None = None,
    seed: int = 0,
    permutations: int = PERMUTATIONS,
) -> list[WordWeights]:
    """The weight of each word of each text for the chance of its label.

    ``predict`` maps a table with the text ``column`` to ``prediction`` and
    ``probability_<class>`` columns. ``labels``: the class to explain per text (the predicted
    one when None). A positive weight: the word raises the chance of that class.

    Raises:
        DLStudioError: the model gives no class probabilities to explain.
    """
    if labels is None:
        labels = [str(p) for p in predict(pd.DataFrame({column: texts}))["prediction"]]
    return [
        _one_text(predict, column, text, label, seed=seed, permutations=permutations)
        for text, label in zip(texts, labels, strict=True)
    ]


def _one_text(
    predict: Callable[[pd.DataFrame], pd.DataFrame], column: str, text: str, label: str, *,
    seed: int, permutations: int,
) -> WordWeights:  # fmt: skip
    import torch
    from captum.attr import ShapleyValueSampling

    words = WORD.findall(text)
    weighed, rest = words[:MAX_WORDS], " ".join(words[MAX_WORDS:])
    if not weighed:
        return WordWeights(label, (), ())
    wanted = PROBABILITY_PREFIX + label

    def model(kept: torch.Tensor) -> torch.Tensor:
        sentences = [_sentence(weighed, row, rest) for row in kept.numpy()]
        table = predict(pd.DataFrame({column: sentences}))
        if wanted not in table:
            raise DLStudioError(
                f"This model gives no probability for {label!r}, so its words cannot be weighed.",
                fix="Word highlights are given for text classification models.",
            )
        return torch.tensor(table[wanted].to_numpy(np.float64))

    torch.manual_seed(seed)  # captum draws the permutations from torch's generator
    present = torch.ones(1, len(weighed), dtype=torch.float64)
    values = ShapleyValueSampling(model).attribute(
        present, baselines=torch.zeros_like(present), n_samples=permutations,
        perturbations_per_eval=len(weighed) + 1,
    )  # fmt: skip
    weights = values[0].tolist() + [0.0] * (len(words) - len(weighed))
    return WordWeights(label, tuple(words), tuple(float(w) for w in weights))


def _sentence(words: list[str], kept: np.ndarray, rest: str) -> str:
    left = " ".join(word for word, keep in zip(words, kept, strict=True) if keep > 0.5)
    return f"{left} {rest}".strip()
