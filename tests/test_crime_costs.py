"""Costs of crime (Home Office unit costs) and of road collisions (DfT, geo_sppa.roads.costs)."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from click.testing import CliRunner

from geo_sppa.assessment.crime_costs import (
    POLICE_UK_MAPPING,
    UNIT_COST_TABLES,
    assessment_costs,
    checked_unit_costs,
    collisions_in_years,
    crime_costs,
    road_costs,
    unit_cost_table,
)
from geo_sppa.bundled.areas import bundled_file as bundled_table
from geo_sppa.cli.main import cli
from geo_sppa.errors import InputError
from geo_sppa.io import read_table

SPP2012_TOTAL = 48_485_263  # sum of the published estimated_cost_gbp column


def published_2012() -> pd.DataFrame:
    raw = read_table(
        bundled_table("peterborough", "cost_of_crime_2012"), what="cost of crime", option="-"
    )
    return pd.DataFrame(
        {
            "category": raw["category"],
            "count": raw["crimes_dec2010_nov2011"].astype(int),
            "published": raw["estimated_cost_gbp"].astype(float),
        }
    )


def test_spp2012_table_is_reproduced_from_its_counts():
    """The 2012 assessment's cost of crime, from its own counts and derived unit costs: £48.5m."""
    table = published_2012()
    costs = crime_costs(table[["category", "count"]], unit_cost_table("spp2012")).set_index(
        "category"
    )
    assert costs["cost_gbp"].sum() == pytest.approx(SPP2012_TOTAL, abs=1.0)
    assert table["published"].sum() == SPP2012_TOTAL
    for _, row in table.iterrows():
        assert costs.loc[row["category"], "cost_gbp"] == pytest.approx(row["published"], abs=0.5)


@pytest.mark.parametrize("name", UNIT_COST_TABLES)
def test_bundled_tables_have_source_and_price_year(name):
    table = unit_cost_table(name)
    assert len(table) >= 7
    assert table["source"].str.len().gt(10).all() and table["price_year"].notna().all()
    assert (table["unit_cost_gbp"] > 0).all()
    # every mapping target exists in its table
    assert set(POLICE_UK_MAPPING[name].values()) <= set(table["category"])


def test_published_unit_costs():
    """Spot checks against the published figures (ho2005 2003/04 prices; ho2018 2015/16 prices)."""
    ho2005 = unit_cost_table("ho2005").set_index("category")["unit_cost_gbp"]
    assert ho2005["Burglary in a dwelling"] == 3268 and ho2005["Sexual offences"] == 31438
    ho2018 = unit_cost_table("ho2018").set_index("category")["unit_cost_gbp"]
    assert ho2018["Violence with injury"] == 14050 and ho2018["Rape"] == 39360


def test_police_uk_mapping_hand_computed():
    """3 violence x £10,407 + 2 shoplifting x £100 = £31,421; ASB is counted but not costed."""
    incidents = pd.DataFrame(
        {
            "category": ["Violence and sexual offences"] * 3
            + ["Shoplifting"] * 2
            + ["Anti-social behaviour"]
        }
    )
    result = assessment_costs(incidents=incidents, unit_costs="ho2005")
    crime = result.crime.set_index("category")
    assert crime["cost_gbp"].sum() == 31_421
    assert (
        pd.isna(crime.loc["Anti-social behaviour", "cost_gbp"])
        and crime.loc["Anti-social behaviour", "count"] == 1
    )
    assert any("1 incidents in 1 categories have no unit cost" in n for n in result.notes)
    assert "2003/04" in result.crime_note


def test_user_table_matches_police_uk_names_directly():
    table = checked_unit_costs(
        pd.DataFrame({"Category": ["Burglary"], "unit_cost": ["5,930".replace(",", "")]}),
        source="mine.csv",
    )
    costs = crime_costs(pd.DataFrame({"category": ["Burglary", "Drugs"], "count": [2, 1]}), table)
    assert costs["cost_gbp"].iloc[0] == 11_860 and costs["price_year"].iloc[0] == "not stated"


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"category": ["A"]}), r"mine\.csv: no column unit_cost_gbp"),
        (
            pd.DataFrame({"category": ["A", "B"], "unit_cost_gbp": ["1", "lots"]}),
            r"mine\.csv: column 'unit_cost_gbp' row 2 \(B\) has 'lots'",
        ),
    ],
    ids=["missing-column", "non-numeric"],
)
def test_bad_user_table(frame, match):
    with pytest.raises(InputError, match=match):
        checked_unit_costs(frame, source="mine.csv")


def test_road_costs_by_severity_hand_computed():
    """1 fatal, 2 serious, 3 slight at 2014 prices: 2,066,732 + 2 x 235,791 + 3 x 24,887."""
    collisions = pd.DataFrame(
        {"severity": ["fatal", "serious", "serious", "slight", "slight", "slight"]}
    )
    road = road_costs(collisions, price_year=2014).set_index("severity")
    assert road.loc["serious", "cost_gbp"] == 2 * 235_791
    assert road.loc["total", "cost_gbp"] == 2_066_732 + 2 * 235_791 + 3 * 24_887
    assert road.loc["total", "collisions"] == 6
    assert road_costs(collisions, price_year=2009).loc[0, "unit_cost_gbp"] == 1_790_203
    with pytest.raises(InputError, match="no value-of-prevention figures for price year 1999"):
        road_costs(collisions, price_year=1999)


def test_cli_costs_bundled_and_user_table(tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        cli, ["costs", "--price-year", "2009", "--years", "2014-2016", "-o", str(tmp_path / "a")]
    )
    assert result.exit_code == 0, result.output
    assert "2009 prices" in result.output
    road = pd.read_csv(tmp_path / "a" / "costs_road.csv", encoding="utf-8-sig")
    assert list(road["severity"]) == ["fatal", "serious", "slight", "total"]
    in_years = int(road["collisions"].iloc[-1])
    assert re.search(rf"years +2014-2016: {in_years:,} collisions\n", result.output)
    assert f"\u00a3{road['cost_gbp'].iloc[-1]:,.0f}" in result.output
    assert re.search(r"incidents file +peterborough_policeuk_street_crime", result.output)
    assert (tmp_path / "a" / "costs.png").read_bytes()[:4] == b"\x89PNG"
    own = tmp_path / "unit.csv"
    own.write_text("category,unit_cost_gbp,price_year\nBurglary,1000,2024/25\n", encoding="utf-8")
    result = runner.invoke(cli, ["costs", "--unit-costs", str(own), "-o", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    crime = pd.read_csv(tmp_path / "b" / "costs_crime.csv", encoding="utf-8-sig").set_index(
        "category"
    )
    assert crime.loc["Burglary", "cost_gbp"] == crime.loc["Burglary", "count"] * 1000
    result = runner.invoke(
        cli, ["costs", "--unit-costs", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "c")]
    )
    assert result.exit_code == 1 and "no such unit-cost file" in result.output


def test_cli_costs_default_is_the_latest_three_complete_years(tmp_path):
    """Peterborough stops on 31 Oct 2017: by default 2014-2016 are costed, not 2012-2017."""
    runner = CliRunner()
    assert "latest three complete years" in runner.invoke(cli, ["costs", "--help"]).output
    result = runner.invoke(cli, ["costs", "-o", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert re.search(r"years +2014-2016: 1,659 collisions\n", result.output)
    assert "2012-2017" not in result.output.split("Run summary")[1].split("collisions file")[0]
    chosen = runner.invoke(cli, ["costs", "--years", "2014-2016", "-o", str(tmp_path / "y")])
    default = pd.read_csv(tmp_path / "d" / "costs_road.csv", encoding="utf-8-sig")
    pd.testing.assert_frame_equal(
        default, pd.read_csv(tmp_path / "y" / "costs_road.csv", encoding="utf-8-sig")
    )
    assert chosen.exit_code == 0 and "incomplete" not in chosen.output
    past = runner.invoke(cli, ["costs", "--years", "2016-2018", "-o", str(tmp_path / "p")])
    assert "Window 2016-2018 is incomplete: the data stop 31 Oct 2017" in past.output


def test_flat_crime_costs_is_the_function_whatever_was_imported_first():
    """geo_sppa.crime_costs is the function before and after geo_sppa.assessment.crime_costs is
    imported (in the old flat layout the submodule import replaced it with the module)."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import importlib, geo_sppa\n"
        "before = geo_sppa.crime_costs\n"
        "module = importlib.import_module('geo_sppa.assessment.crime_costs')\n"
        "from geo_sppa import crime_costs as named\n"
        "assert before is named is geo_sppa.crime_costs is module.crime_costs, 'differ'\n"
        "assert callable(named) and not isinstance(named, type(module)), 'a module'\n"
        "try:\n    importlib.import_module('geo_sppa.crime_costs')\n"
        "except ModuleNotFoundError:\n    print('function only')\n"
    )
    root = Path(__file__).resolve().parents[1]
    for first in ("", "import geo_sppa.assessment.crime_costs\n"):
        out = subprocess.run(
            [sys.executable, "-c", first + code], cwd=root, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "function only"


def test_collisions_in_years():
    frame = pd.DataFrame({"year": [2012, 2014, 2015, 2016, 2017]})
    kept, span = collisions_in_years(frame, (2014, 2016))
    assert kept["year"].tolist() == [2014, 2015, 2016] and span == (2014, 2016)
    kept, span = collisions_in_years(frame)
    assert len(kept) == 5 and span == (2012, 2017)


def test_cost_chart_draws_both_panels_in_millions():
    """Road bars are the severity costs / 1e6; crime bars only the costed categories."""
    from geo_sppa.render.charts import cost_chart

    collisions = pd.DataFrame({"severity": ["fatal", "serious", "slight", "slight"]})
    incidents = pd.DataFrame({"category": ["Shoplifting", "Shoplifting", "Anti-social behaviour"]})
    result = assessment_costs(
        collisions=collisions, incidents=incidents, unit_costs="ho2005", price_year=2014
    )
    fig = cost_chart(result, title="Costs")
    left, right = fig.axes
    road = result.road[result.road["severity"] != "total"]
    assert [b.get_height() for b in left.containers[0]] == pytest.approx(
        (road["cost_gbp"] / 1e6).tolist()
    )
    assert left.get_title() == "Road collisions (2014 prices)"
    assert [t.get_text() for t in right.get_yticklabels()] == ["Shoplifting"]
    assert [b.get_width() for b in right.containers[0]] == pytest.approx([200 / 1e6])
    assert fig.get_suptitle() == "Costs"
    road_only = cost_chart(assessment_costs(collisions=collisions))
    assert road_only.axes[0].get_visible() and not road_only.axes[1].get_visible()
