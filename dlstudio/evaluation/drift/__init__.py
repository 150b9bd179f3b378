"""How much each column shifted between the champion's training data and the data of a retrain.

The headline number is the population stability index over bins shared by both tables::

    PSI = sum over bins of (current share - reference share) * ln(current share / reference share)

with every share floored at ``EPSILON`` so that an empty bin costs a lot but stays finite. The
usual rule of thumb reads it as: below 0.1 no real shift ("none"), 0.1 to 0.25 a moderate shift,
0.25 and above a large one.

Bins per kind of column (the kind is judged on the reference, as the templates judge it):

- numbers: the reference's deciles (ties merged, so a constant column has two bins: up to the
  value and above it), plus a bin for missing values; the Kolmogorov-Smirnov test on the values;
- categories and yes/no columns: the reference's 20 most frequent levels, "other" and missing;
- free text: the number of words per text, compared as numbers (each text is its own category);
- dates: days since 1970, compared as numbers. Deliberately not skipped: new data from a later
  period reads as a large shift, which is true for any model that uses the date as an input;
- IDs: not compared (every value is new by design).

A column stored as numbers in one table and as text (or dates) in the other is a "large" shift
with the note "type changed". The target is summarized by its class frequencies (PSI over every
class, see ``label_shift``), or as a number when it holds more than 20 distinct numbers, and is
flagged apart from the inputs. Columns in only one table are listed as added or removed.
"""

from dlstudio.evaluation.drift.columns import column_drift, label_shift, target_drift
from dlstudio.evaluation.drift.psi import (
    EPSILON,
    LARGE_PSI,
    MODERATE_PSI,
    Severity,
    population_stability_index,
    severity_of,
)
from dlstudio.evaluation.drift.report import (
    FRAME_COLUMNS,
    ColumnDrift,
    DriftKind,
    DriftReport,
    LabelShift,
)
from dlstudio.evaluation.drift.summary import drift_summary

__all__ = [
    "EPSILON",
    "FRAME_COLUMNS",
    "LARGE_PSI",
    "MODERATE_PSI",
    "ColumnDrift",
    "DriftKind",
    "DriftReport",
    "LabelShift",
    "Severity",
    "column_drift",
    "drift_summary",
    "label_shift",
    "population_stability_index",
    "severity_of",
    "target_drift",
]
