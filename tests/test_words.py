"""The words shared by every sentence: lists joined with "and", and ties named as ties."""

from __future__ import annotations

from shrinkcli.words import extremes, join_words, separator


def test_lists_are_joined_as_english_joins_them() -> None:
    assert join_words([]) == ""
    assert join_words(["sleepstudy"]) == "sleepstudy"
    assert join_words(["Reaction times", "oxboys"]) == "Reaction times and oxboys"
    assert join_words(["a", "b", "c"]) == "a, b and c"
    assert join_words(["a", "b", "c"], last="or") == "a, b or c"
    assert [separator(i, 3) for i in range(3)] == [", ", " and ", ""]


def test_extremes_name_every_row_that_shares_them() -> None:
    rows = [("a", 1.0), ("b", 3.0), ("c", 3.0), ("d", 1.0), ("e", 2.0)]
    top, bottom = extremes(rows, lambda r: r[1])
    assert top == [("b", 3.0), ("c", 3.0)] and bottom == [("a", 1.0), ("d", 1.0)]
    same = [("a", 2.0), ("b", 2.0)]
    assert extremes(same, lambda r: r[1]) == (same, same)
    assert extremes([], lambda r: r) == ([], [])
