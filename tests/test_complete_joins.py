"""Complete joins (issue 13): a population or IMD table joined to wards covers every LSOA of them.

Regression tests for the silent cases of issue 13 on the bundled Peterborough data (2013 wards):
a population file missing LSOAs halved Central's population (12,873 -> 6,551) and doubled its
rate; an IMD file missing LSOAs moved Dogsthorpe's IMD (40.5 -> 48.2); three wards became NaN.
Each is now a one-line error naming the file, how many LSOAs are missing, a few codes and the
fix, or, with ``--allow-incomplete``, the affected wards marked in column ``incomplete``.
"""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from geo_sppa.bundled.areas import project_root
from geo_sppa.cli.main import cli

ROOT = project_root()
DATA = ROOT / "data" / "peterborough"
LOOKUP = pd.read_csv(ROOT / "boundaries" / "peterborough" / "peterborough_lsoa11_lookup.csv")
CENTRAL, DOGSTHORPE = "E05002172", "E05002173"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def lsoas_of(ward13: str) -> list[str]:
    return sorted(LOOKUP.loc[LOOKUP["ward13_code_derived"] == ward13, "lsoa11_code"])


def one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("Error: "), output
    assert "Traceback" not in output and "unexpected" not in output
    return lines[0]


@pytest.fixture
def population_without_half_of_central(tmp_path):
    """The bundled population file without 3 of Central's 6 LSOAs (Central has 12,873
    residents; issue 13 saw about half of them disappear without a word)."""
    dropped = lsoas_of(CENTRAL)[:3]
    pop = pd.read_csv(DATA / "peterborough_population_lsoa11.csv")
    path = tmp_path / "pop_missing.csv"
    pop[~pop["lsoa11_code"].isin(dropped)].to_csv(path, index=False)
    return path, dropped


def test_population_missing_lsoas_is_an_error_naming_file_count_and_codes(
    tmp_path, population_without_half_of_central
):
    path, dropped = population_without_half_of_central
    result = run("wards", "--population", str(path), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert "pop_missing.csv: 3 of the 112 LSOAs of the wards have no population" in line
    assert all(code in line for code in dropped)
    assert "--population" in line and "--allow-incomplete" in line
    assert not (tmp_path / "out" / "wards.csv").exists()


def test_allow_incomplete_marks_the_ward_and_says_so(tmp_path, population_without_half_of_central):
    path, dropped = population_without_half_of_central
    out = tmp_path / "out"
    result = run("wards", "--population", str(path), "--allow-incomplete", "-o", str(out))
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "wards.csv", encoding="utf-8-sig").set_index("ward_code")
    assert table.loc[CENTRAL, "incomplete"] == "population: 3 of 6 LSOAs missing"
    assert len(lsoas_of(CENTRAL)) == 6
    assert table.drop(index=CENTRAL)["incomplete"].isna().all()  # written empty
    pop = pd.read_csv(DATA / "peterborough_population_lsoa11.csv").set_index("lsoa11_code")
    kept = [c for c in lsoas_of(CENTRAL) if c not in dropped]
    assert table.loc[CENTRAL, "population"] == pop.loc[kept, "pop_total_mid2015"].sum()
    assert "--allow-incomplete: 1 ward(s) computed from tables that miss some" in result.output


def test_imd_missing_lsoas_is_an_error_not_a_changed_score(tmp_path):
    """Dogsthorpe's IMD 2010 moved from 40.5 to 48.2 when two of its LSOAs were missing."""
    imd = pd.read_csv(DATA / "peterborough_imd2010_lsoa01.csv")
    parents = LOOKUP.loc[LOOKUP["ward13_code_derived"] == DOGSTHORPE, "lsoa01_code"]
    dropped = sorted(set(parents))[:2]
    path = tmp_path / "imd_missing.csv"
    imd[~imd["lsoa01_code"].isin(dropped)].to_csv(path, index=False)
    result = run("wards", "--imd", str(path), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert "imd_missing.csv: " in line and "have no IMD values" in line
    children = sorted(LOOKUP.loc[LOOKUP["lsoa01_code"].isin(dropped), "lsoa11_code"])
    assert f"{len(children)} of the 112 LSOAs" in line
    assert children[0] in line
    assert "--imd" in line


def test_imd_missing_every_lsoa_of_three_wards_is_an_error(tmp_path):
    """Three wards became NaN when the IMD file had none of their LSOAs."""
    imd = pd.read_csv(DATA / "peterborough_imd2019_lsoa11.csv")
    wards = ("E05002169", "E05002177", "E05002182")  # Barnack, Glinton and Wittering, Northborough
    dropped = LOOKUP.loc[LOOKUP["ward13_code_derived"].isin(wards), "lsoa11_code"]
    path = tmp_path / "imd2019_cut.csv"
    imd[~imd["lsoa11_code"].isin(dropped)].to_csv(path, index=False)
    result = run("wards", "--imd", str(path), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert f"imd2019_cut.csv: {len(dropped)} of the 112 LSOAs of the wards have no IMD" in line
    allowed = run("wards", "--imd", str(path), "--allow-incomplete", "-o", str(tmp_path / "b"))
    assert allowed.exit_code == 0, allowed.output
    table = pd.read_csv(tmp_path / "b" / "wards.csv", encoding="utf-8-sig").set_index("ward_code")
    marked = table["incomplete"].dropna()
    assert set(marked.index) == set(wards)
    assert all(text.startswith("IMD values: ") for text in marked)
    assert "--allow-incomplete: 3 ward(s)" in allowed.output


def test_imd_2025_file_missing_lsoa21_is_an_error_naming_the_2021_codes(tmp_path):
    """A user's IoD2025 file (LSOA 2021) that lacks two of Peterborough's 2021 LSOAs."""
    england = pd.read_csv(ROOT / "data" / "england" / "imd2025_england_lsoa21.csv.gz")
    lookup = pd.read_csv(ROOT / "data" / "england" / "lookup_lsoa21_ward24_ltla24.csv.gz")
    peterborough = lookup.loc[lookup["ltla24_code"] == "E06000031", "lsoa21_code"]
    dropped = sorted(peterborough)[-2:]  # two LSOAs new in 2021 (E010355..)
    path = tmp_path / "iod2025_cut.csv.gz"
    cut = england[england["lsoa21_code"].isin(peterborough) & ~england["lsoa21_code"].isin(dropped)]
    cut.to_csv(path, index=False)
    result = run("wards", "--ward-set", "2022", "--imd", str(path), "-o", str(tmp_path / "o"))
    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert "iod2025_cut.csv.gz: 2 of the 121 LSOAs of the wards have no IMD values" in line
    assert all(code in line for code in dropped)


@pytest.mark.parametrize("value", ["-120", "0"], ids=["negative", "zero"])
def test_population_must_be_positive(tmp_path, value):
    pop = pd.read_csv(DATA / "peterborough_population_lsoa11.csv", dtype=str)
    pop.loc[5, "pop_total_mid2015"] = value
    path = tmp_path / "pop_bad.csv"
    pop.to_csv(path, index=False)
    result = run("wards", "--population", str(path), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert "pop_bad.csv" in line and "zero or less" in line and pop.loc[5, "lsoa11_code"] in line
