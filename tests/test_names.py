"""Site names: repeated names are numbered in order along the road."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo_sppa.roads.names import site_names


def frame(n_sites: int, text: str = "LINCOLN RD") -> pd.DataFrame:
    """Two collisions per site, all with the same location text."""
    return pd.DataFrame(
        {
            "location": pd.array([text] * (2 * n_sites), dtype="string"),
            "road_number": pd.array([pd.NA] * (2 * n_sites), dtype="string"),
        }
    )


MEMBERS = [np.array([2 * i, 2 * i + 1]) for i in range(4)]


def test_repeated_names_numbered_by_easting_then_northing():
    """Four sites named Lincoln Road, given in scrambled order: numbered west to east, and the
    two with the same easting south to north."""
    centres = np.array([[900.0, 0.0], [100.0, 50.0], [500.0, 0.0], [100.0, 10.0]])
    names = site_names(MEMBERS, frame(4), set(), centres=centres)
    assert names == ["Lincoln Road (4)", "Lincoln Road (2)", "Lincoln Road (3)", "Lincoln Road"]


def test_repeated_names_numbered_along_their_route():
    """On one route the measure along it decides, whatever the coordinates (a road that bends
    back west)."""
    centres = np.array([[900.0, 0.0], [100.0, 50.0], [500.0, 0.0], [100.0, 10.0]])
    route_m = [100.0, 900.0, 400.0, 50.0]
    names = site_names(MEMBERS, frame(4), set(), centres=centres, route_id=["r1"] * 4,
                       route_m=route_m)  # fmt: skip
    assert names == ["Lincoln Road (2)", "Lincoln Road (4)", "Lincoln Road (3)", "Lincoln Road"]


@pytest.mark.parametrize(
    ("route_id", "route_m"),
    [
        (["r1", "r2", "r1", "r1"], [100.0, 900.0, 400.0, 50.0]),
        (["r1"] * 4, [100.0, np.nan, 400.0, 50.0]),
        (None, None),
    ],
    ids=["two-routes", "a-junction-site-without-measure", "no-routes"],
)
def test_names_fall_back_to_easting_when_the_sites_share_no_route(route_id, route_m):
    """Sites of one name on different routes, or one without a measure: easting decides."""
    centres = np.array([[900.0, 0.0], [100.0, 50.0], [500.0, 0.0], [300.0, 10.0]])
    names = site_names(MEMBERS, frame(4), set(), centres=centres, route_id=route_id,
                       route_m=route_m)  # fmt: skip
    assert names == ["Lincoln Road (4)", "Lincoln Road", "Lincoln Road (3)", "Lincoln Road (2)"]


def test_more_specific_name_goes_to_the_first_site_along_the_road():
    """Both sites of "Lincoln Road" also have a junction text: the western one takes the first
    specific name free; the eastern one the next."""
    data = pd.DataFrame(
        {
            "location": pd.array(
                ["LINCOLN RD", "LINCOLN RD", "LINCOLN RD JW ALMA RD", "LINCOLN RD",
                 "LINCOLN RD", "LINCOLN RD JW ALMA RD"], dtype="string",
            ),
            "road_number": pd.array([pd.NA] * 6, dtype="string"),
        }
    )  # fmt: skip
    members = [np.array([0, 1, 2]), np.array([3, 4, 5])]
    names = site_names(members, data, set(), centres=np.array([[800.0, 0.0], [200.0, 0.0]]))
    assert names == ["Lincoln Road", "Lincoln Road junction Alma Road"]
