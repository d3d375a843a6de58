"""Options and output helpers shared by every command (defined once, here)."""

from __future__ import annotations

import click

from geo_sppa.bundled.areas import AREAS, DEFAULT_AREA
from geo_sppa.cli.summary import echo_summary, echo_table, set_aside_lines

__all__ = [
    "area_option",
    "output_dir_option",
    "crs_option",
    "threshold_option",
    "seed_option",
    "collisions_file_option",
    "incidents_file_option",
    "population_2021_option",
    "years_option",
    "treated_option",
    "sites_option",
    "parse_years",
    "parse_date",
    "parse_file_name",
    # re-exported from geo_sppa.cli.summary for the commands that import them from here
    "echo_summary",
    "echo_table",
    "set_aside_lines",
]

area_option = click.option(
    "--area",
    type=click.Choice(list(AREAS)),
    default=DEFAULT_AREA,
    show_default=True,
    help="Bundled study area whose data fill any input you do not give.",
)
output_dir_option = click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False),
    default="maps",
    show_default=True,
    help="Folder for the files the command writes (named in its summary); created if missing.",
)


collisions_file_option = click.option(
    "--collisions", type=click.Path(), default=None, help="Collision CSV (default: the area's)."
)
incidents_file_option = click.option(
    "--incidents",
    type=click.Path(),
    default=None,
    help="police.uk street.csv file(s) or a generic incident CSV (default: the area's).",
)


population_2021_option = click.option(
    "--population-2021",
    "population21_path",
    type=click.Path(),
    default=None,
    help="LSOA 2021 population CSV: gives population_change (each ward's share of residents "
    "against its share in --population).",
)


def treated_option(*, required: bool = False):
    """Return ``--treated`` (``evaluate``: required; ``report``: the "Effect of schemes")."""
    return click.option(
        "--treated",
        type=click.Path(dir_okay=False),
        required=required,
        default=None,
        help="CSV of treated sites: treatment_date and site_id (with --sites) or easting/northing "
        "(or longitude/latitude); optional works_start, works_end, name.",
    )


sites_option = click.option(
    "--sites",
    type=click.Path(dir_okay=False),
    default=None,
    help="The clusters.csv of the geo-sppa clusters run whose site_id values --treated names.",
)
threshold_option = click.option(
    "--threshold",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Risk-matrix priority threshold: themes with risk (harm x gaps) at or above it.",
)
seed_option = click.option(
    "--seed",
    type=int,
    default=12345,
    show_default=True,
    help="Seed of the Moran's I permutation test.",
)


def _checked_crs(
    ctx: click.Context | None, param: click.Parameter | None, value: str | None
) -> str | None:
    """Return ``value`` if pyproj knows it as a CRS, else a usage error naming it."""
    if value is None:
        return None
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        CRS.from_user_input(value)
    except CRSError:
        raise click.BadParameter(
            f"{value!r} is not a coordinate reference system pyproj knows; "
            "use an EPSG code such as EPSG:27700 or EPSG:4326"
        ) from None
    return value


crs_option = click.option(
    "--crs",
    default=None,
    callback=_checked_crs,
    metavar="CRS",
    help="CRS of input coordinates/layers that do not declare one (e.g. EPSG:27700).",
)


def parse_years(
    ctx: click.Context | None, param: click.Parameter | None, value: str | None
) -> tuple[int, int] | None:
    """Parse ``2012-2014`` (or ``2014``) into a (first, last) tuple of years."""
    if value is None:
        return None
    text = value.strip()
    try:
        if "-" in text:
            first, last = (int(p) for p in text.split("-", 1))
        else:
            first = last = int(text)
    except ValueError:
        raise click.BadParameter(f"expected YEAR-YEAR such as 2014-2016, got {value!r}") from None
    if first > last:
        raise click.BadParameter(
            f"expected YEAR-YEAR with the first year not after the last, got {value!r}"
        )
    if not (1900 <= first and last <= 2100):
        raise click.BadParameter(
            f"expected years between 1900 and 2100 (the data's years), got {value!r}"
        )
    return first, last


years_option = click.option(
    "--years",
    callback=parse_years,
    default=None,
    metavar="Y1-Y2",
    help="Time window, e.g. 2014-2016 (default: the latest three complete years in the data).",
)


def parse_date(
    ctx: click.Context | None, param: click.Parameter | None, value: str | None
) -> str | None:
    """Return ``value`` if it is a real calendar date written YYYY-MM-DD, else a usage error."""
    if value is None:
        return None
    from datetime import datetime

    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise click.BadParameter(
            f"expected a date YYYY-MM-DD such as 2017-10-31, got {value!r}"
        ) from None
    return value


def parse_file_name(
    ctx: click.Context | None, param: click.Parameter | None, value: str | None
) -> str | None:
    """Return ``value`` if it is a plain file name; a folder belongs in ``-o``."""
    if value is not None and ("/" in value or "\\" in value or value in ("", ".", "..")):
        raise click.BadParameter(
            f"expected a file name such as report.html, got {value!r}; name the folder with -o"
        )
    return value
