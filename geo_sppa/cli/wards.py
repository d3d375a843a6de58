"""``geo-sppa wards``: ward table of population, deprivation and incident rates per 1,000."""

from __future__ import annotations

from pathlib import Path

import click

from geo_sppa.cli.options import (
    area_option,
    crs_option,
    echo_summary,
    echo_table,
    output_dir_option,
    set_aside_lines,
)

__all__ = ["wards", "ward_input_options", "load_ward_rates", "summary_lines"]


def ward_input_options(func):
    """Add the options shared by ``wards`` and ``outliers`` (defined once, here).

    The command receives ``suppress_below``, ``output_dir`` and the inputs of
    :func:`load_ward_rates`, which it passes on unchanged as ``load_ward_rates(**inputs)``.
    """
    options = [
        area_option,
        click.option(
            "--wards",
            "wards_path",
            type=click.Path(),
            default=None,
            help="Ward boundary layer (default: the area's bundled wards of --ward-set).",
        ),
        click.option(
            "--ward-code-column",
            default=None,
            help="Ward code column of --wards (detected: WD22CD...).",
        ),
        click.option(
            "--ward-name-column",
            default=None,
            help="Ward name column of --wards (detected: WD22NM...).",
        ),
        click.option(
            "--ward-set",
            type=click.Choice(["2013", "2022"]),
            default=None,
            help="Bundled ward set: 2013 (24 pre-2016 wards, as in 2012) or 2022 (22 current). "
            "Default: 2013.",
        ),
        click.option(
            "--incidents",
            type=click.Path(),
            default=None,
            help="police.uk street.csv file(s) or a generic incident CSV (default: the area's).",
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
            default=None,
            metavar="2010|2019|PATH",
            help="Deprivation: bundled IMD 2010 (scores, on 2001 LSOAs) or 2019 (ranks only), "
            "or an "
            "Indices of Deprivation CSV. Default: 2010.",
        ),
        click.option(
            "--population",
            "population_path",
            type=click.Path(),
            default=None,
            help="LSOA population CSV (default: the area's, mid-2015).",
        ),
        click.option(
            "--lsoas",
            "lsoas_path",
            type=click.Path(),
            default=None,
            help="LSOA 2011 boundaries, to assign LSOAs to wards by area (default: the area's).",
        ),
        click.option(
            "--lsoa-lookup",
            "lookup_path",
            type=click.Path(),
            default=None,
            help="LSOA lookup CSV (LSOA 2011 -> 2001 and wards; default: the area's).",
        ),
        click.option(
            "--suppress-below",
            type=click.IntRange(min=1),
            default=None,
            metavar="N",
            help="Show counts from 1 to N-1 as '<N' in every output (for sensitive categories).",
        ),
        crs_option,
        output_dir_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def load_ward_rates(
    *,
    area,
    wards_path,
    ward_code_column,
    ward_name_column,
    ward_set,
    incidents,
    category,
    imd_choice,
    population_path,
    lsoas_path,
    lookup_path,
    crs,
):
    """Read every input and return ``(WardRates, Loaded incidents, description dict)``.

    Returns None (after printing the category listing) when ``category`` is empty.
    """
    from geo_sppa.bundled.inputs import incidents_input, ward_inputs
    from geo_sppa.wards.rates import incident_categories, ward_rates

    loaded, incidents_path = incidents_input(area, incidents, crs=crs)
    if category == "":
        counts = incident_categories(loaded.data).reset_index()
        click.echo(f"Categories in {incidents_path.name} ({len(loaded.data):,} records):")
        echo_table(counts, ["category", "count"], max_rows=100)
        click.echo("Pass one with --category NAME, or --category all.")
        return None
    inputs = ward_inputs(
        area,
        wards_path=wards_path,
        ward_code_column=ward_code_column,
        ward_name_column=ward_name_column,
        ward_set=ward_set,
        imd_choice=imd_choice,
        population_path=population_path,
        lsoas_path=lsoas_path,
        lookup_path=lookup_path,
        crs=crs,
    )
    result = ward_rates(
        inputs.wards,
        population=inputs.population,
        incidents=loaded.data,
        imd=inputs.imd,
        lookup=inputs.lookup,
        lsoas=inputs.lsoas,
        category=category,
        source=incidents_path.name,
        ward_source=inputs.ward_source,
    )
    described = {
        "incidents": incidents_path.name,
        "wards": inputs.ward_label,
        "ward_source": inputs.ward_source,
        "imd": inputs.imd_label,
    }
    return result, loaded, described


def summary_lines(
    result, loaded, described, *, suppress_below: int | None = None
) -> list[tuple[str, object]]:
    """Run-summary lines: records read / used / set aside by reason, months, ward set, IMD.

    With ``suppress_below`` the exact number of records used, and the number in other categories
    (from which it follows by differencing with the records read and set aside), are withheld:
    with the visible ward counts they would give the suppressed counts away
    (:func:`geo_sppa.wards.disclosure.withheld_total_text`).
    """
    import pandas as pd

    set_aside = pd.concat([loaded.set_aside, result.set_aside], ignore_index=True)
    lines: list[tuple[str, object]] = [("incidents file", described["incidents"])]
    lines += set_aside_lines(loaded.n_read, result.n_used, set_aside)
    other = f"{result.n_read - result.n_in_category:,} (not counted)"
    from geo_sppa.wards.disclosure import suppressed_mask, withheld_total_text

    if suppress_below and suppressed_mask(result.data, threshold=suppress_below).any():
        lines[2] = (
            "records used",
            withheld_total_text(result.data["count"], threshold=suppress_below, what="wards"),
        )
        other = "not shown (with the records read and set aside it would give the total used)"
    lines.insert(3, ("  other categories", other))
    lines += [
        ("category", result.category),
        ("months", f"{len(result.months)}: {', '.join(result.months)}"),
        (
            "ward set",
            f"{described['wards']}, {len(result.data)} wards; "
            f"LSOAs assigned by {result.assignment}",
        ),
        (
            "deprivation",
            f"{described['imd']} ({'LSOA 2001' if result.imd_vintage == 2001 else 'LSOA 2011'}), "
            f"measure {result.imd_measure}"
            if result.imd_measure
            else "none",
        ),
    ]
    lines += [("note", n) for n in (*loaded.notes, *result.notes)]
    return lines


def write_ward_map(frame, path: Path, *, layers: tuple[str, ...], title: str) -> Path | None:
    """Write the ward HTML map (geo_sppa.render.maps); None when the maps module is not available."""
    from geo_sppa import io

    try:
        from geo_sppa.render.maps import self_contained_html, ward_map
    except ImportError:  # pragma: no cover - maps is another engineer's module
        return None
    return io.write_text(self_contained_html(ward_map(frame, layers=layers, title=title)), path)


@click.command("wards")
@ward_input_options
def wards(suppress_below, output_dir, **inputs) -> None:
    """Ward table: population, deprivation (IMD) and incidents per 1,000 residents.

    Incidents are counted by ward (points by location, records with only an LSOA through the LSOA's
    ward); IMD is aggregated from LSOAs to wards weighted by population. Rates are over the months
    in the data (the bundled police.uk extract has 7 non-contiguous months); rate_per_1000_per_year
    annualises them (rate * 12 / months).

    Writes wards.csv, wards.gpkg (GeoPackage), wards.html and wards_set_aside.csv into the output folder.

    \b
    Example:
        geo-sppa wards                                   # ASB by 2013 ward, IMD 2010
        geo-sppa wards --category                        # list the categories
        geo-sppa wards --category "Violence and sexual offences" --ward-set 2022 --imd 2019
    """  # noqa: D301
    import pandas as pd

    from geo_sppa import io
    from geo_sppa.wards.disclosure import suppress_small_counts

    loaded_all = load_ward_rates(**inputs)
    if loaded_all is None:
        return
    result, loaded, described = loaded_all
    frame = result.data
    if suppress_below:
        frame = suppress_small_counts(frame, threshold=suppress_below)
    out = io.output_dir(output_dir)
    set_aside = pd.concat([loaded.set_aside, result.set_aside], ignore_index=True)
    written = [
        io.write_csv(frame, out / "wards.csv"),
        io.write_gpkg(frame, out / "wards.gpkg", layer="wards"),
        io.write_csv(set_aside, out / "wards_set_aside.csv"),
    ]
    measure = result.imd_measure
    html = write_ward_map(
        frame,
        out / "wards.html",
        layers=tuple(c for c in (measure, "rate_per_1000") if c),
        title=f"{result.category}: incidents per 1,000 residents by ward",
    )
    if html:
        written.append(html)
    shown = frame.sort_values("ward_name")
    columns = (
        ["ward_code", "ward_name", "population"]
        + ([measure] if measure else [])
        + ["count", "rate_per_1000"]
    )
    click.echo(f"{result.category} by ward ({len(result.months)} months):")
    echo_table(
        shown,
        columns,
        max_rows=200,
        formats={measure or "": ".1f", "rate_per_1000": ".2f", "population": ",.0f"},
    )
    click.echo("")
    lines = summary_lines(result, loaded, described, suppress_below=suppress_below)
    if suppress_below:
        lines.append(
            (
                "disclosure",
                f"counts below {suppress_below} suppressed: 1-{suppress_below - 1} shown as "
                f"<{suppress_below}, their rates blanked, the exact total withheld",
            )
        )
    lines += [("wrote", str(p)) for p in written]
    echo_summary("Run summary", lines)
