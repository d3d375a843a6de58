"""DfT value of prevention per reported injury collision: bundled table, lookup and errors."""

from __future__ import annotations

import pandas as pd
import pytest

from geo_sppa.errors import InputError
from geo_sppa.roads.costs import collision_costs, cost_table_note, value_of_prevention_table

# Published per-collision values, GB, at each year's prices (sources in the table's header).
PUBLISHED = {
    2002: (1_447_490, 168_260, 16_750),
    2009: (1_790_203, 205_056, 21_372),
    2014: (2_066_732, 235_791, 24_887),
}
SOURCES = {
    2002: "DfT Highways Economics Note 1: 2002 (Hansard HC Deb 12 Feb 2004 c1665W)",
    2009: "DfT WebTAG unit 3.4.1 Table 3 (June 2009)",
    2014: "DfT RRCGB 2014 valuation via Reported Road Casualties Scotland 2014 Table 9(b)",
}


def test_table_holds_published_values_and_sources():
    table = value_of_prevention_table()
    assert table["price_year"].tolist() == sorted(PUBLISHED)
    for year, values in PUBLISHED.items():
        row = table.set_index("price_year").loc[year]
        assert (row["fatal"], row["serious"], row["slight"]) == values
        assert row["source"] == SOURCES[year]


@pytest.mark.parametrize("year", sorted(PUBLISHED), ids=[f"prices-{y}" for y in sorted(PUBLISHED)])
def test_collision_costs_known_values(year):
    severity = pd.Series(["fatal", "Serious", "slight", "slight"], index=[10, 11, 12, 13])
    costs = collision_costs(severity, price_year=year)
    fatal, serious, slight = PUBLISHED[year]
    assert costs.name == "cost_gbp"
    assert costs.index.tolist() == [10, 11, 12, 13]
    assert costs.tolist() == pytest.approx([fatal, serious, slight, slight], abs=0)


def test_default_price_year_is_latest():
    costs = collision_costs(pd.Series(["fatal"]))
    assert costs.iloc[0] == PUBLISHED[max(PUBLISHED)][0]
    assert cost_table_note() == (
        "DfT average value of prevention per reported injury collision, 2014 prices (fatal "
        "£2,066,732, serious £235,791, slight £24,887); source: " + SOURCES[2014]
    )
    assert cost_table_note(2009) == (
        "DfT average value of prevention per reported injury collision, 2009 prices (fatal "
        "£1,790,203, serious £205,056, slight £21,372); source: " + SOURCES[2009]
    )


def test_unknown_price_year_lists_available():
    with pytest.raises(
        InputError, match=r"price year 1990; available price years: 2002, 2009, 2014"
    ):
        collision_costs(pd.Series(["slight"]), price_year=1990)
    with pytest.raises(ValueError, match="1990"):  # InputError is a ValueError
        cost_table_note(1990)


def test_user_table_replaces_bundled_one():
    table = pd.DataFrame({"price_year": [2030], "fatal": [3.0], "serious": [2.0], "slight": [1.0]})
    costs = collision_costs(pd.Series(["fatal", "slight"]), table=table)
    assert costs.tolist() == [3.0, 1.0]
    assert cost_table_note(table=table) == (
        "DfT average value of prevention per reported injury collision, 2030 prices (fatal £3, "
        "serious £2, slight £1); source: user table"
    )


def test_user_table_missing_column():
    table = pd.DataFrame({"price_year": [2030], "fatal": [3.0], "serious": [2.0]})
    with pytest.raises(InputError, match="no column slight"):
        collision_costs(pd.Series(["fatal"]), table=table)


def test_unknown_severity_is_an_error():
    with pytest.raises(InputError, match="found damage only"):
        collision_costs(pd.Series(["fatal", "damage only"]))


def _summary_count(output: str, label: str) -> int:
    """The number printed first beside ``label`` in a run summary."""
    for line in output.splitlines():
        if line.strip().startswith(label + " "):
            return int(line.strip()[len(label) :].split()[0].replace(",", ""))
    raise AssertionError(f"no {label!r} line in the summary")


def test_costs_writes_a_set_aside_trail_matching_the_summary(tmp_path):
    """Four collisions: row 2 (file row 3, with the header) has no coordinates and row 3 an
    unparseable date; the trail names each by file row, id and reason, as many as the summary."""
    from click.testing import CliRunner

    from geo_sppa.cli.main import cli

    (tmp_path / "acc.csv").write_text(
        "accident_index,location_easting_osgr,location_northing_osgr,accident_severity,date\n"
        "A1,520000,300000,3,01/03/2021\nA2,,,3,02/03/2021\nA3,520010,300010,2,notadate\n"
        "A4,520020,300020,1,04/03/2021\n"
    )
    out = tmp_path / "o"
    args = ["costs", "--collisions", str(tmp_path / "acc.csv"), "--years", "2021-2021"]
    result = CliRunner().invoke(cli, [*args, "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    aside = pd.read_csv(out / "costs_set_aside.csv", encoding="utf-8-sig")
    assert aside[["source", "row", "record_id", "reason"]].values.tolist() == [
        ["acc.csv", 2, "A2", "missing coordinates"],
        ["acc.csv", 3, "A3", "unparseable date"],
    ]
    assert _summary_count(result.output, "set aside") == len(aside) == 2
    assert str(out / "costs_set_aside.csv") in result.output


def test_costs_writes_no_set_aside_file_when_nothing_is_set_aside(tmp_path):
    """Two good collisions (and the bundled police.uk file, every row of which places)."""
    from click.testing import CliRunner

    from geo_sppa.cli.main import cli

    (tmp_path / "acc.csv").write_text(
        "accident_index,location_easting_osgr,location_northing_osgr,accident_severity,date\n"
        "A1,520000,300000,3,01/03/2021\nA4,520020,300020,1,04/03/2021\n"
    )
    out = tmp_path / "o"
    args = ["costs", "--collisions", str(tmp_path / "acc.csv"), "-o", str(out)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert _summary_count(result.output, "set aside") == 0
    assert not (out / "costs_set_aside.csv").exists()
