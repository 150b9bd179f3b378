"""Try one sentence on a text model: the one-row input and the answer as label + probabilities
(the answer and the model's one input column serve the image box too)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dlstudio.errors import DataError, DLStudioError
from dlstudio.explain.words import WordWeights, word_weights
from dlstudio.views.text import escape_markdown

SENTENCE_TASKS = frozenset({"text_sentiment"})  # templates whose model reads one text column
PROBABILITY_PREFIX = "probability_"


@dataclass(frozen=True)
class LabelPrediction:
    """What a classifier says about one input (a sentence, an image)."""

    label: str
    probabilities: pd.DataFrame  # class, probability; most likely first

    @property
    def confidence(self) -> float:
        """The probability of the predicted label."""
        return float(self.probabilities["probability"].max())


def accepts_sentences(task: str | None) -> bool:
    """Whether a run of this task has a model that labels a single typed sentence."""
    return task in SENTENCE_TASKS


def text_column(model) -> str:
    """The name of the one column a text model reads (from its logged input schema).

    Raises:
        DLStudioError: the model does not read exactly one named column.
    """
    return single_input(model, "text")


def single_input(model, kind: str) -> str:
    """The name of the one column a model reads (from its logged input schema); ``kind`` ("text",
    "image") names that column in the error.

    Raises:
        DLStudioError: the model does not read exactly one named column.
    """
    schema = model.metadata.get_input_schema()
    names = schema.input_names() if schema is not None and schema.has_input_names() else []
    if len(names) != 1:
        raise DLStudioError(
            f"This model reads {len(names)} columns ({', '.join(map(str, names)) or 'none'}), "
            f"not one {kind} column.",
            fix="Score a file with all its columns on the Predict page.",
        )
    return str(names[0])


def sentence_frame(model, sentence: str) -> pd.DataFrame:
    """The one-row table the model reads: ``sentence`` under the model's text column.

    Raises:
        DataError: the sentence is empty or only spaces.
    """
    if not sentence.strip():
        raise DataError("There is no sentence to label.", fix="Type a sentence, then press Label.")
    return pd.DataFrame({text_column(model): [sentence]})


def read_prediction(row: pd.Series) -> LabelPrediction:
    """Label and class probabilities from one row of the pyfunc's output
    (``prediction`` and one ``probability_<class>`` per class)."""
    probabilities = pd.DataFrame(
        {
            "class": [str(k).removeprefix(PROBABILITY_PREFIX) for k in row.index if _is_p(k)],
            "probability": [float(v) for k, v in row.items() if _is_p(k)],
        }
    )
    probabilities = probabilities.sort_values("probability", ascending=False, kind="stable")
    return LabelPrediction(str(row["prediction"]), probabilities.reset_index(drop=True))


def predict_sentence(model, sentence: str) -> LabelPrediction:
    """The model's label for one sentence, with every class's probability.

    Raises:
        DataError: the sentence is empty.
        DLStudioError: the model is not a one-column text model.
    """
    predictions = model.predict(sentence_frame(model, sentence))
    return read_prediction(predictions.iloc[0])


def _is_p(column: object) -> bool:
    return str(column).startswith(PROBABILITY_PREFIX)


HIGHLIGHT_SHARE = 0.15  # a word is coloured when it moves the chance this share of the strongest


def highlighted(weights: WordWeights) -> str:
    """The text as Markdown: words that raised the chance of its label on green, words that
    lowered it on red (the strongest of each in bold), the others plain; every word escaped."""
    values = np.abs(np.asarray(weights.weights, dtype=np.float64))
    strongest = float(values.max()) if len(values) else 0.0
    shown = []
    for word, weight in zip(weights.words, weights.weights, strict=True):
        text = escape_markdown(word)
        if strongest > 0 and abs(weight) >= HIGHLIGHT_SHARE * strongest:
            if abs(weight) == strongest:
                text = f"**{text}**"
            text = f":{'green' if weight > 0 else 'red'}-background[{text}]"
        shown.append(text)
    return " ".join(shown)


def highlight_legend(label: str) -> str:
    """What the colours of ``highlighted`` mean, for ``label``."""
    return (
        f"Green words raised the chance of {escape_markdown(repr(label))}, red words lowered it "
        "(in bold: the strongest); each is weighed by deleting it from the sentence."
    )


def sentence_words(model, sentence: str) -> WordWeights:
    """How much each word of ``sentence`` moved the model towards its predicted label.

    Raises:
        DataError: the sentence is empty.
        DLStudioError: the model is not a one-column text classifier.
    """
    frame = sentence_frame(model, sentence)
    return word_weights(model.predict, text_column(model), list(frame.iloc[:, 0]))[0]


MISTAKES_WEIGHED = 10  # the surest mistakes whose words are weighed


def mistake_words(model, mistakes: pd.DataFrame) -> list[WordWeights]:
    """For the surest mistakes (``text``, ``predicted`` columns): how much each word moved the
    model towards its wrong answer."""
    top = mistakes.head(MISTAKES_WEIGHED)
    return word_weights(
        model.predict, text_column(model), top["text"].fillna("").astype(str).tolist(),
        labels=top["predicted"].astype(str).tolist(),
    )  # fmt: skip
