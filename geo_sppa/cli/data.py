"""``geo-sppa data``: list the bundled datasets."""

from __future__ import annotations

import click

from geo_sppa.cli.options import echo_table


@click.command("data")
@click.option(
    "--area", default=None, help="Only this area (peterborough, leeds-central or england)."
)
def data(area: str | None) -> None:
    """List the bundled real datasets: area, name, what it is, rows, years, source and licence.

    \b
    Example:
        geo-sppa data
        geo-sppa data --area leeds-central
    """
    from geo_sppa.bundled.catalogue import bundled_datasets

    table = bundled_datasets(area)
    table = table.assign(
        licence_short=table["licence"]
        .str.split(";")
        .str[0]
        .str.replace(" © OpenStreetMap contributors", "")
    )
    shown = table.rename(columns={"licence_short": "licence "})
    echo_table(shown, ["area", "name", "rows", "years", "licence ", "description"], max_rows=100)
    click.echo("")
    click.echo("Sources and attribution:")
    for source, licence in table[["source", "licence"]].drop_duplicates().itertuples(index=False):
        click.echo(f"  {source}: {licence}")
    click.echo("Files and PROVENANCE notes: data/ and boundaries/ (see data/README.md).")
