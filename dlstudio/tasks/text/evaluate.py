"""The text template's classical baseline and its list of mistakes."""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from dlstudio.evaluation.metrics import classification_metrics
from dlstudio.tasks.base import BaselineResult
from dlstudio.tasks.classification import Splits, full_proba

MISTAKES_SHOWN = 20


def tfidf_baseline(texts: dict[str, list[str]], splits: Splits, *, seed: int) -> BaselineResult:
    """TF-IDF of word 1-2 grams + logistic regression, fitted on train+val, scored on test."""
    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
        LogisticRegression(max_iter=2000, random_state=seed),
    )
    y = np.concatenate([splits.y_train, splits.y_val])
    model.fit(texts["train"] + texts["val"], y)
    proba = full_proba(model.predict_proba(texts["test"]), model.classes_, len(splits.classes))
    metrics = classification_metrics(splits.y_test, proba, n_classes=len(splits.classes))
    return BaselineResult("TF-IDF + logistic regression", "tfidf", metrics)


def mistakes(texts: list[str], splits: Splits, proba: np.ndarray) -> list[dict]:
    """The test texts the model got wrong with the most confidence: text, true, predicted, p."""
    predicted = proba.argmax(axis=1)
    wrong = np.flatnonzero(predicted != splits.y_test)
    order = wrong[np.argsort(-proba[wrong, predicted[wrong]], kind="stable")][:MISTAKES_SHOWN]
    names = [str(label) for label in splits.classes]
    return [
        {"text": texts[i], "true": names[splits.y_test[i]], "predicted": names[predicted[i]],
         "probability": round(float(proba[i, predicted[i]]), 4)}
        for i in order
    ]  # fmt: skip
