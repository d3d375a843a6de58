"""The command line: help, version, the data listing, and every kind of bad input as a one-line error."""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import pytest
from click.testing import CliRunner
from shapely.geometry import LineString, box

from geo_sppa.cli.main import COMMANDS, cli

GOOD_HEADER = "accident_index,location_easting_osgr,location_northing_osgr,accident_severity,date"


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)))


def test_help_lists_every_command_with_its_purpose():
    result = run("--help")
    assert result.exit_code == 0
    for name, (_, _, purpose) in COMMANDS.items():
        assert name in result.output and purpose in result.output


def test_help_is_instant_no_heavy_imports():
    code = (
        "import sys; from geo_sppa.cli.main import cli; cli(['--help'], standalone_mode=False); "
        "heavy = [m for m in ('geopandas', 'pandas', 'folium', 'statsmodels', 'shapely') if m in sys.modules]; "
        "print('HEAVY', heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "HEAVY []" in out


def test_version():
    result = run("--version")
    assert result.exit_code == 0 and result.output.startswith("geo-sppa, version ")


def test_data_lists_bundled_datasets_with_rows_and_licences():
    result = run("data")
    assert result.exit_code == 0
    assert "3329" in result.output and "5461" in result.output and "6733" in result.output
    assert "OGL v3" in result.output and "ODbL" in result.output
    assert "peterborough" in result.output and "leeds-central" in result.output


def _csv(tmp_path, name, body):
    path = tmp_path / name
    path.write_text(body.strip() + "\n", encoding="utf-8")
    return path


@pytest.fixture
def bad_inputs(tmp_path):
    """Each case: extra CLI arguments and the message the user must see."""
    far = tmp_path / "far.gpkg"
    gpd.GeoDataFrame(geometry=[box(100000, 100000, 100100, 100100)], crs=27700).to_file(far)
    lines = tmp_path / "lines.gpkg"
    gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1, 1)])], crs=27700).to_file(lines)
    nocrs = tmp_path / "roads.shp"
    gpd.GeoDataFrame(
        {"name": ["a"]}, geometry=[LineString([(518000, 301000), (518100, 301000)])]
    ).to_file(nocrs)
    broken = _csv(tmp_path, "broken.geojson", '{"type": "FeatureCollection", "features": [')
    good = _csv(
        tmp_path,
        "good.csv",
        GOOD_HEADER + "\nA1,518382,301233,3,01/01/2020\nA2,518390,301240,2,02/01/2020",
    )
    return {
        "missing-file": (
            ["--collisions", tmp_path / "nope.csv"],
            "nope.csv: no such collisions file",
        ),
        "missing-column": (
            [
                "--collisions",
                _csv(
                    tmp_path,
                    "c1.csv",
                    "accident_index,location_easting_osgr,location_northing_osgr,date\nA1,1,1,01/01/2020",
                ),
            ],
            "c1.csv: no severity column (looked for collision_severity, accident_severity, severity); pass --severity-column",
        ),
        "misnamed-column": (
            ["--collisions", good, "--date-column", "when"],
            "good.csv: no column 'when'",
        ),
        "unparseable-date": (
            [
                "--collisions",
                _csv(tmp_path, "c2.csv", GOOD_HEADER + "\nA1,518382,301233,3,someday"),
            ],
            "c2.csv: column 'date': cannot read dates such as 'someday'",
        ),
        "outside-gb": (
            [
                "--collisions",
                _csv(tmp_path, "c3.csv", GOOD_HEADER + "\nA1,-0.25,52.6,3,01/01/2020"),
            ],
            "c3.csv: every row lies outside Great Britain",
        ),
        "outside-study-area": (
            ["--collisions", good, "--study-area", far],
            "good.csv: no row lies inside the study area",
        ),
        "zero-rows": (
            ["--collisions", _csv(tmp_path, "c4.csv", GOOD_HEADER)],
            "c4.csv: the file has a header but no rows",
        ),
        "duplicate-ids": (
            [
                "--collisions",
                _csv(
                    tmp_path,
                    "c5.csv",
                    GOOD_HEADER + "\nA1,518382,301233,3,01/01/2020\nA1,518000,301000,1,01/01/2020",
                ),
            ],
            "c5.csv: 1 id(s) in column 'accident_index' appear on different rows",
        ),
        "invalid-geometry": (
            ["--collisions", good, "--study-area", lines],
            "lines.gpkg: expected study area polygons, found LineString",
        ),
        "unreadable-layer": (
            ["--collisions", good, "--roads", broken],
            "broken.geojson: cannot read it as a road network layer",
        ),
        "no-crs": (
            ["--collisions", good, "--roads", nocrs],
            "roads.shp: the layer has no coordinate reference system; pass --crs",
        ),
        "unknown-rule": (
            ["--rule", "nonsense"],
            "no cluster rule named 'nonsense'; choose one of: spp, wales-trunk",
        ),
        "semicolons": (
            [
                "--collisions",
                _csv(
                    tmp_path, "semi.csv", "accident_index;date;accident_severity\nA1;01/01/2020;3"
                ),
            ],
            "semi.csv: the columns are separated by semicolons; save the file as comma-separated CSV",
        ),
        "excel-workbook": (
            ["--collisions", _xlsx(tmp_path)],
            "book.csv: this is an Excel workbook or zip archive, not a CSV",
        ),
        "unwritable-output": (
            ["--collisions", good, "-o", "/proc/geo-sppa-out"],
            "/proc/geo-sppa-out: cannot write results there",
        ),
    }


def _xlsx(tmp_path):
    import zipfile

    path = tmp_path / "book.csv"  # a workbook saved under a .csv name, as happens
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
    return path


CASES = [
    "missing-file",
    "missing-column",
    "misnamed-column",
    "unparseable-date",
    "outside-gb",
    "outside-study-area",
    "zero-rows",
    "duplicate-ids",
    "invalid-geometry",
    "unreadable-layer",
    "no-crs",
    "unknown-rule",
    "semicolons",
    "excel-workbook",
    "unwritable-output",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_error_exit_1(bad_inputs, tmp_path, case):
    args, message = bad_inputs[case]
    if "-o" not in args:
        args = [*args, "-o", tmp_path / "out"]
    result = run("clusters", *args)
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1


def test_real_process_prints_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "geo_sppa", "clusters", "--collisions", str(tmp_path / "nope.csv")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("Error: ") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [["--years", "2016-2014"], ["--years", "abc"], ["--area", "mars"]],
    ids=["reversed-years", "bad-years", "bad-area"],
)
def test_usage_errors_exit_2(args):
    result = run("clusters", *args)
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_flat_public_api_is_lazy_and_complete():
    code = (
        "import sys, geo_sppa; assert 'geopandas' not in sys.modules; "
        "[getattr(geo_sppa, n) for n in geo_sppa.__all__]; print('OK')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "OK" in out.stdout


@pytest.fixture
def bad_ward_inputs(tmp_path):
    bowtie = gpd.GeoDataFrame(
        {"WD22CD": ["E1", "E2"], "WD22NM": ["Good", "Bad"]},
        geometry=[
            box(518000, 300000, 519000, 301000),
            __import__("shapely").geometry.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)]),
        ],
        crs=27700,
    )
    bowtie.to_file(tmp_path / "bowtie.gpkg")
    nulls = gpd.GeoDataFrame(
        {"WD22CD": ["E1", "E2"], "WD22NM": ["Good", "Central"]},
        geometry=[box(518000, 300000, 519000, 301000), None],
        crs=27700,
    )
    nulls.to_file(tmp_path / "nulls.gpkg")
    return {
        "missing-incidents": (
            ["--incidents", tmp_path / "none.csv"],
            "none.csv: no such incidents file",
        ),
        "invalid-ward-geometry": (
            ["--wards", tmp_path / "bowtie.gpkg"],
            "bowtie.gpkg: ward E2 (Bad) has invalid geometry",
        ),
        "null-ward-geometry": (
            ["--wards", tmp_path / "nulls.gpkg"],
            "nulls.gpkg: ward E2 (Central) has no geometry",
        ),
        "unknown-category": (["--category", "Piracy"], "Piracy"),
    }


@pytest.mark.parametrize("command", ["wards", "outliers"])
@pytest.mark.parametrize(
    "case", ["missing-incidents", "invalid-ward-geometry", "null-ward-geometry", "unknown-category"]
)
def test_ward_commands_bad_input_is_one_line_error(bad_ward_inputs, tmp_path, command, case):
    args, message = bad_ward_inputs[case]
    result = run(command, *args, "-o", tmp_path / "out")
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("Error:")]) == 1


def test_bad_crs_is_a_usage_error(tmp_path):
    result = run("clusters", "--crs", "EPSG:99999", "-o", tmp_path)
    assert (
        result.exit_code == 2
        and "is not a coordinate reference system pyproj knows" in result.output
    )


def test_unexpected_bug_is_still_one_line(monkeypatch, tmp_path):
    import geo_sppa.roads.clusters

    def broken(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(geo_sppa.roads.clusters, "cluster_sites", broken)
    result = run("clusters", "--no-map", "-o", tmp_path)
    assert result.exit_code == 1
    assert "Error: unexpected RuntimeError: boom (this is a geo-sppa bug" in result.output
    assert "second line" not in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    "years, message",
    [
        ("1850-2500", "expected years between 1900 and 2100"),
        ("2016-2014", "the first year not after the last"),
        ("20x6", "expected YEAR-YEAR such as 2014-2016"),
    ],
)
def test_bad_years_name_what_is_wrong(years, message):
    result = run("clusters", "--years", years)
    assert result.exit_code == 2 and message in result.output


def _every_option() -> set[str]:
    import importlib

    options = {"--help", "--version", "--verbose", "--quiet"}
    for module, attr, _ in COMMANDS.values():
        command = getattr(importlib.import_module(f"geo_sppa.cli.{module}"), attr)
        for sub in getattr(command, "commands", {}).values() or [command]:
            for param in sub.params:
                options.update(o for o in param.opts if o.startswith("--"))
    return options


def test_every_option_a_message_suggests_exists():
    """A message that tells the user to pass --something must name a real option."""
    import ast
    import re
    from pathlib import Path

    import geo_sppa

    known = _every_option()
    root = Path(geo_sppa.__file__).parent
    unknown = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for option in re.findall(r"(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*", node.value):
                    if option not in known:
                        unknown.add(f"{path.relative_to(root)}: {option}")
    assert sorted(unknown) == []
