"""Collision trends: year and month boundaries, % change, rolling rates, seasonality, flags."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from geo_sppa.assessment.trends import collision_trends, trends_in_years
from geo_sppa.cli.main import cli
from geo_sppa.errors import InputError


def collisions(rows: list[tuple[str, str]], casualties: list[int] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "collision_id": [f"c{i}" for i in range(len(rows))],
            "date": pd.to_datetime([d for d, _ in rows]),
            "severity": [s for _, s in rows],
        }
    )
    if casualties is not None:
        frame["casualties"] = pd.array(casualties, dtype="Int64")
    return frame


#: Two complete years. 2015: 4 collisions (one on 31 Dec); 2016: 5 (one on 1 Jan); no collision
#: at all in March 2016 or in any May; KSI: 1 fatal + 1 serious in 2015, 1 serious in 2016.
TWO_YEARS = collisions(
    [
        ("2015-01-10", "slight"),
        ("2015-06-01", "fatal"),
        ("2015-11-05", "serious"),
        ("2015-12-31", "slight"),
        ("2016-01-01", "slight"),
        ("2016-01-20", "slight"),
        ("2016-04-02", "serious"),
        ("2016-11-30", "slight"),
        ("2016-12-01", "slight"),
    ]
)


def test_31_december_and_1_january_fall_in_their_own_years():
    result = collision_trends(TWO_YEARS, population=2000)
    by_year = result.by_year.set_index("year")
    assert by_year.loc[2015, ["fatal", "serious", "slight", "ksi", "total"]].tolist() == [
        1,
        1,
        2,
        2,
        4,
    ]
    assert by_year.loc[2016, ["fatal", "serious", "slight", "ksi", "total"]].tolist() == [
        0,
        1,
        4,
        1,
        5,
    ]
    assert not by_year["partial"].any() and by_year["months"].tolist() == [12, 12]


def test_percentage_change_against_baseline():
    """2016 against 2015: total 4 -> 5 is +25%; KSI 2 -> 1 is -50%; baseline row is 0%."""
    by_year = collision_trends(TWO_YEARS).by_year.set_index("year")
    assert by_year.loc[2016, "total_change_pct"] == pytest.approx(25.0)
    assert by_year.loc[2016, "ksi_change_pct"] == pytest.approx(-50.0)
    assert by_year.loc[2015, "total_change_pct"] == 0
    reverse = collision_trends(TWO_YEARS, baseline_year=2016).by_year.set_index("year")
    assert reverse.loc[2015, "total_change_pct"] == pytest.approx(-20.0)


def test_rolling_12_months_across_the_year_boundary_and_an_empty_month():
    """Rolling sum is NaN for the first 11 months, 4 at Dec 2015, then 4 - 1 + 2 = 5 at Jan 2016."""
    result = collision_trends(TWO_YEARS, population=2000)
    monthly = result.monthly.set_index("month")
    assert len(monthly) == 24  # every month, including ones with no collision
    assert monthly.loc["2016-03", "total"] == 0
    assert monthly["rolling_12"].iloc[:11].isna().all()
    assert monthly.loc["2015-12", "rolling_12"] == 4
    assert monthly.loc["2016-01", "rolling_12"] == 5
    assert (
        monthly.loc["2016-03", "rolling_12"] == 5
    )  # an empty month: nothing added, nothing dropped
    assert (
        monthly.loc["2016-06", "rolling_12"] == 5
    )  # June 2015's fatal drops out, no June 2016 one
    assert monthly.loc["2016-12", "rolling_12"] == 5
    # rate per 1,000 residents: 5 / 2000 * 1000
    assert monthly.loc["2016-01", "rolling_12_rate_per_1000"] == pytest.approx(2.5)


def test_seasonality_index():
    """January: (1 + 2) / 2 years = 1.5 a year; average month 9 / 24 = 0.375; index 400."""
    season = collision_trends(TWO_YEARS).seasonality.set_index("name")
    assert season.loc["Jan", "mean"] == pytest.approx(1.5)
    assert season.loc["Jan", "index"] == pytest.approx(400.0)
    assert season.loc["May", "mean"] == 0 and not season.loc["May", "above_average"]
    assert season.loc["Nov", "above_average"] and season.loc["Nov", "years"] == 2
    assert set(season.index[season["above_average"]]) == {"Jan", "Apr", "Jun", "Nov", "Dec"}


def test_partial_year_is_labelled_and_not_compared():
    """Data to 31 Oct 2017: 2017 is partial (10 months), has no % change, cannot be the baseline."""
    frame = pd.concat(
        [TWO_YEARS, collisions([("2017-02-01", "slight"), ("2017-10-15", "fatal")])],
        ignore_index=True,
    )
    frame["collision_id"] = [f"c{i}" for i in range(len(frame))]
    result = collision_trends(frame, end_date="2017-10-31")
    row = result.by_year.set_index("year").loc[2017]
    assert row["partial"] and row["months"] == 10 and "partial" in row["label"]
    assert np.isnan(row["total_change_pct"])
    assert any("10 months only" in n for n in result.notes)
    assert result.direction == "2016: 5 collisions, up 25.0% on 2015"
    with pytest.raises(InputError, match="baseline year 2017 is only partly covered"):
        collision_trends(frame, end_date="2017-10-31", baseline_year=2017)
    with pytest.raises(InputError, match="baseline year 2010 is outside the years analysed"):
        collision_trends(frame, baseline_year=2010)


def test_first_year_starting_mid_year_is_partial():
    frame = collisions([("2015-03-10", "slight"), ("2016-12-01", "slight")])
    by_year = collision_trends(frame).by_year.set_index("year")
    assert by_year.loc[2015, "partial"] and by_year.loc[2015, "months"] == 10
    assert not by_year.loc[2016, "partial"]


def test_casualties_summed_where_present_and_said_when_absent():
    with_casualties = collisions(
        [("2015-01-01", "slight"), ("2015-12-31", "serious")], casualties=[1, 3]
    )
    result = collision_trends(with_casualties)
    assert result.by_year.loc[0, "casualties"] == 4
    assert not any("no casualty" in n for n in result.notes)
    assert any("no casualty counts" in n for n in collision_trends(TWO_YEARS).notes)


def test_road_user_flags_from_y_n_columns(tmp_path):
    """Y/N flags come through the collision loader; a file without them gives no road-user table."""
    from geo_sppa.io import read_collisions

    rows = ["Reference,Date,Severity,Easting,Northing,Ped,Cycle,TWMV,Child"]
    ped, cyc, child = {"c0"}, {"c1"}, {"c0"}
    for cid, (day, sev) in zip(
        TWO_YEARS["collision_id"],
        zip(TWO_YEARS["date"], TWO_YEARS["severity"], strict=True),
        strict=True,
    ):
        yn = ["Y" if cid in s else "N" for s in (ped, cyc, set(), child)]
        rows.append(f"{cid},{day:%Y%m%d},{sev},518000,301000," + ",".join(yn))
    (tmp_path / "cambs.csv").write_text("\n".join(rows) + "\n")
    loaded = read_collisions(tmp_path / "cambs.csv").data
    result = collision_trends(loaded)
    users = result.road_users.set_index("year")
    assert users.loc[2015, ["pedestrian", "cyclist", "motorcyclist", "child"]].tolist() == [
        1,
        1,
        0,
        1,
    ]
    assert users.loc[2016, ["pedestrian", "cyclist", "motorcyclist", "child"]].tolist() == [
        0,
        0,
        0,
        0,
    ]
    assert collision_trends(TWO_YEARS).road_users is None


def test_no_collisions_is_an_error():
    with pytest.raises(InputError, match="no collisions"):
        collision_trends(TWO_YEARS.iloc[0:0])


def test_cli_default_is_the_latest_three_complete_years(tmp_path):
    """Peterborough stops on 31 Oct 2017: the default window is 2014-2016, as --help says."""
    assert "latest three complete years" in CliRunner().invoke(cli, ["trends", "--help"]).output
    result = CliRunner().invoke(cli, ["trends", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    by_year = pd.read_csv(tmp_path / "trends_by_year.csv", encoding="utf-8-sig").set_index("year")
    assert list(by_year.index) == [2014, 2015, 2016] and not by_year["partial"].any()
    assert by_year.loc[2014, "total"] == 503 and by_year.loc[2016, "total"] == 599
    assert by_year["total"].sum() == 1659
    assert re.search(r"period +01 Jan 2014 to 31 Dec 2016\n", result.output)
    assert re.search(r"  outside the years +1,670 \(not counted\)\n", result.output)


def test_cli_years_past_the_data_say_the_window_is_incomplete(tmp_path):
    """--years 2016-2018 runs past 31 Oct 2017: the summary says 2018 is missing, not zero."""
    result = CliRunner().invoke(cli, ["trends", "--years", "2016-2018", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (
        "Window 2016-2018 is incomplete: the data stop 31 Oct 2017 (2017 is partial, 2018 has "
        "no data); the missing months are missing data, not zero counts" in result.output
    )
    full = CliRunner().invoke(cli, ["trends", "--years", "2014-2016", "-o", str(tmp_path)])
    assert "incomplete" not in full.output


def test_cli_bundled_peterborough(tmp_path):
    result = CliRunner().invoke(cli, ["trends", "--years", "2012-2017", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    by_year = pd.read_csv(tmp_path / "trends_by_year.csv", encoding="utf-8-sig").set_index("year")
    assert by_year["total"].sum() == 3329
    assert by_year.loc[2017, "partial"] and "31 Oct" in by_year.loc[2017, "label"]
    assert "no casualty counts" in result.output
    for line in (
        r"records read +3,329",
        r"set aside +0 \(none\)",
        r"rolling 12 months +to 2017-10: 525 collisions, 2\.72 per 1,000",
        r"population +peterborough_population_lsoa11\.csv: 192,903",
    ):
        assert re.search(line + "\n", result.output), line
    for name in ("trends_by_year", "trends_rolling", "trends_seasonality", "trends_road_users"):
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    users = pd.read_csv(tmp_path / "trends_road_users.csv", encoding="utf-8-sig")
    assert {"pedestrian", "cyclist", "motorcyclist", "child"} <= set(users.columns)


def test_cli_user_stats19_file(tmp_path):
    """A STATS19-style file with casualties and no road-user flags, no population: counts only."""
    path = tmp_path / "stats19.csv"
    path.write_text(
        "accident_index,location_easting_osgr,location_northing_osgr,date,accident_severity,number_of_casualties\n"
        "A1,518000,301000,01/01/2019,3,1\nA2,518100,301000,31/12/2019,2,2\nA3,518200,301000,01/01/2020,1,3\n"
        "A4,518300,301000,31/12/2020,3,1\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli, ["trends", "--collisions", str(path), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    by_year = pd.read_csv(tmp_path / "out" / "trends_by_year.csv", encoding="utf-8-sig").set_index(
        "year"
    )
    assert by_year.loc[2019, "casualties"] == 3 and by_year.loc[2020, "casualties"] == 4
    assert by_year.loc[2020, "casualties_change_pct"] == pytest.approx(100 / 3)
    assert not (tmp_path / "out" / "trends_road_users.csv").exists()


def test_cli_years_window_keeps_partial_label(tmp_path):
    """--years 2013-2016 on Peterborough: four complete years; 2015-2019 stops at 31 Oct 2017."""
    runner = CliRunner()
    result = runner.invoke(
        cli, ["trends", "--years", "2013-2016", "--baseline-year", "2014", "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    by_year = pd.read_csv(tmp_path / "trends_by_year.csv", encoding="utf-8-sig").set_index("year")
    assert list(by_year.index) == [2013, 2014, 2015, 2016] and not by_year["partial"].any()
    assert by_year.loc[2016, "total_change_pct"] == pytest.approx((599 - 503) / 503 * 100)
    result = runner.invoke(cli, ["trends", "--years", "2015-2019", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    by_year = pd.read_csv(tmp_path / "trends_by_year.csv", encoding="utf-8-sig").set_index("year")
    assert list(by_year.index) == [2015, 2016, 2017] and by_year.loc[2017, "partial"]


def test_cli_years_window_counts_only_the_years(tmp_path):
    """--years 2013-2016: the records outside the window are reported, not counted."""
    result = CliRunner().invoke(cli, ["trends", "--years", "2013-2016", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    by_year = pd.read_csv(tmp_path / "trends_by_year.csv", encoding="utf-8-sig")
    used = int(by_year["total"].sum())
    assert re.search(rf"records used +{used:,}\n", result.output)
    assert re.search(rf"  outside the years +{3329 - used:,} \(not counted\)\n", result.output)


def test_trends_in_years_stops_at_the_data_and_the_last_year():
    """2015-2016 data: --years 2016-2019 ends with the last collision's month (December 2016);
    --years 2015-2015 ends on 31 Dec 2015 although later collisions exist; an end date before
    the year end (after the last collision) is kept and makes the year partial."""
    data = TWO_YEARS.assign(year=TWO_YEARS["date"].dt.year)  # as read_collisions gives them
    late = trends_in_years(data, years=(2016, 2019))
    assert late.start == pd.Timestamp("2016-01-01") and late.end == pd.Timestamp("2016-12-31")
    assert late.by_year["year"].tolist() == [2016] and int(late.by_year["total"].sum()) == 5
    early = trends_in_years(data, years=(2015, 2015))
    assert early.end == pd.Timestamp("2015-12-31") and int(early.by_year["total"].sum()) == 4
    cut = trends_in_years(data, years=(2016, 2016), end_date="2016-12-15")
    assert cut.end == pd.Timestamp("2016-12-15") and bool(cut.by_year["partial"].iloc[0])
    everything = trends_in_years(data)
    pd.testing.assert_frame_equal(everything.by_year, collision_trends(TWO_YEARS).by_year)
    with pytest.raises(InputError, match="no collisions"):
        trends_in_years(data, years=(2018, 2019))


def test_trend_charts_draw_the_tables():
    """Read the drawn artists back: stacked bars per severity, the rolling line, the index bars."""
    from matplotlib.figure import Figure

    from geo_sppa.render.charts import trend_charts

    result = collision_trends(TWO_YEARS, population=2000)
    charts = trend_charts(result, title="two years")
    assert list(charts) == ["trends_by_year.png", "trends_rolling.png", "trends_seasonality.png"]
    assert all(isinstance(f, Figure) for f in charts.values())
    panels = charts["trends_by_year.png"].axes
    assert [a.get_title(loc="left") for a in panels] == ["Fatal", "Serious", "Slight"]
    heights = {c.get_label(): [b.get_height() for b in c] for a in panels for c in a.containers}
    assert heights == {"fatal": [1, 0], "serious": [1, 1], "slight": [2, 4]}  # one per axis
    # every bar labelled with its count, so the fatal panel is as legible as the slight one
    assert [[t.get_text() for t in a.texts] for a in panels] == [["1", "0"], ["1", "1"], ["2", "4"]]
    fatal = panels[0]
    assert (
        fatal.get_ylim()[1] >= 1 and fatal.containers[0][0].get_height() > 0.5 * fatal.get_ylim()[1]
    )
    title = charts["trends_by_year.png"].get_suptitle()
    assert title.startswith("two years: ")
    rolling = charts["trends_rolling.png"].axes
    assert len(rolling) == 2  # monthly counts above, the rolling 12-month count below
    assert [len(a.get_lines()) for a in rolling] == [0, 1]  # one series per axis, no duplicate
    line = rolling[1].get_lines()[0]
    expected = result.monthly["rolling_12"].to_numpy()
    np.testing.assert_allclose(line.get_ydata(), expected, equal_nan=True)
    # the rate per 1,000 is a second scale of the same line (population 2000: count / 2)
    (rate,) = rolling[1].child_axes
    assert rate.get_ylabel() == "per 1,000 residents"
    assert all(a.get_ylim()[0] == 0 for a in (*rolling, *panels))  # counts start at zero
    for figure in trend_charts(result, source="two.csv").values():
        foot = [t.get_text() for t in figure.texts if t is not figure._suptitle]
        assert foot == ["Source: two.csv"]
    (season,) = charts["trends_seasonality.png"].axes
    bars = [b.get_height() for b in season.containers[0]]
    np.testing.assert_allclose(bars, result.seasonality["index"].to_numpy(), equal_nan=True)
    assert collision_trends(TWO_YEARS).population is None
    no_rate = trend_charts(collision_trends(TWO_YEARS))["trends_rolling.png"].axes
    assert len(no_rate) == 2 and no_rate[1].child_axes == []
    assert "partial" not in title  # two complete years: no "(* partial year)"


def test_fatal_band_is_legible_and_a_partial_year_is_drawn_apart():
    """Peterborough 2012-2017: 4-7 fatal collisions a year beside 350-581 slight ones. Stacked,
    fatal was a hairline (under 1% of the axis); in its own panel each bar is over 40% of it,
    and the partial 2017 is hatched in every panel."""
    from geo_sppa.bundled.inputs import collisions_input
    from geo_sppa.render.charts import trend_charts

    loaded, _ = collisions_input("peterborough")
    result = trends_in_years(loaded.data, years=(2012, 2017))
    panels = trend_charts(result)["trends_by_year.png"].axes
    fatal = panels[0]
    top = fatal.get_ylim()[1]
    assert all(b.get_height() / top > 0.4 for b in fatal.containers[0])
    assert [t.get_text() for t in fatal.texts] == [str(n) for n in result.by_year["fatal"]]
    for ax in panels:
        hatches = [b.get_hatch() for b in ax.containers[0]]
        assert hatches == ["" if not p else "//" for p in result.by_year["partial"]]
    assert [t.get_text() for t in panels[-1].get_xticklabels()][-1] == "2017*"


def test_road_user_chart_never_joins_a_partial_year():
    """Peterborough 2012-2017: 2017 stops in October; drawn as lone open markers, not joined."""
    from geo_sppa.bundled.inputs import collisions_input
    from geo_sppa.render.charts import trend_charts

    loaded, _ = collisions_input("peterborough")
    result = trends_in_years(loaded.data, years=(2012, 2017))
    (ax,) = trend_charts(result)["trends_road_users.png"].axes
    joined = [ln for ln in ax.get_lines() if ln.get_linestyle() != "None"]
    lone = [ln for ln in ax.get_lines() if ln.get_linestyle() == "None"]
    assert joined and all(
        list(ln.get_xdata()) == [str(y) for y in range(2012, 2017)] for ln in joined
    )
    assert len(lone) == len(joined) and all(list(ln.get_xdata()) == ["2017*"] for ln in lone)
    assert ax.get_ylim()[0] == 0 and ax.get_title().endswith("(* partial year)")


def test_chart_modules_leave_the_matplotlib_backend_alone():
    """Importing the charts never switches a notebook user's backend (no matplotlib.use)."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import matplotlib; matplotlib.use('svg'); "
        "import geo_sppa.render.charts, geo_sppa.render.report_page, geo_sppa.assessment.pipeline; "
        "print(matplotlib.get_backend())"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "svg"
