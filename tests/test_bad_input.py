"""A corpus of bad and hostile inputs run through the command line (issue 13).

Every case must end with exit code 1 (bad input: exactly one line, ``Error: ...``, naming the file or
value and the fix) or 2 (bad usage: click's usage message naming the option), never a traceback and
never the catch-all "unexpected ... this is a geo-sppa bug".
"""

from __future__ import annotations

import zipfile

import geopandas as gpd
import pytest
from click.testing import CliRunner
from shapely.geometry import LineString, Point, Polygon, box

from geo_sppa.cli.main import cli

HEADER = "accident_index,location_easting_osgr,location_northing_osgr,accident_severity,date"
GOOD_ROWS = ["A1,518382,301233,3,01/01/2016", "A2,518390,301240,2,02/01/2016"]
POLICE = "Crime ID,Month,Reported by,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type"
POLICE_ROW = "c1,2018-05,Cambs,-0.25,52.57,On or near X,E01015580,Peterborough 001A,Burglary"


def _text(folder, name, text, encoding="utf-8"):
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def _csv(folder, name, *rows, header=HEADER):
    return _text(folder, name, "\n".join([header, *rows]) + "\n")


def _layer(folder, name, geometries, crs=27700, **columns):
    path = folder / name
    frame = gpd.GeoDataFrame(columns or {"id": range(len(geometries))}, geometry=geometries)
    if crs is not None:
        frame = frame.set_crs(crs)
    frame.to_file(path)
    return path


def _workbook(folder):
    path = folder / "book.csv"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return path


def _collision_cases(t):
    good = _csv(t, "good.csv", *GOOD_ROWS)
    c = {
        "missing-file": (["--collisions", t / "nope.csv"], "nope.csv: no such collisions file"),
        "folder": (["--collisions", t], "expected a collisions file, found a folder"),
        "empty-file": (["--collisions", _text(t, "empty.csv", "")], "empty.csv: the file is empty"),
        "header-only": (
            ["--collisions", _csv(t, "h.csv")],
            "h.csv: the file has a header but no rows",
        ),
        "semicolons": (
            ["--collisions", _text(t, "semi.csv", "a;b;c\n1;2;3\n")],
            "semi.csv: the columns are separated by semicolons",
        ),
        "tabs": (
            ["--collisions", _text(t, "tab.csv", "a\tb\tc\n1\t2\t3\n")],
            "tab.csv: the columns are separated by tabs",
        ),
        "workbook": (["--collisions", _workbook(t)], "book.csv: this is an Excel workbook"),
        "png-bytes": (
            ["--collisions", _text(t, "img.csv", "\x89PNG\r\n\x1a\n\x00\x00garbage", "latin-1")],
            "img.csv:",
        ),
        "no-severity": (
            [
                "--collisions",
                _csv(
                    t,
                    "nosev.csv",
                    "A1,518382,301233,01/01/2016",
                    header="accident_index,location_easting_osgr,location_northing_osgr,date",
                ),
            ],
            "nosev.csv: no severity column",
        ),  # fmt: skip
        "no-date": (
            [
                "--collisions",
                _csv(
                    t,
                    "nodate.csv",
                    "A1,518382,301233,3",
                    header="accident_index,location_easting_osgr,"
                    "location_northing_osgr,accident_severity",
                ),
            ],
            "nodate.csv: no date column",
        ),  # fmt: skip
        "no-id": (
            [
                "--collisions",
                _csv(
                    t,
                    "noid.csv",
                    "518382,301233,3,01/01/2016",
                    header="location_easting_osgr,location_northing_osgr,accident_severity,date",
                ),
            ],
            "noid.csv: no",
        ),  # fmt: skip
        "no-coordinates": (
            [
                "--collisions",
                _csv(
                    t,
                    "nocoord.csv",
                    "A1,3,01/01/2016",
                    header="accident_index,accident_severity,date",
                ),
            ],
            "nocoord.csv:",
        ),  # fmt: skip
        "lon-lat-in-grid-columns": (
            ["--collisions", _csv(t, "ll.csv", "A1,-0.25,52.6,3,01/01/2016")],
            "looks like longitude/latitude; pass --crs EPSG:4326",
        ),
        "swapped-axes": (
            ["--collisions", _csv(t, "swap.csv", "A1,1101233,418382,3,01/01/2016")],
            "x and y look swapped",
        ),
        "beyond-gb": (
            ["--collisions", _csv(t, "far.csv", "A1,918382,1401233,3,01/01/2016")],
            "far.csv: every row lies outside Great Britain",
        ),
        "conflicting-ids": (
            [
                "--collisions",
                _csv(
                    t, "dup.csv", "A1,518382,301233,3,01/01/2016", "A1,518000,301000,1,05/01/2016"
                ),
            ],
            "dup.csv: 1 id(s) in column 'accident_index' appear on different rows",
        ),  # fmt: skip
        "dates-unreadable": (
            ["--collisions", _csv(t, "baddate.csv", "A1,518382,301233,3,someday")],
            "baddate.csv: column 'date': cannot read dates such as 'someday'",
        ),
        "dates-mixed-order": (
            [
                "--collisions",
                _csv(
                    t, "mixed.csv", "A1,518382,301233,3,25/03/2016", "A2,518382,301233,3,03/26/2016"
                ),
            ],
            "mixed.csv: column 'date' mixes day-first and month-first dates",
        ),  # fmt: skip
        "date-format-matches-nothing": (
            ["--collisions", good, "--date-format", "%Y-%m-%d"],
            "good.csv: column 'date': no date such as '01/01/2016' matches --date-format",
        ),
        "severity-unknown": (
            ["--collisions", _csv(t, "sev.csv", "A1,518382,301233,9,01/01/2016")],
            "sev.csv: no usable row",
        ),
        "all-future": (
            ["--collisions", _csv(t, "future.csv", "A1,518382,301233,3,01/01/2099")],
            "future.csv: no usable row (every row set aside: future date)",
        ),
        "misnamed-date-column": (
            ["--collisions", good, "--date-column", "when"],
            "good.csv: no column 'when'",
        ),
        "misnamed-x-column": (["--collisions", good, "--x-column", "east"], "no column 'east'"),
        "unbalanced-quotes": (
            ["--collisions", _text(t, "q.csv", HEADER + '\nA1,518382,301233,3,"01/01/2016\n')],
            "q.csv:",
        ),
        "bad-utf16": (
            ["--collisions", _bad_utf16(t)],
            "u16.csv: starts with a utf-16 byte-order mark but is not valid utf-16",
        ),
    }
    return c, good


def _bad_utf16(t):
    path = t / "u16.csv"
    path.write_bytes(b"\xff\xfe" + "a,b\n".encode("utf-16-le") + b"\x00\xd8")  # lone surrogate
    return path


def _layer_cases(t, good):
    near = [LineString([(518300, 301200), (518500, 301300)])]
    c = {
        "roads-missing": (["--collisions", good, "--roads", t / "r.gpkg"], "r.gpkg: no such"),
        "roads-broken": (
            ["--collisions", good, "--roads", _text(t, "b.geojson", '{"type": "Feature')],
            "b.geojson: cannot read it as a road network layer",
        ),
        "roads-no-crs": (
            ["--collisions", good, "--roads", _layer(t, "nocrs.shp", near, crs=None)],
            "nocrs.shp: the layer has no coordinate reference system; pass --crs",
        ),
        "roads-are-points": (
            ["--collisions", good, "--roads", _layer(t, "pts.gpkg", [Point(518300, 301200)])],
            "pts.gpkg:",
        ),
        "roads-lonlat-labelled-bng": (
            [
                "--collisions",
                good,
                "--roads",
                _layer(
                    t,
                    "ll.gpkg",
                    [
                        LineString([(-0.25 + i / 100, 52.6), (-0.24 + i / 100, 52.6)])
                        for i in range(5)
                    ],
                ),
            ],
            "ll.gpkg: the layer declares EPSG:27700 but its coordinates",
        ),  # fmt: skip
        "roads-far-away": (
            [
                "--collisions",
                good,
                "--years",
                "2016",
                "--roads",
                _layer(t, "far.gpkg", [LineString([(400000, 200000), (400500, 200000)])]),
            ],
            "lies within 30 m of a road; check that the road layer covers the same area",
        ),  # fmt: skip
        "study-area-missing": (
            ["--collisions", good, "--study-area", t / "zone.gpkg"],
            "zone.gpkg: no such",
        ),
        "study-area-lines": (
            ["--collisions", good, "--study-area", _layer(t, "zl.gpkg", near)],
            "zl.gpkg: expected study area polygons, found LineString",
        ),
        "study-area-elsewhere": (
            [
                "--collisions",
                good,
                "--study-area",
                _layer(t, "ze.gpkg", [box(100000, 100000, 100100, 100100)]),
            ],
            "good.csv: no row lies inside the study area",
        ),  # fmt: skip
        "study-area-lonlat-labelled-bng": (
            [
                "--collisions",
                good,
                "--study-area",
                _layer(
                    t,
                    "zll.gpkg",
                    [box(-0.3 + i / 50, 52.5, -0.29 + i / 50, 52.6) for i in range(4)],
                ),
            ],
            "zll.gpkg: the layer declares EPSG:27700",
        ),  # fmt: skip
        "crs-unknown": (["--collisions", good, "--crs", "EPSG:999999"], "--crs"),
        "years-reversed": (["--years", "2016-2014"], "the first year not after the last"),
        "years-out-of-range": (["--years", "1850-2500"], "expected years between 1900 and 2100"),
        "years-garbage": (["--years", "recent"], "expected YEAR-YEAR"),
        "area-unknown": (["--area", "atlantis"], "--area"),
        "rule-unknown": (["--rule", "nonsense"], "no cluster rule named 'nonsense'"),
        "clause-garbage": (["--clause", "six"], "expected TOTAL:KSI"),
        "length-zero": (["--length-m", "0"], "--length-m"),
        "output-is-a-file": (["--collisions", good, "-o", good], "is a file"),
        "output-unwritable": (["--collisions", good, "-o", "/proc/x"], "cannot write results"),
    }
    return c


def _ward_cases(t):
    police = _csv(t, "street.csv", POLICE_ROW, header=POLICE)
    cell = [box(510000, 290000, 530000, 310000)]
    bowtie = Polygon([(510000, 290000), (530000, 310000), (530000, 290000), (510000, 310000)])
    c = {
        "incidents-missing": (["wards", "--incidents", t / "none.csv"], "none.csv: no such"),
        "incidents-no-month": (
            [
                "wards",
                "--incidents",
                _csv(t, "nom.csv", "c1,Burglary,E01015580", header="Crime ID,Crime type,LSOA code"),
            ],
            "nom.csv: no month column",
        ),  # fmt: skip
        "incidents-no-category": (
            [
                "wards",
                "--incidents",
                _csv(t, "noc.csv", "c1,2018-05,E01015580", header="Crime ID,Month,LSOA code"),
            ],
            "noc.csv: no category column",
        ),  # fmt: skip
        "incidents-no-location": (
            [
                "wards",
                "--incidents",
                _csv(t, "nol.csv", "c1,2018-05,Burglary", header="Crime ID,Month,Crime type"),
            ],
            "nol.csv: no coordinate columns",
        ),  # fmt: skip
        "incidents-all-months-bad": (
            [
                "wards",
                "--incidents",
                _csv(t, "mon.csv", POLICE_ROW.replace("2018-05", "May"), header=POLICE),
            ],
            "mon.csv: column 'Month': cannot read months such as 'May'",
        ),  # fmt: skip
        "incidents-semicolons": (
            ["wards", "--incidents", _text(t, "isemi.csv", "a;b;c\n1;2;3\n")],
            "isemi.csv: the columns are separated by semicolons",
        ),
        "incidents-empty-folder": (["wards", "--incidents", _empty_folder(t)], "empty-police"),
        "wards-missing": (
            ["wards", "--incidents", police, "--wards", t / "w.gpkg"],
            "w.gpkg: no such",
        ),
        "wards-points": (
            [
                "wards",
                "--incidents",
                police,
                "--wards",
                _layer(t, "wp.gpkg", [Point(520000, 300000)], WD22CD=["E05000001"], WD22NM=["A"]),
            ],
            "wp.gpkg: expected ward polygons",
        ),  # fmt: skip
        "wards-invalid-polygon": (
            [
                "wards",
                "--incidents",
                police,
                "--wards",
                _layer(t, "wi.gpkg", [bowtie], WD22CD=["E05000001"], WD22NM=["Bow"]),
            ],
            "wi.gpkg:",
        ),  # fmt: skip
        "wards-no-code-column": (
            ["wards", "--incidents", police, "--wards", _layer(t, "wn.gpkg", cell, label=["A"])],
            "wn.gpkg:",
        ),
        "wards-no-crs": (
            [
                "wards",
                "--incidents",
                police,
                "--wards",
                _layer(t, "wc.shp", cell, crs=None, WD22CD=["E05000001"], WD22NM=["A"]),
            ],
            "wc.shp: the layer has no coordinate reference system",
        ),  # fmt: skip
        "population-missing": (["wards", "--population", t / "p.csv"], "p.csv: no such"),
        "population-negative": (
            [
                "wards",
                "--population",
                _csv(t, "pn.csv", "E01015580,-5", header="lsoa_code,population"),
            ],
            "pn.csv: column 'population' has 1 population(s) of zero or less",
        ),
        "population-repeated": (
            [
                "wards",
                "--population",
                _csv(t, "pr.csv", "E01015580,5", "E01015580,6", header="lsoa_code,population"),
            ],
            "pr.csv: 1 LSOA code(s) appear more than once",
        ),  # fmt: skip
        "population-not-numbers": (
            [
                "wards",
                "--population",
                _csv(t, "px.csv", "E01015580,lots", header="lsoa_code,population"),
            ],
            "px.csv: column 'population' has a missing or non-numeric population",
        ),
        "population-no-column": (
            ["wards", "--population", _csv(t, "pc.csv", "E01015580,5", header="lsoa_code,people")],
            "pc.csv: no total population column",
        ),
        "imd-missing": (["wards", "--imd", t / "imd.csv"], "imd.csv: no such"),
        "imd-gz-not-gzip": (
            ["wards", "--imd", _text(t, "iod.csv.gz", "lsoa21_code,IMD_score\nE01,1\n")],
            "iod.csv.gz: not a readable gzip-compressed CSV",
        ),
        "la-unknown": (["wards", "--la", "E09999999"], "no local authority 'E09999999'"),
        "la-welsh": (["wards", "--la", "W06000015"], "cover England only"),
        "population-2021-missing": (
            ["wards", "--population-2021", t / "p21.csv"],
            "p21.csv: no such population file",
        ),
        "model-unknown": (["outliers", "--model", "magic"], "--model"),
        "suppress-negative": (["wards", "--suppress-below", "-1"], "--suppress-below"),
        "ward-set-unknown": (["wards", "--ward-set", "1999"], "--ward-set"),
    }
    return c


def _empty_folder(t):
    folder = t / "empty-police"
    folder.mkdir()
    return folder


def _other_cases(t):
    return {
        "themes-missing": (["risk", "--themes", t / "themes.csv"], "themes.csv: no such"),
        "themes-no-columns": (
            ["risk", "--themes", _csv(t, "th.csv", "1,2", header="a,b")],
            "th.csv:",
        ),
        "unit-costs-missing": (["costs", "--unit-costs", t / "uc.csv"], "uc.csv"),
        "trends-collisions-missing": (["trends", "--collisions", t / "tc.csv"], "tc.csv: no such"),
        "trends-baseline-garbage": (["trends", "--baseline-year", "soon"], "--baseline-year"),
        "trends-impossible-end-date": (
            ["trends", "--end-date", "2017-13-45"],
            "expected a date YYYY-MM-DD such as 2017-10-31, got '2017-13-45'",
        ),
        "report-name-is-a-path": (
            ["report", "--name", "sub/dir/r.html"],
            "expected a file name such as report.html, got 'sub/dir/r.html'",
        ),
        "map-results-missing": (["map", "clusters", t / "res.gpkg"], "res.gpkg"),
        "map-results-not-a-layer": (
            ["map", "clusters", _text(t, "res.csv", "a,b\n1,2\n")],
            "res.csv:",
        ),
    }


def _evaluate_cases(t):
    sites = _csv(t, "sites.csv", "R519660N299770,junction,519658.8,299772.8",
                 header="site_id,site_type,x,y")  # fmt: skip
    header = "site_id,treatment_date"

    def run(name, *rows, header=header, with_sites=True):
        extra = ["--sites", sites] if with_sites else []
        return ["evaluate", "--treated", _csv(t, name, *rows, header=header), *extra]

    return {
        "evaluate-treated-missing": (["evaluate", "--treated", t / "tr.csv"], "tr.csv: no such"),
        "evaluate-no-date-column": (
            run("ev1.csv", "R519660N299770,x", header="site_id,name"),
            "ev1.csv: no treatment date column",
        ),
        "evaluate-date-unreadable": (
            run("ev2.csv", "R519660N299770,2017-13-45"),
            "ev2.csv: row 1, column 'treatment_date' cannot be read as a date: '2017-13-45'",
        ),
        "evaluate-site-id-unknown": (
            run("ev3.csv", "R1N2,2015-01-01"),
            "ev3.csv: row 1, column 'site_id': no site 'R1N2' in the --sites file",
        ),
        "evaluate-site-id-without-sites": (
            run("ev4.csv", "R519660N299770,2015-01-01", with_sites=False),
            "ev4.csv: row 1 names a site_id but no sites file was given; pass --sites",
        ),
        "evaluate-date-outside-data": (
            run("ev5.csv", "R519660N299770,2030-01-01"),
            "ev5.csv: no treated site can be evaluated: row 1: treatment date after the data",
        ),
        "evaluate-before-years-garbage": (
            ["evaluate", "--treated", t / "x.csv", "--before-years", "soon"],
            "--before-years",
        ),
    }


def _corpus(t):
    collisions, good = _collision_cases(t)
    cases = {k: ["clusters", *a, "-o", t / "out"] for k, (a, _) in collisions.items()}
    messages = {k: m for k, (_, m) in collisions.items()}
    for k, (a, m) in _layer_cases(t, good).items():
        cases[k], messages[k] = ["clusters", *a, *(["-o", t / "out"] if "-o" not in a else [])], m
    for group in (_ward_cases(t), _other_cases(t), _evaluate_cases(t)):
        for k, (a, m) in group.items():
            # `map` writes next to its results unless told otherwise
            cases[k], messages[k] = [*a, *([] if a[0] == "map" else ["-o", t / "out"])], m
    return cases, messages


CASE_NAMES = sorted(
    [
        *("missing-file folder empty-file header-only semicolons tabs workbook png-bytes no-severity "
          "no-date no-id no-coordinates lon-lat-in-grid-columns swapped-axes beyond-gb conflicting-ids "
          "dates-unreadable dates-mixed-order date-format-matches-nothing severity-unknown all-future "
          "misnamed-date-column misnamed-x-column unbalanced-quotes bad-utf16").split(),
        *("roads-missing roads-broken roads-no-crs roads-are-points roads-lonlat-labelled-bng "
          "roads-far-away study-area-missing study-area-lines study-area-elsewhere "
          "study-area-lonlat-labelled-bng crs-unknown years-reversed years-out-of-range years-garbage "
          "area-unknown rule-unknown clause-garbage length-zero output-is-a-file "
          "output-unwritable").split(),
        *("incidents-missing incidents-no-month incidents-no-category incidents-no-location "
          "incidents-all-months-bad incidents-semicolons incidents-empty-folder wards-missing "
          "wards-points wards-invalid-polygon wards-no-code-column wards-no-crs population-missing "
          "population-negative population-repeated population-not-numbers population-no-column "
          "imd-missing model-unknown suppress-negative ward-set-unknown imd-gz-not-gzip la-unknown "
          "la-welsh population-2021-missing").split(),
        *("themes-missing themes-no-columns unit-costs-missing trends-collisions-missing "
          "trends-baseline-garbage trends-impossible-end-date report-name-is-a-path map-results-missing map-results-not-a-layer").split(),
        *("evaluate-treated-missing evaluate-no-date-column evaluate-date-unreadable "
          "evaluate-site-id-unknown evaluate-site-id-without-sites evaluate-date-outside-data "
          "evaluate-before-years-garbage").split(),
    ]
)  # fmt: skip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return _corpus(tmp_path_factory.mktemp("bad"))


def test_the_corpus_is_large_and_every_case_is_run(corpus):
    cases, _ = corpus
    assert len(CASE_NAMES) >= 60
    assert sorted(cases) == CASE_NAMES


@pytest.mark.parametrize("case", CASE_NAMES)
def test_bad_input_is_one_clear_line(corpus, case):
    cases, messages = corpus
    result = CliRunner().invoke(cli, [str(a) for a in cases[case]])
    output = result.output
    assert result.exit_code in (1, 2), output
    assert "unexpected" not in output and "Traceback" not in output, output
    assert messages[case] in output, output
    if result.exit_code == 1:
        lines = [line for line in output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error: "), output
