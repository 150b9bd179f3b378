"""What a tabular run chose on validation, as the Results page words it: the models compared and
the decision threshold, read from the logged JSON."""

from __future__ import annotations

from dlstudio.tracking.queries.model_choice import read_candidates, read_decision
from dlstudio.views.model_choice import candidates_table, choice_note, decision_text

CLASSIFICATION = {
    "metric": "f1_macro",
    "higher_is_better": True,
    "chosen": "ensemble",
    "candidates": [
        {
            "key": "network",
            "name": "TabM network",
            "weights": None,
            "validation": {"f1_macro": 0.80},
            "test": {"accuracy": 0.81, "f1_macro": 0.79},
        },
        {
            "key": "hgb",
            "name": "HistGradientBoosting",
            "weights": None,
            "validation": {"f1_macro": 0.78},
            "test": {"accuracy": 0.80, "f1_macro": 0.77},
        },
        {
            "key": "ensemble",
            "name": "Ensemble",
            "weights": {"hgb": 0.4, "network": 0.6},
            "validation": {"f1_macro": 0.83},
            "test": {"accuracy": 0.82, "f1_macro": 0.80},
        },
    ],
}


def test_one_row_per_model_with_the_score_that_chose_and_the_test_scores() -> None:
    table = candidates_table(read_candidates(CLASSIFICATION))

    assert table.columns.tolist() == [
        "model", "validation F1 (macro)", "test Accuracy", "test F1 (macro)", "weights",
        "registered",
    ]  # fmt: skip
    assert table["model"].tolist() == ["TabM network", "HistGradientBoosting", "Ensemble"]
    assert table["validation F1 (macro)"].tolist() == [0.80, 0.78, 0.83]
    assert table["test F1 (macro)"].tolist() == [0.79, 0.77, 0.80]
    assert table["registered"].tolist() == [False, False, True]


def test_a_blend_names_its_models_by_share_largest_first() -> None:
    table = candidates_table(read_candidates(CLASSIFICATION))

    assert table["weights"].tolist() == ["", "", "TabM network 60%, HistGradientBoosting 40%"]


def test_a_missing_score_is_an_empty_cell_not_an_error() -> None:
    payload = {
        **CLASSIFICATION,
        "candidates": [{"key": "mlp", "name": "MLP", "test": {"rmse": None}}],
    }

    table = candidates_table(read_candidates(payload))

    assert table["validation F1 (macro)"].isna().all()
    assert "test rmse" not in table.columns


def test_the_note_says_validation_chose_and_which_way_is_better() -> None:
    regression = {**CLASSIFICATION, "metric": "rmse", "higher_is_better": False}

    assert choice_note(read_candidates(CLASSIFICATION)).startswith(
        "The model with the highest F1 (macro) on the validation rows was registered; the test "
        "rows played no part in that choice"
    )
    assert "with the lowest RMSE on the validation rows" in choice_note(read_candidates(regression))


def test_the_decision_line_gives_the_threshold_its_goal_and_both_validation_scores() -> None:
    decision = read_decision(
        {
            "positive_class": "Yes",
            "threshold": 0.37,
            "optimize": "f1_macro",
            "validation_score": 0.81,
            "untuned_validation_score": 0.78,
        }
    )

    assert decision_text(decision) == (
        "Decision threshold: the model answers **Yes** when its probability is at least 0.37 "
        "(not the usual 0.5), tuned for F1 (macro) on the validation rows: 0.810 there, against "
        "0.780 at 0.5. Predict and serving apply the same threshold."
    )


def test_a_class_name_is_shown_as_typed_never_as_a_link() -> None:
    decision = read_decision({"positive_class": "[win](http://evil)", "threshold": 0.5})

    assert r"**\[win\](http\://evil)**" in decision_text(decision)


def test_empty_or_older_artifacts_read_as_nothing() -> None:
    assert read_decision({}) is None
    assert read_candidates({}) is None
    assert read_candidates({"candidates": []}) is None
