"""The population stability index over shared bins, and how the rule of thumb reads it."""

from __future__ import annotations

from typing import Literal

import numpy as np

Severity = Literal["none", "moderate", "large"]

EPSILON = 1e-4  # floor on a bin's share: an empty bin weighs like 1 row in 10,000
MODERATE_PSI = 0.1
LARGE_PSI = 0.25


def population_stability_index(reference_shares: np.ndarray, current_shares: np.ndarray) -> float:
    """PSI of two share vectors over the same bins; shares below ``EPSILON`` count as ``EPSILON``."""
    before = np.maximum(np.asarray(reference_shares, dtype=float), EPSILON)
    after = np.maximum(np.asarray(current_shares, dtype=float), EPSILON)
    return float(np.sum((after - before) * np.log(after / before)))


def severity_of(psi: float) -> Severity:
    """The rule of thumb: < 0.1 none, 0.1 to < 0.25 moderate, >= 0.25 large."""
    if psi >= LARGE_PSI:
        return "large"
    return "moderate" if psi >= MODERATE_PSI else "none"
