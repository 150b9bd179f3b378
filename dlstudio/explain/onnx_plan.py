"""What an ONNX export of one model needs, whatever its template: the graph to trace, sample
inputs with the model's own outputs to check it against, and the files that ship beside it.

Each template's part (``onnx_tabular``, ``onnx_text``, ``onnx_images``) builds an ``ExportPlan``
from a loaded predictor; ``onnx_export`` traces it, checks it with onnxruntime and writes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from dlstudio.errors import DLStudioError

KEEP_USING = (
    "the registered model itself is unchanged: keep using it with `dlstudio predict`, the "
    "Predict page or `mlflow models serve`"
)


@dataclass
class ExportPlan:
    """One model, ready to trace: ``graph(*inputs)`` returns ``outputs`` in order."""

    kind: str  # in words, for messages and the how-to: "TabM network (tabular classification)"
    graph: nn.Module
    inputs: dict[str, np.ndarray]  # name -> sample values (traced with, and checked on)
    dynamic_axes: dict[str, dict[int, str]]
    outputs: list[str]
    compared: str  # the output checked against ``expected``
    expected: np.ndarray  # the registered model's own prediction for the sample inputs
    relative: bool = False  # values (regression): compare differences relative to |value|, >= 1
    metadata: dict[str, Any] = field(default_factory=dict)  # stored in the .onnx, as JSON text
    beside: dict[str, bytes] = field(default_factory=dict)  # file name -> bytes, shipped beside
    howto: str = ""  # README.md: the exact steps from raw input to the graph's outputs

    def example_tensors(self) -> tuple[torch.Tensor, ...]:
        return tuple(torch.from_numpy(np.ascontiguousarray(v)) for v in self.inputs.values())


def json_bytes(value: Any) -> bytes:
    """``value`` as indented UTF-8 JSON (preprocessing files are read by people too)."""
    return json.dumps(value, indent=1, ensure_ascii=False).encode("utf-8")


def cannot_export(part: str, why: str, fix: str) -> DLStudioError:
    """The refusal for a model (or a part of it) that ONNX cannot express as it is."""
    return DLStudioError(f"{part} cannot be exported to ONNX: {why}. Nothing was written.",
                         fix=f"{fix}; {KEEP_USING}")  # fmt: skip


def probability_columns(table: Any, classes: list) -> np.ndarray:
    """The ``probability_<class>`` columns of a prediction table, in class order."""
    return table[[f"probability_{label}" for label in classes]].to_numpy(dtype=np.float64)


def decided_class(proba: torch.Tensor, positive: int | None, threshold: float) -> torch.Tensor:
    """The class index the model predicts: the tuned two-class rule when it has one (the
    positive class whenever its probability reaches the threshold), else the most probable."""
    if positive is None or proba.shape[1] != 2:
        return proba.argmax(dim=1)
    chosen = torch.full_like(proba[:, 0], positive, dtype=torch.int64)
    return torch.where(proba[:, positive] >= threshold, chosen, 1 - chosen)


def classification_outputs_text(classes: list, positive: int | None, threshold: float) -> str:
    """The how-to's paragraph on ``probabilities`` and ``predicted_class``."""
    names = ", ".join(f"{i}: {label!r}" for i, label in enumerate(classes))
    rule = "the most probable class"
    if positive is not None and len(classes) == 2:
        rule = (f"class {positive} ({classes[positive]!r}) whenever its probability is at least "
                f"{threshold:.4f} (the threshold tuned on the validation rows), else the other")  # fmt: skip
    return (
        "Outputs: `probabilities` (float32, one column per class, in this order: "
        f"{names}) and `predicted_class` (int64, the index of the predicted class: {rule})."
    )
