"""The natural order of cluster ids used by pictures: numbers by value, text by text."""

from __future__ import annotations

from shrinkcli.natural import natural_key, natural_order


def test_numbers_written_as_text_sort_by_value() -> None:
    ids = [str(i) for i in range(1, 13)]
    lexical = sorted(ids)  # R's factor levels: "1", "10", "11", "12", "2", ...
    assert [lexical[i] for i in natural_order(lexical)] == ids


def test_mixed_ids_sort_by_their_runs() -> None:
    ids = ["a10", "b1", "a2", "ab", "10", "2", "a"]
    assert sorted(ids, key=natural_key) == ["2", "10", "a", "a2", "a10", "ab", "b1"]


def test_ids_equal_in_value_keep_a_fixed_order() -> None:
    assert sorted(["01", "1", "001"], key=natural_key) == ["001", "01", "1"]
