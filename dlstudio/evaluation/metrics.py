"""Classification metrics (sklearn), the same for our model and for every baseline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn import metrics as skm


@dataclass(frozen=True)
class Decision:
    """How probabilities become a class: the most probable one, or, for two classes, the
    ``positive`` class whenever its probability reaches ``threshold`` (tuned on validation)."""

    positive: int | None = None  # class index; None: the most probable class
    threshold: float = 0.5

    def classes(self, proba: np.ndarray) -> np.ndarray:
        if self.positive is None or proba.shape[1] != 2:
            return proba.argmax(axis=1)
        return np.where(proba[:, self.positive] >= self.threshold, self.positive, 1 - self.positive)

    def to_json(self) -> dict:
        return {"positive": self.positive, "threshold": self.threshold}

    @classmethod
    def from_json(cls, raw: dict | None) -> Decision:
        return cls(**raw) if raw else cls()


def classification_metrics(
    y_true: np.ndarray,
    proba: np.ndarray,
    *,
    n_classes: int,
    decision: Decision | None = None,
    predicted: np.ndarray | None = None,
) -> dict[str, float]:
    """accuracy, macro precision/recall/F1, weighted F1, and ROC-AUC when there are two classes.

    ``y_true`` holds class indices 0..n_classes-1; ``proba`` is (rows, n_classes); ``decision``
    turns the probabilities into classes (default: the most probable), unless the classes are
    given as ``predicted`` (a saved model's own decisions).
    """
    y_pred = predicted if predicted is not None else (decision or Decision()).classes(proba)
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    # From one confusion matrix, as scikit-learn's scores with labels=0..n-1 and
    # zero_division=0 (a test holds them equal); its five calls cost ~50 ms on 2k rows, which
    # every epoch's validation paid.
    counts = np.bincount(y_true * n_classes + y_pred, minlength=n_classes**2)
    counts = counts.reshape(n_classes, n_classes)
    hits, predicted_as, actual = np.diag(counts), counts.sum(axis=0), counts.sum(axis=1)
    f1 = _share(2 * hits, predicted_as + actual)
    scores = {
        "accuracy": _share(hits.sum(), len(y_true)),
        "f1_macro": f1.mean(),
        "precision_macro": _share(hits, predicted_as).mean(),
        "recall_macro": _share(hits, actual).mean(),
        "f1_weighted": _share((f1 * actual).sum(), actual.sum()),
    }
    if n_classes == 2 and len(np.unique(y_true)) == 2:
        scores["roc_auc"] = skm.roc_auc_score(y_true, proba[:, 1])
    return {name: float(value) for name, value in scores.items()}


def _share(part: np.ndarray | int, whole: np.ndarray | int) -> np.ndarray:
    """part / whole, 0 where whole is 0."""
    part, whole = np.asarray(part, dtype=np.float64), np.asarray(whole, dtype=np.float64)
    return np.divide(part, whole, out=np.zeros_like(part), where=whole > 0)


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """rmse, mae, r2 and mape (mean absolute percentage error, as a fraction, over the rows
    whose true value is not 0: a percentage of 0 is undefined)."""
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    nonzero = np.abs(y_true) > 1e-12
    mape = (
        float(np.mean(np.abs((y_true - y_pred)[nonzero] / y_true[nonzero])))
        if nonzero.any()
        else float("nan")
    )
    return {
        "rmse": float(np.sqrt(skm.mean_squared_error(y_true, y_pred))),
        "mae": float(skm.mean_absolute_error(y_true, y_pred)),
        "r2": float(skm.r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan"),
        "mape": mape,
    }


def confusion(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]) -> dict:
    """``confusion_matrix.json``: labels and counts (rows = true class, columns = predicted)."""
    counts = skm.confusion_matrix(y_true, y_pred, labels=list(range(len(class_names))))
    return {"labels": list(class_names), "matrix": counts.tolist()}


def per_class_report(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]) -> dict:
    """``classification_report.json``: precision, recall, F1 and support per class."""
    return skm.classification_report(
        y_true,
        y_pred,
        labels=list(range(len(class_names))),
        target_names=[str(name) for name in class_names],
        output_dict=True,
        zero_division=0,
    )


Result = Literal["wins", "ties", "loses"]
# A gap smaller than this share of the classical model's score (and at least 0.001) is a tie: on
# the few hundred test rows of a typical run, smaller gaps are noise, and every page rounds scores
# to 3 decimals, where "+0.000" in green would claim a win nobody can see.
TIE_SHARE = 0.005


def against(ours: float, theirs: float, *, higher_is_better: bool) -> Result:
    """Whether ``ours`` wins, ties or loses against ``theirs`` (see ``TIE_SHARE``)."""
    gap = (ours - theirs) if higher_is_better else (theirs - ours)
    if abs(gap) <= max(0.001, TIE_SHARE * abs(theirs)):
        return "ties"
    return "wins" if gap > 0 else "loses"


@dataclass(frozen=True)
class Verdict:
    """Does the deep model beat the strongest classical model on the primary metric?"""

    metric: str
    ours: float
    baseline: float
    baseline_name: str
    higher_is_better: bool = True

    @property
    def result(self) -> Result:
        return against(self.ours, self.baseline, higher_is_better=self.higher_is_better)

    @property
    def beats_baseline(self) -> bool:
        """Only a clear win: a tie is not one."""
        return self.result == "wins"

    def __str__(self) -> str:
        scores = f"{self.metric} {self.ours:.3f} vs {self.baseline:.3f}"
        if self.result == "wins":
            gap = abs(self.ours - self.baseline)
            return (
                f"Beats the best classical model ({self.baseline_name}) by {gap:.3f} "
                f"{self.metric} ({scores.removeprefix(self.metric + ' ')})."
            )
        if self.result == "ties":
            return (
                f"Ties with the best classical model ({self.baseline_name}): {scores}. The "
                "simpler model is as good here, and cheaper to run."
            )
        return (
            f"Does not beat the best classical model ({self.baseline_name}): {scores}. The "
            "simpler model is better here."
        )
