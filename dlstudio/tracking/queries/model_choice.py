"""What a tabular run chose on its validation rows, read back from its artifacts: the models it
compared (``candidates.json``) and, with two classes, the decision threshold it tuned
(``decision.json``). Runs logged before these artifacts existed have neither."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Decision:
    """The probability of the positive class above which a two-class model answers it."""

    positive_class: str
    threshold: float
    optimize: str  # the validation metric the threshold was tuned for
    validation_score: float | None  # that metric on the validation rows at ``threshold``
    untuned_validation_score: float | None  # ... and at the usual 0.5


@dataclass(frozen=True)
class Candidate:
    """One model the run trained and scored: the network, a classical model or their blend."""

    key: str
    name: str
    weights: dict[str, float] | None  # a blend's share per candidate key; None for one model
    validation: dict[str, float]
    test: dict[str, float]


@dataclass(frozen=True)
class ModelCandidates:
    """The models compared on the same rows, and the one registered (best on validation)."""

    metric: str  # the validation metric that chose
    higher_is_better: bool
    chosen: str  # a candidate's key
    candidates: list[Candidate]
    chosen_on: str = "validation rows"  # what the validation scores were measured on

    def name_of(self, key: str) -> str:
        """The display name of the candidate ``key`` (the key itself when none is listed)."""
        return next((c.name for c in self.candidates if c.key == key), key)


def read_decision(payload: dict[str, Any]) -> Decision | None:
    """``decision.json`` as logged; None when it names no threshold."""
    if payload.get("threshold") is None:
        return None
    return Decision(
        positive_class=str(payload.get("positive_class", "")),
        threshold=float(payload["threshold"]),
        optimize=str(payload.get("optimize", "")),
        validation_score=_number(payload.get("validation_score")),
        untuned_validation_score=_number(payload.get("untuned_validation_score")),
    )


def read_candidates(payload: dict[str, Any]) -> ModelCandidates | None:
    """``candidates.json`` as logged; None when it lists no candidate."""
    rows = payload.get("candidates") or []
    if not rows:
        return None
    return ModelCandidates(
        metric=str(payload.get("metric", "")),
        higher_is_better=bool(payload.get("higher_is_better", True)),
        chosen=str(payload.get("chosen", "")),
        chosen_on=str(payload.get("chosen_on") or "validation rows"),
        candidates=[
            Candidate(
                key=str(row.get("key", "")),
                name=str(row.get("name") or row.get("key", "")),
                weights=_scores(row["weights"]) if row.get("weights") else None,
                validation=_scores(row.get("validation") or {}),
                test=_scores(row.get("test") or {}),
            )
            for row in rows
        ],
    )


def _scores(values: dict[str, Any]) -> dict[str, float]:
    """Name -> number, leaving out what is no number (a null score of a failed model)."""
    return {str(name): float(v) for name, v in values.items() if _number(v) is not None}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
