"""A saved text model, loaded from its folder alone: a text column in; ``prediction`` and
``probability_<class>`` out, whichever family trained it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from dlstudio.nn.persist import MODEL_FILE, load_network
from dlstudio.nn.text import TextModelConfig, build_text_model
from dlstudio.tasks.classification import predict_proba, prediction_table
from dlstudio.tasks.text.encoding import clip_text
from dlstudio.tasks.text.hub import load_hub
from dlstudio.tasks.text.model import load_minilm_inputs, load_scratch_inputs
from dlstudio.training.device import DeviceChoice


class TextPredictor:
    """A text column in; ``prediction`` and ``probability_<class>`` out."""

    def __init__(
        self, model: nn.Module, inputs: Any, column: str, classes: list, max_length: int
    ) -> None:
        self.model, self.inputs, self.column, self.classes = model.eval(), inputs, column, classes
        self.max_length = max_length
        self.device = DeviceChoice(torch.device("cpu"), None)

    @classmethod
    def load(cls, model_dir: Path) -> TextPredictor:
        """The model saved in ``model_dir`` (its folder only: no package, no network)."""
        description = json.loads((model_dir / MODEL_FILE).read_text(encoding="utf-8"))
        family = description.get("family", "scratch")  # models saved before backbones existed
        model, inputs = LOADERS[family](model_dir, description)
        max_length = description.get("max_length") or description["encoder"]["max_length"]
        return cls(model, inputs, description["text_column"], description["classes"], max_length)

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return prediction_table(None, self.classes, frame.index)
        texts = cut_texts(frame, self.column, self.max_length)
        data, _ = self.inputs.tensors(texts, np.zeros(len(texts), dtype=np.int64))
        proba = predict_proba(self.model, data, self.device, batch_size=self.inputs.batch_size)
        return prediction_table(proba, self.classes, frame.index)


def cut_texts(frame: pd.DataFrame, column: str, max_length: int) -> list[str]:
    """The column's texts, each cut to the part the model reads (a cell may hold megabytes)."""
    return [clip_text(text, max_length) for text in frame[column].fillna("").astype(str)]


def _network(model_dir: Path) -> nn.Module:
    model, _ = load_network(model_dir, lambda c: build_text_model(TextModelConfig.from_dict(c)))
    return model


LOADERS: dict[str, Callable[[Path, dict[str, Any]], tuple[nn.Module, Any]]] = {
    "scratch": lambda folder, raw: (_network(folder), load_scratch_inputs(raw, folder)),
    "minilm": lambda folder, raw: (_network(folder), load_minilm_inputs(raw, folder)),
    "hub": load_hub,
}
