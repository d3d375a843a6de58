"""CLI runs of ``geo-sppa wards`` and ``geo-sppa outliers`` on the bundled Peterborough data."""

from __future__ import annotations

import re
from pathlib import Path

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
        # IMD 2019 has ranks only: the default measure is the score rebuilt from the domain ranks
        assert "imd_rank_popweighted" in table.columns and "imd_score" not in table.columns
        assert "IMD 2019 (LSOA 2011), measure imd_exp_score" in result.output


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
        "outliers_set_aside.csv",
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
        "p_value",
        "q_value",
        "outside_pi",
        "flagged_fdr",
        "gi_z",
        "gi_q",
        "hotspot",
        "funnel",
    ):
        assert column in table.columns
    # by default on the IMD without its crime domain; Barnack, Central and West are outside their
    # per-ward 95% intervals; only West survives the 5% FDR
    raw = set(table.loc[table["outside_pi"].astype(str) == "True", "ward_name"])
    assert raw == {"Barnack", "Central", "West"}
    flagged = set(table.loc[table["label"] != "", "ward_name"])
    assert flagged == {"West"}
    # one IMD release and no concentration in West: no reading is supported, none is asserted
    assert "\nWest: more than deprivation predicts (no reading supported by the data)\n" in (
        result.output
    )
    assert "out of date" not in result.output
    # Central, the city centre: the funnel flags it, the model not after the correction; its
    # incidents pile into one LSOA, the denominator reading
    assert re.search(
        r"\nCentral: as deprivation predicts; the funnel finds the rate high", result.output
    )
    assert re.search(
        r"\n  denominator: supported: 5\d% of incidents, 1\d% of residents", result.output
    )
    verdicts = table.set_index("ward_name")
    assert verdicts.loc["West", "verdict"] == "more than deprivation predicts"
    assert verdicts.loc["Central", "verdict"] == "as deprivation predicts"
    assert "false discovery rate 0.05" in result.output
    assert re.search(r"\n  measure +imd_no_crime_score \(default for crime and ASB", result.output)
    assert re.search(
        r"\n  model +nb \(24 wards\): log\(count / population\) = -?\d+\.\d{3} \+ "
        r"\d\.\d+ x imd_no_crime_score; alpha = \d\.\d{3}; Pearson dispersion \d+\.\d\d; AIC",
        result.output,
    )
    # expected Moran's I under no autocorrelation is -1 / (24 - 1) = -0.043
    assert re.search(
        r"\n  Moran's I +-?\d\.\d{3} \(expected -0\.043; permutation p = \d\.\d{3}, "
        r"seed 12345\)",
        result.output,
    )
    assert "consider --measure imd_no_crime_score" not in result.output


def test_outliers_suppression_shows_less_than(tmp_path):
    result = run("outliers", "--suppress-below", "25", "--model", "poisson", "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    table = pd.read_csv(
        tmp_path / "outliers.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False
    )
    barnack = table.set_index("ward_name").loc["Barnack"]
    assert barnack["count"] == "<25" and barnack["observed"] == "<25"
    assert barnack["rate_per_1000"] == ""
    assert barnack["studentized_residual"] == "" and barnack["cooks_distance"] == ""
    # with loo_expected and alpha, the ward's own p-value would give its count back
    assert barnack["p_value"] == "" and barnack["q_value"] == ""
    assert float(barnack["expected"]) > 0  # the fit used the exact count
    printed = next(line for line in result.output.splitlines() if line.startswith("Barnack "))
    assert "<25" in printed
    assert "records used        2,735" not in result.output


def test_outliers_on_area_without_wards_is_an_error(tmp_path):
    result = CliRunner().invoke(cli, ["outliers", "--area", "leeds-central", "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output == (
        "Error: the bundled area 'leeds-central' has no incidents data; pass --incidents PATH\n"
    )
    assert not any(tmp_path.iterdir())


def test_own_wards_with_unknown_codes_use_area_shares(tmp_path):
    """Ward codes that match no lookup column: LSOAs are assigned by largest area share."""
    from geo_sppa.bundled.areas import bundled_area

    own = gpd.read_file(bundled_area("peterborough").wards["2013"])
    own["WD13CD"] = "X" + own["WD13CD"].astype(str)
    own.to_file(tmp_path / "own.gpkg", driver="GPKG")
    result = run("wards", "--wards", str(tmp_path / "own.gpkg"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "LSOAs assigned by largest area share" in result.output
    table = pd.read_csv(tmp_path / "out" / "wards.csv", encoding="utf-8-sig")
    assert len(table) == 24 and table["ward_code"].str.startswith("X").all()
    assert table["count"].sum() == 2735


STREET = "peterborough_policeuk_street_crime_7months_2018_2021.csv"


def one_ward_incidents(path, n: int):
    """The bundled street file cut to ``n`` ASB records, all in LSOA E01015589 (one ward), plus 40
    records of other categories."""
    from geo_sppa.bundled.areas import bundled_area

    source = bundled_area("peterborough").incidents
    raw = pd.read_csv(source, dtype=str, keep_default_na=False)
    asb = raw[(raw["Crime type"] == "Anti-social behaviour") & (raw["LSOA code"] == "E01015589")]
    other = raw[raw["Crime type"] != "Anti-social behaviour"].head(40)
    pd.concat([asb.head(n), other]).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("n", [1, 3], ids=["1 incident", "3 incidents"])
@pytest.mark.parametrize("model", ["nb", "poisson"])
def test_outliers_with_every_incident_in_one_ward_is_an_error_not_a_traceback(tmp_path, model, n):
    """Regression: statsmodels' 'first guess on the deviance function returned a nan' reached the
    user as a Python traceback."""
    incidents = one_ward_incidents(tmp_path / "one.csv", n)
    result = CliRunner().invoke(
        cli, ["outliers", "--incidents", str(incidents), "--model", model, "-o", str(tmp_path)]
    )
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert (
        "Error: outliers: only 1 ward has any 'Anti-social behaviour' incidents; "
        "a model needs at least 3 wards" in result.output
    )
    assert "choose a broader --category or more months" in result.output


def test_category_is_matched_ignoring_case_and_space(tmp_path):
    """Regression: --category "anti-social behaviour" was rejected."""
    result = run("wards", "--category", "  anti-social  BEHAVIOUR ", "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "Anti-social behaviour by ward" in result.output
    assert "category            Anti-social behaviour" in result.output
    assert pd.read_csv(tmp_path / "wards.csv", encoding="utf-8-sig")["count"].sum() == 2735


def test_suppression_withholds_the_exact_total(tmp_path):
    """Regression: 'records used 2,735' minus the visible ward counts gave the suppressed total."""
    result = run("wards", "--suppress-below", "25", "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "wards.csv", encoding="utf-8-sig", dtype=str)
    shown = pd.to_numeric(table["count"], errors="coerce")
    hidden = int(shown.isna().sum())
    assert hidden > 0
    used = next(line for line in result.output.splitlines() if "records used" in line)
    assert "2,735" not in used and "2735" not in used
    assert f"{int(shown.sum()):,} in the wards shown; {hidden} more with counts 1-24" in used
    assert "exact total withheld" in used
    assert "11,724" not in result.output  # other categories: read - other - set aside = used
    assert "counts below 25 suppressed" in result.output


@pytest.mark.parametrize("command", ["wards", "outliers"])
def test_output_dir_help_does_not_promise_geojson(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "GeoJSON" not in result.output
    assert "GeoPackage" in result.output


def test_overlapping_ward_layer_is_an_error(tmp_path):
    """Regression: overlapping ward polygons counted each incident in the overlap in one ward."""
    from geo_sppa.bundled.areas import bundled_area

    own = gpd.read_file(bundled_area("peterborough").wards["2013"]).to_crs(27700)
    central = own["WD13NM"] == "Central"
    own.loc[central, "geometry"] = own.loc[central].buffer(300)
    own.to_file(tmp_path / "overlap.gpkg", driver="GPKG")
    result = CliRunner().invoke(
        cli, ["wards", "--wards", str(tmp_path / "overlap.gpkg"), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: overlap.gpkg: wards ")
    assert "Central" in result.output and " ha (" in result.output
    assert (
        "the boundary layer must not overlap (fix the geometry or pass a clean layer)"
        in result.output
    )


def test_ward_outliers_counts_and_names_the_category_it_is_given():
    """Regression: the report called the outlier analysis without the category and source, so it
    could model one category and name another; ward_outliers takes both and keeps them together."""
    from geo_sppa.cli.wards import read_ward_inputs
    from geo_sppa.wards.outliers import ward_outliers

    frames = read_ward_inputs(
        area="peterborough", incidents=None, category="Burglary", crs=None, wards_path=None
    )
    assert frames is not None
    result = ward_outliers(**frames, rng=1, measure="imd_no_crime_score")
    assert result.rates.category == "Burglary"
    assert result.rates.n_used == 619
    assert result.data["observed"].sum() == 619
    assert dict(result.summary)["category"] == "Burglary"
    assert dict(result.summary)["records used"] == "619"
    assert (
        result.title == "Burglary, 7 months: wards against IMD 2010 score without the crime domain"
    )
    assert result.report.fit.measure == "imd_no_crime_score"
    assert result.flagged == tuple(
        (row.ward_name, row.label) for row in result.data.itertuples() if row.label
    )
    assert result.map_layers == ("label", "imd_no_crime_score", "rate_per_1000", "hotspot")


def test_outliers_poisson_prints_the_dispersion_warning(tmp_path):
    result = run("outliers", "--model", "poisson", "--measure", "imd_score", "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert re.search(
        r"\n  WARNING +the Poisson model does not fit: Pearson dispersion 12\.9 \(chi-squared "
        r"test p = .*use --model nb \(the default\)\n",
        result.output,
    )


def test_outliers_imd_2019_rank_nb_fit_converges(tmp_path):
    """Regression (issue 14): alpha stayed at its start value 0.1 against a maximum likelihood of
    0.111 and the tool used the fit with a note."""
    result = run(
        "outliers", "--ward-set", "2022", "--imd", "2019", "--measure", "imd_rank_popweighted",
        "-o", str(tmp_path),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "alpha = 0.111" in result.output
    assert "converge" not in result.output


def test_wards_manifest_removes_only_its_own_earlier_outputs(tmp_path):
    """run.json lists every ward output with its checksum and the inputs read; a file an
    earlier wards run wrote and this one does not is removed and named; the files of
    `wards --la` and `map wards`, which share the folder under their own entries, are kept."""
    import json

    from run_manifest import checked_entry, sha256

    out = tmp_path / "o"
    la = run("wards", "--la", "E08000035", "-o", str(out))
    assert la.exit_code == 0, la.output
    la_entry = checked_entry(out, "wards --la", la.output)
    assert [Path(o["path"]).name for o in la_entry["outputs"]] == ["wards_imd.csv"]
    assert la_entry["options"] == {"la": "E08000035"}
    first = run("wards", "--ward-set", "2022", "-o", str(out))
    assert first.exit_code == 0, first.output
    entry = checked_entry(out, "wards", first.output)
    assert [Path(o["path"]).name for o in entry["outputs"]] == [
        "wards.csv",
        "wards.gpkg",
        "wards_set_aside.csv",
        "wards.html",
    ]
    inputs = [Path(i["path"]).name for i in entry["inputs"]]
    from geo_sppa.bundled.areas import bundled_area

    assert inputs[:2] == [STREET, bundled_area("peterborough").wards["2022"].name]
    assert "peterborough_imd2010_lsoa01.csv" in inputs
    assert entry["options"]["ward_set"] == "2022" and entry["options"]["suppress_below"] is None
    assert entry["counts"] == {"n_read": 14459, "n_used": 2735, "n_set_aside": 0}
    redrawn = run("map", "wards", str(out / "wards.gpkg"))
    assert redrawn.exit_code == 0, redrawn.output
    kept = {n: sha256(out / n) for n in ("wards_imd.csv", "wards_map.html")}
    manifest = json.loads((out / "run.json").read_text())
    manifest["runs"]["wards"]["outputs"].append({"path": str(out / "wards_old.csv")})
    (out / "run.json").write_text(json.dumps(manifest))
    (out / "wards_old.csv").write_text("an earlier run's table")
    second = run("wards", "-o", str(out))
    assert second.exit_code == 0, second.output
    assert not (out / "wards_old.csv").exists()
    assert "wards_old.csv (left by an earlier run)" in second.output
    assert checked_entry(out, "wards", second.output)["removed_from_earlier_run"] == [
        "wards_old.csv"
    ]
    assert {n: sha256(out / n) for n in kept} == kept
    runs = json.loads((out / "run.json").read_text())["runs"]
    assert set(runs) == {"wards --la", "wards", "map wards wards_map.html"}


def test_wards_manifest_withholds_the_suppressed_total(tmp_path):
    """With --suppress-below the summary withholds the exact total used; run.json must too."""
    import json

    result = run("wards", "--suppress-below", "25", "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    text = (tmp_path / "run.json").read_text()
    counts = json.loads(text)["runs"]["wards"]["counts"]
    assert counts["n_used"] == "withheld (small counts suppressed)"
    assert "2735" not in text and "2,735" not in text
    assert counts["n_read"] == 14459


def test_a_wards_run_killed_part_way_leaves_no_manifest_and_the_next_cleans_up(tmp_path):
    """Kill `geo-sppa wards` (SIGKILL) as soon as its first output appears: no run.json, the
    table present is whole; the next run removes the killed run's partial files."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "o"
    proc = subprocess.Popen(
        [sys.executable, "-m", "geo_sppa", "-q", "wards", "-o", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / "wards.csv").exists():
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (out / "run.json").exists()
    assert len(pd.read_csv(out / "wards.csv", encoding="utf-8-sig")) == 24  # whole: it parses
    # another command's partial files: one of a dead process, one still being written
    dead, alive = f".outliers.partial-{proc.pid}.csv", f".outliers.partial-{os.getppid()}.csv"
    for name in (dead, alive):
        (out / name).write_text("half")
    again = run("wards", "-o", str(out))
    assert again.exit_code == 0, again.output
    assert [p.name for p in out.iterdir() if ".partial-" in p.name] == [alive]
    assert f"{dead} (left by an earlier run)" in again.output


def test_outliers_manifest_lists_its_outputs_and_leaves_the_wards_run_alone(tmp_path):
    """`outliers` writes its run.json entry last: every output with its checksum, the inputs,
    the options and counts; a `wards` run in the same folder keeps its own entry and files."""
    import json

    from run_manifest import checked_entry, sha256

    out = tmp_path / "o"
    wards = run("wards", "-o", str(out))
    assert wards.exit_code == 0, wards.output
    kept = {p.name: sha256(p) for p in out.glob("wards*")}
    result = run("outliers", "--fdr", "0.1", "-o", str(out))
    assert result.exit_code == 0, result.output
    entry = checked_entry(out, "outliers", result.output)
    assert [Path(o["path"]).name for o in entry["outputs"]] == [
        "outliers.csv",
        "outliers.gpkg",
        "outliers_set_aside.csv",
        "outliers_scatter.png",
        "outliers_funnel.png",
        "outliers.html",
    ]
    assert Path(entry["inputs"][0]["path"]).name == STREET
    assert entry["options"]["fdr"] == 0.1 and entry["options"]["model"] == "nb"
    assert entry["counts"] == {"n_read": 14459, "n_used": 2735, "n_set_aside": 0}
    assert {p.name: sha256(p) for p in out.glob("wards*")} == kept
    assert set(json.loads((out / "run.json").read_text())["runs"]) == {"wards", "outliers"}
