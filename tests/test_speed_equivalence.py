"""Speed-ups that must not change what is read or written (issue 12): dates parsed once per
distinct value still choose the format that reads the most rows, and the GeoPackage's
collisions layer keeps the columns users need."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from geo_sppa.io.collisions import parsed_dates
from geo_sppa.io.outputs import GPKG_COLLISION_COLUMNS, gpkg_collisions


def test_date_format_is_chosen_by_rows_read_not_by_distinct_values():
    """Ten rows of one ISO date against three rows of three distinct day-first dates: ISO reads
    more rows (10 to 3) though fewer distinct values (1 to 3), so ISO wins and the day-first
    rows do not read (the reader sets them aside)."""
    values = pd.Series(
        ["2020-01-05"] * 10 + ["05/01/2020", "06/01/2020", "07/01/2020", None],
        index=range(100, 114),
        name="date",
    )
    dates, note = parsed_dates(values, source="c.csv", column="date")
    assert note is None and list(dates.index) == list(values.index) and dates.name == "date"
    assert (dates.iloc[:10] == pd.Timestamp("2020-01-05")).all()
    assert dates.iloc[10:].isna().all()


def test_each_row_gets_its_own_distinct_value_parsed():
    values = pd.Series(["03/02/2021", "01/12/2020", "03/02/2021", "31/12/2019"])
    dates, _ = parsed_dates(values, source="c.csv", column="date")
    assert list(dates) == [pd.Timestamp(2021, 2, 3), pd.Timestamp(2020, 12, 1),
                           pd.Timestamp(2021, 2, 3), pd.Timestamp(2019, 12, 31)]  # fmt: skip


def test_gpkg_collisions_layer_keeps_the_columns_users_need():
    """Ids, date (as text), time, severity, site, place and conditions stay; road numbers,
    at_junction, vehicle details and source_row go; geometry stays; the frame is not changed."""
    frame = gpd.GeoDataFrame(
        {
            "collision_id": ["A1", "A2"], "date": pd.to_datetime(["2020-03-04", "2021-05-06"]),
            "year": [2020, 2021], "time": ["08:00", None], "severity": ["slight", "fatal"],
            "road_number": ["A1", None], "at_junction": [True, False], "light": ["Daylight", None],
            "pedestrian": [True, False], "vehicle_types": ["Car", "Van"], "source_row": [1, 2],
            "site_id": ["S1", None],
        },
        geometry=shapely.points([(450000, 250000), (450010, 250000)]),
        crs=27700,
    )  # fmt: skip
    before = frame.copy()
    layer = gpkg_collisions(frame)
    assert list(layer.columns) == [
        "collision_id", "site_id", "date", "year", "time", "severity", "light", "pedestrian",
        "geometry",
    ]  # fmt: skip
    assert set(layer.columns) - {"geometry"} <= set(GPKG_COLLISION_COLUMNS)
    assert list(layer["date"]) == ["2020-03-04", "2021-05-06"]
    pd.testing.assert_frame_equal(pd.DataFrame(frame), pd.DataFrame(before))


def test_repeated_rows_are_found_among_rows_sharing_an_id_only():
    """Rows 5 and 6 repeat rows 0 and 2 exactly (set aside); rows sharing no id are never
    compared; one id on two different rows is still refused."""
    import pytest

    from geo_sppa.errors import InputError
    from geo_sppa.io.collisions import _duplicate_rows

    raw = pd.DataFrame({"id": ["A", "B", "C", "D", "E", "A", "C"],
                        "severity": ["1", "2", "3", "3", "3", "1", "3"]})  # fmt: skip
    ids = raw["id"].astype("string").str.strip()
    repeated = _duplicate_rows(raw, ids, "id", "c.csv")
    assert list(repeated) == [False, False, False, False, False, True, True]
    assert repeated.equals(raw.duplicated(keep="first"))
    clash = raw.assign(severity=["1", "2", "3", "3", "3", "2", "3"])
    with pytest.raises(InputError, match="1 id\\(s\\) in column 'id' appear on different rows"):
        _duplicate_rows(clash, ids, "id", "c.csv")
