"""dlstudio models through MLflow's own tools, each in a fresh process: `mlflow models serve`
answering POST /invocations, and `mlflow models predict` on a file.

One module-scoped home holds three registered champions (tiny runs), each served in the
background as soon as it is registered: a process takes seconds to import torch and MLflow.
"""

from __future__ import annotations

import ast
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from dlstudio.cli import main
from dlstudio.errors import DataError
from dlstudio.predict import load_model
from dlstudio.spec import parse_spec
from dlstudio.tasks import get_template, task_names
from dlstudio.tasks.images.sample import shapes_zip
from dlstudio.tracking.pyfunc import SERVING_FLAG, DLStudioModel
from dlstudio.tracking.runlog import _requirements
from dlstudio.training import run
from tests.conftest import make_customers

FAST = {"preset": "fast", "epochs": 1, "seed": 0}
STARTUP_S = 120  # slow shared cores, several processes importing torch and MLflow at once
MLFLOW_CLI = str(Path(sys.executable).with_name("mlflow"))
# Python started with -S (no .pth files, so no editable dlstudio) and the venv's packages added:
# the model must bring dlstudio itself. Args: site-packages, model URI, input CSV, output JSON.
WITHOUT_DLSTUDIO = """
import importlib.util, json, sys
sys.path.append(sys.argv[1])
assert importlib.util.find_spec("dlstudio") is None, "dlstudio is installed here"
import mlflow.pyfunc, pandas as pd
model = mlflow.pyfunc.load_model(sys.argv[2])
import dlstudio
labels = model.predict(pd.read_csv(sys.argv[3]))["prediction"].tolist()
with open(sys.argv[4], "w") as out:
    json.dump({"dlstudio": dlstudio.__file__, "predictions": labels}, out)
"""


def seasonal_months(n: int = 60) -> pd.DataFrame:
    t = pd.RangeIndex(n).to_numpy()
    months = pd.date_range("2015-01-01", periods=n, freq="MS").strftime("%Y-%m")
    return pd.DataFrame({"month": months, "sales": (200 + 3 * t + 40 * (t % 12 == 11))})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Process:
    """An MLflow command in its own process group (`serve` runs uvicorn as a child), its output
    in a file (a server writes a line per request: a pipe nobody reads would fill up)."""

    popen: subprocess.Popen
    log: Path
    url: str = ""

    @classmethod
    def start(cls, command: list[str], env: dict[str, str], log: Path, url: str = "") -> Process:
        with log.open("w") as output:
            popen = subprocess.Popen(
                command, env=env, cwd=log.parent, stdout=output, stderr=subprocess.STDOUT,
                text=True, start_new_session=True,
            )  # fmt: skip
        return cls(popen, log, url)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def wait_until_up(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.popen.args} exited:\n{self.output()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        raise AssertionError(f"no answer from {self.url}/ping within {STARTUP_S}s")

    def stop(self) -> None:
        if self.popen.poll() is not None:
            return
        os.killpg(self.popen.pid, signal.SIGTERM)  # the group this test started
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()


@dataclass
class Registry:
    home: Path
    folder: Path
    customers: pd.DataFrame
    images: list[bytes]
    started: dict[str, Process]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, migrated_mlflow_db: Path):
    """Registered champions 'churn' (tabular), 'shapes' (images) and 'sales' (forecasting),
    trained for one epoch on tiny data, each served as soon as it is registered (a server
    takes seconds to start: it overlaps the next training); all stopped at the end."""
    folder = tmp_path_factory.mktemp("serving")
    home = folder / "home"
    home.mkdir()
    shutil.copy(migrated_mlflow_db, home / "mlflow.db")
    customers = make_customers(120)
    customers.to_csv(folder / "customers.csv", index=False)
    customers.drop(columns="churn").head(4).to_csv(folder / "new.csv", index=False)
    seasonal_months().to_csv(folder / "sales.csv", index=False)
    (folder / "shapes.zip").write_bytes(shapes_zip(per_class=10, size=16))
    specs = {
        "churn": ("tabular_classification", "customers.csv", "churn"),
        "shapes": ("image_classification", "shapes.zip", None),
        "sales": ("forecasting", "sales.csv", "sales"),
    }
    env = {
        # mlflow.set_registry_uri exports MLFLOW_REGISTRY_URI, so an earlier test's home may
        # linger there; without it, the registry follows the tracking URI
        **{k: v for k, v in os.environ.items() if k != "MLFLOW_REGISTRY_URI"},
        "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}",
        # `mlflow models serve` runs `uvicorn` from PATH: the venv's, as in an activated venv
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    started: dict[str, Process] = {}
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DLSTUDIO_HOME", str(home))
            patch.delenv("MLFLOW_TRACKING_URI", raising=False)
            for name, (task, data, target) in specs.items():
                data_spec = {"path": str(folder / data), **({"target": target} if target else {})}
                run(parse_spec({"task": task, "data": data_spec, "training": FAST,
                                "tracking": {"register_as": name}}))  # fmt: skip
                started[name] = serve(name, env, folder)
                if name == "churn":
                    started["churn_csv"] = Process.start(
                        [MLFLOW_CLI, "models", "predict", "-m", "models:/churn@champion",
                         "-i", str(folder / "new.csv"), "-o", str(folder / "churn.json"),
                         "-t", "csv", "--env-manager", "local"],
                        env, folder / "churn_csv.log",
                    )  # fmt: skip
                    started["without_dlstudio"] = Process.start(
                        [sys.executable, "-S", "-c", WITHOUT_DLSTUDIO,
                         sysconfig.get_paths()["purelib"], "models:/churn@champion",
                         str(folder / "new.csv"), str(folder / "without_dlstudio.json")],
                        # nor from PYTHONPATH (a checkout under test is often put there)
                        {k: v for k, v in env.items() if k != "PYTHONPATH"},
                        folder / "without_dlstudio.log",
                    )  # fmt: skip
        deadline = time.monotonic() + STARTUP_S
        for name in specs:
            started[name].wait_until_up(deadline)
        with zipfile.ZipFile(folder / "shapes.zip") as opened:
            images = [opened.read(n) for n in sorted(opened.namelist()) if n.endswith(".png")]
        yield Registry(home, folder, customers, images[:3], started)
    finally:
        for process in started.values():
            process.stop()


def serve(model: str, env: dict[str, str], folder: Path) -> Process:
    port = free_port()
    command = [MLFLOW_CLI, "models", "serve", "-m", f"models:/{model}@champion",
               "--env-manager", "local", "-p", str(port)]  # fmt: skip
    return Process.start(command, env, folder / f"{model}.log", url=f"http://127.0.0.1:{port}")


def post(url: str, payload: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{url}/invocations",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def in_process(registry: Registry, model: str, frame: pd.DataFrame) -> pd.DataFrame:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DLSTUDIO_HOME", str(registry.home))
        return load_model(f"models:/{model}@champion").predict(frame)


def model_folder(registry: Registry, name: str) -> Path:
    """The local folder of a registered champion (the store is local: no copy)."""
    import mlflow.artifacts

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{registry.home / 'mlflow.db'}")
        return Path(mlflow.artifacts.download_artifacts(f"models:/{name}@champion"))


def imported_packages(root: Path, modules: list[str]) -> set[str]:
    """Top-level packages imported at module level by ``modules`` (files under ``root``) and,
    in turn, by every dlstudio module they import."""
    found: set[str] = set()
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        name = todo.pop()
        path = next((p for p in module_paths(root, name) if p.is_file()), None)
        if name in seen or path is None:  # seen, or a name imported from a module
            continue
        seen.add(name)
        todo.extend(".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1))
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            for imported in names:
                top = imported.split(".")[0]
                todo.append(imported) if top == "dlstudio" else found.add(top)
    return found


def module_paths(root: Path, name: str) -> list[Path]:
    folder = root.joinpath(*name.split("."))
    return [folder.with_suffix(".py"), folder / "__init__.py"]


@pytest.mark.parametrize(
    ("model", "data", "rows", "columns"),
    [
        ("churn", "new.csv", 4, {"tenure", "prediction", "probability_yes"}),
        ("shapes", "shapes.zip", 30, {"file", "prediction", "probability_circle", "problem"}),
        ("sales", "sales.csv", 12, {"month", "forecast"}),
    ],
)
def test_dlstudio_predict_reads_the_champion_of_every_template(
    registry, monkeypatch, model: str, data: str, rows: int, columns: set[str]
) -> None:
    monkeypatch.setenv("DLSTUDIO_HOME", str(registry.home))
    output = registry.folder / f"{model}-predictions.csv"
    argv = ["predict", "--model", f"models:/{model}@champion", "--data",
            str(registry.folder / data), "--output", str(output)]  # fmt: skip

    assert main(argv) == 0

    written = pd.read_csv(output)
    assert len(written) == rows
    assert columns <= set(written.columns)


def test_served_table_model_answers_split_and_records_like_the_pyfunc(registry) -> None:
    rows = registry.customers.drop(columns="churn").head(3)
    expected = in_process(registry, "churn", rows)
    url = registry.started["churn"].url

    split = json.loads(rows.to_json(orient="split", index=False))
    records = json.loads(rows.to_json(orient="records"))  # a blank region arrives as null
    for payload in ({"dataframe_split": split}, {"dataframe_records": records}):
        status, body = post(url, payload)

        assert status == 200
        served = pd.DataFrame(body["predictions"])
        assert served["prediction"].tolist() == expected["prediction"].tolist()
        pd.testing.assert_frame_equal(
            served.filter(like="probability_"),
            expected.filter(like="probability_"),
            check_dtype=False,
            atol=1e-6,
        )


def test_served_table_model_explains_each_row_when_asked(registry) -> None:
    rows = registry.customers.drop(columns="churn").head(3)
    expected = in_process(registry, "churn", rows)
    split = json.loads(rows.to_json(orient="split", index=False))

    status, body = post(registry.started["churn"].url,
                        {"dataframe_split": split, "params": {"explain": True}})  # fmt: skip

    assert status == 200, body
    served = pd.DataFrame(body["predictions"])
    assert served["prediction"].tolist() == expected["prediction"].tolist()
    assert list(served.columns[-3:]) == ["reason_1", "reason_2", "reason_3"]
    assert served["reason_1"].str.contains(r" (?:raises|lowers) the chance of (?:yes|no) ").all()


def test_a_served_model_without_reasons_says_so_when_asked(registry) -> None:
    split = json.loads(seasonal_months().to_json(orient="split", index=False))

    status, body = post(registry.started["sales"].url,
                        {"dataframe_split": split, "params": {"explain": True}})  # fmt: skip

    assert status == 400
    assert "This model cannot explain its predictions" in body["message"]
    assert "tabular classification and regression" in body["message"]


def test_served_model_names_the_missing_column(registry) -> None:
    rows = registry.customers.drop(columns=["churn", "tenure"]).head(1)

    status, body = post(
        registry.started["churn"].url,
        {"dataframe_records": json.loads(rows.to_json(orient="records"))},
    )

    assert status == 400
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "Model is missing inputs ['tenure']" in body["message"]


def test_served_image_model_reads_base64_images(registry) -> None:
    expected = in_process(registry, "shapes", pd.DataFrame({"image": registry.images}))
    encoded = [base64.b64encode(image).decode() for image in registry.images]

    status, body = post(
        registry.started["shapes"].url,
        {"dataframe_split": {"columns": ["image"], "data": [[text] for text in encoded]}},
    )

    assert status == 200
    served = pd.DataFrame(body["predictions"])
    assert served["prediction"].tolist() == expected["prediction"].tolist()
    assert served["problem"].tolist() == ["", "", ""]
    pd.testing.assert_frame_equal(
        served.filter(like="probability_"),
        expected.filter(like="probability_"),
        check_dtype=False,
        atol=1e-6,
    )


def test_served_image_model_names_an_unreadable_image_in_its_row(registry) -> None:
    good = base64.b64encode(registry.images[0]).decode()
    junk = base64.b64encode(b"not an image").decode()

    status, body = post(
        registry.started["shapes"].url, {"dataframe_records": [{"image": good}, {"image": junk}]}
    )

    assert status == 200
    first, second = body["predictions"]
    assert first["problem"] == "" and first["prediction"]
    assert second["problem"].startswith("not a readable image")
    assert pd.isna(second["prediction"])  # NaN in the JSON body, as MLflow writes missing values


def test_served_image_model_without_an_image_column(registry) -> None:
    status, body = post(registry.started["shapes"].url, {"dataframe_records": [{"photo": "x"}]})

    assert status == 400
    assert "Model is missing inputs ['image']" in body["message"]


def test_served_image_model_takes_the_logged_serving_example(registry) -> None:
    import mlflow.artifacts

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{registry.home / 'mlflow.db'}")
        example = mlflow.artifacts.download_artifacts(
            "models:/shapes@champion/serving_input_example.json"
        )

    status, body = post(registry.started["shapes"].url, json.loads(Path(example).read_text()))

    assert status == 200, body["message"]
    assert all(row["problem"] == "" for row in body["predictions"])


def test_mlflow_models_predict_reads_a_csv(registry) -> None:
    expected = in_process(registry, "churn", registry.customers.drop(columns="churn").head(4))

    process = registry.started["churn_csv"]

    assert process.popen.wait(timeout=STARTUP_S) == 0, process.output()[-3000:]
    written = json.loads(process.log.with_name("churn.json").read_text(encoding="utf-8"))
    served = pd.DataFrame(written["predictions"])
    assert served["prediction"].tolist() == expected["prediction"].tolist()


def test_served_forecaster_forecasts_the_next_periods(registry) -> None:
    history = json.loads(seasonal_months().to_json(orient="split", index=False))

    status, body = post(registry.started["sales"].url, {"dataframe_split": history})

    assert status == 200
    served = pd.DataFrame(body["predictions"])
    assert {"month", "forecast"} <= set(served)
    assert served["month"].iloc[0].startswith("2020-01-01")  # the month after the history
    assert served["forecast"].notna().all()


def test_a_dlstudio_error_reaches_the_client_with_its_message_and_fix(registry) -> None:
    short = json.loads(seasonal_months(6).to_json(orient="split", index=False))

    status, body = post(registry.started["sales"].url, {"dataframe_split": short})

    assert status == 400
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "The history has fewer than the" in body["message"]
    assert "How to fix: Give at least the last" in body["message"]


def test_served_forecaster_names_the_missing_column(registry) -> None:
    status, body = post(
        registry.started["sales"].url, {"dataframe_records": [{"month": "2020-01"}]}
    )

    assert status == 400
    assert "Model is missing inputs ['sales']" in body["message"]


def test_a_python_without_dlstudio_loads_the_model_from_its_carried_code(registry) -> None:
    expected = in_process(registry, "churn", registry.customers.drop(columns="churn").head(4))
    process = registry.started["without_dlstudio"]

    assert process.popen.wait(timeout=STARTUP_S) == 0, process.output()[-3000:]
    found = json.loads(process.log.with_name("without_dlstudio.json").read_text())
    assert Path(found["dlstudio"]).parts[-3:] == ("code", "dlstudio", "__init__.py")
    assert found["predictions"] == expected["prediction"].tolist()


def test_the_requirements_cover_what_the_carried_code_imports(registry) -> None:
    root = model_folder(registry, "churn") / "code"
    modules = ["dlstudio.tracking.pyfunc"] + [
        type(get_template(name)).__module__ for name in task_names()
    ]

    imported = imported_packages(root, modules) - set(sys.stdlib_module_names) - {"__future__"}

    required = {line.split("==")[0].lower() for line in _requirements()}
    distributions = {"PIL": "pillow", "sklearn": "scikit-learn", "yaml": "pyyaml"}
    assert {"torch", "PIL", "matplotlib"} <= imported  # the walk does reach the templates
    assert {distributions.get(name, name).lower() for name in imported} <= required


def test_the_model_lists_its_requirements(registry) -> None:
    path = model_folder(registry, "shapes") / "requirements.txt"

    listed = path.read_text(encoding="utf-8").split()

    assert set(_requirements()) <= set(listed)
    assert any(line.startswith("pillow==") for line in listed)


class FailingPredictor:
    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        raise DataError("The history is too short.", fix="Give 12 periods.")


def wrapped(predictor) -> DLStudioModel:
    model = DLStudioModel()
    model._predictor = predictor
    return model


def test_a_served_model_turns_dlstudio_errors_into_mlflow_errors(monkeypatch) -> None:
    from mlflow.exceptions import MlflowException

    monkeypatch.setenv(SERVING_FLAG, "true")

    with pytest.raises(MlflowException) as caught:
        wrapped(FailingPredictor()).predict(None, pd.DataFrame())

    assert caught.value.message == "The history is too short.\nHow to fix: Give 12 periods."
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


def test_in_process_callers_keep_the_dlstudio_error(monkeypatch) -> None:
    monkeypatch.delenv(SERVING_FLAG, raising=False)

    with pytest.raises(DataError, match="too short"):
        wrapped(FailingPredictor()).predict(None, pd.DataFrame())
