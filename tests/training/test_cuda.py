"""The GPU paths of the trainer: device choice, mixed precision, placement, and every template
trained on CUDA then predicting on the CPU. Skipped where no CUDA GPU is visible (CI); run on a
GPU machine with ``pytest tests/training/test_cuda.py``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from dlstudio.spec import parse_spec
from dlstudio.tasks import get_template
from dlstudio.tasks.base import TrainingData
from dlstudio.training.device import choose_device, seed_everything
from dlstudio.training.loop import Callback, FitConfig, TensorData, fit
from tests.conftest import make_customers

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


class Watch(Callback):
    """Records where the model's weights live and their dtype after training."""

    def on_train_end(self, state) -> None:
        parameter = next(state.model.parameters())
        self.device, self.dtype = parameter.device.type, parameter.dtype


def test_auto_picks_cuda_with_bf16_autocast() -> None:
    device = choose_device("auto")
    assert device.device.type == "cuda"
    assert device.amp_dtype in (torch.bfloat16, torch.float16)
    with device.autocast():
        out = nn.Linear(8, 2).cuda()(torch.randn(4, 8, device="cuda"))
    assert out.dtype == device.amp_dtype


def test_tensor_data_moves_to_the_gpu_and_batches_there() -> None:
    data = TensorData((torch.randn(100, 3),), torch.arange(100)).to(torch.device("cuda"))
    inputs, target = next(data.batches(32, generator=torch.Generator().manual_seed(0)))
    assert inputs[0].device.type == "cuda" and target.device.type == "cuda"


def test_fit_under_autocast_keeps_fp32_weights_and_learns() -> None:
    device = choose_device("cuda")
    generator = seed_everything(0)
    x = torch.randn(2048, 16)
    y = (x[:, 0] + x[:, 1] > 0).long()
    model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 2)).to(device.device)
    watch = Watch()
    state = fit(
        model,
        TensorData((x,), y).to(device.device),
        loss_fn=nn.CrossEntropyLoss(),
        validate=lambda m: {},
        config=FitConfig(epochs=5, batch_size=128, learning_rate=1e-2),
        device=device,
        generator=generator,
        callbacks=[watch],
    )
    assert (watch.device, watch.dtype) == ("cuda", torch.float32)
    assert state.history[-1]["train_loss"] < 0.5 * state.history[0]["train_loss"]


def _train(task: str, data: TrainingData, raw: dict, tmp_path: Path):
    template = get_template(task)
    spec = parse_spec({"task": task, **raw})
    outcome = template.train(data, spec, device=choose_device("cuda"), callbacks=[],
                             work_dir=tmp_path / "model")  # fmt: skip
    return outcome, template.load_predictor(outcome.model_dir)  # loads on the CPU


def test_tabular_trains_on_cuda_and_predicts_on_cpu(tmp_path: Path) -> None:
    frame = make_customers(400)
    outcome, predictor = _train("tabular_classification", TrainingData(frame), {
        "data": {"target": "churn"}, "training": {"preset": "fast", "epochs": 5, "seed": 0}
    }, tmp_path)  # fmt: skip
    assert outcome.metrics["accuracy"] > 0.6
    out = predictor.predict(frame.drop(columns=["churn"]).head(50))
    assert len(out) == 50 and np.isfinite(out.filter(like="probability_").to_numpy()).all()


def test_text_trains_on_cuda_and_predicts_on_cpu(tmp_path: Path) -> None:
    from dlstudio.tasks.text.sample import reviews

    frame = reviews()
    outcome, predictor = _train("text_sentiment", TrainingData(frame), {
        "data": {"target": "sentiment"}, "training": {"preset": "fast", "epochs": 5, "seed": 0}
    }, tmp_path)  # fmt: skip
    assert outcome.metrics["accuracy"] > 0.6
    assert predictor.predict(frame.head(10))["prediction"].notna().all()


def test_forecasting_trains_on_cuda_and_predicts_on_cpu(tmp_path: Path) -> None:
    from dlstudio.tasks.forecasting.sample import store_sales

    frame = store_sales()
    roles = get_template("forecasting").suggest_roles(frame)
    outcome, predictor = _train("forecasting", TrainingData(frame), {
        "data": {"target": roles["target"]},
        "options": {"time_column": roles["time"], "series_column": roles["series"]},
        "training": {"preset": "fast", "epochs": 5, "seed": 0},
    }, tmp_path)  # fmt: skip
    assert np.isfinite(outcome.metrics["mase"])
    assert len(predictor.predict(frame)) > 0


def test_images_train_on_cuda_channels_last_and_predict_on_cpu(tmp_path: Path) -> None:
    from dlstudio.data.image_source import ImageSource
    from dlstudio.tasks.images.sample import shapes_zip

    path = tmp_path / "shapes.zip"
    path.write_bytes(shapes_zip(per_class=30, size=24))
    data = TrainingData(pd.DataFrame(), images=ImageSource(path, "v", None))
    outcome, predictor = _train("image_classification", data, {
        "data": {"path": str(path)},
        "training": {"preset": "fast", "epochs": 8, "batch_size": 16, "seed": 0},
    }, tmp_path)  # fmt: skip
    assert outcome.metrics["accuracy"] > 0.6
    out = predictor.predict(outcome.input_example)
    assert out["problem"].eq("").all()
