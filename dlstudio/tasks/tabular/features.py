"""Turn raw table columns into model inputs; fitted on the training split only, saved as JSON.

Numbers, booleans and date parts become floats with a missing-value indicator, either
standardized (z-scores, clipped) or mapped through their training quantiles to a normal
distribution (``scaling="quantile"``, what the TabM and numeric-embedding papers train on: robust
to skew and outliers); categories become integer codes for embeddings (0 = missing, 1 = unseen or rare, 2.. = levels).
ID-like, free-text, constant and empty columns are left out, each with its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.special import ndtri

from dlstudio.data.columns import (
    date_format_of,
    infer_column_type,
    to_boolean,
    to_datetime,
    to_numeric,
)
from dlstudio.errors import DataError

MISSING, OTHER = 0, 1
MAX_LEVELS = 1000  # more levels than this behave like an ID: keep the most frequent
Z_CLIP = 10.0  # standardized values beyond this are outliers that would dominate the first layer
DATE_PARTS = ("year", "month", "day", "dayofweek", "hour")
MAX_QUANTILES = 1000
NORMAL_BOUND = 5.2  # sklearn's QuantileTransformer clips its normal output here as well


@dataclass(frozen=True)
class NumericFeature:
    """One float input: a number, a boolean as 0/1, or one part of a date."""

    column: str
    convert: str  # "numeric", "boolean" or "date:<part>"
    median: float
    mean: float
    std: float
    missing_indicator: bool
    date_format: str | None = None  # for date parts: the format the training rows were read with
    quantiles: tuple[float, ...] | None = None  # scaling="quantile": the training quantiles


@dataclass(frozen=True)
class CategoricalFeature:
    """One embedded input; ``levels`` are the training values seen at least twice."""

    column: str
    levels: tuple[str, ...]

    @property
    def cardinality(self) -> int:
        return len(self.levels) + 2  # + missing + other


@dataclass(frozen=True)
class TabularFeatures:
    """The fitted transformation from raw columns to (numeric, categorical) arrays."""

    numeric: tuple[NumericFeature, ...]
    categorical: tuple[CategoricalFeature, ...]
    excluded: dict[str, str] = field(default_factory=dict)  # column -> reason

    @property
    def input_columns(self) -> list[str]:
        """Raw columns the model reads, in first-seen order."""
        names = [f.column for f in self.numeric] + [f.column for f in self.categorical]
        return list(dict.fromkeys(names))

    @property
    def n_numeric_inputs(self) -> int:
        return len(self.numeric) + sum(f.missing_indicator for f in self.numeric)

    def transform(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Raw frame -> (float32 [rows, n_numeric_inputs], int64 [rows, n_categorical])."""
        missing = [c for c in self.input_columns if c not in frame.columns]
        if missing:
            raise DataError(
                f"the data lacks column(s) the model was trained on: {', '.join(missing)}",
                fix="add these columns (empty values are allowed) or retrain without them",
            )
        converted: dict[str, pd.Series] = {}
        blocks = [_numeric_block(f, frame, converted) for f in self.numeric]
        numeric = np.hstack(blocks) if blocks else np.zeros((len(frame), 0), np.float32)
        codes = [_codes(frame[f.column], f.levels) for f in self.categorical]
        categorical = np.stack(codes, axis=1) if codes else np.zeros((len(frame), 0), np.int64)
        return numeric.astype(np.float32), categorical

    def to_json(self) -> dict:
        return {
            "numeric": [_plain(vars(f)) for f in self.numeric],
            "categorical": [
                {"column": f.column, "levels": list(f.levels)} for f in self.categorical
            ],
            "excluded": self.excluded,
        }

    @classmethod
    def from_json(cls, raw: dict) -> TabularFeatures:
        return cls(
            numeric=tuple(_numeric_from_json(f) for f in raw["numeric"]),
            categorical=tuple(
                CategoricalFeature(f["column"], tuple(f["levels"])) for f in raw["categorical"]
            ),
            excluded=dict(raw["excluded"]),
        )


def fit_features(
    train: pd.DataFrame, columns: list[str], *, scaling: str = "standard"
) -> TabularFeatures:
    """Type each column on the training split and fit imputation, scaling and vocabularies.

    ``scaling``: "standard" (z-scores) or "quantile" (training quantiles -> normal scores).
    """
    numeric: list[NumericFeature] = []
    categorical: list[CategoricalFeature] = []
    excluded: dict[str, str] = {}
    for column in columns:
        kind = infer_column_type(train[column])
        if kind.kind in ("numeric", "boolean"):
            numeric.append(_fit_numeric(column, kind.kind, _convert(kind.kind)(train[column])))
        elif kind.kind == "datetime":
            numeric += _fit_date_parts(column, train[column])
        elif kind.kind == "categorical":
            categorical.append(_fit_levels(column, train[column]))
        else:
            excluded[column] = kind.reason
    if scaling == "quantile":
        numeric = [_with_quantiles(f, train) for f in numeric]
    return TabularFeatures(tuple(numeric), tuple(categorical), excluded)


def _with_quantiles(feature: NumericFeature, train: pd.DataFrame) -> NumericFeature:
    values = _converted(feature, train, {}).to_numpy(dtype=np.float64, na_value=np.nan)
    values = np.where(np.isnan(values), feature.median, values)
    # as many quantiles as the TabM authors use: about one per 30 rows, 10 to 1,000
    n = int(np.clip(len(values) // 30, 10, MAX_QUANTILES))
    quantiles = np.quantile(values, np.linspace(0, 1, n)) if len(values) else np.zeros(n)
    return replace(feature, quantiles=tuple(float(q) for q in np.maximum.accumulate(quantiles)))


def _quantile_scores(values: np.ndarray, quantiles: tuple[float, ...]) -> np.ndarray:
    """Normal scores of ``values`` by the training quantiles, as sklearn's QuantileTransformer
    computes them (ties get the middle of their rank range)."""
    q = np.asarray(quantiles)
    references = np.linspace(0, 1, len(q))
    ranks = 0.5 * (
        np.interp(values, q, references) - np.interp(-values, -q[::-1], -references[::-1])
    )
    bound = 1e-7
    return np.clip(ndtri(np.clip(ranks, bound, 1 - bound)), -NORMAL_BOUND, NORMAL_BOUND)


def _fit_numeric(column: str, convert: str, values: pd.Series) -> NumericFeature:
    present = values.dropna()
    median = float(present.median()) if len(present) else 0.0
    filled = values.fillna(median)
    std = float(filled.std(ddof=0))
    return NumericFeature(
        column=column,
        convert=convert,
        median=median,
        mean=float(filled.mean()),
        std=std if std > 1e-12 else 1.0,
        missing_indicator=bool(values.isna().any()),
    )


def _fit_date_parts(column: str, values: pd.Series) -> list[NumericFeature]:
    date_format = date_format_of(values)
    dates = to_datetime(values, date_format=date_format)
    features = []
    for part in DATE_PARTS:
        part_values = _date_part(dates, part)
        if part_values.nunique(dropna=True) > 1:  # a part that never changes carries nothing
            fitted = _fit_numeric(column, f"date:{part}", part_values)
            features.append(replace(fitted, date_format=date_format))
    return features


def _fit_levels(column: str, values: pd.Series) -> CategoricalFeature:
    counts = _as_text(values).value_counts()
    # A level seen once teaches the model nothing it can reuse; it shares the "other" slot,
    # which then also learns what unseen levels at prediction time should look like.
    kept = counts[counts >= 2].index[:MAX_LEVELS]
    return CategoricalFeature(column, tuple(sorted(str(level) for level in kept)))


def _numeric_block(
    feature: NumericFeature, frame: pd.DataFrame, cache: dict[str, pd.Series]
) -> np.ndarray:
    values = _converted(feature, frame, cache).to_numpy(dtype=np.float64, na_value=np.nan)
    is_missing = np.isnan(values)
    filled = np.where(is_missing, feature.median, values)
    if feature.quantiles is not None:
        z = _quantile_scores(filled, feature.quantiles)
    else:
        z = np.clip((filled - feature.mean) / feature.std, -Z_CLIP, Z_CLIP)
    if feature.missing_indicator:
        return np.stack([z, is_missing.astype(np.float64)], axis=1)
    return z[:, None]


def _converted(feature: NumericFeature, frame: pd.DataFrame, cache: dict) -> pd.Series:
    if not feature.convert.startswith("date:"):
        return _convert(feature.convert)(frame[feature.column])
    if feature.column not in cache:  # parse each date column once, not once per part
        cache[feature.column] = to_datetime(frame[feature.column], date_format=feature.date_format)
    return _date_part(cache[feature.column], feature.convert.removeprefix("date:"))


def _convert(kind: str) -> Callable[[pd.Series], pd.Series]:
    return {"numeric": to_numeric, "boolean": to_boolean}[kind]


def _date_part(dates: pd.Series, part: str) -> pd.Series:
    return getattr(dates.dt, part).astype("float64")


def _codes(values: pd.Series, levels: tuple[str, ...]) -> np.ndarray:
    text = _as_text(values)
    # pandas codes unknown values as -1, so +2 maps them to OTHER and levels to 2..
    codes = pd.Categorical(text, categories=levels).codes.astype(np.int64) + 2
    codes[text.isna().to_numpy()] = MISSING
    return codes


def _as_text(values: pd.Series) -> pd.Series:
    """Categories compared as trimmed text, so 'A ' in new data matches 'A' from training."""
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def _plain(raw: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in raw.items()}


def _numeric_from_json(raw: dict) -> NumericFeature:
    quantiles = raw.get("quantiles")
    return NumericFeature(**{**raw, "quantiles": None if quantiles is None else tuple(quantiles)})
