"""Cluster sites: radius scan, rule thresholds, time windows, status, buckets, ranking, names."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from geo_sppa.errors import InputError
from geo_sppa.io import read_collisions
from geo_sppa.roads.clusters import (
    SITE_COLUMNS,
    cluster_sites,
    data_window,
    site_columns,
    site_name,
)
from geo_sppa.roads.costs import collision_costs
from geo_sppa.roads.rules import RULES, Clause

X0, Y0 = 518_000.0, 301_000.0
WINDOW = (2014, 2016)
SLIGHT, SERIOUS, FATAL = 24_887.0, 235_791.0, 2_066_732.0  # 2014 prices, per collision
PETERBOROUGH = (
    Path(__file__).resolve().parents[1]
    / "data/peterborough/peterborough_rtc_cambsinsight_2012_2017.csv"
)


def collisions(rows) -> gpd.GeoDataFrame:
    """Normalised collisions from ``(dx, dy, severity, date[, at_junction[, location]])`` rows.

    Offsets are metres from (518000, 301000) in EPSG:27700.
    """
    rows = [tuple(r) + (None,) * (6 - len(r)) for r in rows]
    dx, dy, sev, date, junction, location = zip(*rows, strict=True)
    dates = pd.to_datetime(list(date))
    return gpd.GeoDataFrame(
        {
            "collision_id": [f"C{i:03d}" for i in range(len(rows))],
            "date": dates,
            "year": dates.year,
            "time": pd.array([pd.NA] * len(rows), dtype="string"),
            "severity": list(sev),
            "casualties": pd.array([pd.NA] * len(rows), dtype="Int64"),
            "road_class": pd.array([pd.NA] * len(rows), dtype="string"),
            "road_number": pd.array([pd.NA] * len(rows), dtype="string"),
            "junction_detail": pd.array([pd.NA] * len(rows), dtype="string"),
            "at_junction": pd.array(list(junction), dtype="boolean"),
            "location": pd.array(list(location), dtype="string"),
        },
        geometry=gpd.points_from_xy(X0 + np.array(dx, float), Y0 + np.array(dy, float)),
        crs=27700,
    )


def group(dx, dy, severities, *, date="2015-06-01", junction=None, location=None, spread_m=5.0):
    """Collisions on a small ring of ``spread_m`` metres around (dx, dy), one per severity."""
    n = len(severities)
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return [
        (dx + spread_m * np.cos(a), dy + spread_m * np.sin(a), s, date, junction, location)
        for a, s in zip(angles, severities, strict=True)
    ]


def scattered(n, *, date="2015-06-01"):
    """Lone collisions 1 km apart, far from everything else (never a site)."""
    return [(5_000 + 1_000 * i, 5_000, "slight", date) for i in range(n)]


# --------------------------------------------------------------------------- radius scan


def test_planted_cluster_found_with_counts_and_members():
    """Six collisions within 5 m of a junction, plus three lone ones: one site of exactly six."""
    rows = group(
        0,
        0,
        ["slight"] * 5 + ["serious"],
        junction=True,
        location="THISTLEMOOR RD OS 65 A JUNCTION BELHAM RD PETERBOROUGH",
    )
    rows += scattered(3)
    result = cluster_sites(collisions(rows), years=WINDOW)
    sites = result.sites
    assert list(sites.columns) == SITE_COLUMNS[:-1] + ["n_2014", "n_2015", "n_2016", "geometry"]
    assert list(sites.columns) == site_columns(WINDOW, None)
    assert sites.crs.to_epsg() == 27700
    assert len(sites) == 1
    site = sites.iloc[0]
    assert (site.fatal, site.serious, site.slight, site.total) == (0, 1, 5, 6)
    assert site.collision_ids == [f"C{i:03d}" for i in range(6)]
    assert site.site_type == "junction"
    assert site["name"] == "Thistlemoor Road junction Belham Road"
    assert site.criterion == "6+ injury collisions"
    assert site.cost_gbp == pytest.approx(SERIOUS + 5 * SLIGHT)
    assert site.score == 5 + 5
    assert pd.isna(site.casualties)
    assert site.x == pytest.approx(X0, abs=1e-6) and site.y == pytest.approx(Y0, abs=1e-6)
    assert site.site_id == "R518000N301000"
    assert site["rank"] == 1
    assert site.years_counts == "2014: 0; 2015: 6; 2016: 0"
    assert (site.n_2014, site.n_2015, site.n_2016) == (0, 6, 0)
    assert pd.isna(site.previous_years_counts)
    assert result.mode == "radius"
    assert result.counts["n_in_sites"] == 6 and result.counts["n_not_in_sites"] == 3


THRESHOLDS = [
    (["slight"] * 6, "6+ injury collisions"),
    (["slight"] * 5, ""),
    (["serious"] * 3, "3+ fatal/serious"),
    (["fatal", "serious", "serious"], "3+ fatal/serious"),
    (["serious"] * 2, ""),
    (["slight"] * 4 + ["serious"], "5+ injury collisions incl. 1+ fatal/serious"),
    (["slight"] * 4 + ["fatal"], "5+ injury collisions incl. 1+ fatal/serious"),
    (["slight"] * 3 + ["serious"], ""),
    (["slight"] * 2 + ["serious"] * 2, ""),
]
THRESHOLD_IDS = [
    "6-slight-at-threshold", "5-slight-one-below", "3-serious-at-threshold",
    "1-fatal-2-serious-at-threshold", "2-serious-one-below", "4-slight-1-serious-at-threshold",
    "4-slight-1-fatal-at-threshold", "3-slight-1-serious-one-below", "2-slight-2-serious-one-below",
]  # fmt: skip


@pytest.mark.parametrize(("severities", "criterion"), THRESHOLDS, ids=THRESHOLD_IDS)
def test_rule_thresholds(severities, criterion):
    """Each clause of the spp rule exactly at its threshold, and one collision short of it."""
    result = cluster_sites(collisions(group(0, 0, severities)), years=WINDOW)
    if criterion:
        assert len(result.sites) == 1
        assert result.sites.iloc[0].criterion == criterion
        assert result.sites.iloc[0].total == len(severities)
    else:
        assert result.sites.empty


@pytest.mark.parametrize(
    ("gap_m", "n_sites"),
    [(100.0, 1), (100.1, 0)],
    ids=["100m-apart-share-a-circle", "100.1m-apart-do-not"],
)
def test_circle_diameter_edge(gap_m, n_sites):
    """Three collisions at each end of a line: a 50 m circle centred midway holds all six only
    when the ends are at most 100 m apart (a collision on the circle's edge is inside)."""
    rows = [(0.0, 0.0, "slight", "2015-01-01")] * 3 + [(gap_m, 0.0, "slight", "2015-01-01")] * 3
    sites = cluster_sites(collisions(rows), years=WINDOW).sites
    assert len(sites) == n_sites
    if n_sites:
        assert sites.iloc[0].total == 6
        assert sites.iloc[0].x == pytest.approx(X0 + gap_m / 2)


def test_sites_do_not_overlap_and_share_no_collision():
    """A 150 m line of collisions every 10 m: sites are greedy, disjoint, centres >= 100 m apart."""
    rows = [(10.0 * i, 0.0, "slight", "2015-01-01") for i in range(16)] * 2
    sites = cluster_sites(collisions(rows), years=WINDOW).sites
    ids = [c for lst in sites.collision_ids for c in lst]
    assert len(ids) == len(set(ids))
    xy = sites[["x", "y"]].to_numpy()
    for i in range(len(xy)):
        for j in range(i + 1, len(xy)):
            assert np.hypot(*(xy[i] - xy[j])) >= 100 - 1e-6
    assert sites.iloc[0].total == 22  # 11 places x 2 collisions within one 100 m diameter


def test_busier_circle_wins_and_ties_break_on_ksi():
    """Two clusters 60 m apart compete for the middle; the one with more fatal/serious wins."""
    rows = group(0, 0, ["slight"] * 6) + group(60, 0, ["slight"] * 5 + ["serious"])
    sites = cluster_sites(collisions(rows), years=WINDOW).sites
    assert len(sites) == 1  # the second circle would overlap the first
    assert sites.iloc[0].serious == 1


@pytest.mark.parametrize(
    ("last_date", "n_sites"),
    [("2016-12-31", 1), ("2017-01-01", 0)],
    ids=["31-dec-2016-in", "1-jan-2017-out"],
)
def test_window_boundary(last_date, n_sites):
    """Five collisions in 2014-2016 and a sixth on either side of the window's end."""
    rows = group(0, 0, ["slight"] * 5, date="2014-01-01") + [(0, 0, "slight", last_date)]
    result = cluster_sites(collisions(rows), years=WINDOW)
    assert len(result.sites) == n_sites
    assert result.counts["n_outside_window"] == 1 - n_sites


# --------------------------------------------------------------------------- windows and status


@pytest.mark.parametrize(
    ("first", "last", "window", "previous"),
    [
        ("2012-01-01", "2017-10-31", (2014, 2016), None),
        ("2012-01-05", "2017-12-31", (2015, 2017), (2012, 2014)),
        ("2011-03-01", "2016-12-31", (2014, 2016), None),
        ("2010-01-09", "2016-12-20", (2013, 2015), None),
        ("2010-01-08", "2016-12-24", (2014, 2016), (2011, 2013)),
    ],
    ids=[
        "partial-2017-excluded",
        "full-2017-included",
        "partial-first-year",
        "more-than-a-week-short-incomplete",
        "within-a-week-complete",
    ],  # fmt: skip
)
def test_default_window(first, last, window, previous):
    got_window, got_previous, notes = data_window(pd.Series(pd.to_datetime([first, last])), years=3)
    assert data_window(pd.Series(pd.to_datetime([first, last])), years=3, slack_days=0)[0][1] == (
        int(last[:4]) if last.endswith("12-31") else int(last[:4]) - 1
    )
    assert got_window == window
    assert got_previous == previous
    assert any("No previous window" in n for n in notes) == (previous is None)


def test_explicit_window_of_other_length_is_noted():
    dates = pd.Series(pd.to_datetime(["2010-01-01", "2016-12-31"]))
    window, previous, notes = data_window(dates, years=3, window=(2012, 2016))
    assert window == (2012, 2016) and previous is None
    assert any("spans 5 years, not the rule's 3" in n for n in notes)


def test_no_complete_year_is_an_error():
    with pytest.raises(InputError, match="no complete calendar year"):
        data_window(pd.Series(pd.to_datetime(["2016-03-01", "2016-11-30"])), years=3)


def test_status_new_persistent_resolved():
    """A: six collisions in both windows; B: six only now; C: six only in the previous window."""
    rows = group(0, 0, ["slight"] * 6, date="2012-05-01") + group(
        0, 0, ["slight"] * 6, date="2015-05-01"
    )
    rows += group(500, 0, ["slight"] * 6, date="2015-05-01")
    rows += group(1000, 0, ["slight"] * 6, date="2012-05-01")
    rows += [(3000, 3000, "slight", "2011-01-03"), (3000, 3000, "slight", "2016-12-31")]
    result = cluster_sites(collisions(rows))
    assert result.window == (2014, 2016) and result.previous_window == (2011, 2013)
    sites = result.sites.set_index("site_id")
    assert sites.loc["R518000N301000", "status"] == "persistent"
    assert sites.loc["R518000N301000", "previous_total"] == 6
    assert sites.loc["R518500N301000", "status"] == "new"
    assert sites.loc["R518500N301000", "previous_total"] == 0
    resolved = result.resolved
    assert resolved["site_id"].tolist() == ["R519000N301000"]
    assert resolved.iloc[0].status == "resolved"
    assert resolved.iloc[0].previous_total == 6 and resolved.iloc[0].total == 0
    assert (
        list(resolved.columns)
        == list(result.sites.columns)
        == site_columns((2014, 2016), (2011, 2013))
    )
    assert resolved.iloc[0].previous_years_counts == "2011: 0; 2012: 6; 2013: 0"
    assert resolved.iloc[0].previous_n_2012 == 6 and resolved.iloc[0].n_2015 == 0
    persistent = sites.loc["R518000N301000"]
    assert persistent.previous_years_counts == "2011: 0; 2012: 6; 2013: 0"
    assert [persistent[f"previous_n_{y}"] for y in (2011, 2012, 2013)] == [0, 6, 0]
    assert [persistent[f"n_{y}"] for y in (2014, 2015, 2016)] == [0, 6, 0]


def test_no_previous_window_marks_new_with_na():
    rows = group(0, 0, ["slight"] * 6, date="2015-05-01") + [(900, 0, "slight", "2014-01-02")]
    rows += [(900, 0, "slight", "2016-12-31")]
    result = cluster_sites(collisions(rows))
    assert result.previous_window is None
    assert result.sites.iloc[0].status == "new" and pd.isna(result.sites.iloc[0].previous_total)
    assert result.resolved.empty
    assert any("No previous window" in n for n in result.notes)


# --------------------------------------------------------------------------- ranking and ids


def test_ranking_by_cost_then_total_then_site_id():
    rows = group(0, 0, ["slight"] * 8)  # 8 slight: cheapest, most collisions
    rows += group(1000, 0, ["serious"] * 3)  # dearest
    rows += group(2000, 0, ["slight"] * 6) + group(-2000, 0, ["slight"] * 6)  # tie: id decides
    sites = cluster_sites(collisions(rows), years=WINDOW).sites
    assert sites["rank"].tolist() == [1, 2, 3, 4]
    assert sites["total"].tolist() == [3, 8, 6, 6]
    assert sites["site_id"].tolist()[2:] == ["R516000N301000", "R520000N301000"]
    assert sites["cost_gbp"].tolist() == pytest.approx(
        [3 * SERIOUS, 8 * SLIGHT, 6 * SLIGHT, 6 * SLIGHT]
    )


def test_site_costs_match_costs_module_and_price_year():
    rows = group(0, 0, ["fatal"] + ["slight"] * 4)
    site = cluster_sites(collisions(rows), years=WINDOW, price_year=2009).sites.iloc[0]
    expected = collision_costs(pd.Series(["fatal"] + ["slight"] * 4), price_year=2009).sum()
    assert site.cost_gbp == pytest.approx(expected)
    assert site.score == 10 + 4


def test_bad_price_year():
    with pytest.raises(InputError, match="available price years: 2002, 2009, 2014"):
        cluster_sites(collisions(group(0, 0, ["slight"] * 6)), years=WINDOW, price_year=2099)


def test_wrong_crs_is_an_error():
    frame = collisions(group(0, 0, ["slight"] * 6)).set_crs(4326, allow_override=True)
    with pytest.raises(InputError, match="expected EPSG:27700"):
        cluster_sites(frame, years=WINDOW)


PLANTED = (
    group(0, 0, ["slight"] * 6)
    + group(300, 0, ["serious"] * 3)
    + group(600, 40, ["slight"] * 4 + ["fatal"])
    + [(0, 0, "slight", "2015-02-02")]  # a duplicate location
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    noise=st.lists(
        st.tuples(
            st.floats(-200, 900), st.floats(-200, 200), st.sampled_from(["slight", "serious"])
        ),
        max_size=25,
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_sites_do_not_depend_on_row_order(noise, seed):
    """Same collisions in any row order (and any index labels) give the same sites and ids."""
    rows = PLANTED + [(x, y, s, "2015-03-03") for x, y, s in noise]
    frame = collisions(rows)
    shuffled = frame.sample(frac=1.0, random_state=seed % 2**32)
    shuffled.index = np.random.default_rng(seed).permutation(len(frame)) + 1000
    a = cluster_sites(frame, years=WINDOW).sites
    b = cluster_sites(shuffled, years=WINDOW).sites
    pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
    assert a.geom_equals(b.geometry).all()


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.floats(-150, 150),
            st.floats(-150, 150),
            st.sampled_from(["slight", "serious", "fatal", "unknown"]),
            st.sampled_from(["2013-06-01", "2014-01-01", "2016-12-31", "2017-01-01"]),
            st.booleans(),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_every_collision_in_exactly_one_bucket(rows):
    """site, not in a site, outside the window, or set aside with a reason."""
    anchor = [(5_000, 5_000, "slight", "2015-06-01")]  # the window always holds some data
    frame = collisions([(x, y, s, d) for x, y, s, d, _ in rows] + anchor)
    missing = [i for i, (*_, drop) in enumerate(rows) if drop and i % 3 == 0]
    frame.loc[frame.index[missing], "geometry"] = None
    result = cluster_sites(frame, years=WINDOW)
    c = result.counts
    assert (
        c["n_read"]
        == c["n_set_aside"] + c["n_outside_window"] + c["n_in_sites"] + c["n_not_in_sites"]
    )
    ids = [i for lst in result.sites.collision_ids for i in lst]
    assert len(ids) == len(set(ids)) == c["n_in_sites"]
    assert set(ids) == set(frame.loc[result.site_of.notna(), "collision_id"])
    assert set(ids).isdisjoint(result.set_aside["record_id"])
    assert set(result.set_aside["reason"]) <= {"missing coordinates", "unknown severity"}
    assert list(result.set_aside.columns) == ["source", "row", "record_id", "reason", "detail"]


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("text", "name"),
    [
        (
            "THISTLEMOOR RD OS 65 A JUNCTION BELHAM RD PETERBOROUGH",
            "Thistlemoor Road junction Belham Road",
        ),
        (
            "A47 EYE RD JUNCTION A16 CROWLAND BYPASS PETERBOROUGH",
            "A47 Eye Road junction A16 Crowland Bypass",
        ),
        ("LINCOLN RD 15M S OF OXFORD RD PETERBOROUGH", "Lincoln Road near Oxford Road"),
        ("310 LINCOLN ROAD NR SEARJEANT ST", "Lincoln Road near Searjeant Street"),
        ("ST PAULS RD EXACT LOC NOT KNOWN NO GRID REF GIVEN", "St Pauls Road"),
        ("ROCK ROAD AT JN WITH ALEXANDRA ROAD", "Rock Road junction Alexandra Road"),
        ("COBDEN ST JW GLADSTONE ST PETERBOROUGH", "Cobden Street junction Gladstone Street"),
        ("CENTRAL AVE OUTSIDE NO 15 PETERBOROUGH", "Central Avenue"),
        ("MORLEY WAY R/A WITH SHREWSBURY AVENUE", "Morley Way Roundabout with Shrewsbury Avenue"),
        ("PETERBOROUGH RD JUNCTION MAIN ST", "Peterborough Road junction Main Street"),
        ("EXACT LOCATION UNKNOWN", None),
    ],
    ids=[
        "house-number",
        "road-numbers",
        "distance",
        "leading-number",
        "noise",
        "at-jn-with",
        "jw",
        "outside-no",
        "r/a",
        "town-as-road-name",
        "nothing-left",
    ],  # fmt: skip
)
def test_site_name(text, name):
    assert site_name(text, towns={"PETERBOROUGH"}) == name


def test_name_falls_back_to_road_number_and_type_to_link():
    frame = collisions(group(0, 0, ["slight"] * 6, junction=False))
    frame["road_number"] = pd.array(["A47"] * 6, dtype="string")
    site = cluster_sites(frame, years=WINDOW).sites.iloc[0]
    assert site["name"] == "A47 at E518000 N301000"
    assert site.site_type == "link"


# --------------------------------------------------------------------------- network mode


def test_network_mode_orchestration():
    """A real crossroads of four 500 m arms: six collisions at the junction recorded as "A47
    JUNCTION A15" make a junction site named from their text; one 4.5 km beyond the east arm's
    end is set aside with its file row and distance; one lone collision on the east arm is in no
    site."""
    rows = group(0, 0, ["slight"] * 5 + ["serious"], location="A47 JUNCTION A15")
    rows += [(5000, 0, "slight", "2015-01-01"), (200, 0, "slight", "2015-01-01")]
    frame = collisions(rows)
    frame["source_row"] = np.arange(len(frame)) + 51  # file rows, after 50 the loader set aside
    result = cluster_sites(frame, roads=_crossroads(), years=WINDOW)
    assert result.mode == "network"
    assert len(result.sites) == 1
    site = result.sites.iloc[0]
    assert (site.site_id, site.site_type, site.total) == ("J518000_301000", "junction", 6)
    assert site["name"] == "A47 junction A15"
    assert site.geometry.equals(Point(X0, Y0))
    assert result.set_aside["reason"].tolist() == ["beyond snap tolerance"]
    assert result.set_aside["row"].tolist() == [57]
    assert result.set_aside["record_id"].tolist() == ["C006"]
    assert result.set_aside["detail"].tolist() == ["nearest road 4500.0 m away"]
    c = result.counts
    assert (c["n_set_aside"], c["n_in_sites"], c["n_not_in_sites"]) == (1, 6, 1)
    assert c["n_moved_by_name"] == 0
    assert result.site_of.fillna("-").tolist() == ["J518000_301000"] * 6 + ["-", "-"]


# --------------------------------------------------------------------------- real data


def test_peterborough_default_run():
    """Real Cambridgeshire Insight collisions 2012 to 31 Oct 2017 (bundled in data/): default
    window 2014-2016, no previous window, 63 sites holding 462 of the 1,659 collisions."""
    result = cluster_sites(read_collisions(PETERBOROUGH).data, source=PETERBOROUGH.name)
    assert result.window == (2014, 2016) and result.previous_window is None
    c = result.counts
    assert c["n_read"] == 3329 and c["n_set_aside"] == 0
    assert c["n_in_window"] == 1659
    assert c["n_outside_window"] == 3329 - 1659
    sites = result.sites
    assert len(sites) == c["n_sites"] == 63
    assert c["n_in_sites"] == 462 == sites["total"].sum()
    assert sites["site_id"].is_unique and sites["name"].is_unique
    assert (sites["total"] >= 3).all()
    assert result.rule.qualifies(sites["total"], sites["fatal"] + sites["serious"]).all()
    assert not sites["name"].str.contains("PETERBOROUGH|Peterborough$").any()
    assert (sites["status"] == "new").all() and sites["previous_total"].isna().all()
    assert sites["rank"].tolist() == list(range(1, 64))
    assert sites["cost_gbp"].is_monotonic_decreasing


def test_casualties_summed_only_when_every_collision_has_a_count():
    """Casualty counts sum per site; one missing count makes the site's sum NA."""
    frame = collisions(group(0, 0, ["slight"] * 6) + group(1000, 0, ["slight"] * 6))
    frame["casualties"] = pd.array([1, 2, 1, 1, 1, 3] + [1, 1, None, 1, 1, 1], dtype="Int64")
    sites = cluster_sites(frame, years=WINDOW).sites.set_index("site_id")
    assert sites.loc["R518000N301000", "casualties"] == 9
    assert pd.isna(sites.loc["R519000N301000", "casualties"])


def test_rule_by_name_and_unknown_rule():
    rows = group(0, 0, ["slight"] * 4)
    sites = cluster_sites(collisions(rows), years=WINDOW, rule="wales-trunk").sites
    assert sites["criterion"].tolist() == ["4+ injury collisions"]
    assert cluster_sites(collisions(rows), years=WINDOW, rule="spp").sites.empty
    with pytest.raises(InputError, match="no cluster rule named 'nope'"):
        cluster_sites(collisions(rows), years=WINDOW, rule="nope")


def test_set_aside_rows_name_the_file_row_and_reason():
    """Row numbers come from the loader's ``source_row`` (file rows), whatever the index labels;
    without that column they are NA, never a position in the frame."""
    frame = collisions(group(0, 0, ["slight"] * 6) + [(0, 0, "damage only", "2015-01-01")])
    frame.index = frame.index + 100
    frame.loc[101, "geometry"] = None
    assert cluster_sites(frame, years=WINDOW).set_aside["row"].isna().all()
    frame["source_row"] = [10, 12, 13, 14, 15, 16, 40]
    result = cluster_sites(frame, years=WINDOW)
    aside = result.set_aside.sort_values("row")
    assert aside["row"].tolist() == [12, 40]
    assert aside["reason"].tolist() == ["missing coordinates", "unknown severity"]
    assert aside["detail"].tolist() == ["", "severity 'damage only'"]
    assert result.sites.empty  # five placeable slight collisions are not enough
    assert result.site_of.index.equals(frame.index)


def test_two_sites_on_one_road_get_distinct_names():
    """Both sites are mostly "Lincoln Rd"; the one with a more specific text takes it."""
    plain = "LINCOLN RD PETERBOROUGH"
    rows = group(0, 0, ["slight"] * 6, location=plain)
    rows += group(500, 0, ["slight"] * 4, location=plain)
    rows += group(500, 0, ["slight"] * 2, location="LINCOLN RD JW ALMA RD PETERBOROUGH")
    rows += group(1000, 0, ["slight"] * 6, location=plain)
    names = cluster_sites(collisions(rows), years=WINDOW).sites.set_index("site_id")["name"]
    assert names["R518500N301000"] == "Lincoln Road junction Alma Road"
    assert names["R518000N301000"] == "Lincoln Road"  # the western one first
    assert names["R519000N301000"] == "Lincoln Road (2)"


def test_network_mode_with_real_network_module():
    """A crossroads of four 500 m arms (integration with geo_sppa.roads.network): six collisions at
    the junction in both windows (persistent), six on the east arm before (resolved), six on the
    west arm now (new), one 200 m off every road (set aside)."""
    from shapely.geometry import LineString

    arms = [((-500, 0), (0, 0)), ((0, 0), (500, 0)), ((0, -500), (0, 0)), ((0, 0), (0, 500))]
    roads = gpd.GeoDataFrame(
        {
            "road_id": ["w", "e", "s", "n"],
            "name": ["Main Road", "Main Road", "Cross Street", "Cross Street"],
            "ref": [None] * 4,
            "highway": ["primary", "primary", "residential", "residential"],
        },
        geometry=[LineString([(X0 + a, Y0 + b), (X0 + c, Y0 + d)]) for (a, b), (c, d) in arms],
        crs=27700,
    )
    rows = group(0, 0, ["slight"] * 6, date="2012-05-01", junction=True)
    rows += group(0, 0, ["slight"] * 5 + ["serious"], date="2015-05-01", junction=True)
    rows += [(300 + 10 * i, 2, "slight", "2012-05-01", False) for i in range(6)]
    rows += [(-300 - 10 * i, 2, "slight", "2015-05-01", False) for i in range(6)]
    rows += [(200, 200, "slight", "2015-05-01")]
    rows += [(-480, 0, "slight", "2011-01-03"), (-480, 0, "slight", "2016-12-31")]
    result = cluster_sites(collisions(rows), roads=roads)
    assert result.mode == "network"
    assert result.window == (2014, 2016) and result.previous_window == (2011, 2013)
    sites = result.sites.set_index("site_type")
    assert sites.loc["junction", "total"] == 6 and sites.loc["junction", "status"] == "persistent"
    assert sites.loc["junction", "previous_total"] == 6
    assert sites.loc["link", "total"] == 6 and sites.loc["link", "status"] == "new"
    assert sites.loc["link"].geometry.geom_type == "LineString"
    assert result.resolved["site_type"].tolist() == ["link"]
    assert result.resolved.iloc[0].previous_total == 6
    assert result.set_aside["reason"].tolist() == ["beyond snap tolerance"]
    c = result.counts
    assert c["n_read"] == c["n_set_aside"] + c["n_outside_window"] + c["n_in_sites"] + c[
        "n_not_in_sites"]  # fmt: skip


def test_input_frame_is_not_modified():
    frame = collisions(group(0, 0, ["Slight"] * 6) + [(0, 0, "slight", "2015-01-01")])
    frame.loc[frame.index[-1], "geometry"] = None
    before = frame.copy()
    cluster_sites(frame, years=WINDOW)
    pd.testing.assert_frame_equal(pd.DataFrame(frame), pd.DataFrame(before))


# --------------------------------------------------------------------------- regressions


def test_site_keeps_its_id_across_windows_when_its_centre_shifts():
    """Regression: radius-mode ids were the centre rounded to 10 m, so a cluster whose centre
    moved 9 m between windows changed id, and one 60 m from a previous site was "new" while the
    previous site was neither persistent nor resolved. A: six collisions at the origin in
    2012, six 9 m east in 2015. B: five (not a site then) 60 m from a 2012 site of six. C: six in
    2012 only (resolved). D: six in 2015 only, far from everything (new)."""
    rows = group(0, 0, ["slight"] * 6, date="2012-05-01")
    rows += group(9, 0, ["slight"] * 6, date="2015-05-01")
    rows += group(1000, 0, ["slight"] * 6, date="2012-05-01")
    rows += group(1060, 0, ["slight"] * 6, date="2015-05-01", spread_m=3.0)
    rows += group(3000, 0, ["slight"] * 6, date="2012-05-01")
    rows += group(5000, 0, ["slight"] * 6, date="2015-05-01")
    rows += [(9000, 9000, "slight", "2011-01-03"), (9000, 9000, "slight", "2016-12-31")]
    result = cluster_sites(collisions(rows))
    assert result.previous_window == (2011, 2013)
    sites = result.sites.set_index("site_id")
    assert sites.loc["R518000N301000", "x"] == pytest.approx(X0 + 9)
    assert sites.loc["R518000N301000", "status"] == "persistent"
    assert sites.loc["R518000N301000", "previous_total"] == 6
    assert sites.loc["R519000N301000", "x"] == pytest.approx(X0 + 1060)
    assert sites.loc["R519000N301000", "status"] == "persistent"  # overlaps the 2012 site
    assert sites.loc["R523000N301000", "status"] == "new"
    assert result.resolved["site_id"].tolist() == ["R521000N301000"]
    assert set(result.site_of.dropna()) == set(sites.index)


def test_two_current_sites_overlapping_one_previous_site_keep_unique_ids():
    """Two 2015 sites 125 m apart both overlap one 2012 site between them: the nearer takes
    its id, the other keeps its own."""
    rows = group(0, 0, ["slight"] * 6, date="2012-05-01")
    rows += group(-55, 0, ["slight"] * 6, date="2015-05-01", spread_m=2.0)
    rows += group(70, 0, ["slight"] * 6, date="2015-05-01", spread_m=2.0)
    rows += [(9000, 9000, "slight", "2011-01-03"), (9000, 9000, "slight", "2016-12-31")]
    sites = cluster_sites(collisions(rows)).sites.set_index("site_id")
    assert sorted(sites.index) == ["R518000N301000", "R518070N301000"]
    assert sites.loc["R518000N301000", "x"] == pytest.approx(X0 - 55)
    assert (sites["status"] == "persistent").all()


def _crossroads():
    from shapely.geometry import LineString

    arms = [((-500, 0), (0, 0)), ((0, 0), (500, 0)), ((0, -500), (0, 0)), ((0, 0), (0, 500))]
    return gpd.GeoDataFrame(
        {"road_id": ["w", "e", "s", "n"], "name": ["Main Road"] * 2 + ["Cross Street"] * 2,
         "ref": [None] * 4, "highway": ["primary"] * 2 + ["residential"] * 2},
        geometry=[LineString([(X0 + a, Y0 + b), (X0 + c, Y0 + d)]) for (a, b), (c, d) in arms],
        crs=27700,
    )  # fmt: skip


def test_network_link_site_keeps_its_id_when_its_window_shifts():
    """A link site on the east arm at 300-350 m in 2012 and 330-380 m in 2015: the stretches
    overlap on the same chain, so the 2015 site takes the 2012 id and is persistent; one
    previous-window collision 200 m off every road is counted and noted."""
    rows = [(300 + 10 * i, 2, "slight", "2012-05-01", False) for i in range(6)]
    rows += [(330 + 10 * i, 2, "slight", "2015-05-01", False) for i in range(6)]
    rows += [(200, 200, "slight", "2012-05-01")]
    rows += [(-480, 0, "slight", "2011-01-03"), (-480, 0, "slight", "2016-12-31")]
    result = cluster_sites(collisions(rows), roads=_crossroads())
    assert result.previous_window == (2011, 2013)
    old = cluster_sites(collisions(rows), roads=_crossroads(), years=(2012, 2012))
    assert len(result.sites) == 1 and result.resolved.empty
    site = result.sites.iloc[0]
    assert site.status == "persistent" and site.previous_total >= 3
    assert site.site_id in set(old.sites["site_id"])
    assert site.x == pytest.approx(X0 + 355, abs=30)
    assert result.counts["n_previous_set_aside"] == 1
    assert "previous window 2011-2013: 1 collisions beyond the snap tolerance not counted in " \
        "previous_total" in result.notes  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"radius_m": 1000.0}, r"radius 1000 m is larger than a cluster site \(at most 500 m\)"),
        ({"length_m": 2000.0}, r"link length 2000 m is longer than a cluster site"),
        ({"clauses": (Clause(0, 0),)}, "at least 2 collisions; clause 0:0 would make every"),
        ({"clauses": (Clause(-1, 0),)}, "clause -1:0 would make every collision a site"),
        ({"clauses": (Clause(6, 0), Clause(1, 0))}, "clause 1:0 would make every collision a"),
        ({"clauses": (Clause(0, 1),)}, "clause 0:1 would make every fatal/serious collision"),
    ],
    ids=["radius-1000", "length-2000", "clause-0-0", "clause-minus-1", "clause-1-0", "clause-0-1"],
)
def test_rules_that_are_not_cluster_sites_are_refused(rule, message):
    """Regression: radius 1000 m took 5 GB on 1,659 collisions; 1:0 made every collision a site."""
    bad = RULES["spp"].with_options(**rule)
    with pytest.raises(InputError, match=message):
        cluster_sites(collisions(group(0, 0, ["slight"] * 6)), years=WINDOW, rule=bad)


def test_radius_500_m_is_allowed():
    rule = RULES["spp"].with_options(radius_m=500.0)
    result = cluster_sites(collisions(group(0, 0, ["slight"] * 6)), years=WINDOW, rule=rule)
    assert len(result.sites) == 1
    assert (result.sites.iloc[0].total, result.sites.iloc[0].site_id) == (6, "R518000N301000")


def test_window_outside_the_data_is_an_error():
    """Regression: years=(1990, 1992) for data of 2015 gave an empty result, not an error."""
    with pytest.raises(InputError, match=r"years 1990-1992: no collisions.*01 Jun 2015 to 01 Jun"):
        cluster_sites(collisions(group(0, 0, ["slight"] * 6)), years=(1990, 1992))


def _stats19(rows, pairs):
    """Collisions with no location text (DfT STATS19) and (road_number, road_number_2) pairs."""
    frame = collisions(rows)
    frame["road_number"] = pd.array([a for a, _ in pairs], dtype="string")
    frame["road_number_2"] = pd.array([b for _, b in pairs], dtype="string")
    return frame


def test_stats19_sites_are_named_from_road_numbers_or_grid_reference():
    """Regression: DfT files have no location text and sites were all named "Unclassified road
    (no location text) (9)". A: a junction of A1139 and A1260 (one collision records them the
    other way round); B: a link on the A47 whose collisions name the A15; C and D: two links on
    the A605 with no second road; E: a junction with no road numbers at all."""
    pairs = [("A1139", "A1260")] * 4 + [("A1260", "A1139"), ("A1139", None)]
    pairs += [("A47", None)] * 4 + [("A47", "A15")] * 2
    pairs += [("A605", None)] * 12 + [(None, None)] * 6
    rows = group(0, 0, ["slight"] * 6, junction=True) + group(1000, 0, ["slight"] * 6)
    rows += group(2000, 0, ["slight"] * 6) + group(3000, 500, ["slight"] * 6)
    rows += group(-2000, 0, ["slight"] * 6, junction=True)
    names = cluster_sites(_stats19(rows, pairs), years=WINDOW).sites.set_index("site_id")["name"]
    assert names["R518000N301000"] == "A1139 junction A1260"
    assert names["R519000N301000"] == "A47 nr A15"
    assert names["R520000N301000"] == "A605 at E520000 N301000"
    assert names["R521000N301500"] == "A605 at E521000 N301500"
    assert names["R516000N301000"] == "Unclassified road at E516000 N301000"


def test_two_junctions_of_the_same_roads_take_grid_references():
    pairs = [("A1139", "A1260")] * 12
    rows = group(0, 0, ["slight"] * 6, junction=True) + group(800, 0, ["slight"] * 6, junction=True)
    names = cluster_sites(_stats19(rows, pairs), years=WINDOW).sites["name"]
    assert sorted(names) == ["A1139 at E518000 N301000", "A1139 at E518800 N301000"]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("A605 WHITTLESEY ROAD 50 METRES SOUTH OF JUNCTION WITH BELLE", "A605 Whittlesey Road"),
        ("A47 SOKE PARKWAY BRETTON 100M WEST OF BRETTON WAY PETERBOROU",
         "A47 Soke Parkway Bretton near Bretton Way"),
        ("A15 BOURGES BOULEVARD JUNCTION C61 MAYORS WALK PETERBOROUGH",
         "A15 Bourges Boulevard junction C61 Mayors Walk"),
        ("THISTLEMOOR RD JUNCTION BELHAM RD", "Thistlemoor Road junction Belham Road"),
    ],
    ids=["lone-word-after-junction", "cut-town", "junction-with-road-number", "road-type-kept"],
)  # fmt: skip
def test_truncated_location_text(text, name):
    """Regression: "... 50 METRES SOUTH OF JUNCTION WITH BELLE" (cut at 60 characters) gave
    "... junction Belle"; a cut text keeps only the road before a lone word after JUNCTION."""
    assert site_name(text, towns={"PETERBOROUGH"}, truncated=True) == name


def test_truncated_texts_are_detected_by_their_pile_up_at_the_field_width():
    """Twelve texts of the longest length, 60 characters, and six of 59: a field cut at 60 (the
    BELLE text was cut at a space, then stripped), so the site is named by its road only."""
    cut = "A605 WHITTLESEY ROAD 50 METRES SOUTH OF JUNCTION WITH BELLE"
    assert len(cut) == 59
    rows = group(0, 0, ["slight"] * 6, location=cut)
    rows += [(3000 + 100 * i, 0, "slight", "2015-01-01", None, "X" * 60) for i in range(12)]
    sites = cluster_sites(collisions(rows), years=WINDOW).sites
    assert sites.iloc[0]["name"] == "A605 Whittlesey Road"


@pytest.mark.parametrize(
    ("mode", "text"),
    [
        ("network", "spp: 6+ injury collisions; or 3+ fatal/serious; or 5+ injury collisions "
                    "incl. 1+ fatal/serious, in 3 years, per junction (radius 20 m) or 100 m "
                    "of road"),
        ("radius", "spp: 6+ injury collisions; or 3+ fatal/serious; or 5+ injury collisions "
                   "incl. 1+ fatal/serious, in 3 years, per 50 m-radius circle"),
        (None, "spp: 6+ injury collisions; or 3+ fatal/serious; or 5+ injury collisions incl. "
               "1+ fatal/serious, in 3 years, per junction (radius 20 m) or 100 m of road "
               "(radius mode: 50 m circles)"),
    ],
    ids=["network", "radius", "both"],
)  # fmt: skip
def test_rule_summary_names_only_the_mode_in_use(mode, text):
    """Regression: the network-mode summary line said "(radius mode: 50 m circles)"."""
    assert RULES["spp"].summary(mode) == text


def test_rule_summary_unknown_mode():
    with pytest.raises(InputError, match="summary mode 'circles': expected 'network', 'radius'"):
        RULES["spp"].summary("circles")


def _three_sites():
    """Site a: 6 collisions, 1 fatal (the costliest); b: 18 slight; c: 15 with 4 serious."""
    return gpd.GeoDataFrame(
        {
            "site_id": ["a", "b", "c"],
            "fatal": [1, 0, 0],
            "serious": [0, 0, 4],
            "slight": [5, 18, 11],
            "total": [6, 18, 15],
            "cost_gbp": [2.5e6, 0.5e6, 1.2e6],
            "score": [15, 18, 31],
            "rank": pd.array([pd.NA] * 3, dtype="Int64"),
        },
        geometry=[Point(0, 0), Point(1, 0), Point(2, 0)],
        crs=27700,
    )


@pytest.mark.parametrize(
    "by, order",
    [("cost", "acb"), ("total", "bca"), ("ksi", "cab"), ("score", "cba")],
    ids=["cost", "total", "ksi", "score"],
)
def test_ranked_sites_orders_by_the_chosen_ranking(by, order):
    from geo_sppa.roads.sites import ranked_sites

    sites = _three_sites()
    ranked = ranked_sites(sites, by=by)
    assert "".join(ranked["site_id"]) == order
    assert ranked["rank"].tolist() == [1, 2, 3]
    assert "ksi" not in ranked.columns and sites["rank"].isna().all()


def test_ranked_sites_breaks_ties_by_the_next_key_then_site_id():
    from geo_sppa.roads.sites import ranked_sites

    sites = _three_sites().assign(total=[15, 15, 15], fatal=[0, 0, 0], serious=[0, 0, 0])
    assert "".join(ranked_sites(sites, by="total")["site_id"]) == "acb"  # then cost
    same = sites.assign(cost_gbp=1.0)
    assert "".join(ranked_sites(same, by="total")["site_id"]) == "abc"  # then site_id


def test_unknown_ranking_is_a_one_line_error():
    from geo_sppa.roads.sites import ranked_sites

    with pytest.raises(InputError, match=r"unknown ranking 'name'; expected one of cost, ksi"):
        ranked_sites(_three_sites(), by="name")
