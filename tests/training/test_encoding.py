"""Categorical features into numbers (featurelock.training.encoding), on hand-computed frames."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from featurelock.core.errors import DefinitionError, ValidationError
from featurelock.features.declare import Categorical
from featurelock.features.spec import check_encoding, sql_feature
from featurelock.training.encoding import Encoder, fit_categories, model_input


def test_categories_are_the_training_rows_distinct_values_sorted():
    frame = pd.DataFrame(
        {
            "continent": pd.Series(["Europe", None, "Asia", "Africa", "Asia"], dtype="string"),
            "dow": pd.Series([3, 1, pd.NA, 3, 7], dtype="Int64"),
            "x": [0.5, 1.5, 2.5, 3.5, 4.5],
        }
    )
    found = fit_categories(frame, ["dow", "continent"])
    assert found == {"continent": ["Africa", "Asia", "Europe"], "dow": [1, 3, 7]}
    assert list(found) == ["continent", "dow"]  # sorted by column, whatever the order asked


def test_a_value_becomes_its_position_missing_and_unseen_become_nan():
    coder = Encoder(["Africa", "Asia", "Europe"])
    assert coder.code("Asia") == (1.0, False)
    assert coder.code("Africa") == (0.0, False)
    unseen = coder.code("Oceania")
    assert math.isnan(unseen[0]) and unseen[1] is True
    for missing in (None, pd.NA, float("nan")):
        value, new = coder.code(missing)
        assert math.isnan(value) and new is False
    numbers = Encoder([1, 3, 7])
    assert numbers.code(3) == (1.0, False)
    assert numbers.code(np.int64(7)) == (2.0, False)
    assert numbers.code(3.0) == (1.0, False)  # a number by value: the online store may give a float
    assert numbers.code(2)[1] is True


def test_model_input_encodes_named_categorical_columns_and_keeps_numbers():
    frame = pd.DataFrame(
        {
            "x": [0.5, None, 2.0],
            "continent": pd.Series(["Europe", "Oceania", None], dtype="string"),
        }
    )
    got = model_input(frame, ["continent", "x"], {"continent": ["Africa", "Asia", "Europe"]})
    expected = np.array([[2.0, 0.5], [np.nan, np.nan], [np.nan, 2.0]])
    np.testing.assert_array_equal(got, expected)
    # reordering the frame's columns changes nothing: columns are taken by name
    np.testing.assert_array_equal(
        model_input(
            frame[["continent", "x"]], ["continent", "x"], {"continent": ["Africa", "Asia", "Europe"]}
        ),
        expected,
    )


def test_a_string_column_not_declared_categorical_is_refused_with_the_fix():
    frame = pd.DataFrame({"continent": ["Asia", None, "Europe"]})
    with pytest.raises(
        ValidationError,
        match=r"'continent' holds values that are not numbers \(e.g. \['Asia', 'Europe'\]\).*categorical=",
    ):
        model_input(frame, ["continent"])


def test_a_categorical_column_mixing_strings_and_numbers_is_refused():
    frame = pd.DataFrame({"code": pd.Series(["a", 1, "b"], dtype=object)})
    with pytest.raises(
        ValidationError, match=r"categorical column 'code' mixes strings \['a', 'b'\] and numbers"
    ):
        fit_categories(frame, ["code"])


def test_encodings_are_declared_as_true_onehot_or_ordinal():
    assert check_encoding(True, "f") == "onehot"
    assert check_encoding(False, "f") == ""
    assert check_encoding("ordinal", "f") == "ordinal"
    with pytest.raises(DefinitionError, match=r"f: categorical='target' is not an encoding; use True"):
        check_encoding("target", "f")
    with pytest.raises(DefinitionError, match=r"encoding='binary'; expected one of \('onehot', 'ordinal'\)"):
        Categorical(("a@v1",), encoding="binary")
    with pytest.raises(DefinitionError, match=r"continent_v1: categorical='one-hot' is not an encoding"):

        @sql_feature(entity="c", view="v", source="s", dtype="string", ttl=pd.Timedelta(0), owner="o",
                     categorical="one-hot")  # fmt: skip
        def continent_v1() -> str:
            """The continent."""
            return "SELECT 1"


def test_served_and_offline_values_compare_as_text_or_as_numbers():
    from featurelock.serving.parity import same

    assert same("gold", "gold") and not same("gold", "Gold")
    assert not same("1", 1.0) and not same(1, "1")  # a string is never equal to a number
    assert same(3, 3.0) and same(None, float("nan")) and same(pd.NA, None)
    assert not same("gold", None) and not same(None, 0)
