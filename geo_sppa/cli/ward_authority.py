"""``geo-sppa wards --la CODE``: the ward deprivation table of any English local authority."""

from __future__ import annotations

from pathlib import Path

import click

from geo_sppa.cli.options import echo_summary, echo_table

__all__ = ["authority_ward_table"]

_SHOWN = (
    "ward_code",
    "ward_name",
    "n_lsoa",
    "imd_score",
    "deprivation_rank_la_2019",
    "deprivation_rank_la_2025",
    "deprivation_decile_england_2025",
    "deprivation_change",
)


def authority_ward_table(la_code: str, population: str | None, output_dir: str) -> None:
    """Write and print the IMD 2025 ward table of ``la_code`` (no boundaries, no incidents)."""
    from geo_sppa import io
    from geo_sppa.bundled.areas import ENGLAND, catalogue, project_root
    from geo_sppa.bundled.england import authority_wards_input
    from geo_sppa.cli.run_record import finish_run, run_started

    started = run_started()
    found = authority_wards_input(la_code, population)
    out = io.output_dir(output_dir)
    path = io.write_csv(found.table, out / "wards_imd.csv")
    click.echo(f"IMD 2025 by ward: {found.la_name} ({found.la_code})")
    echo_table(found.table, list(_SHOWN), max_rows=200, formats={"imd_score": ".1f"})
    click.echo("")
    lines = [
        ("authority", f"{found.la_name} ({found.la_code}), {len(found.table)} wards 2024"),
        ("population", Path(population).name if population else "none (LSOAs weighted equally)"),
        *(("note", n) for n in found.notes),
    ]
    read = ("imd_2019", "imd_2025", "lookup_lsoa11_lsoa21", "lookup_lsoa21_ward24")
    england = [project_root() / r["path"] for r in catalogue() if r["area"] == ENGLAND
               and r["key"] in read]  # fmt: skip
    lines += finish_run(
        out, command="wards --la", written=[path], started=started,
        inputs=[population, *england], options={"la": found.la_code},
        counts={"n_wards": len(found.table)},
    )  # fmt: skip
    echo_summary("Run summary", lines)
