"""dlstudio.predict without MLflow runs: model choices, run ids, column checks, uploads."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest
from mlflow.models.signature import Schema
from mlflow.types import ColSpec
from mlflow.types.schema import AnyType

from dlstudio.errors import DataError, DLStudioError
from dlstudio.predict import RegisteredModel, predict_frame, predict_upload, run_model_uri

RUN_ID = "a33d7d49537a4ad1a2a188e9a40954ab"


class ThresholdModel:
    """A stand-in pyfunc: needs 'tenure' and 'plan', predicts from tenure alone."""

    metadata = SimpleNamespace(
        get_input_schema=lambda: Schema([ColSpec(AnyType(), "tenure"), ColSpec(AnyType(), "plan")])
    )

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        stays = frame["tenure"] > 12
        return pd.DataFrame(
            {
                "prediction": stays.map({True: "no", False: "yes"}),
                "probability_no": stays.astype(float),
                "probability_yes": 1 - stays.astype(float),
            }
        )


def test_choices_put_the_champion_first_and_pin_versions() -> None:
    model = RegisteredModel(
        "churn", versions=("3", "2", "1"), aliases=(("champion", "2"), ("candidate", "3"))
    )

    assert model.choices() == {
        "champion (version 2)": "models:/churn/2",
        "candidate (version 3)": "models:/churn/3",
        "version 3": "models:/churn/3",
        "version 2": "models:/churn/2",
        "version 1": "models:/churn/1",
    }


@pytest.mark.parametrize("pasted", [RUN_ID, f"  {RUN_ID}\n", RUN_ID.upper()])
def test_run_model_uri_accepts_a_pasted_run_id(pasted: str) -> None:
    assert run_model_uri(pasted) == f"runs:/{RUN_ID}/model"


@pytest.mark.parametrize("bad", ["", "abc", RUN_ID + "0", f"runs:/{RUN_ID}/model"])
def test_run_model_uri_refuses_what_is_no_run_id(bad: str) -> None:
    with pytest.raises(DLStudioError, match="is not a run id") as caught:
        run_model_uri(bad)

    assert "Runs page" in caught.value.fix


def test_predictions_follow_the_input_columns() -> None:
    frame = pd.DataFrame({"tenure": [3, 40], "plan": ["basic", "plus"], "note": ["x", "y"]})

    result = predict_frame(ThresholdModel(), frame)

    assert list(result.columns) == [
        "tenure",
        "plan",
        "note",
        "prediction",
        "probability_no",
        "probability_yes",
    ]
    assert result["prediction"].tolist() == ["yes", "no"]


def test_missing_columns_are_named_with_the_columns_the_model_reads() -> None:
    frame = pd.DataFrame({"plan": ["basic"], "monthly": [20.0]})

    with pytest.raises(DataError) as caught:
        predict_frame(ThresholdModel(), frame)

    assert caught.value.message == "The data lacks 1 column(s) the model needs: 'tenure'."
    assert caught.value.fix.endswith("The model reads: tenure, plan.")


def test_predict_upload_reads_the_file_then_predicts() -> None:
    result = predict_upload(ThresholdModel(), b"tenure,plan\n5,basic\n30,plus\n", filename="n.csv")

    assert result["prediction"].tolist() == ["yes", "no"]


def test_predict_upload_refuses_a_file_it_cannot_read() -> None:
    with pytest.raises(DataError, match=r"n\.csv is empty"):
        predict_upload(ThresholdModel(), b"", filename="n.csv")


def test_a_forecast_says_how_many_periods_per_series() -> None:
    from dlstudio.predict import forecast_extent

    one = pd.DataFrame({"month": range(12), "forecast": 1.0})
    assert forecast_extent(one) == "12 future periods"
    stores = pd.DataFrame({"store": list("ABC") * 12, "month": range(36), "forecast": 1.0})
    assert forecast_extent(stores) == "12 future periods for each of 3 series"
