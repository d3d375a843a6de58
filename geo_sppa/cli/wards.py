"""``geo-sppa wards``: ward table of population, deprivation and incident rates per 1,000."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from geo_sppa.cli.options import (
    area_option,
    crs_option,
    echo_summary,
    echo_table,
    output_dir_option,
    population_2021_option,
)

if TYPE_CHECKING:
    from geo_sppa.io import Loaded
    from geo_sppa.wards.rates import WardRates

__all__ = ["wards", "ward_input_options", "load_ward_rates", "read_ward_inputs"]


def _path_option(name: str, dest: str, text: str) -> Callable[[Any], Any]:
    return click.option(name, dest, type=click.Path(), default=None, help=text)


_WARD_SET_HELP = (
    "Bundled ward set: 2013 (24 pre-2016 wards, as in 2012) or 2022 (22 current). Default: 2013."
)
_WARD_INPUT_OPTIONS = [
    area_option,
    _path_option("--wards", "wards_path", "Ward boundary layer (default: the --ward-set wards)."),
    click.option("--ward-code-column", help="Ward code column of --wards (detected: WD22CD...)."),
    click.option("--ward-name-column", help="Ward name column of --wards (detected: WD22NM...)."),
    click.option("--ward-set", type=click.Choice(["2013", "2022"]), help=_WARD_SET_HELP),
    _path_option(
        "--incidents",
        "incidents",
        "police.uk street.csv file(s) or a generic incident CSV (default: the area's).",
    ),
    click.option(
        "--category",
        default="Anti-social behaviour",
        show_default=True,
        is_flag=False,
        flag_value="",
        help="police.uk crime type to count, or 'all'. Give --category with no value to list "
        "the categories in the data with their counts.",
    ),
    click.option(
        "--imd",
        "imd_choice",
        metavar="2010|2019|2025|PATH",
        help="Deprivation: bundled IMD 2010 (scores, on 2001 LSOAs), 2019 (ranks: the score is "
        "rebuilt from the domain ranks) or 2025 (England-wide, on 2021 LSOAs), or an Indices of "
        "Deprivation CSV. Default: 2010.",
    ),
    _path_option(
        "--population", "population_path", "LSOA population CSV (default: the area's, mid-2015)."
    ),
    population_2021_option,
    _path_option(
        "--lsoas",
        "lsoas_path",
        "LSOA 2011 boundaries, to assign LSOAs to wards by area (default: the area's).",
    ),
    _path_option(
        "--lsoa-lookup",
        "lookup_path",
        "LSOA lookup CSV (LSOA 2011 -> 2001 and wards; default: the area's).",
    ),
    click.option(
        "--allow-incomplete",
        is_flag=True,
        help="Mark wards whose population or IMD file misses some of their LSOAs (column "
        "incomplete) instead of stopping with an error.",
    ),
    click.option(
        "--suppress-below",
        type=click.IntRange(min=1),
        metavar="N",
        help="Show counts from 1 to N-1 as '<N' in every output (for sensitive categories).",
    ),
    crs_option,
    output_dir_option,
]


def ward_input_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the options shared by ``wards`` and ``outliers`` (defined once, here).

    The command receives ``suppress_below``, ``output_dir`` and the inputs of
    :func:`read_ward_inputs`, which it passes on unchanged as ``read_ward_inputs(**inputs)``.
    """
    for option in reversed(_WARD_INPUT_OPTIONS):
        func = option(func)
    return func


def read_ward_inputs(
    *, area: str, incidents: str | None, category: str, crs: str | None, **paths: Any
) -> dict[str, Any] | None:
    """Read every input; return the keyword arguments of ``ward_table`` / ``ward_outliers``.

    Returns None, after printing the categories in the data, when ``category`` is empty.
    """
    from geo_sppa.bundled.inputs import incidents_input, ward_outlier_inputs
    from geo_sppa.wards.incidents import incident_categories

    if category == "":
        loaded, incidents_path = incidents_input(area, incidents, crs=crs)
        counts = incident_categories(loaded.data).reset_index()
        click.echo(f"Categories in {incidents_path.name} ({len(loaded.data):,} records):")
        echo_table(counts, ["category", "count"], max_rows=100)
        click.echo("Pass one with --category NAME, or --category all.")
        return None
    return ward_outlier_inputs(area, incidents=incidents, category=category, crs=crs, **paths)


def load_ward_rates(**inputs: Any) -> tuple[WardRates, Loaded, dict[str, str]] | None:
    """Read every input and return ``(WardRates, Loaded incidents, description dict)``.

    Kept for callers of the earlier API; :func:`geo_sppa.wards.outliers.ward_outliers` on
    :func:`read_ward_inputs` gives the ward table, outliers and summary in one call. Returns None
    (after printing the category listing) when ``category`` is empty.
    """
    from geo_sppa.io import Loaded
    from geo_sppa.wards.rates import ward_table

    f = read_ward_inputs(**inputs)
    if f is None:
        return None
    n_read = len(f["incidents"]) + len(f["read_set_aside"])
    loaded = Loaded(f["incidents"], f["read_set_aside"], n_read, f["read_notes"])
    names = (("incidents", "source"), ("wards", "ward_label"), ("ward_source",) * 2,
             ("imd", "imd_label"))  # fmt: skip
    return ward_table(**f).rates, loaded, {key: f[name] for key, name in names}


@click.command("wards")
@ward_input_options
@click.option(
    "--la",
    metavar="CODE",
    help="Any English local authority (2024 code, e.g. E08000035): write its ward IMD 2025 "
    "table (wards_imd.csv) from the bundled ONS lookups, without boundaries or incidents.",
)
def wards(suppress_below: int | None, output_dir: str, la: str | None, **inputs: Any) -> None:
    """Ward table: population, deprivation (IMD) and incidents per 1,000 residents.

    Incidents are counted by ward (points by location, records with only an LSOA through the LSOA's
    ward); IMD is aggregated from LSOAs to wards weighted by population. Rates are over the months
    in the data (the bundled police.uk extract has 7 non-contiguous months); rate_per_1000_per_year
    annualises them (rate * 12 / months).

    Writes wards.csv, wards.gpkg (GeoPackage), wards.html, wards_set_aside.csv and run.json
    (written last) into the output folder.

    \b
    Example:
        geo-sppa wards                                   # ASB by 2013 ward, IMD 2010
        geo-sppa wards --category "Violence and sexual offences" --ward-set 2022 --imd 2025
        geo-sppa wards --la E08000035                    # ward IMD 2025 of any authority
    """  # noqa: D301
    from geo_sppa import io
    from geo_sppa.cli import run_record as rr
    from geo_sppa.cli.ward_authority import authority_ward_table
    from geo_sppa.render.maps import self_contained_html, ward_map
    from geo_sppa.wards.rates import ward_table

    started = rr.run_started()
    if la:
        return authority_ward_table(la, inputs["population_path"], output_dir)
    if (frames := read_ward_inputs(**inputs)) is None:
        return
    table = ward_table(**frames, suppress_below=suppress_below)
    out = io.output_dir(output_dir)
    written = [
        io.write_csv(table.data, out / "wards.csv"),
        io.write_gpkg(table.data, out / "wards.gpkg", layer="wards"),
        io.write_csv(table.set_aside, out / "wards_set_aside.csv"),
    ]
    page = ward_map(table.data, layers=table.map_layers, title=table.map_title,
                    category=table.rates.category, months=table.rates.months)  # fmt: skip
    written.append(io.write_text(self_contained_html(page), out / "wards.html"))
    click.echo(f"{table.rates.category} by ward ({len(table.rates.months)} months):")
    formats = {table.rates.imd_measure or "": ".1f", "rate_per_1000": ".2f", "population": ",.0f"}
    shown = table.data.sort_values("ward_name")
    echo_table(shown, list(table.columns), max_rows=200, formats=formats)
    click.echo("")
    lines = [*table.summary, *([("disclosure", table.disclosure)] if table.disclosure else [])]
    lines += rr.finish_run(
        out, command="wards", written=written, started=started,
        inputs=rr.ward_input_files(**inputs), counts=rr.ward_counts(frames, table),
        options=rr.ward_options(inputs, suppress_below=suppress_below),
    )  # fmt: skip
    echo_summary("Run summary", lines)
