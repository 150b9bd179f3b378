"""Reason codes: the three columns that push each row's prediction up or down the most, in
words ("Contract = Month-to-month raises the chance of Yes (+0.21)").

Shapley values by permutation sampling (captum's ``ShapleyValueSampling``) over the model's own
predict, raw columns in, not over the network alone: the registered model is often a blend of
the network with gradient boosting, and only a model-agnostic explainer is faithful to the blend.
Each row is compared with ``BACKGROUND_ROWS`` typical training rows (interventional SHAP:
a column's value replaces the typical one, in a random order of columns), so the values of a
row add up to how far its prediction is from the typical rows' mean. captum evaluates a
permutation step for every row at once, so 1,000 rows cost ``PERMUTATIONS x (columns + 1)``
large predict calls; SHAP's own permutation explainer gives the same values but walks the
rows one by one (bench/explain.py: 1,000 rows of telco-churn, TabM, 20.8 s against SHAP's
87.9 s for the same work).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dlstudio.errors import DLStudioError
from dlstudio.explain.columns import ColumnCodec

TOP = 3  # reason_1 .. reason_3
PERMUTATIONS = 2  # random orders of the columns; more steadies the order of close reasons
BACKGROUND_ROWS = 5  # the typical rows each row is compared with
CHUNK_ROWS = 40_000  # rows per predict call (explained rows x background rows x steps)


@dataclass(frozen=True)
class Reasons:
    """Per row: the SHAP value of each column for the explained output, and the words."""

    values: np.ndarray  # (rows, columns)
    columns: tuple[str, ...]
    text: pd.DataFrame  # reason_1 .. reason_3


def explain_rows(
    predict: Callable[[pd.DataFrame], pd.DataFrame],
    frame: pd.DataFrame,
    background: pd.DataFrame,
    *,
    top: int = TOP,
    seed: int = 0,
    permutations: int = PERMUTATIONS,
    background_rows: int = BACKGROUND_ROWS,
    predictions: pd.DataFrame | None = None,
) -> Reasons:
    """The reasons of each row of ``frame`` for what ``predict`` returns for it.

    ``predict`` maps raw rows to the model's prediction table: ``probability_<class>`` columns
    (a classifier: the predicted class's probability is explained) or a numeric ``prediction``
    (a regressor). ``background`` holds typical rows of the training data: a column "raises"
    a prediction when its value moves it above what the typical values give. ``predictions``:
    ``predict(frame)``, when the caller has it already.
    """
    import torch
    from captum.attr import ShapleyValueSampling

    columns = list(background.columns)
    sample = background.sample(min(len(background), background_rows), random_state=seed)
    codec = ColumnCodec.fit(sample, frame, columns=columns)
    labels, chosen = _explained_output(predict(frame) if predictions is None else predictions)
    k = len(sample)

    def model(encoded: torch.Tensor) -> torch.Tensor:
        table = predict(codec.decode(encoded.numpy()))
        return torch.tensor(_outputs(table, labels))

    explainer = ShapleyValueSampling(model)
    rows_per_call = max(1, CHUNK_ROWS // (k * (len(columns) + 1)))
    steps = max(1, min(len(columns) + 1, CHUNK_ROWS // (k * max(1, len(frame)))))
    encoded, typical = codec.encode(frame), codec.encode(sample)
    values = np.zeros((len(frame), len(columns)))
    torch.manual_seed(seed)  # captum draws the permutations from torch's generator
    for start in range(0, len(frame), rows_per_call):
        part = slice(start, start + rows_per_call)
        n = len(encoded[part])
        # each row k times, each copy against one typical row; averaged back per row
        inputs = torch.from_numpy(np.repeat(encoded[part], k, axis=0))
        baselines = torch.from_numpy(np.tile(typical, (n, 1)))
        target = None if labels is None else np.repeat(chosen[part], k).tolist()
        attributed = explainer.attribute(
            inputs, baselines=baselines, target=target, n_samples=permutations,
            perturbations_per_eval=steps,
        )  # fmt: skip
        values[part] = attributed.numpy().reshape(n, k, -1).mean(axis=1)
    text = _words(values, codec, encoded, labels, chosen, top)
    return Reasons(values, tuple(columns), text.set_axis(frame.index))


def require_background(predictor: object, name: str) -> pd.DataFrame:
    """The typical training rows ``predictor`` keeps for its reasons.

    Raises:
        DLStudioError: it keeps none (``name``: the model as the user knows it), with which
            models give reasons.
    """
    background = getattr(predictor, "background", None)
    if background is None:
        raise DLStudioError(
            f"{name} cannot explain its predictions: reason codes come with tabular "
            "classification and regression models trained by this version of dlstudio or later.",
            fix="Predict without explanations, or retrain the model (a table model) to get them.",
        )
    return background


def with_reasons(predictor: Any, frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """The predictor's table for ``frame`` followed by ``reason_1`` .. ``reason_3``.

    Raises:
        DLStudioError: the predictor gives no reasons (see ``require_background``).
    """
    background = require_background(predictor, name)
    predictions = predictor.predict(frame)
    if frame.empty:
        return predictions.assign(**{f"reason_{k + 1}": pd.Series(dtype=object) for k in range(TOP)})
    reasons = explain_rows(predictor.predict, frame, background, predictions=predictions)
    return pd.concat([predictions, reasons.text.set_axis(predictions.index)], axis=1)


def _explained_output(table: pd.DataFrame) -> tuple[list[str] | None, np.ndarray]:
    """The classes (None for a regressor) and, per row, the index of the explained class."""
    probability = [c for c in table.columns if c.startswith("probability_")]
    if probability:
        names = [c.removeprefix("probability_") for c in probability]
        predicted = table["prediction"].astype(str).to_numpy()
        index = {name: i for i, name in enumerate(names)}
        return names, np.array([index.get(p, 0) for p in predicted])
    if "prediction" in table and pd.api.types.is_numeric_dtype(table["prediction"]):
        return None, np.zeros(len(table), dtype=np.int64)
    raise DLStudioError(
        "This model's predictions cannot be explained column by column.",
        fix="Reason codes are given for tabular classification and regression models.",
    )


def _outputs(table: pd.DataFrame, labels: list[str] | None) -> np.ndarray:
    if labels is None:
        return table["prediction"].to_numpy(np.float64)
    return table[[f"probability_{label}" for label in labels]].to_numpy(np.float64)


def _words(
    values: np.ndarray, codec: ColumnCodec, data: np.ndarray, labels: list[str] | None,
    chosen: np.ndarray, top: int,
) -> pd.DataFrame:  # fmt: skip
    """"tenure = 2 raises the chance of Yes (+0.18)" for the ``top`` largest |values| per row."""
    rows = []
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :top]
    for i, picked in enumerate(order):
        what = f"the chance of {labels[chosen[i]]}" if labels else "the prediction"
        reasons = []
        for j in picked:
            if values[i, j] == 0:
                break  # the column's value is the typical one: it moves nothing
            verb = "raises" if values[i, j] > 0 else "lowers"
            reasons.append(f"{codec.columns[j]} = {codec.shown(j, data[i, j])} {verb} {what} "
                           f"({_amount(values[i, j])})")  # fmt: skip
        rows.append(reasons + [""] * (top - len(reasons)))
    return pd.DataFrame(rows, columns=[f"reason_{k + 1}" for k in range(top)])


def _amount(value: float) -> str:
    """A signed amount as people read it: "+0.18", "-3.5", "+22,700"."""
    return f"{value:+,.0f}" if abs(value) >= 100 else f"{value:+.3g}"
