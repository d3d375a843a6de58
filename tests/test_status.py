"""Status by place: ids carried from the previous window; new, persistent and resolved."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString

from geo_sppa.roads.clusters import cluster_sites, site_columns
from geo_sppa.roads.status import PLACE_M, same_place_pairs

X0, Y0 = 518_000.0, 301_000.0
PREVIOUS, CURRENT = "2012-05-01", "2015-05-01"


def roads() -> gpd.GeoDataFrame:
    """Main Road west-east (-500 m to 500 m through the origin), Short Lane 90 m north from the
    origin to a dead end, Cross Street 500 m south from the origin: one junction at the origin."""
    lines = {
        "Main Road": [(-500, 0), (0, 0), (500, 0)],
        "Short Lane": [(0, 0), (0, 90)],
        "Cross Street": [(0, 0), (0, -500)],
    }
    return gpd.GeoDataFrame(
        {"road_id": list(range(3)), "name": list(lines), "ref": [None] * 3,
         "highway": ["primary", "residential", "residential"]},
        geometry=[LineString([(X0 + x, Y0 + y) for x, y in xy]) for xy in lines.values()],
        crs=27700,
    )  # fmt: skip


def collisions(rows) -> gpd.GeoDataFrame:
    """Slight collisions from ``(dx, dy, date)`` rows, plus two far west on Main Road that make
    the data span 2011-2016 (so 2011-2013 is the previous window)."""
    rows = list(rows) + [(-480, 0, "2011-01-03"), (-480, 0, "2016-12-31")]
    dx, dy, date = zip(*rows, strict=True)
    return gpd.GeoDataFrame(
        {
            "collision_id": [f"C{i:03d}" for i in range(len(rows))],
            "date": pd.to_datetime(list(date)),
            "severity": ["slight"] * len(rows),
            "at_junction": pd.array([None] * len(rows), dtype="boolean"),
        },
        geometry=gpd.points_from_xy(X0 + np.array(dx, float), Y0 + np.array(dy, float)),
        crs=27700,
    )


def at_junction(n, date):
    """``n`` collisions within 3 m of the junction at the origin."""
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return [(3 * np.cos(a), 3 * np.sin(a), date) for a in angles]


def along(x, ys, date):
    """Collisions 1 m off a north-south road at ``x``, at the given northings."""
    return [(x + 1, y, date) for y in ys]


def test_junction_site_that_became_a_link_site_41m_away_is_persistent():
    """Six at the junction in 2012 (a junction site); six 36-46 m up Short Lane in 2015 (a link
    site centred about 41-45 m from the junction): one place, persistent, the junction's id."""
    rows = at_junction(6, PREVIOUS) + along(0, np.linspace(36, 46, 6), CURRENT)
    result = cluster_sites(collisions(rows), roads=roads())
    assert result.previous_window == (2011, 2013)
    site = result.sites.iloc[0]
    assert len(result.sites) == 1 and site.site_type == "link"
    assert np.hypot(site.x - X0, site.y - Y0) <= PLACE_M
    old = cluster_sites(collisions(rows), roads=roads(), years=(2011, 2013)).sites.iloc[0]
    assert old.site_type == "junction"
    assert site.site_id == old.site_id
    assert site.status == "persistent"
    assert result.resolved.empty


def test_place_60m_away_is_new_and_the_old_place_resolved():
    """Six at the junction in 2012; six 55-65 m east along Main Road in 2015: two places."""
    rows = at_junction(6, PREVIOUS) + [(x, 1, CURRENT) for x in np.linspace(55, 65, 6)]
    result = cluster_sites(collisions(rows), roads=roads())
    site = result.sites.iloc[0]
    assert len(result.sites) == 1 and site.site_type == "link"
    assert np.hypot(site.x - X0, site.y - Y0) > PLACE_M
    assert site.status == "new" and site.previous_total == 0
    assert result.resolved["site_type"].tolist() == ["junction"]
    assert result.resolved.iloc[0].status == "resolved"
    assert result.resolved.iloc[0].site_id != site.site_id
    assert result.counts["n_resolved"] == 1


def test_place_with_5_collisions_but_no_site_is_resolved_with_its_previous_counts():
    """Six at the junction in 2012 (three of them in 2013), five there in 2015: no site now;
    the junction is resolved, with both windows' counts by year."""
    rows = at_junction(3, PREVIOUS) + at_junction(3, "2013-03-01") + at_junction(5, CURRENT)
    result = cluster_sites(collisions(rows), roads=roads())
    assert result.sites.empty
    gone = result.resolved
    assert len(gone) == 1
    row = gone.iloc[0]
    assert (row.status, row.site_type, row.total, row.previous_total) == (
        "resolved", "junction", 5, 6,
    )  # fmt: skip
    assert (row.n_2014, row.n_2015, row.n_2016) == (0, 5, 0)
    assert (row.previous_n_2011, row.previous_n_2012, row.previous_n_2013) == (0, 3, 3)
    assert row.years_counts == "2014: 0; 2015: 5; 2016: 0"
    assert row.previous_years_counts == "2011: 0; 2012: 3; 2013: 3"
    assert pd.isna(row["rank"])
    assert list(gone.columns) == site_columns((2014, 2016), (2011, 2013))


def test_persistent_site_counts_its_previous_window_by_year():
    """Six at the junction in both windows: persistent, the same id, previous counts by year."""
    rows = at_junction(6, PREVIOUS) + at_junction(4, "2014-02-01") + at_junction(2, CURRENT)
    site = cluster_sites(collisions(rows), roads=roads()).sites.iloc[0]
    assert site.status == "persistent" and site.previous_total == 6
    assert (site.n_2014, site.n_2015, site.n_2016, site.total) == (4, 2, 0, 6)
    assert (site.previous_n_2011, site.previous_n_2012, site.previous_n_2013) == (0, 6, 0)


def records(*rows) -> pd.DataFrame:
    """Site records from ``(x, y, site_type, route_id, route_m)`` rows."""
    x, y, kind, route, m = zip(*rows, strict=True)
    return pd.DataFrame({"site_id": [f"S{i}" for i in range(len(rows))], "x": x, "y": y,
                         "site_type": kind, "route_id": route, "route_m": m})  # fmt: skip


@pytest.mark.parametrize(
    ("previous", "paired"),
    [
        ((50.0, 0.0, "junction", None, np.nan), True),
        ((50.1, 0.0, "junction", None, np.nan), False),
        ((30.0, 40.0, "link", "r2", 10.0), True),
        ((0.0, 90.0, "link", "r1", 90.0), True),
        ((0.0, 100.0, "link", "r1", 100.0), False),
        ((0.0, 90.0, "link", "r2", 90.0), False),
    ],
    ids=["centres-50m", "centres-50.1m", "diagonal-50m", "same-route-windows-overlap",
         "same-route-windows-touch", "other-route-90m"],
)  # fmt: skip
def test_same_place_threshold_edges(previous, paired):
    """Centres at most 50 m apart (any types), or link windows of one route less than one
    window length (100 m) apart along it, are one place."""
    current = records((0.0, 0.0, "link", "r1", 0.0))
    cur, old = same_place_pairs(current, records(previous), mode="network", length_m=100.0)
    assert (cur.tolist(), old.tolist()) == (([0], [0]) if paired else ([], []))


def test_same_place_falls_back_to_chain_stretches_without_routes():
    """Without route columns, link windows overlapping on one chain are one place."""
    frame = pd.DataFrame(
        {
            "site_id": ["a", "b", "c"],
            "x": [0.0, 0.0, 0.0],
            "y": [0.0, 80.0, 200.0],
            "site_type": "link",
            "chain_id": "k",
            "start_m": [0.0, 80.0, 200.0],
            "end_m": [100.0, 180.0, 300.0],
        }
    )
    cur, old = same_place_pairs(frame.iloc[[0]], frame, mode="network")
    assert (cur.tolist(), old.tolist()) == ([0, 0], [0, 1])


def test_radius_mode_overlapping_circles_are_one_place():
    """Radius mode: circles of 50 m whose centres are under 100 m apart overlap."""
    current = pd.DataFrame({"x": [0.0], "y": [0.0]})
    previous = pd.DataFrame({"x": [99.0, 100.0], "y": [0.0, 0.0]})
    cur, old = same_place_pairs(current, previous, mode="radius", radius_m=50.0)
    assert (cur.tolist(), old.tolist()) == ([0], [0])


@pytest.fixture(scope="module")
def leeds_run():
    """The bundled central Leeds run (latest window, previous window 2014-2016)."""
    from geo_sppa.bundled.inputs import cluster_inputs

    inputs = cluster_inputs("leeds-central", with_context=False)
    data = inputs.collisions.data
    return data, cluster_sites(data, roads=inputs.roads, source="leeds")


def test_leeds_resolved_places_have_too_few_collisions_now(leeds_run):
    """Every site called resolved in central Leeds is a place that no longer qualifies: the
    current-window collisions inside its old footprint, recounted from the input by id and
    severity, fail the rule; none of them is counted in a current site; no current site's
    centre is within PLACE_M of it and no current site's footprint touches it."""
    data, result = leeds_run
    resolved, sites = result.resolved, result.sites
    assert result.previous_window is not None and len(resolved) > 0
    severity = data.set_index(data["collision_id"].astype(str))["severity"]
    year = data.set_index(data["collision_id"].astype(str))["year"]
    in_sites = set(data["collision_id"].astype(str)[result.site_of.notna().to_numpy()])
    for _, place in resolved.iterrows():
        ids = [str(i) for i in place["collision_ids"]]
        assert year.loc[ids].between(*result.window).all()
        total = len(ids)
        ksi = int(severity.loc[ids].isin(["fatal", "serious"]).sum())
        assert (total, ksi) == (place["total"], place["fatal"] + place["serious"])
        assert not result.rule.qualifies(np.array([total]), np.array([ksi]))[0], place["name"]
        assert in_sites.isdisjoint(ids), place["name"]
        centres = np.hypot(sites["x"] - place["x"], sites["y"] - place["y"])
        assert centres.min() > PLACE_M, place["name"]
        assert sites.geometry.distance(place.geometry).min() > 0, place["name"]
