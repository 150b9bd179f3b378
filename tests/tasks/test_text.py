"""The text template end to end: run(spec), the MLflow record, the pyfunc, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from dlstudio.cli import main
from dlstudio.errors import DataError
from dlstudio.predict import load_model, predict_frame
from dlstudio.settings import get_settings
from dlstudio.spec import parse_spec
from dlstudio.tasks import get_template
from dlstudio.tasks.text.sample import reviews
from dlstudio.training import run
from dlstudio.training.runner import check_run

FAST = {"preset": "fast", "epochs": 3, "seed": 0}


def spec(path: Path, target: str = "sentiment", **options):
    return parse_spec({"task": "text_sentiment", "data": {"path": str(path), "target": target},
                       "training": FAST, "options": options})  # fmt: skip


@pytest.fixture(scope="module")
def text_run(tmp_path_factory: pytest.TempPathFactory, migrated_mlflow_db: Path):
    folder = tmp_path_factory.mktemp("text")
    home = folder / "home"
    home.mkdir()
    shutil.copy(migrated_mlflow_db, home / "mlflow.db")
    path = folder / "reviews.csv"
    reviews().to_csv(path, index=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DLSTUDIO_HOME", str(home))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        result = run(spec(path))
        client = mlflow.tracking.MlflowClient()
        artifacts = {a.path for a in client.list_artifacts(result.run_id)}
        mistakes = mlflow.artifacts.load_dict(f"runs:/{result.run_id}/mistakes.json")
        yield result, artifacts, mistakes, load_model(result.model_uri)


def test_run_reports_classification_metrics_against_tfidf(text_run) -> None:
    result, artifacts, *_ = text_run
    assert result.baseline["name"] == "TF-IDF + logistic regression"
    assert {"test_accuracy", "test_f1_macro", "tfidf_test_f1_macro"} <= set(result.metrics)
    assert {"confusion_matrix.json", "classification_report.json", "mistakes.json"} <= artifacts
    # three classes, a third each: both models learn well beyond chance (1/3), yet the sample
    # (3% mislabelled, words the training rows may not have) leaves them mistakes to show
    assert result.metrics["test_accuracy"] > 0.5
    assert 0.7 < result.baseline["metrics"]["test_accuracy"] < 1.0


def test_mistakes_are_the_most_confident_wrong_answers(text_run) -> None:
    _, _, mistakes, _ = text_run
    assert mistakes  # the sample teaches: there are mistakes to look at
    assert all(row["true"] != row["predicted"] for row in mistakes)
    probabilities = [row["probability"] for row in mistakes]
    assert probabilities == sorted(probabilities, reverse=True)


def test_pyfunc_labels_raw_texts(text_run) -> None:
    *_, model = text_run
    frame = pd.DataFrame({"review": ["The camera is superb!", "The battery is terrible 👎", "",
                                     None]})  # fmt: skip
    out = predict_frame(model, frame)
    assert list(out.columns[:2]) == ["review", "prediction"]
    assert {"probability_negative", "probability_neutral", "probability_positive"} <= set(out)
    assert set(out["prediction"]) <= {"positive", "negative", "neutral"}
    fresh = reviews(90, seed=99)  # new reviews written the same way: labelled beyond chance
    labelled = predict_frame(model, fresh[["review"]])["prediction"]
    assert (labelled == fresh["sentiment"]).mean() > 0.5
    sums = out.filter(like="probability_").sum(axis=1)
    assert sums.round(5).eq(1.0).all()


def test_cli_train_json(mlflow_home: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "reviews.csv"
    reviews(120).to_csv(path, index=False)
    code = main(["train", "--task", "text_sentiment", "--data", str(path), "--target",
                 "sentiment", "--preset", "fast", "--set", "training.epochs=1", "--json"])  # fmt: skip
    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    assert payload["baseline"]["name"] == "TF-IDF + logistic regression"
    assert "test_f1_macro" in payload["metrics"]


def test_roles_are_guessed() -> None:
    template = get_template("text_sentiment")
    sample = template.sample()
    assert template.suggest_roles(sample.frame) == sample.roles


# --- bad input --------------------------------------------------------------------------------


def findings(frame: pd.DataFrame, tmp_path: Path, target: str = "sentiment", **options):
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return check_run(spec(path, target, **options), get_settings())[1]


def errors(found) -> list[str]:
    return [f.message for f in found if f.level == "error"]


def test_text_column_missing(tmp_path: Path) -> None:
    assert errors(findings(reviews(60), tmp_path, text_column="comment")) == [
        "The text column 'comment' is not in the data."
    ]


def test_text_column_all_empty(tmp_path: Path) -> None:
    frame = reviews(60).assign(review="  ")
    assert errors(findings(frame, tmp_path, text_column="review")) == [
        "The text column 'review' is empty."
    ]


def test_texts_that_are_numbers_only(tmp_path: Path) -> None:
    frame = reviews(60).assign(review=[str(i * 7) for i in range(60)])
    assert errors(findings(frame, tmp_path, text_column="review")) == [
        "The text column 'review' holds numbers, not text."
    ]


def test_label_with_one_class(tmp_path: Path) -> None:
    (message,) = errors(findings(reviews(60).assign(sentiment="positive"), tmp_path))
    assert "has only one class ('positive')" in message


def test_a_class_with_one_example(tmp_path: Path) -> None:
    frame = reviews(60)
    frame.loc[0, "sentiment"] = "angry"
    (message,) = errors(findings(frame, tmp_path))
    assert "too rare to test: 'angry' (1 rows)" in message


def test_label_column_that_is_free_text(tmp_path: Path) -> None:
    frame = reviews(300).assign(sentiment=lambda f: f["review"] + " " + f.index.astype(str))
    (message,) = errors(findings(frame, tmp_path, text_column="review"))
    assert "different values, too many classes to learn" in message


def test_very_long_texts_are_counted_and_cut(tmp_path: Path) -> None:
    frame = reviews(60)
    frame.loc[:2, "review"] = "great " * 300
    found = findings(frame, tmp_path, max_length=64)
    assert [f.message for f in found] == [
        "3 texts have more than 64 words; only their first 64 are read (the longest has 300)."
    ]


def test_a_cp1252_file_is_read_with_its_accents(tmp_path: Path) -> None:
    frame = reviews(60)
    frame.loc[0, "review"] = "Très déçu, très cher"
    path = tmp_path / "latin.csv"
    path.write_bytes(frame.to_csv(index=False).replace("👍", "").replace("👎", "").encode("cp1252"))
    source, found = check_run(spec(path), get_settings())
    assert errors(found) == []
    assert "Très déçu, très cher" in source.data.frame["review"].tolist()


def test_bad_input_reaches_the_cli_as_one_clear_error(tmp_path: Path, capsys) -> None:
    path = tmp_path / "one.csv"
    reviews(60).assign(sentiment="positive").to_csv(path, index=False)
    code = main(["train", "--task", "text_sentiment", "--data", str(path), "--target", "sentiment"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.startswith("error: The target column 'sentiment' has only one class")


def test_predict_without_the_text_column(text_run) -> None:
    *_, model = text_run
    with pytest.raises(DataError) as caught:
        predict_frame(model, pd.DataFrame({"comment": ["fine"]}))
    assert "'review'" in caught.value.message
