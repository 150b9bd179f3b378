"""Permutation importance on the test rows: how much the run's primary metric worsens when one
column's values are shuffled (scikit-learn's ``permutation_importance`` over the model's own
predict, so a blend of network and gradient boosting is measured as it is registered)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

IMPORTANCE_FILE = "importance.json"  # logged on the run; the Results page draws it
REPEATS = 3
MAX_ROWS = 1000  # more rows barely steady the ranking and cost one predict per column and repeat


def permutation_importance(
    predict: Callable[[pd.DataFrame], pd.DataFrame],
    frame: pd.DataFrame,
    y: np.ndarray | pd.Series,
    *,
    metric: str,
    seed: int = 0,
) -> dict[str, Any]:
    """``importance.json``: per input column of ``frame``, the mean and spread over
    ``REPEATS`` shuffles of how much ``metric`` (``f1_macro``: higher is better, ``rmse``:
    lower is better) worsens; the most important first."""
    from sklearn.inspection import permutation_importance as sklearn_importance

    y = np.asarray(y)
    if len(frame) > MAX_ROWS:
        rows = np.random.default_rng(seed).choice(len(frame), MAX_ROWS, replace=False)
        frame, y = frame.iloc[rows], y[rows]
    score = _SCORERS[metric]
    result = sklearn_importance(
        _Predictor(predict), frame, y, scoring=score, n_repeats=REPEATS,
        random_state=seed,
    )  # fmt: skip
    # scikit-learn's importance is the drop of a score where higher is better (-rmse here), so
    # it is how much the metric worsens in either direction
    rows = [
        {"column": column, "worsens_by": float(mean), "spread": float(std)}
        for column, mean, std in zip(
            frame.columns, result.importances_mean, result.importances_std, strict=True
        )
    ]
    rows.sort(key=lambda row: -row["worsens_by"])
    return {"metric": metric, "rows": len(frame), "repeats": REPEATS, "columns": rows}


class _Predictor:
    """What scikit-learn's importance needs of an estimator: nothing but to be passed to the
    scorer (``predict`` is the model's raw-rows predict)."""

    def __init__(self, predict: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
        self.predict_table = predict

    def fit(self, *args: Any) -> _Predictor:  # scikit-learn checks it exists; never called
        return self


def _f1_macro(model: _Predictor, frame: pd.DataFrame, y: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    predicted = model.predict_table(frame)["prediction"].astype(str).to_numpy()
    return float(f1_score(y.astype(str), predicted, average="macro"))


def _neg_rmse(model: _Predictor, frame: pd.DataFrame, y: np.ndarray) -> float:
    predicted = model.predict_table(frame)["prediction"].to_numpy(np.float64)
    return -float(np.sqrt(np.mean((np.asarray(y, np.float64) - predicted) ** 2)))


_SCORERS = {"f1_macro": _f1_macro, "rmse": _neg_rmse}
