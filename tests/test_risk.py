"""The partnership risk matrix: harm x gaps arithmetic, the 2012 Peterborough matrix, bad input."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from geo_sppa.assessment.risk import published_differences, risk_matrix
from geo_sppa.bundled.areas import bundled_file as bundled_table
from geo_sppa.cli.main import cli
from geo_sppa.errors import InputError
from geo_sppa.io import read_table

SPP2012 = read_table(
    bundled_table("peterborough", "risk_matrix_2012"), what="risk matrix", option="--themes"
)


@pytest.mark.parametrize("row", range(22), ids=list(SPP2012["theme"]))
def test_2012_matrix_reproduces_every_published_risk_score(row):
    """All 22 rows of the 2012 matrix: risk = harm x gaps equals risk_score_published exactly."""
    matrix = risk_matrix(SPP2012)
    theme = SPP2012["theme"].iloc[row]
    got = matrix.loc[matrix["theme"] == theme].iloc[0]
    assert got["risk"] == float(SPP2012["risk_score_published"].iloc[row])
    assert got["risk"] == float(SPP2012["harm_score"].iloc[row]) * float(
        SPP2012["partnership_gaps_score"].iloc[row]
    )


def test_2012_matrix_ranking_and_priorities():
    """Domestic abuse (harm 39, gaps 4, risk 156) is first; ties share a rank; >= threshold."""
    matrix = risk_matrix(SPP2012, threshold=30)
    top = matrix.iloc[0]
    assert (top["theme"], top["harm"], top["gaps"], top["risk"], top["rank"]) == (
        "Domestic Abuse",
        39,
        4,
        156,
        1,
    )
    assert list(matrix["theme"].head(3)) == [
        "Domestic Abuse",
        "ASB (excl. hate incidents)",
        "Drugs misuse",
    ]
    assert matrix.loc[matrix["theme"] == "KSI accidents", "priority"].item()  # risk 30 == threshold
    assert set(matrix.loc[matrix["risk"] == 22, "rank"]) == {9}
    assert int(matrix["priority"].sum()) == 7
    assert int(risk_matrix(SPP2012, threshold=31)["priority"].sum()) == 6


def test_impact_times_frequency_gives_harm():
    """Hand-computed: impact 4 x frequency 5 = harm 20, x gaps 3 = 60; a harm-only row is kept."""
    themes = pd.DataFrame(
        {
            "theme": ["A", "B", "C"],
            "impact": ["4", "2", ""],
            "frequency": ["5", "3", ""],
            "harm_score": ["", "", "9"],
            "gaps": ["3", "1", "2"],
        }
    )
    matrix = risk_matrix(themes).set_index("theme")
    assert matrix.loc["A", ["harm", "risk", "rank"]].tolist() == [20, 60, 1]
    assert matrix.loc["B", ["harm", "risk"]].tolist() == [6, 6]
    assert matrix.loc["C", ["harm", "risk", "rank"]].tolist() == [9, 18, 2]


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (
            pd.DataFrame({"theme": ["A"], "harm_score": ["3"]}),
            r"themes\.csv: no column partnership_gaps_score",
        ),
        (
            pd.DataFrame({"theme": ["A"], "gaps": ["3"]}),
            r"no column harm_score \(or impact and frequency\)",
        ),
        (
            pd.DataFrame({"theme": ["A", "B"], "harm_score": ["3", "x"], "gaps": ["1", "2"]}),
            r"themes\.csv: column 'harm_score' row 2 \(B\) has 'x'; expected a number",
        ),
        (
            pd.DataFrame({"theme": ["A"], "harm_score": ["3"], "gaps": ["-1"]}),
            r"column 'gaps' row 1 \(A\)",
        ),
        (pd.DataFrame({"theme": ["A"], "harm_score": ["3"], "gaps": [""]}), r"column 'gaps' row 1"),
        (pd.DataFrame({"theme": [], "harm_score": [], "gaps": []}), r"no rows"),
    ],
    ids=["no-gaps", "no-harm", "non-numeric", "negative", "empty-score", "no-rows"],
)
def test_bad_input_is_one_line_error(frame, match):
    with pytest.raises(InputError, match=match) as info:
        risk_matrix(frame, source="themes.csv")
    assert "\n" not in str(info.value)


def test_cli_default_and_user_file(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["risk", "-o", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert re.search(r"published scores +all reproduced\n", result.output)
    assert re.search(r"priorities +7 themes with risk >= 30\n", result.output)
    written = pd.read_csv(tmp_path / "a" / "risk_matrix.csv", encoding="utf-8-sig")
    assert len(written) == 22 and written["theme"].iloc[0] == "Domestic Abuse"
    assert (tmp_path / "a" / "risk_matrix.png").read_bytes()[:4] == b"\x89PNG"

    own = tmp_path / "themes.csv"
    own.write_text("theme,impact,frequency,gaps\nBurglary,4,5,2\nASB,3,5,1\n", encoding="utf-8")
    result = runner.invoke(
        cli, ["risk", "--themes", str(own), "--threshold", "20", "-o", str(tmp_path / "b")]
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"priorities +1 themes with risk >= 20\n", result.output)
    assert "published scores" not in result.output  # the user's file has none to check

    bad = tmp_path / "bad.csv"
    bad.write_text("theme,harm_score,gaps\nA,three,1\n", encoding="utf-8")
    result = runner.invoke(cli, ["risk", "--themes", str(bad), "-o", str(tmp_path / "c")])
    assert result.exit_code == 1
    assert "Error: bad.csv: column 'harm_score' row 1 (A) has 'three'" in result.output


def test_area_without_matrix_needs_themes_and_borrows_none(tmp_path):
    """Leeds has no risk matrix: Peterborough's 2012 one is not used silently; --themes works."""
    runner = CliRunner()
    result = runner.invoke(cli, ["risk", "--area", "leeds-central", "-o", str(tmp_path / "a")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: the area 'leeds-central' has no risk matrix")
    assert "pass --themes CSV" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "a" / "risk_matrix.csv").exists()
    own = tmp_path / "themes.csv"
    own.write_text("theme,impact,frequency,gaps\nBurglary,4,5,2\n", encoding="utf-8")
    args = ["risk", "--area", "leeds-central", "--themes", str(own), "-o", str(tmp_path / "b")]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    written = pd.read_csv(tmp_path / "b" / "risk_matrix.csv", encoding="utf-8-sig")
    assert written["theme"].tolist() == ["Burglary"] and written["risk"].tolist() == [40]


def test_published_differences_counts_changed_scores():
    matrix = risk_matrix(SPP2012)
    assert published_differences(matrix) == 0
    bumped = matrix["risk"].to_numpy(copy=True)
    bumped[0] += 1
    changed = matrix.assign(risk_score_published=bumped)
    assert published_differences(changed) == 1
    assert published_differences(matrix.drop(columns="risk_score_published")) is None


def test_risk_chart_is_an_impact_likelihood_grid_with_the_threshold():
    """Read the drawn artists back: cells coloured by risk at their centre, one point per theme at
    (harm, gaps), priorities red, the curve harm x gaps = 30, every theme named in the key."""
    from matplotlib.collections import PathCollection, QuadMesh
    from matplotlib.colors import to_hex

    from geo_sppa.render.charts import risk_chart

    matrix = risk_matrix(SPP2012, threshold=30)
    fig = risk_chart(matrix, threshold=30, source="spp2012_risk_matrix.csv")
    grid, key = fig.axes[0], fig.axes[1]
    (mesh,) = [c for c in grid.collections if isinstance(c, QuadMesh)]
    cells = np.asarray(mesh.get_array()).reshape(5, 8)  # gaps 0-4 by harm 0-40 in steps of 5
    assert cells[4, 7] == pytest.approx(4 * 37.5) and cells[0].max() == 0
    assert cells[1, 0] == pytest.approx(1 * 2.5)
    (points,) = [
        c for c in grid.collections if isinstance(c, PathCollection) and len(c.get_offsets())
    ]
    offsets = np.asarray(points.get_offsets())
    np.testing.assert_allclose(offsets, matrix[["harm", "gaps"]].to_numpy(dtype=float))
    red = [to_hex(c) == "#b2182b" for c in points.get_facecolors()]
    assert red == matrix["priority"].tolist() and sum(red) == 7
    (threshold,) = [ln for ln in grid.get_lines() if "threshold" in ln.get_label()]
    np.testing.assert_allclose(threshold.get_xdata() * threshold.get_ydata(), 30)
    labels = [t.get_text() for t in grid.texts]
    assert sorted(int(n) for t in labels for n in t.split(", ")) == list(range(1, 23))
    assert "11, 12, 13" in labels  # Distraction burglary, Personal robbery, Arson: (10, 2)
    lines = [t.get_text() for t in key.texts]
    assert lines[0] == "1  Domestic Abuse (156)" and len(lines) == 22
    assert all(theme in " ".join(lines) for theme in matrix["theme"])
    assert grid.get_xlabel().startswith("harm") and "gaps" in grid.get_ylabel()
    assert [t.get_text() for t in fig.texts] == ["Source: spp2012_risk_matrix.csv"]


def test_risk_grid_cells_cover_every_theme():
    from geo_sppa.assessment.risk import risk_grid

    matrix = risk_matrix(pd.DataFrame({"theme": ["a", "b"], "harm": [3.0, 47.0],
                                       "gaps": [0.5, 2.25]}))  # fmt: skip
    grid = risk_grid(matrix)
    assert grid.harm_edges[0] == 0 and grid.harm_edges[-1] > 47
    assert grid.gaps_edges[0] == 0 and grid.gaps_edges[-1] > 2.25
    mid_h = (grid.harm_edges[:-1] + grid.harm_edges[1:]) / 2
    mid_g = (grid.gaps_edges[:-1] + grid.gaps_edges[1:]) / 2
    np.testing.assert_allclose(grid.risk, np.outer(mid_g, mid_h))
    whole = risk_grid(risk_matrix(SPP2012))
    assert list(whole.gaps_edges) == [-0.5, 0.5, 1.5, 2.5, 3.5, 4.5]
    assert list(whole.harm_edges) == [0, 5, 10, 15, 20, 25, 30, 35, 40]
