"""``geo-sppa clusters``: accident cluster sites, ranked, with a map."""

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
    years_option,
)


def _clause(ctx, param, values):
    from geo_sppa.roads.rules import Clause

    clauses = []
    for value in values:
        try:
            total, ksi = (int(v) for v in value.split(":"))
        except ValueError:
            raise click.BadParameter(
                f"expected TOTAL:KSI such as 6:0 or 5:1, got {value!r}"
            ) from None
        clauses.append(Clause(min_total=total, min_ksi=ksi))
    return tuple(clauses)


@click.command("clusters")
@area_option
@click.option(
    "--collisions",
    type=click.Path(),
    default=None,
    help=(
        "Collision CSV (DfT STATS19 of any vintage, council extract, or generic). "
        "Default: the area's."
    ),
)
@click.option(
    "--roads",
    default=None,
    metavar="PATH|osm",
    help="Road network line layer for the 100 m segment and junction scan, or 'osm' to fetch one. "
    "Without it: radius mode (50 m circles), unless the area bundles a network.",
)
@click.option(
    "--keep-service-roads",
    is_flag=True,
    help="Keep highway=service ways (car parks, alleys, private access) in the network scan; "
    "by default they are left out so they do not swallow collisions on the public road.",
)
@click.option(
    "--radius-mode",
    is_flag=True,
    help="Use radius mode even where the area bundles a road network.",
)
@years_option
@click.option(
    "--rule",
    "rule_name",
    default="spp",
    show_default=True,
    help=(
        "Rule preset: spp (6+ injury, or 3+ fatal/serious, or 5+ with 1+ fatal/serious) "
        "or wales-trunk."
    ),
)
@click.option(
    "--clause",
    "clauses",
    multiple=True,
    callback=_clause,
    metavar="TOTAL:KSI",
    help="Replace the rule's OR-clauses, e.g. --clause 6:0 --clause 0:3 --clause 5:1.",
)
@click.option(
    "--length-m",
    type=click.FloatRange(min=1),
    default=None,
    help="Link window length, metres (100).",
)
@click.option(
    "--radius-m",
    type=click.FloatRange(min=1),
    default=None,
    help="Radius-mode circle radius, metres (50).",
)
@click.option(
    "--junction-radius-m",
    type=click.FloatRange(min=0),
    default=None,
    help="Collisions this close to a junction belong to it, metres (20).",
)
@click.option(
    "--snap-tolerance-m",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Collisions farther than this from every road are set aside.",
)
@click.option(
    "--price-year",
    type=int,
    default=None,
    help="Price year of the DfT value of prevention (default: latest).",
)
@click.option(
    "--study-area",
    type=click.Path(),
    default=None,
    help="Polygon layer; collisions outside it are set aside.",
)
@crs_option
@click.option("--id-column", default=None, help="Collision id column of a generic CSV.")
@click.option("--x-column", default=None, help="Easting (or x) column of a generic CSV.")
@click.option("--y-column", default=None, help="Northing (or y) column of a generic CSV.")
@click.option("--date-column", default=None, help="Date column of a generic CSV.")
@click.option(
    "--severity-column", default=None, help="Severity column (1/2/3 or fatal/serious/slight)."
)
@click.option("--no-map", is_flag=True, help="Skip the HTML map.")
@output_dir_option
def clusters(
    area,
    collisions,
    roads,
    keep_service_roads,
    radius_mode,
    years,
    rule_name,
    clauses,
    length_m,
    radius_m,
    junction_radius_m,
    snap_tolerance_m,
    price_year,
    study_area,
    crs,
    id_column,
    x_column,
    y_column,
    date_column,
    severity_column,
    no_map,
    output_dir,
) -> None:
    """Find accident cluster sites: junctions and 100 m lengths of road with many injury collisions.

    A site qualifies, in a 3-year window, under the rule (default spp): 6+ injury collisions, or
    3+ fatal/serious, or 5+ injury collisions including 1+ fatal/serious. Sites are ranked by
    casualty cost (DfT average value of prevention) and labelled new, persistent or resolved
    against the previous 3-year window.

    Writes clusters.csv, clusters.gpkg, clusters.geojson, clusters.html and
    clusters_set_aside.csv into the output folder.

    \b
    Example:
        geo-sppa clusters
        geo-sppa clusters --area leeds-central --years 2017-2019
        geo-sppa clusters --collisions dft-road-casualty-statistics-collision-2023.csv \\
            --roads oproad_roadlink.gpkg --rule wales-trunk -o out/
    """
    from geo_sppa import io
    from geo_sppa.bundled.inputs import cluster_inputs
    from geo_sppa.roads.clusters import cluster_sites

    out = io.output_dir(output_dir)  # fail before the work, not after it
    rule = _rule(
        rule_name,
        clauses,
        length_m=length_m,
        radius_m=radius_m,
        junction_radius_m=junction_radius_m,
    )
    columns = {
        k: v
        for k, v in (
            ("id", id_column),
            ("x", x_column),
            ("y", y_column),
            ("date", date_column),
            ("severity", severity_column),
        )
        if v
    }
    inputs = cluster_inputs(
        area,
        collisions=collisions,
        roads=roads,
        study_area=study_area,
        crs=crs,
        columns=columns,
        radius_mode=radius_mode,
        keep_service_roads=keep_service_roads,
        cache_dir=out,
        with_context=not no_map,
    )
    result = cluster_sites(
        inputs.collisions.data,
        roads=inputs.roads,
        rule=rule,
        years=years,
        price_year=price_year,
        snap_tolerance_m=snap_tolerance_m,
        source=inputs.collisions_path.name,
    )
    written, set_aside = _written(result, inputs, out, with_map=not no_map)
    _echo_result(result, inputs, set_aside, written)


def _rule(name, clauses, **lengths):
    """Return the preset rule with any clauses or lengths the user changed."""
    from geo_sppa.roads.rules import rule_named

    rule = rule_named(name)
    changes = {k: v for k, v in lengths.items() if v is not None}
    if clauses:
        changes.update(clauses=clauses, name=f"{rule.name} (custom clauses)")
    return rule.with_options(**changes) if changes else rule


def _written(result, inputs, out: Path, *, with_map: bool):
    """Write every output file; return their paths and all set-aside records."""
    import pandas as pd

    from geo_sppa import io

    data = inputs.collisions.data
    in_window = data[data["year"].between(*result.window)].assign(
        site_id=result.site_of.reindex(data.index)
    )
    title = f"Accident cluster sites {result.window[0]}-{result.window[1]}: {inputs.place}"
    written = [
        io.write_csv(result.sites, out / "clusters.csv"),
        io.write_gpkg(result.sites, out / "clusters.gpkg", layer="clusters"),
        io.write_geojson(result.sites, out / "clusters.geojson"),
    ]
    # The window's collisions and the run's facts ride along so `geo-sppa map clusters` can redraw.
    io.write_gpkg(
        in_window.assign(date=in_window["date"].dt.strftime("%Y-%m-%d")),
        out / "clusters.gpkg",
        layer="collisions",
        replace=False,
    )
    io.write_run_info(
        {
            "area": inputs.area,
            "title": title,
            "mode": result.mode,
            "radius_m": result.rule.radius_m,
            "roads": inputs.roads_source or "",
        },
        out / "clusters.gpkg",
    )
    if len(result.resolved):
        written.append(io.write_csv(result.resolved, out / "clusters_resolved.csv"))
    set_aside = pd.concat([inputs.collisions.set_aside, result.set_aside], ignore_index=True)
    written.append(io.write_csv(set_aside, out / "clusters_set_aside.csv"))
    if with_map:
        from geo_sppa.render.maps import cluster_map, self_contained_html

        fmap = cluster_map(
            result.sites,
            in_window,
            roads=inputs.context_roads,
            wards=inputs.wards,
            title=title,
            radius_m=result.rule.radius_m if result.mode == "radius" else None,
        )
        written.append(io.write_text(self_contained_html(fmap), out / "clusters.html"))
    return written, set_aside


def _echo_result(result, inputs, set_aside, written) -> None:
    """Print the ranked table and the run summary."""
    loaded, roads_source = inputs.collisions, inputs.roads_source
    sites = result.sites
    if len(sites):
        table = sites.assign(cost=(sites["cost_gbp"] / 1000).round().astype("Int64"))
        click.echo(f"Cluster sites {result.window[0]}-{result.window[1]}, ranked by casualty cost:")
        echo_table(
            table,
            [
                "rank",
                "site_id",
                "site_type",
                "name",
                "fatal",
                "serious",
                "slight",
                "total",
                "cost",
                "previous_total",
                "status",
            ],
            max_rows=25,
        )
        click.echo("(cost in £ thousands)")
    else:
        click.echo(
            f"No cluster sites in {result.window[0]}-{result.window[1]} under rule "
            f"{result.rule.name}."
        )
    if len(result.resolved):
        names = result.resolved["name"].astype(str)
        more = (
            f"; and {len(names) - 10} more (see clusters_resolved.csv)" if len(names) > 10 else ""
        )
        click.echo(
            f"Resolved since {result.previous_window[0]}-{result.previous_window[1]} "
            f"({len(names)}): " + "; ".join(names.head(10)) + more
        )
    click.echo("")
    counts = result.counts
    rule = result.rule
    mode = (
        f"network: {rule.length_m:g} m road windows and junctions on {roads_source}"
        if result.mode == "network"
        else f"radius: {rule.radius_m:g} m circles (no road network; pass --roads FILE for the "
        f"{rule.length_m:g} m segment and junction scan)"
    )
    lines = [("collisions file", inputs.collisions_path.name)]
    lines += set_aside_lines(loaded.n_read, loaded.n_read - len(set_aside), set_aside)
    prev = result.previous_window
    lines += [
        (
            "window",
            f"{result.window[0]}-{result.window[1]} ({counts.get('n_in_window', 0):,} collisions; "
            f"{counts.get('n_outside_window', 0):,} outside it)",
        ),
        (
            "previous window",
            f"{prev[0]}-{prev[1]}" if prev else "none (the data do not reach back)",
        ),
        ("mode", mode),
        ("rule", result.rule.summary(result.mode)),
        (
            "sites",
            f"{len(sites):,} ({counts.get('n_in_sites', 0):,} collisions in sites), "
            f"{len(result.resolved):,} resolved",
        ),
        ("costs", result.cost_table),
    ]
    lines += [("note", n) for n in (*inputs.notes, *result.notes)]
    lines += [("wrote", str(p)) for p in written]
    echo_summary("Run summary", lines)
