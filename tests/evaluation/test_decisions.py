"""Decision thresholds tuned on validation rows, and greedy ensemble selection."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from dlstudio.evaluation.ensemble import (
    log_loss,
    macro_f1,
    select_weights,
    squared_error,
    win_share,
)
from dlstudio.evaluation.metrics import Decision, classification_metrics, regression_metrics
from dlstudio.evaluation.thresholds import _scores_at, tune_threshold


def _rare_positive(seed: int = 0, n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Class 1 is rare and its probabilities are shy: argmax misses most of it."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.15).astype(int)
    p1 = np.clip(0.1 + 0.3 * y + rng.normal(0, 0.1, n), 0.001, 0.999)
    return y, np.column_stack([1 - p1, p1])


def test_a_tuned_threshold_beats_argmax_on_macro_f1_and_carries_to_new_rows() -> None:
    y_val, proba_val = _rare_positive(0)
    y_test, proba_test = _rare_positive(1)

    decision = tune_threshold(y_val, proba_val, positive=1)

    def f1(d: Decision) -> float:
        return classification_metrics(y_test, proba_test, n_classes=2, decision=d)["f1_macro"]

    assert decision.positive == 1 and decision.threshold < 0.4
    assert f1(decision) > f1(Decision()) + 0.1


def test_a_target_recall_is_reached_with_a_threshold_just_low_enough() -> None:
    y, proba = _rare_positive(0)
    decision = tune_threshold(y, proba, positive=1, objective="recall", target_recall=0.9)
    caught = (proba[y == 1, 1] >= decision.threshold).mean()
    assert caught >= 0.9
    # not a trivial "everything is positive": a little higher and the recall is missed
    assert (proba[y == 1, 1] >= decision.threshold + 0.05).mean() < 0.9


@pytest.mark.parametrize(
    "truth",
    [
        np.array([0, 1, 1, 0, 1, 0, 0, 1, 1, 1]),
        np.ones(6, dtype=int),  # one class only: sklearn averages over the labels present
        np.zeros(6, dtype=int),
    ],
)
def test_all_thresholds_at_once_score_as_scikit_learn_does_one_at_a_time(truth) -> None:
    rng = np.random.default_rng(3)
    scores = np.round(rng.random(len(truth)), 1)  # ties between rows and thresholds
    thresholds = np.array([-0.1, 0.0, 0.2, 0.5, 0.55, 0.9, 1.0, 1.1])
    is_positive = truth == 1
    expected = {
        "f1_macro": lambda p: skm.f1_score(is_positive, p, average="macro", zero_division=0),
        "f1_positive": lambda p: skm.f1_score(is_positive, p, zero_division=0),
        "accuracy": lambda p: skm.accuracy_score(is_positive, p),
    }
    for objective, score in expected.items():
        want = [score(scores >= t) for t in thresholds]
        got = _scores_at(is_positive, scores, thresholds, objective)
        np.testing.assert_allclose(got, want, err_msg=objective)


def test_decision_rules_round_trip_and_default_to_argmax() -> None:
    proba = np.array([[0.7, 0.3], [0.4, 0.6]])
    assert Decision().classes(proba).tolist() == [0, 1]
    rule = Decision.from_json(Decision(1, 0.25).to_json())
    assert rule.classes(proba).tolist() == [1, 1]
    assert Decision.from_json(None) == Decision()


def test_greedy_selection_prefers_the_better_model_and_mixes_complementary_ones() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=500)
    good = y + rng.normal(0, 0.3, 500)
    bad = y + rng.normal(0, 3.0, 500)
    assert select_weights([bad, good], squared_error(y))[1] == pytest.approx(1.0)

    noise = rng.normal(0, 1.0, 500)
    a, b = y + noise, y - noise  # errors cancel: half and half is exact
    weights = select_weights([a, b], squared_error(y))
    assert weights == pytest.approx([0.52, 0.48], abs=0.05)


def test_log_loss_is_the_mean_negative_log_probability_of_the_truth() -> None:
    proba = np.array([[0.8, 0.2], [0.25, 0.75]])
    assert log_loss(np.array([0, 1]))(proba) == pytest.approx(-(np.log(0.8) + np.log(0.75)) / 2)


def test_regression_metrics() -> None:
    scores = regression_metrics(np.array([1.0, 2.0, 0.0, 4.0]), np.array([1.0, 3.0, 1.0, 2.0]))
    assert scores["rmse"] == pytest.approx(np.sqrt((0 + 1 + 1 + 4) / 4))
    assert scores["mae"] == pytest.approx(1.0)
    assert scores["mape"] == pytest.approx((0 + 0.5 + 0.5) / 3)  # the row whose truth is 0 is left out
    assert scores["r2"] < 1


def test_log_loss_weighs_rows_by_their_class_weight() -> None:
    proba = np.array([[0.8, 0.2], [0.25, 0.75]])
    weighted = log_loss(np.array([0, 1]), np.array([1.0, 3.0]))(proba)
    assert weighted == pytest.approx(-(np.log(0.8) + 3 * np.log(0.75)) / 4)


def test_fast_macro_f1_matches_sklearn() -> None:
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    p[p == 3] = 2  # a class never predicted counts 0
    expected = f1_score(y, p, labels=[0, 1, 2, 3], average="macro", zero_division=0)
    assert macro_f1(y, p, 4) == pytest.approx(expected)


def test_win_share_separates_a_clear_win_from_a_coin_flip() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    better = np.where(rng.random(400) < 0.9, y, 1 - y)  # right 90% of the time
    worse = np.where(rng.random(400) < 0.7, y, 1 - y)
    twin = np.where(rng.random(400) < 0.7, y, 1 - y)

    def accuracy(predicted):
        return lambda rows: float((predicted[rows] == y[rows]).mean())

    assert win_share(accuracy(better), accuracy(worse), 400) == 1.0
    assert 0.1 < win_share(accuracy(twin), accuracy(worse), 400) < 0.9


@pytest.mark.parametrize("n_classes", [2, 4])
def test_classification_scores_equal_scikit_learns(n_classes) -> None:
    rng = np.random.default_rng(n_classes)
    truth = rng.integers(0, n_classes - 1, 300)  # the last class never occurs...
    proba = rng.dirichlet(np.ones(n_classes), 300)
    predicted = proba.argmax(axis=1)  # ...but may be predicted
    labels = list(range(n_classes))
    want = {
        "accuracy": skm.accuracy_score(truth, predicted),
        "f1_macro": skm.f1_score(truth, predicted, labels=labels, average="macro", zero_division=0),
        "precision_macro": skm.precision_score(
            truth, predicted, labels=labels, average="macro", zero_division=0
        ),
        "recall_macro": skm.recall_score(
            truth, predicted, labels=labels, average="macro", zero_division=0
        ),
        "f1_weighted": skm.f1_score(
            truth, predicted, labels=labels, average="weighted", zero_division=0
        ),
    }
    got = classification_metrics(truth, proba, n_classes=n_classes)
    for name, value in want.items():
        assert got[name] == pytest.approx(value), name
    assert ("roc_auc" in got) == (n_classes == 2 and len(np.unique(truth)) == 2)
