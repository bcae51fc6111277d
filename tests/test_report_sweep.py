"""The report's sweep section: every sentence follows from the numbers (each branch), and
`shrink report --reps N` shows the section exactly when a scenario carries a `sweep:`."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from shrinkcli.cli import app
from shrinkcli.report.sweep import gain_trend, reading


def _row(
    label: str,
    values: dict,
    ols: float,
    mixed: float,
    *,
    se: float = 0.001,
    singular: float = 0.0,
    cover: float = 0.95,
    cover_se: float = 0.005,
) -> dict:
    gain = 1 - mixed / ols
    return {
        "label": label,
        "values": values,
        "rmse_ols": ols,
        "rmse_mixed": mixed,
        "gain": gain,
        "gain_se": se,
        "pays": ols - mixed > 2 * se,
        "costs": mixed - ols > 2 * se,
        "cover_mixed": cover,
        "cover_mixed_se": cover_se,
        "singular": singular,
    }


def _one_key(gains: list[tuple[float, float]], **kw: float) -> list[dict]:
    return [_row(f"n = {n}", {"n": n}, 1.0, 1.0 - g, **kw) for n, g in gains]


def test_pooling_pays_everywhere_with_extremes_and_a_trend() -> None:
    rows = _one_key([(3, 0.7), (10, 0.3), (30, 0.1)])
    text = reading(rows, ["n"], 1000)
    assert text[0].startswith("Pooling paid in every one of the 3 designs")
    assert text[1] == (
        "The RMSE fell most at n = 3 (1.000 → 0.300, 70% lower) and least at "
        "n = 30 (1.000 → 0.900, 10%)."
    )
    assert text[2] == "The gain shrank as n grew."
    assert text[3] == "No design had 5% or more singular fits."
    assert text[4].startswith(
        "The mixed model's 95% intervals of the cluster coefficients held "
        "the truth about 95% of the time in every design"
    )


def test_no_clear_difference_and_by_cluster_closer() -> None:
    rows = _one_key([(3, 0.0005), (10, -0.0004)])
    text = reading(rows, ["n"], 100)
    assert text[0].startswith("Pooling made no clear difference in any of the 2")
    assert text[0].endswith("each other.")
    rows = _one_key([(3, -0.2), (10, 0.0)])
    assert reading(rows, ["n"], 100)[0].endswith("or the by-cluster ones were closer.")


def test_some_designs_pay() -> None:
    rows = _one_key([(3, 0.5), (10, 0.0)])
    assert "Pooling paid in 1 of the 2 designs" in reading(rows, ["n"], 100)[0]
    assert reading(rows, ["n"], 100)[0].endswith("within chance of each other.")
    rows = _one_key([(3, 0.5), (10, -0.5)])
    assert reading(rows, ["n"], 100)[0].endswith("the by-cluster ones were closer in 1.")


def test_one_design_has_no_extremes() -> None:
    text = reading(_one_key([(3, 0.5)]), ["n"], 100)
    assert not any("fell most" in s for s in text)
    assert not any("grew." in s for s in text)


def test_trends_need_every_slice_and_more_than_chance() -> None:
    def grid(g: dict[tuple[int, int], float], se: float = 0.001) -> list[dict]:
        return [
            _row(f"a={a}, b={b}", {"a": a, "b": b}, 1.0, 1.0 - v, se=se) for (a, b), v in g.items()
        ]

    rising = grid({(1, 1): 0.1, (1, 2): 0.2, (2, 1): 0.15, (2, 2): 0.3})
    assert gain_trend(rising, "b", ["a", "b"]) == 1 and gain_trend(rising, "a", ["a", "b"]) == 1
    assert "The gain grew as b grew, whatever the other keys." in reading(rising, ["a", "b"], 100)
    mixed = grid({(1, 1): 0.1, (1, 2): 0.2, (2, 1): 0.3, (2, 2): 0.2})
    assert gain_trend(mixed, "b", ["a", "b"]) == 0  # up in one slice, down in the other
    noisy = grid({(1, 1): 0.1, (1, 2): 0.11, (2, 1): 0.1, (2, 2): 0.11}, se=0.01)
    assert gain_trend(noisy, "b", ["a", "b"]) == 0  # within two Monte Carlo SEs
    wiggle = _one_key([(1, 0.1), (2, 0.3), (3, 0.2)])
    assert gain_trend(wiggle, "n", ["n"]) == 0


def test_singular_and_coverage_sentences() -> None:
    rows = [
        _row("n = 3", {"n": 3}, 1.0, 0.3, singular=0.6, cover=0.75, cover_se=0.01),
        _row("n = 10", {"n": 10}, 1.0, 0.6, singular=0.04, cover=0.94, cover_se=0.01),
    ]
    text = reading(rows, ["n"], 200)
    assert (
        "Singular fits (a variance estimated at zero) were most common at n = 3: 60% of "
        "the replications; 1 of the 2 designs had 5% or more."
    ) in text
    assert any(
        s.startswith(
            "The mixed model's 95% intervals of the cluster coefficients held "
            "the truth clearly less often than promised in 1 of the 2 designs, "
            "least at n = 3 (75%)"
        )
        for s in text
    )


def test_report_shows_the_sweep_only_for_scenarios_with_one(tmp_path: Path) -> None:
    runner = CliRunner()
    grid = tmp_path / "grid.yaml"
    grid.write_text(
        "title: A grid\nn_cluster: 10\nobs_per_cluster: 4\nanimation:\n  frames: 3\n"
        "  size: 200x150\nsweep:\n  obs_per_cluster: [3, 8]\n"
    )
    plain = tmp_path / "plain.yaml"
    plain.write_text(
        "n_cluster: 10\nobs_per_cluster: 4\nanimation:\n  frames: 3\n  size: 200x150\n"
    )
    out = tmp_path / "out"
    res = runner.invoke(
        app, ["report", str(grid), str(plain), "--reps", "6", "-o", str(out), "-j", "1"]
    )
    assert res.exit_code == 0, res.stderr
    html = (out / "index.html").read_text()
    md = (out / "report.md").read_text()
    assert 'id="sweep"' in html and "When does pooling pay? 2 designs, 6 replications" in md
    assert "### A grid" in md and "study/sweep/sweep-grid.png" in md
    for name in ("summary.csv", "replications.csv", "sweep-grid.png"):
        assert (out / "study" / "sweep" / name).stat().st_size > 0
    out2 = tmp_path / "out2"
    res = runner.invoke(app, ["report", str(plain), "--reps", "4", "-o", str(out2), "-j", "1"])
    assert res.exit_code == 0
    assert 'id="sweep"' not in (out2 / "index.html").read_text()
    assert not (out2 / "study" / "sweep").exists()


def test_tied_designs_are_named_together_and_never_twice() -> None:
    same = reading(_one_key([(3, 0.3), (10, 0.3)]), ["n"], 100)
    assert "The RMSE changed by the same 30% in every design." in same
    tied = reading(_one_key([(3, 0.7), (10, 0.7), (30, 0.1)]), ["n"], 100)
    assert (
        "The RMSE fell most, by 70%, at n = 3 (1.000 → 0.300) and n = 10 (1.000 → 0.300), "
        "and least, by 10%, at n = 30 (1.000 → 0.900)."
    ) in tied
