"""ONNX export (issue 20, item 7): each template's graph in onnxruntime gives the registered
model's own probabilities (or values) within 1e-4 on fresh rows, and bad requests write nothing."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlstudio.cli import main
from dlstudio.data.image_source import ImageSource
from dlstudio.errors import DLStudioError, UsageError
from dlstudio.explain.onnx_export import (
    TOLERANCE,
    export_predictor,
    export_registered,
    export_run_model,
    run_graph,
)
from dlstudio.predict import load_model
from dlstudio.spec import parse_spec
from dlstudio.tasks import get_template
from dlstudio.tasks.base import TrainingData
from dlstudio.tasks.images.model import IMAGE_COLUMN
from dlstudio.tasks.images.sample import shapes_zip
from dlstudio.tasks.tabular.features import TabularFeatures
from dlstudio.tasks.text.encoding import TextEncoder
from dlstudio.training import run
from dlstudio.training.device import choose_device
from tests.conftest import make_customers

pytest.importorskip("onnxruntime")


def trained(work_dir: Path, task: str, data: TrainingData, target: str | None, **settings):
    """A tiny model trained by the template itself (no MLflow), and its predictor."""
    options = settings.pop("options", {})
    spec = parse_spec({
        "task": task, "data": {"path": "x.csv", **({"target": target} if target else {})},
        "training": {"preset": "fast", "epochs": 2, "seed": 0, **settings}, "options": options,
    })  # fmt: skip
    template = get_template(task)
    outcome = template.train(data, spec, device=choose_device("cpu"), callbacks=[],
                             work_dir=work_dir)  # fmt: skip
    return template.load_predictor(outcome.model_dir)


def onnx_probabilities(path: Path, arrays: dict[str, np.ndarray]) -> np.ndarray:
    return run_graph(path, arrays)[0]


def model_probabilities(predictor, frame: pd.DataFrame) -> np.ndarray:
    table = predictor.predict(frame)
    return table[[f"probability_{c}" for c in predictor.classes]].to_numpy()


# --- tabular -------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["fast", "balanced"])  # the MLP and TabM
def test_a_table_model_exports_with_its_preprocessing_beside(tmp_path: Path, preset: str) -> None:
    predictor = trained(tmp_path / "model", "tabular_classification",
                        TrainingData(make_customers(200)), "churn", preset=preset)  # fmt: skip
    (tmp_path / "out").mkdir()
    result = export_predictor(predictor, tmp_path / "out" / "churn.onnx", prefix="churn.")
    assert result.max_abs_difference <= TOLERANCE and result.rows_checked > 50

    fresh = make_customers(60, seed=7).drop(columns=["churn"])  # rows it never saw
    fresh.loc[0, "plan"] = "enterprise"  # an unseen level
    saved = json.loads((tmp_path / "out" / "churn.preprocessing.json").read_text())
    numeric, categorical = TabularFeatures.from_json(saved["features"]).transform(fresh)
    graph = run_graph(result.onnx, {"numeric": numeric, "categorical": categorical})
    expected = predictor.predict(fresh)
    proba = expected[[f"probability_{c}" for c in predictor.classes]].to_numpy()
    assert np.abs(graph[0] - proba).max() <= TOLERANCE
    assert [predictor.classes[i] for i in graph[1]] == expected["prediction"].tolist()
    readme = (tmp_path / "out" / "churn.README.md").read_text()
    assert '"churn.preprocessing.json"' in readme and '"churn.onnx"' in readme


def test_a_regression_model_exports_values_in_the_targets_units(tmp_path: Path) -> None:
    frame = make_customers(200).drop(columns=["churn"])
    frame["spend"] = 20 + frame["tenure"] * 3.5 + np.where(frame["plan"] == "basic", 0, 40)
    predictor = trained(tmp_path / "model", "tabular_regression", TrainingData(frame), "spend",
                        options={"target_transform": "log"})  # fmt: skip
    result = export_predictor(predictor, tmp_path / "spend.onnx")

    fresh = make_customers(40, seed=3)
    numeric, categorical = predictor.features.transform(fresh)
    values = run_graph(result.onnx, {"numeric": numeric, "categorical": categorical})[0]
    expected = predictor.predict(fresh)["prediction"].to_numpy()
    assert (np.abs(values - expected) / np.maximum(np.abs(expected), 1)).max() <= TOLERANCE


def test_a_blend_with_gradient_boosting_is_refused_and_nothing_written(tmp_path: Path) -> None:
    predictor = trained(tmp_path / "model", "tabular_classification",
                        TrainingData(make_customers(200)), "churn")  # fmt: skip
    from dlstudio.tasks.tabular.template import classical_candidates  # noqa: F401 - its names

    predictor.weights = {"network": 0.6, "hgb": 0.4}
    with pytest.raises(DLStudioError) as refused:
        export_predictor(predictor, tmp_path / "out.onnx")
    assert "HistGradientBoosting (weight 0.40)" in refused.value.message
    assert "ensemble" in refused.value.fix and "unchanged" in refused.value.fix
    assert list(tmp_path.glob("out*")) == []


# --- text ----------------------------------------------------------------------------------

GOOD = ["great phone", "love it", "works great", "very good value", "excellent screen"]
BAD = ["bad phone", "hate it", "broke after a week", "very poor value", "awful screen"]
FRESH_TEXTS = ["great value, love the screen!", "awful, broke", "", "unseen words only",
               "very very good phone but bad screen?"]  # fmt: skip


def comments(n: int = 60) -> pd.DataFrame:
    texts = [(GOOD if i % 2 else BAD)[(i // 2) % 5] + ("!" if i % 3 else ".") for i in range(n)]
    return pd.DataFrame({"comment": texts, "label": ["pos" if i % 2 else "neg" for i in range(n)]})


@pytest.mark.parametrize("model", ["ngram_bag", "bigru", "transformer"])
def test_a_scratch_text_model_exports_with_its_vocabulary(tmp_path: Path, model: str) -> None:
    predictor = trained(tmp_path / "model", "text_sentiment", TrainingData(comments()), "label",
                        options={"backbone": "none", "model": model, "max_length": 16})  # fmt: skip
    result = export_predictor(predictor, tmp_path / "text.onnx")
    assert result.max_abs_difference <= TOLERANCE

    saved = json.loads((tmp_path / "preprocessing.json").read_text())
    encoder = TextEncoder.from_json(saved["encoder"])
    if model == "ngram_bag":
        ids = encoder.encode_bag(FRESH_TEXTS, max_features=4 * encoder.max_length)
    else:
        ids, _ = encoder.encode_tokens(FRESH_TEXTS)
    expected = model_probabilities(predictor, pd.DataFrame({"comment": FRESH_TEXTS}))
    assert np.abs(onnx_probabilities(result.onnx, {"ids": ids}) - expected).max() <= TOLERANCE


def test_a_minilm_text_model_exports_with_its_tokenizer(tmp_path: Path) -> None:
    predictor = trained(tmp_path / "model", "text_sentiment", TrainingData(comments()), "label",
                        options={"backbone": "minilm", "tuned_layers": 0})  # fmt: skip
    result = export_predictor(predictor, tmp_path / "text.onnx")
    assert result.max_abs_difference <= TOLERANCE
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "tokenizer")
    tokens = tokenizer(FRESH_TEXTS, truncation=True, max_length=predictor.inputs.max_tokens,
                       padding=True, return_tensors="np")  # fmt: skip
    arrays = {name: tokens[name].astype(np.int64) for name in ("input_ids", "attention_mask")}
    expected = model_probabilities(predictor, pd.DataFrame({"comment": FRESH_TEXTS}))
    assert np.abs(onnx_probabilities(result.onnx, arrays) - expected).max() <= TOLERANCE


# --- images --------------------------------------------------------------------------------


def test_an_image_model_exports_whole_from_pixels(tmp_path: Path) -> None:
    path = tmp_path / "shapes.zip"
    path.write_bytes(shapes_zip(per_class=12, size=24))
    predictor = trained(tmp_path / "model", "image_classification",
                        TrainingData(pd.DataFrame(), images=ImageSource(path, "v", None)), None,
                        batch_size=16)  # fmt: skip
    result = export_predictor(predictor, tmp_path / "shapes.onnx")
    assert result.max_abs_difference <= TOLERANCE

    with zipfile.ZipFile(path) as archive:
        files = [archive.read(n) for n in archive.namelist() if n.endswith(".png")][:6]
    from dlstudio.data.image_decode import decode_image

    pixels = np.stack([decode_image(f, size=predictor.size, channels=predictor.channels)
                       for f in files])  # fmt: skip
    expected = model_probabilities(predictor, pd.DataFrame({IMAGE_COLUMN: files}))
    assert np.abs(onnx_probabilities(result.onnx, {"images": pixels}) - expected).max() <= TOLERANCE


# --- the registered model: CLI and the Results page ----------------------------------------


@pytest.fixture(scope="module")
def registered_home(tmp_path_factory: pytest.TempPathFactory, migrated_mlflow_db: Path) -> Path:
    """A home with 'churn' version 1 (the champion), trained by dlstudio."""
    home = tmp_path_factory.mktemp("onnx") / "home"
    home.mkdir()
    shutil.copy(migrated_mlflow_db, home / "mlflow.db")
    data = home.parent / "customers.csv"
    make_customers(160).to_csv(data, index=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DLSTUDIO_HOME", str(home))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        run(parse_spec({"data": {"path": str(data), "target": "churn"},
                        "training": {"preset": "fast", "epochs": 1, "seed": 0},
                        "tracking": {"register_as": "churn"}}))  # fmt: skip
    return home


@pytest.fixture
def home(registered_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DLSTUDIO_HOME", str(registered_home))
    return registered_home


def test_the_cli_exports_the_champion(home: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "export").mkdir()
    out = tmp_path / "export" / "churn.onnx"
    code = main(["models", "export", "churn", "--format", "onnx", "--out", str(out)])

    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "churn version 1" in printed and "max abs difference" in printed
    assert {p.name for p in out.parent.iterdir()} == {
        "churn.onnx", "churn.preprocessing.json", "churn.README.md"}  # fmt: skip
    rows = make_customers(30, seed=5)
    model = load_model("models:/churn/1")
    features = model.predictor.features
    numeric, categorical = features.transform(rows)
    graph = run_graph(out, {"numeric": numeric, "categorical": categorical})[0]
    expected = model.predict(rows)[[f"probability_{c}" for c in model.predictor.classes]]
    assert np.abs(graph - expected.to_numpy()).max() <= TOLERANCE


def test_the_results_page_gets_one_file_to_download(home: Path, tmp_path: Path) -> None:
    path = export_run_model("models:/churn/1", tmp_path / "download")

    assert path.name == "model-onnx.zip"
    with zipfile.ZipFile(path) as archive:
        assert set(archive.namelist()) == {"model.onnx", "preprocessing.json", "README.md"}
    assert [p.name for p in (tmp_path / "download").iterdir()] == ["model-onnx.zip"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["nobody"], "No registered model named 'nobody'"),
        (["churn", "--version", "7"], "'churn' has no version '7'"),
    ],
)
def test_an_unknown_model_or_version_is_named(home: Path, tmp_path: Path, capsys, args, says):
    (tmp_path / "export").mkdir()
    code = main(["models", "export", *args, "--out", str(tmp_path / "export" / "m.onnx")])

    assert code != 0
    assert says in capsys.readouterr().err
    assert list((tmp_path / "export").iterdir()) == []


def test_an_out_in_a_missing_folder_is_refused_before_loading(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        export_registered("churn", None, tmp_path / "missing" / "m.onnx")
    with pytest.raises(UsageError, match=r"does not end in \.onnx"):
        export_registered("churn", None, tmp_path / "m.zip")
    assert not (tmp_path / "missing").exists()


def test_a_forecasting_model_is_refused_with_what_can_be_exported(tmp_path: Path) -> None:
    class ForecastPredictor:  # stands for any template without an ONNX plan
        pass

    (tmp_path / "export").mkdir()
    with pytest.raises(DLStudioError, match="tabular classification and regression, text and"):
        export_predictor(ForecastPredictor(), tmp_path / "export" / "m.onnx")
    assert list((tmp_path / "export").iterdir()) == []
