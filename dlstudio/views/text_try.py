"""Try one sentence on a text model: the one-row input and the answer as label + probabilities
(the answer and the model's one input column serve the image box too)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dlstudio.errors import DataError, DLStudioError

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
