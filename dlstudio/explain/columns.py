"""Raw table columns <-> one matrix of codes, so an attribution method that swaps values by
arithmetic on tensors (captum blends ``input * mask + baseline * (1 - mask)``) can swap the
values of any column kind: each column's code points into the values seen in it, and a missing
value is -1 (a NaN would poison the blend)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ColumnCodec:
    """The columns a model reads, each with the values its codes stand for."""

    columns: tuple[str, ...]
    values: tuple[np.ndarray, ...]

    @classmethod
    def fit(cls, *frames: pd.DataFrame, columns: list[str]) -> ColumnCodec:
        """The codes of every value seen in ``frames`` (the background and the explained rows)."""
        values = []
        for column in columns:
            seen = pd.concat([frame[column] for frame in frames], ignore_index=True).dropna()
            values.append(pd.unique(seen.to_numpy()))
        return cls(tuple(columns), tuple(values))

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows -> codes, as floats (a missing value is -1)."""
        encoded = np.empty((len(frame), len(self.columns)), dtype=np.float64)
        for j, (column, values) in enumerate(zip(self.columns, self.values, strict=True)):
            series = frame[column]
            codes = pd.Index(values).get_indexer(series.to_numpy())
            encoded[:, j] = np.where(series.isna().to_numpy(), -1, codes)
        return encoded

    def decode(self, encoded: np.ndarray) -> pd.DataFrame:
        """Codes -> rows with the original values (what the model's own predict reads)."""
        columns = {}
        for j, (column, values) in enumerate(zip(self.columns, self.values, strict=True)):
            codes = np.rint(encoded[:, j]).astype(np.int64)
            missing = codes < 0
            if not len(values):
                columns[column] = np.full(len(codes), None, dtype=object)
                continue
            taken = values[np.where(missing, 0, codes)]
            if missing.any():
                taken = taken.astype(np.float64 if taken.dtype.kind in "iuf" else object)
                taken[missing] = np.nan if taken.dtype.kind == "f" else None
            columns[column] = taken
        return pd.DataFrame(columns)

    def shown(self, column: int, code: float) -> str:
        """A value as the user wrote it: "Month-to-month", "42", "(empty)"."""
        if code < 0:
            return "(empty)"
        return as_written(self.values[column][round(code)])


def as_written(value: object) -> str:
    """A cell as a user reads it: "42", "Month-to-month", "2024-01-31" (a date at midnight
    without its time)."""
    if isinstance(value, float | np.floating):
        return f"{value:g}"
    if isinstance(value, pd.Timestamp | np.datetime64):
        stamp = pd.Timestamp(value)
        return str(stamp.date()) if stamp == stamp.normalize() else str(stamp)
    return str(value)
