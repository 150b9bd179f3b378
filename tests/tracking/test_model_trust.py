"""A model planted in the registry (through MLflow's open API) never runs its code in dlstudio:
not in `dlstudio predict`, not in a retrain's champion comparison, not on the Predict page."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient
from streamlit.testing.v1 import AppTest

from dlstudio.cli import main
from dlstudio.errors import DLStudioError
from dlstudio.predict import load_model
from dlstudio.settings import get_settings
from dlstudio.spec import parse_spec
from dlstudio.tracking.loading import UntrustedModel, trust_model_version
from dlstudio.tracking.setup import configure_tracking
from dlstudio.tracking.signing import SIGNATURE_TAG
from dlstudio.training import run
from tests.conftest import make_customers

APP = str(Path(__file__).resolve().parents[2] / "app.py")
FAST = {"preset": "fast", "epochs": 1, "seed": 0}


def churn_spec(data: Path) -> dict:
    return {"data": {"path": str(data), "target": "churn"}, "training": FAST,
            "tracking": {"register_as": "churn"}}  # fmt: skip


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory, migrated_mlflow_db: Path) -> Path:
    """A home with 'churn' version 1 trained by dlstudio (champion); copied by each test."""
    home = tmp_path_factory.mktemp("trust") / "home"
    home.mkdir()
    shutil.copy(migrated_mlflow_db, home / "mlflow.db")
    make_customers(160).to_csv(home.parent / "customers.csv", index=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DLSTUDIO_HOME", str(home))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        run(parse_spec(churn_spec(home.parent / "customers.csv")))
    return home


@pytest.fixture
def home(trained_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the trained home (tests plant models and change tags)."""
    copy = tmp_path / "trusted"
    shutil.copytree(trained_home, copy)
    # the copied store names the original artifact folder: point it at the copy's
    for path in copy.rglob("meta.yaml"):
        path.write_text(path.read_text().replace(str(trained_home), str(copy)))
    import sqlite3

    with sqlite3.connect(copy / "mlflow.db") as db:
        for table, column in (("experiments", "artifact_location"), ("runs", "artifact_uri"),
                              ("logged_models", "artifact_location"),
                              ("model_versions", "storage_location")):  # fmt: skip
            db.execute(f"UPDATE {table} SET {column} = replace({column}, ?, ?)",
                       (str(trained_home), str(copy)))  # fmt: skip
    monkeypatch.setenv("DLSTUDIO_HOME", str(copy))
    configure_tracking(get_settings())
    return copy


def plant_champion(home: Path, *, manifest: dict | None = None) -> Path:
    """What the review did through the MLflow REST API: log a models-from-code model whose code
    leaves a marker file when it runs, register it as a version of 'churn' and make it the
    champion. Returns the marker's path (absent as long as the code never ran)."""
    marker = home.parent / "planted-code-ran"
    code = home.parent / "planted.py"
    code.write_text(textwrap.dedent(f"""
        import pathlib
        import mlflow.models
        import mlflow.pyfunc
        pathlib.Path({str(marker)!r}).write_text("the planted model's code ran")

        class Planted(mlflow.pyfunc.PythonModel):
            def predict(self, context, model_input, params=None):
                return model_input

        mlflow.models.set_model(Planted())
    """))
    model_dir = home.parent / "model_dir"  # shaped like ours, so only the signature tells
    model_dir.mkdir(exist_ok=True)
    manifest = manifest or {"task": "tabular_classification"}
    (model_dir / "manifest.json").write_text(json.dumps(manifest))
    with mlflow.start_run() as planted:
        info = mlflow.pyfunc.log_model(name="model", python_model=str(code),
                                       artifacts={"model_dir": str(model_dir)})  # fmt: skip
    marker.unlink()  # logging runs the code, in the planter's process: from here it must not
    version = mlflow.register_model(info.model_uri, "churn").version
    MlflowClient().set_registered_model_alias("churn", "champion", version)
    (home.parent / "planted_run").write_text(planted.info.run_id)
    return marker


def test_dlstudio_predict_refuses_a_planted_champion_without_running_it(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = plant_champion(home)
    rows = home.parent / "rows.csv"
    make_customers(40, seed=3).head(5).drop(columns="churn").to_csv(rows, index=False)

    code = main(["predict", "--model", "models:/churn@champion", "--data", str(rows),
                 "--output", str(home.parent / "out.csv")])  # fmt: skip

    assert code == 2
    assert not marker.exists()
    error = capsys.readouterr().err
    assert "models:/churn/2 was not trained by this studio" in error
    assert "dlstudio models trust" in error
    assert not (home.parent / "out.csv").exists()


def test_a_copied_signature_does_not_vouch_for_other_files(home: Path) -> None:
    marker = plant_champion(home)
    client = MlflowClient()
    genuine = client.get_model_version("churn", "1").run_id
    stolen = client.get_run(genuine).data.tags[SIGNATURE_TAG]
    client.set_tag((home.parent / "planted_run").read_text(), SIGNATURE_TAG, stolen)

    with pytest.raises(UntrustedModel):
        load_model("models:/churn@champion")
    assert not marker.exists()
    assert load_model("models:/churn/1").predict(make_customers(40).head(3).drop(columns="churn")).shape[0] == 3


def test_a_retrain_never_runs_a_planted_champion_and_does_not_promote_past_it(
    home: Path,
) -> None:
    marker = plant_champion(home)

    make_customers(160, seed=1).to_csv(home.parent / "new.csv", index=False)

    # what the worker runs for a scheduled retrain: train, then challenge the champion
    result = run(parse_spec(churn_spec(home.parent / "new.csv")))

    assert not marker.exists()
    assert result.registered["decision"] == "not promoted"
    assert "the champion could not score the new test rows" in result.registered["reason"]
    assert "not trained by this studio" in result.registered["reason"]
    assert str(MlflowClient().get_model_version_by_alias("churn", "champion").version) == "2"


def test_the_predict_page_never_runs_a_planted_champion(home: Path) -> None:
    marker = plant_champion(home)
    app = AppTest.from_file(APP, default_timeout=60).run()
    app = app.switch_page("pages/predict.py").run()
    assert not app.exception
    assert app.selectbox(key="predict_version_churn").value == "champion (version 2)"

    rows = make_customers(40, seed=5).head(4).drop(columns="churn").to_csv(index=False).encode()
    app.file_uploader(key="predict_upload").set_value(("rows.csv", rows, "text/csv"))
    app = app.run()

    assert not app.exception
    assert not marker.exists()
    assert "not trained by this studio" in app.error[0].value


def test_changed_weights_are_refused(home: Path) -> None:
    weights = next((home / "mlartifacts").rglob("weights.pt"))
    weights.write_bytes(weights.read_bytes() + b"\0")

    with pytest.raises(UntrustedModel, match="its files changed after training"):
        load_model("models:/churn@champion")


def test_an_unsigned_model_loads_once_an_admin_trusts_it(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = MlflowClient()
    client.delete_tag(client.get_model_version("churn", "1").run_id, SIGNATURE_TAG)  # as before
    with pytest.raises(UntrustedModel):
        load_model("models:/churn/1")

    assert main(["models", "trust", "churn", "--version", "1"]) == 0

    assert "version 1 is signed by this studio" in capsys.readouterr().out
    predictions = load_model("models:/churn/1").predict(make_customers(40).head(4).drop(columns="churn"))
    assert list(predictions["prediction"].unique()) != []


def test_trust_refuses_what_is_not_a_dlstudio_model(home: Path) -> None:
    marker = plant_champion(home, manifest={"task": "no_such_template"})

    with pytest.raises(DLStudioError, match="not a dlstudio model"):
        trust_model_version("churn", "2", get_settings(), by="admin")
    assert not marker.exists()
    assert SIGNATURE_TAG not in MlflowClient().get_run(
        (home.parent / "planted_run").read_text()
    ).data.tags


def test_the_signing_key_is_private_and_stable(home: Path) -> None:
    from dlstudio.tracking.signing import KEY_FILE, signing_key

    first = signing_key(get_settings())
    assert signing_key(get_settings()) == first
    assert (home / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert len(first) == 64  # 32 random bytes, hex
