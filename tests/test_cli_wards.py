"""CLI runs of ``geo-sppa wards`` and ``geo-sppa outliers`` on the bundled Peterborough data."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from geo_sppa.cli.main import cli

WD13 = [
    "Barnack",
    "Bretton North",
    "Bretton South",
    "Central",
    "Dogsthorpe",
    "East",
    "Eye and Thorney",
    "Fletton and Woodston",
    "Glinton and Wittering",
    "Newborough",
    "North",
    "Northborough",
    "Orton Longueville",
    "Orton Waterville",
    "Orton with Hampton",
    "Park",
    "Paston",
    "Ravensthorpe",
    "Stanground Central",
    "Stanground East",
    "Walton",
    "Werrington North",
    "Werrington South",
    "West",
]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize(("ward_set", "n"), [("2013", 24), ("2022", 22)], ids=["WD13", "WD22"])
def test_wards_writes_every_ward(tmp_path, ward_set, n):
    imd = "2010" if ward_set == "2013" else "2019"
    result = run("wards", "--ward-set", ward_set, "--imd", imd, "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    for name in ("wards.csv", "wards.gpkg", "wards.html", "wards_set_aside.csv"):
        assert (tmp_path / name).exists(), name
    table = pd.read_csv(tmp_path / "wards.csv", encoding="utf-8-sig")
    assert len(table) == n
    assert table["count"].sum() == 2735  # every ASB record placed
    assert all(name in result.output for name in table["ward_name"])
    assert len(gpd.read_file(tmp_path / "wards.gpkg")) == n
    assert "records read        14,459" in result.output
    assert "7: 2018-10, 2018-11, 2018-12, 2019-01, 2019-02, 2019-08, 2021-01" in result.output
    if ward_set == "2013":
        assert set(table["ward_name"]) == set(WD13)
        assert "imd_score" in table.columns
    else:
        assert "imd_rank_popweighted" in table.columns and "imd_score" not in table.columns


def test_category_without_value_lists_categories(tmp_path):
    result = run("wards", "--category", "-o", str(tmp_path))
    assert result.exit_code == 0
    assert "Violence and sexual offences   3981" in result.output
    assert "Anti-social behaviour          2735" in result.output
    assert not (tmp_path / "wards.csv").exists()


def test_unknown_category_is_an_error_listing_those_present(tmp_path):
    result = CliRunner().invoke(cli, ["wards", "--category", "Domestic abuse", "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert "Error: no incidents of category 'Domestic abuse'" in result.output
    assert "Burglary (619)" in result.output


def test_outliers_default_run(tmp_path):
    result = run("outliers", "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    for name in (
        "outliers.csv",
        "outliers.gpkg",
        "outliers_scatter.png",
        "outliers_funnel.png",
        "outliers.html",
    ):
        assert (tmp_path / name).exists(), name
    table = pd.read_csv(tmp_path / "outliers.csv", encoding="utf-8-sig", keep_default_na=False)
    assert len(table) == 24
    for column in (
        "observed",
        "expected",
        "studentized_residual",
        "cooks_distance",
        "pi_low",
        "pi_high",
        "label",
        "gi_z",
        "gi_q",
        "hotspot",
        "funnel",
    ):
        assert column in table.columns
    flagged = set(table.loc[table["label"] != "", "ward_name"])
    assert flagged == {"Central", "West"}
    assert "Moran's I" in result.output and "nb (24 wards)" in result.output
    assert "partly circular" in result.output


def test_outliers_suppression_shows_less_than(tmp_path):
    result = run("outliers", "--suppress-below", "25", "--model", "poisson", "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    table = pd.read_csv(
        tmp_path / "outliers.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False
    )
    barnack = table.set_index("ward_name").loc["Barnack"]
    assert barnack["count"] == "<25" and barnack["observed"] == "<25"
    assert barnack["rate_per_1000"] == ""
    assert "<25" in result.output


def test_outliers_on_area_without_wards_is_an_error(tmp_path):
    result = CliRunner().invoke(cli, ["outliers", "--area", "leeds-central", "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert "Error:" in result.output


def test_own_wards_with_unknown_codes_use_area_shares(tmp_path):
    """Ward codes that match no lookup column: LSOAs are assigned by largest area share."""
    from geo_sppa.areas import bundled_area

    own = gpd.read_file(bundled_area("peterborough").wards["2013"])
    own["WD13CD"] = "X" + own["WD13CD"].astype(str)
    own.to_file(tmp_path / "own.gpkg", driver="GPKG")
    result = run("wards", "--wards", str(tmp_path / "own.gpkg"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "LSOAs assigned by largest area share" in result.output
    table = pd.read_csv(tmp_path / "out" / "wards.csv", encoding="utf-8-sig")
    assert len(table) == 24 and table["ward_code"].str.startswith("X").all()
    assert table["count"].sum() == 2735
