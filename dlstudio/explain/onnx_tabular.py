"""ONNX plans of the tabular templates (classification and regression): the network in the
graph, from its numeric and categorical input arrays to probabilities (and the decided class)
or to values in the target's own units; the column preprocessing ships beside it as JSON.

The preprocessing stays outside the graph: it parses text (numbers, yes/no, dates), looks
categories up by their trimmed text and maps numbers through an inverse normal CDF, which ONNX
has no operator for. ``preprocessing.json`` holds it all, and the how-to runs it with dlstudio's
own ``TabularFeatures`` (the very code the registered model uses) or describes it in words.

A model that blends the network with scikit-learn members (HistGradientBoosting, logistic or
ridge regression) is refused: converting those members (skl2onnx) would add a converter whose
handling of HistGradientBoosting's native categories we cannot check here, so the export covers
what it can prove: the network alone, checked against the registered model's own predictions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from dlstudio.explain.onnx_plan import (
    ExportPlan,
    cannot_export,
    classification_outputs_text,
    decided_class,
    json_bytes,
    probability_columns,
)
from dlstudio.tasks.regression.template import CLASSICAL as REGRESSORS
from dlstudio.tasks.regression.template import RegressionPredictor
from dlstudio.tasks.tabular.features import TabularFeatures
from dlstudio.tasks.tabular.model import NETWORK_NAMES, BlendedModel, network_description
from dlstudio.tasks.tabular.template import CLASSICAL as CLASSIFIERS
from dlstudio.tasks.tabular.template import TabularPredictor

MEMBER_NAMES = {**CLASSIFIERS, **REGRESSORS}
ROWS_AXES = {"numeric": {0: "rows"}, "categorical": {0: "rows"}}


class ClassProbabilities(nn.Module):
    """(numeric, categorical) -> (probabilities, predicted_class), as the predictor decides."""

    def __init__(self, network: nn.Module, positive: int | None, threshold: float) -> None:
        super().__init__()
        self.network, self.positive, self.threshold = network.eval(), positive, threshold

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> tuple[torch.Tensor, ...]:
        proba = torch.softmax(self.network(numeric, categorical).float(), dim=1)
        return proba, decided_class(proba, self.positive, self.threshold)


class TargetValues(nn.Module):
    """(numeric, categorical) -> values in the target's units (float64, as the predictor)."""

    def __init__(self, network: nn.Module, log: bool, mean: float, std: float) -> None:
        super().__init__()
        self.network, self.log, self.mean, self.std = network.eval(), log, mean, std

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        y = self.network(numeric, categorical).float().reshape(-1).double() * self.std + self.mean
        # as TargetScale.inverse: capped before exp, so a wild extrapolation stays finite
        return torch.exp(torch.clamp(y, max=700.0)) - 1.0 if self.log else y


def classification_plan(predictor: TabularPredictor) -> ExportPlan:
    """The network's class probabilities and decided class; features beside as JSON."""
    network_only(predictor)
    rows = sample_rows(predictor)
    numeric, categorical = predictor.features.transform(rows)
    decision = predictor.decision
    kind = f"{_network_name(predictor)} (tabular classification)"
    classes = list(predictor.classes)
    outputs = classification_outputs_text(classes, decision.positive, decision.threshold)
    return ExportPlan(
        kind=kind,
        graph=ClassProbabilities(predictor.network, decision.positive, decision.threshold),
        inputs={"numeric": numeric, "categorical": categorical},
        dynamic_axes=ROWS_AXES,
        outputs=["probabilities", "predicted_class"],
        compared="probabilities",
        expected=probability_columns(predictor.predict(rows), classes),
        metadata={"classes": classes, "decision": decision.to_json()},
        beside={"preprocessing.json": _preprocessing(predictor, classes=classes)},
        howto=howto(kind, predictor.features, outputs, "probabilities, predicted_class"),
    )


def regression_plan(predictor: RegressionPredictor) -> ExportPlan:
    """The network's values in the target's units; features beside as JSON."""
    network_only(predictor)
    rows = sample_rows(predictor)
    numeric, categorical = predictor.features.transform(rows)
    scale = predictor.scale
    kind = f"{_network_name(predictor)} (tabular regression)"
    outputs = ("Output: `prediction` (float64, one value per row, in the target's own units; "
               "the target's scaling is undone inside the graph).")  # fmt: skip
    return ExportPlan(
        kind=kind,
        graph=TargetValues(predictor.network, scale.log, scale.mean, scale.std),
        inputs={"numeric": numeric, "categorical": categorical},
        dynamic_axes=ROWS_AXES,
        outputs=["prediction"],
        compared="prediction",
        expected=predictor.predict(rows)["prediction"].to_numpy(dtype=np.float64),
        relative=True,
        metadata={"target_scale": {"log": scale.log, "mean": scale.mean, "std": scale.std}},
        beside={"preprocessing.json": _preprocessing(predictor)},
        howto=howto(kind, predictor.features, outputs, "(prediction,)"),
    )


def network_only(predictor: BlendedModel) -> None:
    """Refuse a model whose prediction uses scikit-learn members, naming them."""
    members = {k: w for k, w in predictor.weights.items() if k != "network" and w > 0}
    if not members:
        return
    named = ", ".join(f"{MEMBER_NAMES.get(k, k)} (weight {w:.2f})" for k, w in members.items())
    network_weight = predictor.weights.get("network", 0.0)
    what = (f"this model mixes the network (weight {network_weight:.2f}) with {named}"
            if network_weight > 0 else f"this model is {named} alone, not the network")  # fmt: skip
    raise cannot_export(
        "The scikit-learn part of this tabular model",
        f"{what}, and only the network has an ONNX form that dlstudio checks against the "
        "model's own predictions",
        "retrain so that the network alone is registered (options.ensemble: false, or the "
        "fast or balanced preset), then export that version",
    )


def sample_rows(predictor: BlendedModel) -> pd.DataFrame:
    """Rows to check the graph on: the typical training rows saved with the model, or (a model
    saved before they were) one row of medians and known levels plus one of missing values."""
    if predictor.background is not None and len(predictor.background):
        return predictor.background
    features = predictor.features
    typical = {f.column: f.median for f in features.numeric if f.convert == "numeric"}
    typical |= {f.column: (f.levels[0] if f.levels else None) for f in features.categorical}
    frame = pd.DataFrame([typical, dict.fromkeys(typical)])
    for column in features.input_columns:
        if column not in frame:
            frame[column] = None
    return frame


def _network_name(predictor: BlendedModel) -> str:
    return NETWORK_NAMES[network_description(predictor.network)["kind"]]


def _preprocessing(predictor: BlendedModel, **extra: object) -> bytes:
    features = predictor.features
    return json_bytes({
        "input_columns": features.input_columns, "features": features.to_json(), **extra,
    })  # fmt: skip


def howto(kind: str, features: TabularFeatures, outputs: str, names: str) -> str:
    """README.md of a tabular export: from raw columns to the graph's outputs."""
    columns = ", ".join(f"`{c}`" for c in features.input_columns)
    return f"""# {kind}, exported to ONNX

`$model` is the network; `$preprocessing` turns raw table columns into its two inputs.

Inputs: `numeric` (float32, rows x {features.n_numeric_inputs}) and `categorical` (int64,
rows x {len(features.categorical)}). The raw columns read are {columns}. A graph lists
only the inputs its network uses: feed those that `session.get_inputs()` names.
{outputs}

## Run it (Python; `pip install dlstudio onnxruntime`)

```python
import json
import onnxruntime as ort
import pandas as pd
from dlstudio.tasks.tabular.features import TabularFeatures

with open("$preprocessing", encoding="utf-8") as file:
    features = TabularFeatures.from_json(json.load(file)["features"])
rows = pd.read_csv("new_rows.csv")  # the raw columns, as for `dlstudio predict`
numeric, categorical = features.transform(rows)  # the model's own preprocessing
session = ort.InferenceSession("$model")
arrays = {{"numeric": numeric, "categorical": categorical}}
feeds = {{i.name: arrays[i.name] for i in session.get_inputs()}}
{names} = session.run(None, feeds)
```

## The preprocessing in words (for another language)

`features.numeric` lists the float columns of `numeric`, in order. For each: read the column
as a number (`convert` "numeric"), as 1/0 for yes/no values ("boolean"), or as one part of a
date ("date:month" ...; parsed with `date_format`). A missing value becomes `median`. Then
the value becomes its normal score when `quantiles` is given: its rank r in the quantiles
(linear interpolation, ties take the middle of their range), then the inverse normal CDF of r
clipped to [1e-7, 1 - 1e-7], clipped to [-5.2, 5.2]; else (value - `mean`) / `std` clipped to
[-10, 10]. When `missing_indicator` is true, one more column follows it: 1.0 where the value
was missing, else 0.0.

`features.categorical` lists the int64 columns of `categorical`, in order: the value as text
with spaces trimmed; 0 when it is missing or empty, 2 + its position in `levels` when it is
listed there, else 1 (unseen or rare).
"""
