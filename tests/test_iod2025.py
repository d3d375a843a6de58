"""IMD 2025 on the bundled Peterborough wards, and the deprivation change between releases.

The expected values are computed here from the raw rows of the bundled files with plain Python
(dicts and loops), independently of ``geo_sppa.wards.releases``:
- a split LSOA 2011's children share its mid-2015 residents equally;
- 2022 wards get their LSOAs 2021 from the ONS LSOA 2021 -> ward 2024 lookup, 2013 wards through
  the LSOA 2011's ward (``ward13_code_derived``);
- a ward's score is the population-weighted mean of its LSOAs' scores; its rank within the
  authority orders those means (1 = most deprived).
"""

from __future__ import annotations

from collections import defaultdict

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from geo_sppa.bundled.areas import project_root
from geo_sppa.cli.main import cli
from geo_sppa.wards.releases import deprivation_change, lsoa_pieces, ward_positions

ROOT = project_root()
ENGLAND = ROOT / "data" / "england"
PETERBOROUGH = ROOT / "data" / "peterborough"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def raw():
    """The raw rows: LSOA 2011 population, the lookups, IoD2025 and IoD2019 (Peterborough)."""
    pop = pd.read_csv(PETERBOROUGH / "peterborough_population_lsoa11.csv")
    l11 = pd.read_csv(ENGLAND / "lookup_lsoa11_lsoa21_ltla22.csv.gz")
    w24 = pd.read_csv(ENGLAND / "lookup_lsoa21_ward24_ltla24.csv.gz")
    imd25 = pd.read_csv(ENGLAND / "imd2025_england_lsoa21.csv.gz")
    own = pd.read_csv(ROOT / "boundaries" / "peterborough" / "peterborough_lsoa11_lookup.csv")
    return {
        "pop": dict(zip(pop["lsoa11_code"], pop["pop_total_mid2015"], strict=True)),
        "children": l11.groupby("lsoa11_code")["lsoa21_code"].apply(list).to_dict(),
        "parents": l11.groupby("lsoa21_code")["lsoa11_code"].apply(list).to_dict(),
        "ward24": dict(zip(w24["lsoa21_code"], w24["ward24_code"], strict=True)),
        "ward13": dict(zip(own["lsoa11_code"], own["ward13_code_derived"], strict=True)),
        "score25": dict(zip(imd25["lsoa21_code"], imd25["IMD_score"], strict=True)),
        "decile25": dict(zip(imd25["lsoa21_code"], imd25["IMD_decile"], strict=True)),
    }


def hand_pieces(raw, ward_set: str) -> list[tuple[str, str, str, float]]:
    """(lsoa11, lsoa21, ward, residents) for every Peterborough LSOA piece, by hand."""
    pieces = []
    for lsoa11, residents in raw["pop"].items():
        children = raw["children"][lsoa11]
        for lsoa21 in children:
            ward = raw["ward24"][lsoa21] if ward_set == "2022" else raw["ward13"][lsoa11]
            pieces.append((lsoa11, lsoa21, ward, residents / len(children)))
    return pieces


def hand_scores(pieces, score: dict, *, by: int) -> dict[str, float]:
    num, den = defaultdict(float), defaultdict(float)
    for piece in pieces:
        num[piece[2]] += piece[3] * score[piece[by]]
        den[piece[2]] += piece[3]
    return {ward: num[ward] / den[ward] for ward in num}


def hand_ranks(scores: dict[str, float]) -> dict[str, int]:
    ordered = sorted(scores.values(), reverse=True)
    return {ward: ordered.index(value) + 1 for ward, value in scores.items()}


@pytest.fixture(scope="module")
def wards_2025(tmp_path_factory):
    """``geo-sppa wards --imd 2025`` on both bundled ward sets: (output, table) by ward set."""
    out = {}
    for ward_set in ("2022", "2013"):
        folder = tmp_path_factory.mktemp(f"w{ward_set}")
        result = run("wards", "--ward-set", ward_set, "--imd", "2025", "-o", str(folder))
        assert result.exit_code == 0, result.output
        table = pd.read_csv(folder / "wards.csv", encoding="utf-8-sig").set_index("ward_code")
        out[ward_set] = (result.output, table)
    return out


# Hampton Vale and Hargate and Hempsted share the split LSOA E01033176; Central holds a split
# LSOA (E01015602); Barnack is unchanged.
@pytest.mark.parametrize(
    ("ward_set", "ward"),
    [
        ("2022", "E05010815"),
        ("2022", "E05010816"),
        ("2022", "E05010807"),
        ("2022", "E05010805"),
        ("2013", "E05002183"),
        ("2013", "E05002172"),
    ],
    ids=["HamptonVale", "Hargate", "Central22", "Barnack", "OrtonWithHampton", "Central13"],
)
def test_ward_imd_2025_matches_the_hand_computation(raw, wards_2025, ward_set, ward):
    _, table = wards_2025[ward_set]
    pieces = hand_pieces(raw, ward_set)
    mine = [p for p in pieces if p[2] == ward]
    assert table.loc[ward, "population"] == pytest.approx(sum(p[3] for p in mine))
    assert table.loc[ward, "n_lsoa"] == len({p[1] for p in mine})
    expected = sum(p[3] * raw["score25"][p[1]] for p in mine) / sum(p[3] for p in mine)
    assert table.loc[ward, "imd_score"] == pytest.approx(expected, abs=1e-9)


def test_2022_wards_2025_population_is_the_authority_total(raw, wards_2025):
    """Apportioning never loses or makes residents: the wards hold every LSOA 2011 resident."""
    for ward_set in ("2022", "2013"):
        _, table = wards_2025[ward_set]
        assert table["population"].sum() == pytest.approx(sum(raw["pop"].values()))


def test_2025_summary_says_how_the_population_was_apportioned(wards_2025):
    output, _ = wards_2025["2022"]
    assert "IMD 2025 (LSOA 2021), measure imd_score" in output
    assert "LSOA 2021 population apportioned from the LSOA 2011 figures" in output
    assert "by the ONS LSOA 2021 -> ward 2024 lookup" in output
    output13, _ = wards_2025["2013"]
    assert "through their LSOA 2011's ward" in output13


@pytest.mark.parametrize("ward_set", ["2022", "2013"])
def test_deprivation_rank_2025_and_2019_match_hand_ranks(raw, wards_2025, ward_set):
    _, table = wards_2025[ward_set]
    pieces = hand_pieces(raw, ward_set)
    ranks25 = hand_ranks(hand_scores(pieces, raw["score25"], by=1))
    assert table["deprivation_rank_la_2025"].to_dict() == ranks25
    # IMD 2019 has no scores: the rebuilt score of each LSOA 2011, written out by hand here
    imd19 = pd.read_csv(PETERBOROUGH / "peterborough_imd2019_lsoa11.csv").set_index("lsoa11_code")
    n = 32_844
    weights = {"Income": 0.225, "Employment": 0.225, "Health": 0.135, "Education": 0.135,
               "Crime": 0.093, "Housing_and_Access": 0.093, "Environment": 0.093}  # fmt: skip
    score19 = {}
    for lsoa, row in imd19.iterrows():
        total = 0.0
        for domain, w in weights.items():
            r = (n + 1 - row[f"{domain}_rank"]) / n
            total += w * -23 * np.log(1 - r * (1 - np.exp(-100 / 23)))
        score19[lsoa] = total
    ranks19 = hand_ranks(hand_scores(pieces, score19, by=0))
    assert table["deprivation_rank_la_2019"].to_dict() == ranks19
    change = table["deprivation_rank_la_2010"] - table["deprivation_rank_la_2025"]
    assert table["deprivation_change"].to_dict() == change.to_dict()
    assert table["population_change"].isna().all()


def test_decile_england_2025_is_the_median_residents_decile(raw, wards_2025):
    """Central (2022): sort its pieces by decile; the decile where the cumulative residents pass
    half of the ward's residents."""
    _, table = wards_2025["2022"]
    for ward in ("E05010807", "E05010815", "E05010805"):
        mine = sorted(
            (raw["decile25"][p[1]], p[3]) for p in hand_pieces(raw, "2022") if p[2] == ward
        )
        total, cum, median = sum(w for _, w in mine), 0.0, None
        for decile, w in mine:
            cum += w
            if cum >= total / 2 and median is None:
                median = decile
        assert table.loc[ward, "deprivation_decile_england_2025"] == median


def test_deprivation_change_sign_and_hand_values_on_a_planted_example():
    """Three wards, one LSOA each (X split in two in 2021). Scores 2019: W1 40, W2 20, W3 10
    (ranks 1, 2, 3); 2025: W1 15, W2 30, W3 12 (ranks 2, 1, 3). W2 became more deprived
    relative to the others: change +1; W1 -1; W3 0."""
    lookup = pd.DataFrame(
        {"lsoa11_code": ["X", "X", "Y", "Z"], "lsoa21_code": ["X1", "X2", "Y", "Z"]}
    )
    population = pd.DataFrame({"lsoa_code": ["X", "Y", "Z"], "population": [2000, 1500, 1000]})
    assignment = pd.DataFrame({"lsoa_code": ["X", "Y", "Z"], "ward_code": ["W1", "W2", "W3"]})
    pieces = lsoa_pieces(lookup, population=population, assignment=assignment)
    assert pieces.set_index("lsoa21_code")["population"].to_dict() == {
        "X1": 1000.0, "X2": 1000.0, "Y": 1500.0, "Z": 1000.0,
    }  # fmt: skip
    r19 = pd.DataFrame(
        {"imd_score": [40.0, 20.0, 10.0], "imd_decile": [1, 3, 6]}, index=["X", "Y", "Z"]
    )
    r25 = pd.DataFrame(
        {"imd_score": [10.0, 20.0, 30.0, 12.0], "imd_decile": [4, 2, 1, 5]},
        index=["X1", "X2", "Y", "Z"],
    )
    positions = {
        "2019": ward_positions(pieces, r19, key="lsoa11_code"),
        "2025": ward_positions(pieces, r25, key="lsoa21_code"),
    }
    assert positions["2025"].loc["W1", "score"] == pytest.approx(15.0)  # (10*1000 + 20*1000)/2000
    out = deprivation_change(pd.Series(["W1", "W2", "W3"]), positions)
    assert out["deprivation_rank_la_2019"].tolist() == [1, 2, 3]
    assert out["deprivation_rank_la_2025"].tolist() == [2, 1, 3]
    assert out["deprivation_change"].tolist() == [-1, 1, 0]
    assert out["deprivation_rank_la_2010"].isna().all()
    # W1's residents: 1000 in decile 2 and 1000 in decile 4: the median resident is in decile 2
    assert out["deprivation_decile_england_2025"].tolist() == [2, 1, 5]


def test_outliers_run_on_imd_2025(tmp_path):
    result = run("outliers", "--ward-set", "2022", "--imd", "2025", "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "nb model on imd_no_crime_score" in result.output  # ASB: the crime-free default
    table = pd.read_csv(tmp_path / "outliers.csv", encoding="utf-8-sig")
    assert len(table) == 22
    assert {"deprivation_rank_la_2025", "deprivation_change"} <= set(table.columns)


def test_any_authority_from_its_code_gives_the_ward_imd_table(tmp_path, wards_2025):
    """``--la E06000031`` with the bundled population reproduces the 2022-ward IMD 2025 table
    (Peterborough's 2024 wards are its 2022 wards), from the lookups alone."""
    population = str(PETERBOROUGH / "peterborough_population_lsoa11.csv")
    result = run("wards", "--la", "e06000031 ", "--population", population, "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "wards_imd.csv", encoding="utf-8-sig").set_index("ward_code")
    _, boundaries = wards_2025["2022"]
    assert set(table.index) == set(boundaries.index)
    for column in ("population", "imd_score", "deprivation_rank_la_2025", "n_lsoa"):
        pd.testing.assert_series_equal(
            table[column], boundaries.loc[table.index, column], check_dtype=False
        )
    assert "Peterborough (E06000031), 22 wards 2024" in result.output


def test_authority_without_population_weighs_lsoas_equally(tmp_path, raw):
    """Leeds has no bundled population: a ward's score is the plain mean of its LSOAs 2021."""
    result = run("wards", "--la", "E08000035", "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "every LSOA 2021 weighs the same" in result.output
    table = pd.read_csv(tmp_path / "wards_imd.csv", encoding="utf-8-sig").set_index("ward_code")
    assert "population" not in table.columns
    w24 = pd.read_csv(ENGLAND / "lookup_lsoa21_ward24_ltla24.csv.gz")
    leeds = w24[w24["ltla24_code"] == "E08000035"]
    assert len(table) == leeds["ward24_code"].nunique() == 33
    for ward in ("E05011388", "E05011396"):  # Burmantofts & Richmond Hill, Harewood
        codes = leeds.loc[leeds["ward24_code"] == ward, "lsoa21_code"]
        expected = np.mean([raw["score25"][c] for c in codes])
        assert table.loc[ward, "imd_score"] == pytest.approx(expected, abs=1e-9)
        assert table.loc[ward, "n_lsoa"] == len(codes)
    assert table["deprivation_rank_la_2010"].isna().all()
    change = table["deprivation_rank_la_2019"] - table["deprivation_rank_la_2025"]
    assert table["deprivation_change"].to_dict() == change.to_dict()


@pytest.mark.parametrize(
    ("code", "match"),
    [("E09999999", "pass a 2024 local authority code"), ("W06000015", "England only")],
    ids=["unknown", "welsh"],
)
def test_unknown_or_welsh_authority_is_a_one_line_error(tmp_path, code, match):
    result = run("wards", "--la", code, "-o", str(tmp_path))
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and len(result.output.strip().splitlines()) == 1
    assert match in result.output


def test_imd_2025_on_a_users_own_wards_goes_through_each_lsoa_2011s_area_share(tmp_path):
    """The user's wards (the 2013 polygons under unknown codes): LSOAs 2011 assigned by largest
    area share, their LSOAs 2021 through the ONS lookup; the values equal those of the 2013 run,
    whose lookup column was derived by largest overlap."""
    from geo_sppa.bundled.areas import bundled_area

    own = gpd.read_file(bundled_area("peterborough").wards["2013"])
    own["WD13CD"] = "X" + own["WD13CD"].astype(str)
    own.to_file(tmp_path / "own.gpkg", driver="GPKG")
    result = run(
        "wards", "--wards", str(tmp_path / "own.gpkg"), "--imd", "2025", "-o", str(tmp_path / "o")
    )
    assert result.exit_code == 0, result.output
    assert "LSOAs assigned by largest area share" in result.output
    assert "through their LSOA 2011's ward" in result.output
    mine = pd.read_csv(tmp_path / "o" / "wards.csv", encoding="utf-8-sig")
    mine["ward_code"] = mine["ward_code"].str[1:]
    ref = run("wards", "--ward-set", "2013", "--imd", "2025", "-o", str(tmp_path / "r"))
    assert ref.exit_code == 0, ref.output
    bundled = pd.read_csv(tmp_path / "r" / "wards.csv", encoding="utf-8-sig")
    columns = ["ward_code", "population", "imd_score", "deprivation_rank_la_2025"]
    pd.testing.assert_frame_equal(
        mine[columns].sort_values("ward_code").reset_index(drop=True),
        bundled[columns].sort_values("ward_code").reset_index(drop=True),
    )


def test_population_change_from_an_lsoa_2021_population_by_hand(raw, tmp_path):
    """An LSOA 2021 population equal to the apportioned one, except Hampton Vale's LSOAs with 50%
    more residents: Hampton Vale's share of residents grows, every other ward's shrinks by the
    same factor. Hand: share_2021 / share_2011 - 1 with the totals of the 22 wards."""
    hampton = "E05010815"
    pieces = hand_pieces(raw, "2022")
    new, ward_of = defaultdict(float), {}
    for _, lsoa21, ward, residents in pieces:
        new[lsoa21] += residents
        ward_of[lsoa21] = ward
    for lsoa21 in new:
        if ward_of[lsoa21] == hampton:
            new[lsoa21] *= 1.5
    path = tmp_path / "pop2021.csv"
    pd.DataFrame({"lsoa21_code": list(new), "population": list(new.values())}).to_csv(
        path, index=False
    )
    result = run(
        "wards", "--ward-set", "2022", "--imd", "2025", "--population-2021", str(path),
        "-o", str(tmp_path / "o"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "population_change = the ward's share of residents in pop2021.csv" in result.output
    table = pd.read_csv(tmp_path / "o" / "wards.csv", encoding="utf-8-sig").set_index("ward_code")
    old = defaultdict(float)
    for _, _, ward, residents in pieces:
        old[ward] += residents
    old_total = sum(old.values())
    added = 0.5 * old[hampton]
    for ward in (hampton, "E05010807"):
        grown = old[ward] * (1.5 if ward == hampton else 1.0)
        expected = (grown / (old_total + added)) / (old[ward] / old_total) - 1
        assert table.loc[ward, "population_change"] == pytest.approx(expected)
    assert table.loc[hampton, "population_change"] > 0 > table.loc["E05010807", "population_change"]


def test_lsoa_2021_population_missing_lsoas_is_an_error(raw, tmp_path):
    path = tmp_path / "pop2021_cut.csv"
    codes = sorted({p[1] for p in hand_pieces(raw, "2022")})[3:]
    pd.DataFrame({"lsoa21_code": codes, "population": 1500}).to_csv(path, index=False)
    result = run("wards", "--population-2021", str(path), "-o", str(tmp_path / "o"))
    assert result.exit_code == 1
    assert "pop2021_cut.csv: 3 of the 121 LSOAs of the wards have no LSOA 2021 population" in (
        result.output
    )
    assert "--population-2021" in result.output
