"""The words and the table the Results page shows for what a tabular run chose on its validation
rows: the models it compared and, with two classes, its decision threshold. No streamlit here."""

from __future__ import annotations

import pandas as pd

from dlstudio.tracking.queries import Candidate, Decision, ModelCandidates
from dlstudio.tracking.queries.details import CARD_METRICS
from dlstudio.views.text import escape_markdown

INNER_BACKTEST = "inner backtest"  # forecasting's candidates.json says so in ``chosen_on``
METRIC_NAMES = {
    **CARD_METRICS,
    "coverage80": "80% interval coverage",
    "pinball": "pinball loss",
    "f1_weighted": "F1 (weighted)",
    "roc_auc": "ROC AUC",
    "f1_positive": "F1 of the positive class",
    "recall": "recall of the positive class",
}


def metric_name(metric: str) -> str:
    """A metric as users read it: ``f1_macro`` -> ``F1 (macro)``."""
    return METRIC_NAMES.get(metric, metric)


def decision_text(decision: Decision) -> str:
    """One line: the threshold for the positive class, what it was tuned for, the validation
    score tuned against at 0.5, and that Predict and serving apply it. Markdown-escaped."""
    positive = escape_markdown(decision.positive_class)
    metric = escape_markdown(metric_name(decision.optimize))
    line = (
        f"Decision threshold: the model answers **{positive}** when its probability is at least "
        f"{decision.threshold:.3g} (not the usual 0.5), tuned for {metric} on the validation rows"
    )
    tuned, untuned = decision.validation_score, decision.untuned_validation_score
    if tuned is not None and untuned is not None:
        line += f": {tuned:.3f} there, against {untuned:.3f} at 0.5"
    return f"{line}. Predict and serving apply the same threshold."


def choice_note(choice: ModelCandidates) -> str:
    """The one sentence that says how the registered model was chosen. Markdown-escaped."""
    if choice.chosen_on == INNER_BACKTEST:
        return (
            "The registered forecast blends the models below. Their weights come from the inner "
            "backtest, origins inside the training part: the statistical models are weighed "
            "against each other from up to 40 origins per series, then the network against "
            "their blend on its validation origins (the MASE shown). The test origins played "
            "no part in the weights; they only report how each model forecasts new data."
        )
    direction = "highest" if choice.higher_is_better else "lowest"
    metric = escape_markdown(metric_name(choice.metric))
    return (
        f"The model with the {direction} {metric} on the validation rows was registered; the "
        "test rows played no part in that choice and only report how each model does on new rows."
    )


def candidates_table(choice: ModelCandidates) -> pd.DataFrame:
    """One row per model compared: its validation score (the one that chose), its test scores,
    a blend's weights as text, and whether it is the registered one."""
    tested = list(dict.fromkeys(metric for c in choice.candidates for metric in c.test))
    where = "inner-backtest" if choice.chosen_on == INNER_BACKTEST else "validation"
    chooser = f"{where} {metric_name(choice.metric)}"
    rows = [
        {
            "model": candidate.name,
            chooser: candidate.validation.get(choice.metric),
            **{f"test {metric_name(m)}": candidate.test.get(m) for m in tested},
            "weights": weights_text(candidate, choice),
            "registered": candidate.key == choice.chosen,
        }
        for candidate in choice.candidates
    ]
    columns = ["model", chooser, *(f"test {metric_name(m)}" for m in tested)]
    return pd.DataFrame(rows, columns=[*columns, "weights", "registered"])


def weights_text(candidate: Candidate, choice: ModelCandidates) -> str:
    """A blend's share of each model, largest first: "TabM network 60%, HistGradientBoosting
    40%"; empty for a single model."""
    if not candidate.weights:
        return ""
    shares = sorted(candidate.weights.items(), key=lambda item: -item[1])
    return ", ".join(f"{choice.name_of(key)} {share:.0%}" for key, share in shares)
