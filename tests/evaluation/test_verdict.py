"""The verdict: ours against the strongest classical model, green only on a clear win."""

from __future__ import annotations

import pytest

from dlstudio.evaluation.metrics import Verdict, against


@pytest.mark.parametrize(
    ("ours", "theirs", "higher_is_better", "expected"),
    [
        (0.906, 0.824, True, "wins"),
        (1.000, 1.000, True, "ties"),  # the text sample before issue 22: "+0.000" in green
        (0.9004, 0.9000, True, "ties"),  # shown as 0.900 vs 0.900
        (0.800, 0.830, True, "loses"),
        (0.910, 0.539, False, "loses"),  # a forecast's MASE above Holt-Winters' (issue 22)
        (0.500, 0.539, False, "wins"),
        (0.5375, 0.539, False, "ties"),  # within 0.5% of the classical model's MASE
        (210.0, 200.0, False, "loses"),  # an error in units: the band scales with it
        (200.9, 200.0, False, "ties"),
    ],
)
def test_ours_wins_ties_or_loses(ours, theirs, higher_is_better, expected) -> None:
    assert against(ours, theirs, higher_is_better=higher_is_better) == expected


def test_the_verdict_names_the_winner_in_each_case() -> None:
    wins = Verdict("f1_macro", 0.906, 0.824, "TF-IDF + logistic regression")
    assert wins.beats_baseline
    assert str(wins).startswith("Beats the best classical model (TF-IDF + logistic regression)")
    tie = Verdict("f1_macro", 1.0, 1.0, "TF-IDF + logistic regression")
    assert not tie.beats_baseline
    assert str(tie).startswith("Ties with the best classical model")
    assert "as good here" in str(tie)
    loses = Verdict("mase", 0.910, 0.539, "Holt-Winters", higher_is_better=False)
    assert not loses.beats_baseline
    assert str(loses) == (
        "Does not beat the best classical model (Holt-Winters): mase 0.910 vs 0.539. The "
        "simpler model is better here."
    )
