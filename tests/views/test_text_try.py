"""Trying one sentence: the model's text column, the one-row input, label + probabilities."""

from __future__ import annotations

import pandas as pd
import pytest
from mlflow.types import ColSpec, Schema

from dlstudio.errors import DataError, DLStudioError
from dlstudio.views.text_try import (
    accepts_sentences,
    predict_sentence,
    read_prediction,
    sentence_frame,
    text_column,
)


class Metadata:
    def __init__(self, columns: list[str]) -> None:
        self.schema = Schema([ColSpec("string", name) for name in columns])

    def get_input_schema(self) -> Schema:
        return self.schema


class ToyTextModel:
    """Says "positive" with 0.7 to any text; remembers what it was given."""

    def __init__(self, columns: list[str]) -> None:
        self.metadata = Metadata(columns)
        self.seen: list[pd.DataFrame] = []

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        self.seen.append(frame)
        return pd.DataFrame(
            {"prediction": "positive", "probability_negative": 0.1, "probability_neutral": 0.2,
             "probability_positive": 0.7},
            index=frame.index,
        )  # fmt: skip


def test_only_text_tasks_accept_sentences() -> None:
    assert accepts_sentences("text_sentiment")
    assert not accepts_sentences("tabular_classification")
    assert not accepts_sentences(None)


def test_the_text_column_is_the_models_single_input() -> None:
    assert text_column(ToyTextModel(["review"])) == "review"


def test_a_model_reading_several_columns_is_refused_by_name() -> None:
    with pytest.raises(DLStudioError, match="reads 2 columns \\(tenure, plan\\)"):
        text_column(ToyTextModel(["tenure", "plan"]))


def test_the_sentence_goes_under_the_text_column_as_typed() -> None:
    frame = sentence_frame(ToyTextModel(["review"]), "  Love the camera! ")
    assert frame.to_dict("list") == {"review": ["  Love the camera! "]}


@pytest.mark.parametrize("sentence", ["", "   \n"])
def test_an_empty_sentence_is_a_data_error_with_a_fix(sentence: str) -> None:
    with pytest.raises(DataError, match="no sentence") as raised:
        sentence_frame(ToyTextModel(["review"]), sentence)
    assert "Type a sentence" in raised.value.fix


def test_a_prediction_row_becomes_label_and_probabilities_most_likely_first() -> None:
    row = pd.Series(
        {"review": "meh", "prediction": "neutral", "probability_negative": 0.3,
         "probability_neutral": 0.6, "probability_positive": 0.1}
    )  # fmt: skip
    answer = read_prediction(row)
    assert answer.label == "neutral"
    assert answer.probabilities["class"].tolist() == ["neutral", "negative", "positive"]
    assert answer.probabilities["probability"].tolist() == [0.6, 0.3, 0.1]
    assert answer.confidence == 0.6


def test_predict_sentence_asks_the_model_about_one_row() -> None:
    model = ToyTextModel(["review"])
    answer = predict_sentence(model, "Love the camera!")
    assert [frame["review"].tolist() for frame in model.seen] == [["Love the camera!"]]
    assert (answer.label, answer.confidence) == ("positive", 0.7)
