"""Column typing into model inputs: fitted on train only, same output after a JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dlstudio.errors import DataError
from dlstudio.tasks.tabular.features import MISSING, OTHER, TabularFeatures, fit_features
from tests.conftest import make_customers


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return make_customers()


@pytest.fixture(scope="module")
def features(customers: pd.DataFrame) -> TabularFeatures:
    columns = [c for c in customers.columns if c != "churn"]
    return fit_features(customers, columns)


def test_id_column_is_left_out_with_a_reason(features: TabularFeatures) -> None:
    assert "customer_id" in features.excluded
    assert "customer_id" not in features.input_columns


def test_kinds_become_numeric_or_categorical_inputs(features: TabularFeatures) -> None:
    converts = {f.convert for f in features.numeric}
    assert {"numeric", "boolean"} <= converts
    assert any(c.startswith("date:") for c in converts)
    assert [f.column for f in features.categorical] == ["plan", "region"]


def test_missing_numbers_get_an_indicator_and_the_median(customers, features) -> None:
    monthly = next(f for f in features.numeric if f.column == "monthly")
    assert monthly.missing_indicator
    assert monthly.median == pytest.approx(customers["monthly"].median())


def test_transform_shapes_and_missing_codes(customers, features) -> None:
    numeric, categorical = features.transform(customers)
    assert numeric.shape == (len(customers), features.n_numeric_inputs)
    assert numeric.dtype == np.float32 and not np.isnan(numeric).any()
    region = [f.column for f in features.categorical].index("region")
    assert (categorical[customers["region"].isna().to_numpy(), region] == MISSING).all()


def test_unseen_category_maps_to_other(customers, features) -> None:
    new = customers.head(3).copy()
    new["plan"] = ["enterprise", "basic", " basic "]
    _, categorical = features.transform(new)
    plan = features.categorical[0]
    assert categorical[0, 0] == OTHER
    assert categorical[1, 0] == categorical[2, 0] == plan.levels.index("basic") + 2


def test_json_round_trip_transforms_identically(customers, features) -> None:
    restored = TabularFeatures.from_json(json.loads(json.dumps(features.to_json())))
    before, after = features.transform(customers), restored.transform(customers)
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])


def test_missing_input_column_is_named(customers, features) -> None:
    with pytest.raises(DataError, match=r"lacks column.*tenure"):
        features.transform(customers.drop(columns=["tenure"]))


def test_one_row_to_score_converts_like_the_training_rows(customers, features) -> None:
    # a single row holds one yes/no value and one date: both must convert as in training
    row = customers.iloc[[3]]
    full_numeric, _ = features.transform(customers)
    one_numeric, _ = features.transform(row)
    np.testing.assert_allclose(one_numeric[0], full_numeric[3], rtol=1e-6)
