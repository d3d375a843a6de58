"""Loaders: every input format real users bring, normalised to the same columns in EPSG:27700."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, MultiLineString, Polygon, box

from geo_sppa.errors import InputError, MissingFileError
from geo_sppa.io import (
    read_collisions,
    read_imd,
    read_incidents,
    read_lsoa_lookup,
    read_population,
    read_results,
    read_roads,
    read_wards,
    write_csv,
    write_gpkg,
)


def write(path, text):
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


# STATS19 headers of three vintages, same two collisions. Old files (to 2018) use capitalised
# headers with brackets; 2019-2023 files use accident_*; 2024 on use collision_*.
STATS19_OLD = """
Accident_Index,Location_Easting_OSGR,Location_Northing_OSGR,Longitude,Latitude,Police_Force,Accident_Severity,Number_of_Vehicles,Number_of_Casualties,Date,Day_of_Week,Time,Local_Authority_(District),1st_Road_Class,1st_Road_Number,Road_Type,Speed_limit,Junction_Detail,Junction_Control,2nd_Road_Class,2nd_Road_Number
201035A00001,518382,301233,-0.253682,52.596011,35,2,2,3,01/01/2010,6,10:15,394,3,47,6,30,3,4,6,0
201035A00002,520433,302401,-0.222995,52.606058,35,3,1,1,14/02/2010,1,20:45,394,6,0,6,30,0,-1,-1,0
"""
STATS19_2019 = (
    STATS19_OLD.replace("Accident_Index", "accident_index")
    .replace(
        "Location_Easting_OSGR,Location_Northing_OSGR",
        "location_easting_osgr,location_northing_osgr",
    )
    .replace("Accident_Severity", "accident_severity")
    .replace("Number_of_Casualties", "number_of_casualties")
    .replace("1st_Road_Class,1st_Road_Number", "first_road_class,first_road_number")
    .replace("Junction_Detail", "junction_detail")
    .replace("Date,", "date,")
    .replace(",Time,", ",time,")
)
STATS19_2024 = STATS19_2019.replace("accident_index", "collision_index").replace(
    "accident_severity", "collision_severity"
)
CAMBS = """
Reference,Date,Year,Time,Severity,Road_Class,Main_rd_no,Junction Detail,Location,Easting,Northing
412,20120101,2012,1015,Slight,U,0,'T'/staggered junctn,THISTEMOOR RD OS 65 A JUNCTION BELHAM RD PETERBOROUGH,518382.7769,301233.5121
712,20120101,2012,2045,Fatal,A,47,Roundabout,A47 EYE RD JUNCTION A16 CROWLAND BYPASS PETERBOROUGH,520433.6617,302401.7377
"""
LEEDS = """
collision_id,collision_ref,year,date,time_24h,severity,n_casualty_rows,number_of_vehicles,easting,northing,lon,lat,road_class,road_class_and_number
2009_3309,3309,2009,2009-01-01,0055,Slight,1,1,429093,436258,-1.559547,53.821787,Unclassified,
2017_77,77,2017,2017-03-04,1745,Serious,5,2,431508,435120,-1.52298,53.811419,,A58(M)
"""


@pytest.mark.parametrize(
    "text",
    [STATS19_OLD, STATS19_2019, STATS19_2024],
    ids=["stats19-old", "stats19-accident", "stats19-collision"],
)
def test_stats19_vintages_normalise_identically(tmp_path, text):
    loaded = read_collisions(write(tmp_path / "acc.csv", text))
    d = loaded.data
    assert loaded.n_read == 2 and len(d) == 2 and loaded.set_aside.empty
    assert d.crs.to_epsg() == 27700
    assert d["collision_id"].tolist() == ["201035A00001", "201035A00002"]
    assert d["severity"].tolist() == ["serious", "slight"]
    assert d["date"].dt.strftime("%Y-%m-%d").tolist() == ["2010-01-01", "2010-02-14"]
    assert d["year"].tolist() == [2010, 2010]
    assert d["time"].tolist() == ["10:15", "20:45"]
    assert d["casualties"].tolist() == [3, 1]
    assert d["road_class"].tolist() == ["A", "Unclassified"]
    assert d["road_number"].iloc[0] == "A47" and pd.isna(d["road_number"].iloc[1])
    assert d["junction_detail"].tolist() == [
        "T or staggered junction",
        "Not at junction or within 20 metres",
    ]
    assert d["at_junction"].tolist() == [True, False]
    assert (d.geometry.x.tolist(), d.geometry.y.tolist()) == ([518382, 520433], [301233, 302401])


def test_cambridgeshire_insight_layout(tmp_path):
    d = read_collisions(write(tmp_path / "cambs.csv", CAMBS)).data
    assert d["collision_id"].tolist() == ["412", "712"]
    assert d["date"].dt.strftime("%Y-%m-%d").tolist() == ["2012-01-01", "2012-01-01"]
    assert d["severity"].tolist() == ["slight", "fatal"]
    assert d["road_number"].iloc[1] == "A47"
    assert d["location"].iloc[0].startswith("THISTEMOOR RD")
    assert d["at_junction"].tolist() == [True, True]
    assert d["casualties"].isna().all()


def test_leeds_council_layout_iso_dates_and_road_numbers(tmp_path):
    d = read_collisions(write(tmp_path / "leeds.csv", LEEDS)).data
    assert d["date"].dt.strftime("%Y-%m-%d").tolist() == ["2009-01-01", "2017-03-04"]
    assert d["time"].tolist() == ["00:55", "17:45"]
    assert d["casualties"].tolist() == [1, 5]
    assert pd.isna(d["road_number"].iloc[0]) and d["road_number"].iloc[1] == "A58(M)"


def test_generic_csv_with_named_columns_and_crs(tmp_path):
    text = """
ref,when,how_bad,lon_x,lat_y
a,2020-05-01,1,-0.25,52.6
b,2020-05-02,3,-0.26,52.61
"""
    loaded = read_collisions(
        write(tmp_path / "mine.csv", text),
        columns={"id": "ref", "date": "when", "severity": "how_bad", "x": "lon_x", "y": "lat_y"},
        crs="EPSG:4326",
    )
    d = loaded.data
    assert d["severity"].tolist() == ["fatal", "slight"]
    assert 515000 < d.geometry.x.iloc[0] < 520000 and 295000 < d.geometry.y.iloc[0] < 305000
    assert any("reprojected" in n for n in loaded.notes)


def test_longitude_latitude_fill_missing_eastings(tmp_path):
    text = STATS19_2019.replace("518382,301233", ",")
    loaded = read_collisions(write(tmp_path / "acc.csv", text))
    assert len(loaded.data) == 2
    assert loaded.data.geometry.x.iloc[0] == pytest.approx(518382, abs=5)


def test_rows_set_aside_with_reasons_nothing_lost(tmp_path):
    text = """
accident_index,location_easting_osgr,location_northing_osgr,accident_severity,date
A1,518382,301233,3,01/01/2020
A2,,,3,02/01/2020
A3,518382,301233,3,31/02/2020
A4,518382,301233,7,03/01/2020
A5,9518382,301233,3,04/01/2020
A1,518382,301233,3,01/01/2020
"""
    loaded = read_collisions(write(tmp_path / "acc.csv", text))
    assert loaded.data["collision_id"].tolist() == ["A1"]
    aside = loaded.set_aside.set_index("record_id")["reason"].to_dict()
    assert aside == {
        "A2": "missing coordinates",
        "A3": "unparseable date",
        "A4": "unknown severity",
        "A5": "outside Great Britain",
        "A1": "duplicate row",
    }
    assert loaded.n_read == len(loaded.data) + len(loaded.set_aside) == 6
    assert loaded.set_aside.set_index("record_id").loc["A3", "row"] == 3


def test_outside_study_area_set_aside(tmp_path):
    zone = gpd.GeoDataFrame(geometry=[box(518000, 301000, 519000, 302000)], crs=27700)
    loaded = read_collisions(write(tmp_path / "cambs.csv", CAMBS), study_area=zone)
    assert loaded.data["collision_id"].tolist() == ["412"]
    assert loaded.set_aside["reason"].tolist() == ["outside study area"]
    assert loaded.set_aside["detail"].iloc[0].endswith("m outside")


@pytest.mark.parametrize(
    "text, match",
    [
        ("accident_index,accident_severity,date\nA1,3,01/01/2020", r"no coordinate columns"),
        (
            "accident_index,location_easting_osgr,location_northing_osgr,date\nA1,1,1,01/01/2020",
            r"no severity column .*--severity-column",
        ),
        (
            "accident_index,location_easting_osgr,location_northing_osgr,accident_severity,date\nA1,518382,301233,3,soon",
            r"cannot read dates such as 'soon'",
        ),
        (
            "accident_index,location_easting_osgr,location_northing_osgr,accident_severity,date",
            r"header but no rows",
        ),
        (
            "accident_index,location_easting_osgr,location_northing_osgr,accident_severity,date\nA1,1,2,3,01/01/2020\nA1,1,2,2,01/01/2020",
            r"appear on different rows",
        ),
        (
            "accident_index,location_easting_osgr,location_northing_osgr,accident_severity,date\nA1,52.6,-0.25,3,01/01/2020",
            r"outside Great Britain.*--crs",
        ),
    ],
    ids=[
        "no-coordinates",
        "no-severity",
        "bad-dates",
        "zero-rows",
        "duplicate-ids",
        "all-outside-gb",
    ],
)
def test_file_level_problems_raise_one_line_errors(tmp_path, text, match):
    with pytest.raises(InputError, match=match) as info:
        read_collisions(write(tmp_path / "acc.csv", text))
    assert "acc.csv" in str(info.value) and "\n" not in str(info.value)


def test_missing_file_names_it(tmp_path):
    with pytest.raises(MissingFileError, match=r"nope.csv: no such collisions file"):
        read_collisions(tmp_path / "nope.csv")


POLICE = """
Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context
,2019-01,Cambridgeshire Constabulary,Cambridgeshire Constabulary,-0.2537,52.5960,On or near Main Street,E01015632,Peterborough 010C,Anti-social behaviour,,
abc,2019-01,Cambridgeshire Constabulary,Cambridgeshire Constabulary,-0.2230,52.6061,On or near Eye Road,E01015657,Peterborough 007D,Burglary,Under investigation,
def,2019-01,Cambridgeshire Constabulary,Cambridgeshire Constabulary,,,No location,,,Burglary,Under investigation,
"""


def test_police_uk_folder_and_glob(tmp_path):
    for month in ("2019-01", "2019-02"):
        folder = tmp_path / "downloads" / month
        folder.mkdir(parents=True)
        write(folder / f"{month}-cambridgeshire-street.csv", POLICE.replace("2019-01", month))
    by_folder = read_incidents(tmp_path / "downloads")
    by_glob = read_incidents(str(tmp_path / "downloads" / "*" / "*-street.csv"))
    for loaded in (by_folder, by_glob):
        assert loaded.n_read == 6 and len(loaded.data) == 4
        assert (
            loaded.set_aside["reason"].tolist()
            == ["no location (no coordinates, no LSOA code)"] * 2
        )
        assert sorted(loaded.data["month"].unique()) == ["2019-01", "2019-02"]
        assert loaded.data.crs.to_epsg() == 27700
        assert set(loaded.data["category"]) == {"Anti-social behaviour", "Burglary"}


def test_police_uk_repeated_crime_id_set_aside_but_blank_asb_ids_kept(tmp_path):
    text = (
        POLICE.strip()
        + "\n"
        + POLICE.strip().splitlines()[2]
        + "\n"
        + POLICE.strip().splitlines()[1]
    )
    loaded = read_incidents(write(tmp_path / "street.csv", text))
    assert loaded.n_read == 5
    assert sorted(loaded.set_aside["reason"]) == [
        "duplicate id",
        "no location (no coordinates, no LSOA code)",
    ]
    assert (
        loaded.data["category"] == "Anti-social behaviour"
    ).sum() == 2  # blank ids are not duplicates


def test_generic_incidents_by_lsoa_code_only(tmp_path):
    text = "id,month,category,lsoa_code\n1,2020-01,Domestic abuse,E01015632\n2,2020-02,Domestic abuse,E01015657\n"
    loaded = read_incidents(write(tmp_path / "da.csv", text))
    assert len(loaded.data) == 2 and loaded.data.geometry.isna().all()
    assert loaded.data["lsoa_code"].tolist() == ["E01015632", "E01015657"]


def _wards_frame(code="WD22CD", name="WD22NM", crs=27700):
    return (
        gpd.GeoDataFrame(
            {code: ["E05000001", "E05000002"], name: ["North <b>", "South"]},
            geometry=[box(0, 0, 1000, 1000), box(0, 1000, 1000, 2000)],
            crs=crs,
        )
        .set_geometry("geometry")
        .pipe(lambda f: f.to_crs(27700) if crs else f)
    )


@pytest.mark.parametrize(
    "ext, driver", [("geojson", "GeoJSON"), ("gpkg", "GPKG"), ("shp", "ESRI Shapefile")]
)
def test_ward_boundaries_any_format(tmp_path, ext, driver):
    path = tmp_path / f"wards.{ext}"
    frame = gpd.GeoDataFrame(
        {"WD13CD": ["E05000001", "E05000002"], "WD13NM": ["North <b>", "South"]},
        geometry=[box(520000, 300000, 521000, 301000), box(520000, 301000, 521000, 302000)],
        crs=27700,
    )
    (frame.to_crs(4326) if ext == "geojson" else frame).to_file(path, driver=driver)
    wards = read_wards(path)
    assert wards.columns.tolist() == ["ward_code", "ward_name", "geometry"]
    assert wards["ward_name"].tolist() == ["North <b>", "South"]
    assert wards.crs.to_epsg() == 27700
    assert wards.area.sum() == pytest.approx(2e6, rel=1e-3)


def test_ward_layer_without_crs_needs_crs(tmp_path):
    path = tmp_path / "wards.shp"
    gpd.GeoDataFrame({"WD22CD": ["E1"], "WD22NM": ["A"]}, geometry=[box(0, 0, 1, 1)]).to_file(path)
    with pytest.raises(
        InputError, match=r"wards.shp: the layer has no coordinate reference system; pass --crs"
    ):
        read_wards(path)
    assert read_wards(path, crs="EPSG:27700").crs.to_epsg() == 27700


def test_ward_columns_named_by_user(tmp_path):
    path = tmp_path / "w.gpkg"
    gpd.GeoDataFrame(
        {"kode": ["E1"], "label": ["A"]}, geometry=[box(0, 0, 1, 1)], crs=27700
    ).to_file(path)
    with pytest.raises(InputError, match="no ward code column"):
        read_wards(path)
    assert read_wards(path, code_column="kode", name_column="label")["ward_code"].tolist() == ["E1"]


def test_invalid_polygon_is_an_error_naming_the_ward(tmp_path):
    """A self-intersecting ward would cover the wrong area and move incidents silently."""
    path = tmp_path / "w.gpkg"
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    gpd.GeoDataFrame(
        {"WD22CD": ["E1", "E2"], "WD22NM": ["Good", "Bad"]},
        geometry=[box(20, 20, 30, 30), bowtie],
        crs=27700,
    ).to_file(path)
    with pytest.raises(
        InputError,
        match=r"w.gpkg: ward E2 \(Bad\) has invalid geometry \(Self-intersection.*repair it",
    ):
        read_wards(path)


def test_null_geometry_is_an_error_naming_the_ward(tmp_path):
    path = tmp_path / "w.gpkg"
    gpd.GeoDataFrame(
        {"WD22CD": ["E1", "E2"], "WD22NM": ["Good", "Central"]},
        geometry=[box(0, 0, 1, 1), None],
        crs=27700,
    ).to_file(path)
    with pytest.raises(InputError, match=r"w.gpkg: ward E2 \(Central\) has no geometry"):
        read_wards(path)


def test_stats19_2024_prefers_historic_junction_codes_and_reads_second_road(tmp_path):
    """2024 files recode junction_detail (roundabouts become 0); the historic column keeps the old codes."""
    text = """
collision_index,collision_year,location_easting_osgr,location_northing_osgr,collision_severity,number_of_casualties,date,first_road_class,first_road_number,junction_detail,junction_detail_historic,second_road_class,second_road_number
2024A1,2024,518382,301233,3,-1,05/01/2024,3,1139,0,1,3,1260
2024A2,2024,518382,301300,3,2,06/01/2024,3,1139,13,-1,-1,-1
"""
    d = read_collisions(write(tmp_path / "c.csv", text)).data
    assert d["junction_detail"].iloc[0] == "Roundabout" and d["at_junction"].iloc[0]
    assert pd.isna(d["junction_detail"].iloc[1]) and pd.isna(d["at_junction"].iloc[1])
    assert d["road_number"].tolist() == ["A1139", "A1139"]
    assert d["road_number_2"].iloc[0] == "A1260" and pd.isna(d["road_number_2"].iloc[1])
    assert pd.isna(d["casualties"].iloc[0]) and d["casualties"].iloc[1] == 2  # -1 means missing
    assert d["source_row"].tolist() == [1, 2]


def test_unknown_junction_codes_are_kept_not_guessed(tmp_path):
    text = (
        "accident_index,location_easting_osgr,location_northing_osgr,accident_severity,date,junction_detail\n"
        "A1,518382,301233,3,01/01/2020,17\n"
    )
    d = read_collisions(write(tmp_path / "c.csv", text)).data
    assert d["junction_detail"].iloc[0] == "code 17" and pd.isna(d["at_junction"].iloc[0])


def test_single_letter_severity_is_not_guessed(tmp_path):
    text = (
        "accident_index,location_easting_osgr,location_northing_osgr,accident_severity,date\n"
        "A1,518382,301233,S,01/01/2020\nA2,518382,301233,3,01/01/2020\n"
    )
    loaded = read_collisions(write(tmp_path / "c.csv", text))
    assert loaded.set_aside["reason"].tolist() == ["unknown severity"]


IMD2010 = """
lsoa01_code,lsoa01_name,IMD_score,Income_score,Crime_score,IMD_rank,IMD_decile
E01000001,A,9.09,0.05,-1.0,25240,8
E01000002,B,40.5,0.35,1.2,1200,1
"""
# Header layout of the official MHCLG IoD2019 File 7 (scores, ranks, deciles, denominators).
IOD2019_FILE7 = """
LSOA code (2011),LSOA name (2011),Local Authority District code (2019),Index of Multiple Deprivation (IMD) Score,Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived),Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs),Income Score (rate),Income Rank (where 1 is most deprived),Income Deprivation Affecting Children Index (IDACI) Score (rate),Crime Score,Barriers to Housing and Services Score,Living Environment Score,Total population: mid 2015 (excluding prisoners)
E01015589,Peterborough 004A,E06000031,10.5,23577,8,0.06,27708,0.07,-0.9,35.1,20.2,1764
"""


def test_imd_2010_lsoa01_scores(tmp_path):
    imd = read_imd(write(tmp_path / "imd2010_lsoa01.csv", IMD2010))
    assert imd["vintage"].tolist() == [2001, 2001]
    assert imd["imd_score"].tolist() == [9.09, 40.5]
    assert imd["crime_score"].tolist() == [-1.0, 1.2]
    assert imd["employment_score"].isna().all()


def test_iod2019_official_file7_headers(tmp_path):
    imd = read_imd(write(tmp_path / "File_7.csv", IOD2019_FILE7))
    row = imd.iloc[0]
    assert row["vintage"] == 2011
    assert (row["imd_score"], row["imd_rank"], row["imd_decile"]) == (10.5, 23577, 8)
    assert row["income_score"] == 0.06  # not the IDACI sub-domain
    assert (row["housing_score"], row["environment_score"], row["crime_score"]) == (
        35.1,
        20.2,
        -0.9,
    )
    pop = read_population(tmp_path / "File_7.csv")
    assert pop["population"].tolist() == [1764]


def test_imd_file_without_imd_columns(tmp_path):
    with pytest.raises(InputError, match=r"no IMD score, rank or decile column"):
        read_imd(write(tmp_path / "x.csv", "lsoa_code,foo\nE1,2"))


def test_bundled_tables_read():
    from geo_sppa.bundled.areas import bundled_area

    area = bundled_area("peterborough")
    assert len(read_imd(area.imd["2010"])) == 104
    imd19 = read_imd(area.imd["2019"])
    assert len(imd19) == 112 and imd19["imd_score"].isna().all() and imd19["imd_rank"].notna().all()
    assert read_population(area.population)["population"].sum() == 192903
    assert {"lsoa11_code", "lsoa01_code", "ward17_code"} <= set(
        read_lsoa_lookup(area.lsoa_lookup).columns
    )


def test_roads_osm_and_os_open_roads(tmp_path):
    osm = gpd.GeoDataFrame(
        {
            "osm_id": ["1", "2"],
            "name": ["Lincoln Road", None],
            "ref": [None, "A15"],
            "highway": ["primary", "trunk"],
        },
        geometry=[
            LineString([(0, 0), (100, 0)]),
            MultiLineString([[(0, 0), (0, 50)], [(0, 60), (0, 100)]]),
        ],
        crs=27700,
    )
    osm.to_file(tmp_path / "osm.gpkg")
    loaded = read_roads(tmp_path / "osm.gpkg")
    assert loaded.data["road_id"].tolist() == ["1", "2/0", "2/1"]
    assert (loaded.data.geom_type == "LineString").all()
    # OS Open Roads: GeoPackage road_link columns, and the older Shapefile RoadLink columns.
    line = [LineString([(0, 0), (100, 0)])]
    gpd.GeoDataFrame(
        {
            "id": ["X1"],
            "name_1": ["Bourges Boulevard"],
            "road_classification_number": ["A15"],
            "road_classification": ["A Road"],
        },
        geometry=line,
        crs=27700,
    ).to_file(tmp_path / "oproad_gb.gpkg", layer="road_link")
    gpd.GeoDataFrame(
        {
            "identifier": ["X1"],
            "name1": ["Bourges Boulevard"],
            "roadNumber": ["A15"],
            "class": ["A Road"],
        },
        geometry=line,
        crs=27700,
    ).to_file(tmp_path / "RoadLink.shp")
    for name in ("oproad_gb.gpkg", "RoadLink.shp"):
        d = read_roads(tmp_path / name).data
        assert d.iloc[0][["road_id", "name", "ref", "highway"]].tolist() == [
            "X1",
            "Bourges Boulevard",
            "A15",
            "A Road",
        ]


def test_roads_non_lines_set_aside(tmp_path):
    frame = gpd.GeoDataFrame(
        {"name": ["a", "b"]}, geometry=[LineString([(0, 0), (1, 1)]), box(0, 0, 1, 1)], crs=27700
    )
    frame.to_file(tmp_path / "r.gpkg")
    loaded = read_roads(tmp_path / "r.gpkg")
    assert len(loaded.data) == 1 and loaded.set_aside["reason"].tolist() == ["not a line"]


def test_writers_round_trip_lists_and_excel_csv(tmp_path):
    sites = gpd.GeoDataFrame(
        {"site_id": ["S1"], "name": ["Café junction"], "collision_ids": [["a", "b"]]},
        geometry=gpd.points_from_xy([520000], [300000]),
        crs=27700,
    )
    write_gpkg(sites, tmp_path / "s.gpkg")
    back = read_results(tmp_path / "s.gpkg")
    assert back["collision_ids"].iloc[0] == ["a", "b"]
    write_csv(sites, tmp_path / "s.csv")
    raw = (tmp_path / "s.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "Café".encode() in raw and b"a;b" in raw
    assert sites["collision_ids"].iloc[0] == ["a", "b"]  # caller's frame untouched


# --------------------------------------------------------------------------- bad input (issue 13)

HEADER = (
    "accident_index,location_easting_osgr,location_northing_osgr,accident_severity,date,location"
)


def test_one_stray_latin1_byte_keeps_the_file_utf8_and_names_the_row(tmp_path):
    """One Latin-1 byte used to switch the whole file to Latin-1 (St John’s -> St JohnâS)."""
    text = (
        HEADER + "\nA1,518382,301233,3,01/01/2016,St John’s Road\n"
        "A2,518390,301240,3,02/01/2016,Caf\xe9 Corner\n"
    )
    path = tmp_path / "mixed.csv"
    path.write_bytes(text.replace("Caf\xe9", "CAFE").encode("utf-8").replace(b"CAFE", b"Caf\xe9"))
    loaded = read_collisions(path)
    assert loaded.data["location"].tolist() == ["St John’s Road", "Caf\ufffd Corner"]
    assert any("1 row(s) have bytes that are not UTF-8 (data rows 2)" in n for n in loaded.notes)


def test_windows_1252_file_read_as_such_with_a_note(tmp_path):
    path = tmp_path / "cp1252.csv"
    path.write_bytes((HEADER + "\nA1,518382,301233,3,01/01/2016,St John’s Road\n").encode("cp1252"))
    loaded = read_collisions(path)
    assert loaded.data["location"].tolist() == ["St John’s Road"]
    assert any("read as Windows-1252" in n for n in loaded.notes)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_files_with_a_byte_order_mark_decode(tmp_path, encoding):
    text = HEADER + "\nA1,518382,301233,3,01/01/2016,Queen’s Gardens\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    path = tmp_path / "bom.csv"
    path.write_bytes(data)
    loaded = read_collisions(path)
    assert loaded.data["collision_id"].tolist() == ["A1"]
    assert loaded.data["location"].tolist() == ["Queen’s Gardens"]
    assert loaded.notes == ()


@pytest.mark.parametrize(
    "rows, match",
    [
        (
            ["A1,-0.25,52.6,3,01/01/2016,x"],
            r"x=-0\.25, y=52\.6: looks like longitude/latitude; pass --crs EPSG:4326",
        ),
        (
            ["A1,1301233,518382,3,01/01/2016,x"],
            r"x=1\.30123e\+06, y=518382: x outside Great Britain",
        ),
        (
            ["A1,1101233,418382,3,01/01/2016,x"],
            r"x and y look swapped; exchange --x-column and --y-column",
        ),
    ],
    ids=["lon-lat-in-grid-columns", "easting-too-large", "swapped"],
)
def test_implausible_coordinates_name_the_likely_mistake(tmp_path, rows, match):
    path = write(tmp_path / "c.csv", "\n".join([HEADER, *rows]))
    with pytest.raises(InputError, match=match):
        read_collisions(path)


def test_swapped_rows_set_aside_with_the_reason_when_others_are_fine(tmp_path):
    path = write(
        tmp_path / "c.csv",
        "\n".join([HEADER, "A1,518382,301233,3,01/01/2016,x", "A2,1101233,418382,3,01/01/2016,y"]),
    )
    loaded = read_collisions(path)
    assert loaded.data["collision_id"].tolist() == ["A1"]
    row = loaded.set_aside.iloc[0]
    assert (row["row"], row["record_id"], row["reason"]) == (2, "A2", "outside Great Britain")
    assert row["detail"].endswith("x and y look swapped; exchange --x-column and --y-column")


def test_swapped_axes_inside_gb_caught_by_the_study_area(tmp_path):
    """Swapped eastings/northings of Peterborough still lie in Great Britain; the study area
    shows the mistake."""
    area = gpd.GeoDataFrame(geometry=[box(510000, 290000, 530000, 310000)], crs=27700)
    rows = [f"A{i},{301233 + i},{518382 + i},3,01/01/2016,x" for i in range(3)]
    path = write(tmp_path / "c.csv", "\n".join([HEADER, *rows]))
    with pytest.raises(InputError, match="3 do with x and y exchanged; the easting and northing"):
        read_collisions(path, study_area=area)
    mixed = write(tmp_path / "m.csv", "\n".join([HEADER, "B1,518382,301233,3,01/01/2016,x", *rows]))
    aside = read_collisions(mixed, study_area=area).set_aside
    assert aside["detail"].str.endswith("(inside with x and y swapped)").all() and len(aside) == 3


def test_future_dates_set_aside_against_a_given_today(tmp_path):
    path = write(
        tmp_path / "c.csv",
        "\n".join([HEADER, "A1,518382,301233,3,01/01/2016,x", "A2,518382,301233,3,02/01/2016,y"]),
    )
    loaded = read_collisions(path, today=pd.Timestamp("2016-01-01"))
    assert loaded.data["collision_id"].tolist() == ["A1"]
    assert loaded.set_aside[["record_id", "reason"]].values.tolist() == [["A2", "future date"]]
    assert "(after 2016-01-01)" in loaded.set_aside["detail"].iloc[0]


def test_all_dates_ambiguous_read_day_first_with_a_note(tmp_path):
    path = write(tmp_path / "c.csv", "\n".join([HEADER, "A1,518382,301233,3,04/05/2016,x"]))
    loaded = read_collisions(path)
    assert loaded.data["date"].tolist() == [pd.Timestamp("2016-05-04")]
    assert any("read as day-first (UK order)" in n for n in loaded.notes)


def test_bad_date_format_option_is_one_line_error(tmp_path):
    path = write(tmp_path / "c.csv", "\n".join([HEADER, "A1,518382,301233,3,04/05/2016,x"]))
    with pytest.raises(
        InputError, match="no date such as '04/05/2016' matches --date-format '%Y-%m-%d'"
    ):
        read_collisions(path, date_format="%Y-%m-%d")


def test_police_uk_impossible_and_future_months_set_aside(tmp_path):
    head = "Crime ID,Month,Reported by,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type"
    rows = [
        "c1,2018-05,Cambs,-0.25,52.57,On or near X,E01015580,Peterborough 001A,Burglary",
        "c2,2018/13,Cambs,-0.25,52.57,On or near X,E01015580,Peterborough 001A,Burglary",
        "c3,2099-01,Cambs,-0.25,52.57,On or near X,E01015580,Peterborough 001A,Burglary",
    ]
    loaded = read_incidents(write(tmp_path / "street.csv", "\n".join([head, *rows])))
    assert loaded.data["incident_id"].tolist() == ["c1"]
    reasons = loaded.set_aside.set_index("record_id")["reason"].to_dict()
    assert reasons == {"c2": "unparseable month", "c3": "future month"}


def test_incidents_without_a_category_column_say_which_names_work(tmp_path):
    path = write(tmp_path / "i.csv", "incident_id,month,lsoa_code\n1,2018-01,E01015580")
    with pytest.raises(InputError, match="no category column .*rename the column to one of those"):
        read_incidents(path)


FORMULAS = ["=HYPERLINK(\"http://x\",\"y\")", "=1+1", "+1+1", "-1+cmd|' /C calc'!A0", "@SUM(A1)",
            "\tTAB", "\rCR"]  # fmt: skip


def test_csv_writer_neutralises_spreadsheet_formulas_but_not_numbers(tmp_path):
    frame = pd.DataFrame(
        {
            "name": [*FORMULAS, "Central", "-1", "+44"],
            "count": range(len(FORMULAS) + 3),
            "delta": [-1.5] * (len(FORMULAS) + 3),
        }
    )
    path = write_csv(frame, tmp_path / "t.csv")
    back = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False)
    assert back["name"].tolist()[: len(FORMULAS)] == ["'" + f for f in FORMULAS]
    assert back["name"].tolist()[len(FORMULAS) :] == ["Central", "-1", "+44"]
    assert back["count"].tolist() == list(range(len(FORMULAS) + 3))
    assert back["delta"].tolist() == [-1.5] * (len(FORMULAS) + 3)
    assert frame["name"].iloc[1] == "=1+1"  # the caller's frame is not changed


def test_every_csv_the_package_writes_goes_through_write_csv():
    """So that formula neutralisation covers every CSV output."""
    from pathlib import Path

    import geo_sppa

    root = Path(geo_sppa.__file__).parent
    writers = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if ".to_csv(" in p.read_text(encoding="utf-8")
    ]
    assert writers == ["io/writers.py"]


@pytest.mark.parametrize(
    "offset, match",
    [
        ((0, 0), "they look like longitude/latitude"),
        ((900000, 0), "they lie outside Great Britain"),
    ],
    ids=["lon-lat-labelled-bng", "beyond-gb"],
)
def test_layer_coordinates_checked_against_the_declared_crs(tmp_path, offset, match):
    """Ward boundaries in lon/lat declared as EPSG:27700 used to give a ward table of zeros."""
    dx, dy = offset
    cells = [
        box(-0.30 + 0.01 * i + dx, 52.55 + dy, -0.29 + 0.01 * i + dx, 52.56 + dy) for i in range(4)
    ]
    frame = gpd.GeoDataFrame(
        {"WD22CD": [f"E0500000{i}" for i in range(4)], "WD22NM": list("ABCD")},
        geometry=cells,
        crs=27700,
    )
    path = tmp_path / "wards.geojson"
    frame.to_file(path)
    with pytest.raises(InputError, match=f"wards.geojson: the layer declares EPSG:27700 .*{match}"):
        read_wards(path)


def test_lon_lat_boundaries_in_east_anglia_labelled_bng_are_caught(tmp_path):
    """Positive longitudes (Norwich, 1.3 E) fall inside the grid's extent; the tiny span gives
    them away."""
    cells = [box(1.28 + 0.01 * i, 52.62, 1.29 + 0.01 * i, 52.63) for i in range(5)]
    frame = gpd.GeoDataFrame(
        {"WD22CD": [f"E0500001{i}" for i in range(5)], "WD22NM": list("ABCDE")},
        geometry=cells,
        crs=27700,
    )
    frame.to_file(tmp_path / "norwich.gpkg")
    with pytest.raises(InputError, match="they look like longitude/latitude"):
        read_wards(tmp_path / "norwich.gpkg")


@pytest.mark.parametrize(
    "rows, match",
    [
        (
            ["E01000001,1500", "E01000002,-20"],
            r"1 population\(s\) of zero or less \(first: LSOA E01000002, -20\)",
        ),
        (["E01000001,1500", "E01000002,0"], r"zero or less \(first: LSOA E01000002, 0\)"),
        (
            ["E01000001,1500", "E01000001,1500"],
            r"1 LSOA code\(s\) appear more than once \(first: E01000001\)",
        ),
    ],
    ids=["negative", "zero", "repeated"],
)
def test_population_must_be_positive_and_one_per_lsoa(tmp_path, rows, match):
    path = write(tmp_path / "pop.csv", "\n".join(["lsoa_code,population", *rows]))
    with pytest.raises(InputError, match=f"pop.csv: .*{match}"):
        read_population(path)


# Context fields in two STATS19 vintages: capitalised headers to 2018, lower-case from 2019 (with
# carriageway_hazards_historic from 2024). Row 2 carries a light code outside the DfT table (8)
# and missing values (-1, 99) that must not be guessed.
CONTEXT_OLD = """
Accident_Index,Location_Easting_OSGR,Location_Northing_OSGR,Accident_Severity,Date,Day_of_Week,Time,Road_Type,Speed_limit,Junction_Control,Light_Conditions,Weather_Conditions,Road_Surface_Conditions,Special_Conditions_at_Site,Carriageway_Hazards,Urban_or_Rural_Area
201035A00001,518382,301233,2,01/01/2010,6,10:15,3,30,4,4,2,2,4,0,1
201035A00002,520433,302401,3,14/02/2010,1,20:45,12,99,-1,8,-1,1,0,9,2
"""
CONTEXT_2024 = (
    CONTEXT_OLD.lower()
    .replace("accident_index", "collision_index")
    .replace("carriageway_hazards", "carriageway_hazards_historic")
    .replace("201035a", "201035A")
)


@pytest.mark.parametrize("text", [CONTEXT_OLD, CONTEXT_2024], ids=["stats19-old", "stats19-2024"])
def test_stats19_context_fields_decoded_from_dft_codes(tmp_path, text):
    d = read_collisions(write(tmp_path / "acc.csv", text)).data
    first, second = d.iloc[0], d.iloc[1]
    assert first["light"] == "Darkness - lights lit"
    assert first["weather"] == "Raining no high winds"
    assert first["surface"] == "Wet or damp"
    assert first["road_type"] == "Dual carriageway"
    assert first["junction_control"] == "Give way or uncontrolled"
    assert first["special_conditions"] == "Roadworks"
    assert first["carriageway_hazards"] == "None"
    assert first["urban_rural"] == "Urban"
    assert first["weekday"] == "Friday"
    assert first["speed_limit"] == 30
    assert second["light"] == "code 8"  # outside the table: kept, never guessed
    assert pd.isna(second["weather"]) and pd.isna(second["junction_control"])  # -1: missing
    assert pd.isna(second["speed_limit"])  # 99: missing
    assert second["road_type"] == "One way street/Slip road"
    assert second["carriageway_hazards"] == "Unknown (self reported)"
    assert second["weekday"] == "Sunday"


def test_council_context_fields_on_the_bundled_files():
    pb = read_collisions("data/peterborough/peterborough_rtc_cambsinsight_2012_2017.csv").data
    first = pb[pb["collision_id"] == "712"].iloc[0]
    assert (first["light"], first["weather"], first["surface"]) == ("Dark", "Fine (no wind)", "Dry")
    assert first["speed_limit"] == 60
    assert first["vehicle_types"] == "Van/GV <=3.5t mgw; Car"  # vehicle order, as written
    assert first["manoeuvres"] == "Going ahead; Going ahead"
    assert first["weekday"] == "Sunday"
    assert pd.isna(first["road_type"])  # not in the file
    leeds = read_collisions("data/leeds-central/leeds_central_rtc_2009_2019.csv").data
    # "Wet / Damp" and "Wet/Damp" are one level.
    assert "Wet / Damp" not in set(leeds["surface"].dropna())
    assert (leeds["surface"] == "Wet/damp").sum() == 1175
    assert leeds["light"].notna().all() and leeds["speed_limit"].isna().all()


# Vehicle and casualty files of two vintages for the two CONTEXT_OLD collisions, plus one row
# each for a collision that is not in the collision file (set aside). Vehicle type 42 is outside
# the DfT table; casualty age -1 is missing.
VEHICLES_2019 = """
accident_index,accident_year,vehicle_reference,vehicle_type,vehicle_manoeuvre,age_of_driver
201035A00001,2010,1,9,18,34
201035A00001,2010,2,1,9,51
201035A00002,2010,1,42,4,-1
201035A09999,2010,1,9,18,40
"""
VEHICLES_2024 = (
    VEHICLES_2019.replace("accident_index", "collision_index")
    .replace("accident_year", "collision_year")
    .replace("vehicle_manoeuvre", "vehicle_manoeuvre_historic,vehicle_manoeuvre")
    .replace(",18,", ",18,1,")
    .replace(",9,51", ",9,2,51")
    .replace(",4,-1", ",4,3,-1")
)
CASUALTIES_OLD = """
Accident_Index,Vehicle_Reference,Casualty_Reference,Casualty_Class,Sex_of_Casualty,Age_of_Casualty,Casualty_Severity
201035A00001,1,1,1,1,34,3
201035A00001,2,2,1,2,51,2
201035A00001,1,3,3,1,-1,1
201035A09999,1,1,2,1,22,3
"""
CASUALTIES_2024 = (
    CASUALTIES_OLD.replace("Accident_Index", "collision_index").lower().replace("035a", "035A")
)


@pytest.mark.parametrize(
    "vehicles, casualties",
    [(VEHICLES_2019, CASUALTIES_OLD), (VEHICLES_2024, CASUALTIES_2024)],
    ids=["accident_index", "collision_index"],
)
def test_vehicle_and_casualty_files_join_on_the_collision_index(tmp_path, vehicles, casualties):
    from geo_sppa.io.stats19_parts import read_collision_parts

    collisions = read_collisions(write(tmp_path / "acc.csv", CONTEXT_OLD)).data
    joined, aside = read_collision_parts(
        collisions,
        vehicles=write(tmp_path / "veh.csv", vehicles),
        casualties=write(tmp_path / "cas.csv", casualties),
    )
    first, second = joined.iloc[0], joined.iloc[1]
    assert first["vehicle_types"] == "Car; Pedal cycle"
    assert first["manoeuvres"] == "Going ahead other; Turning right"
    assert (second["vehicle_types"], second["manoeuvres"]) == ("code 42", "Slowing or stopping")
    assert (first["casualties"], first["ksi_casualties"]) == (3, 2)
    assert first["casualty_classes"] == "Driver or rider; Driver or rider; Pedestrian"
    assert first["casualty_ages"] == "34; 51"  # -1 is missing
    assert pd.isna(second["casualties"]) and pd.isna(second["ksi_casualties"])
    assert aside[["source", "row", "record_id", "reason"]].values.tolist() == [
        ["veh.csv", 4, "201035A09999", "no such collision"],
        ["cas.csv", 4, "201035A09999", "no such collision"],
    ]
    assert "vehicle_types" not in collisions.columns or collisions["vehicle_types"].isna().all()


@pytest.mark.parametrize(
    ("cells", "by_arrow"),
    [
        (["518382", " 301233 ", "-0.5", "+3", "1e3", "430067.45", "1e500", None], True),
        (["518382", "not a number", "12,5", "", "   ", None], False),  # the pandas path
    ],
)
def test_numeric_columns_parse_as_pandas_does(cells, by_arrow):
    """The pyarrow fast path and the pd.to_numeric path give the same floats and NaNs."""
    import numpy as np

    from geo_sppa.io._common import _arrow_floats, _numeric

    values = pd.Series(cells, dtype="string")
    stripped = values.str.strip()
    assert (_arrow_floats(stripped) is not None) == by_arrow  # the path each case takes
    expected = pd.to_numeric(stripped, errors="coerce").to_numpy("float64", na_value=np.nan)
    got = _numeric(values)
    np.testing.assert_array_equal(got.to_numpy(), expected)
    assert got.dtype == "float64" and got.index.equals(values.index)


def test_severity_words_and_codes_decode_with_missing_cells(tmp_path):
    text = (
        "accident_index,location_easting_osgr,location_northing_osgr,accident_severity,date\n"
        "A1,518382,301233, Fatal ,01/01/2020\nA2,518382,301233,2,01/01/2020\n"
        "A3,518382,301233,,01/01/2020\nA4,518382,301233,slight,01/01/2020\n"
    )
    loaded = read_collisions(write(tmp_path / "c.csv", text))
    assert loaded.data["severity"].tolist() == ["fatal", "serious", "slight"]
    assert loaded.set_aside["reason"].tolist() == ["unknown severity"]
    assert loaded.set_aside["row"].tolist() == [3]
