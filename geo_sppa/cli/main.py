"""The ``geo-sppa`` command group.

Subcommands live one per module in ``geo_sppa.cli`` and are imported only when run, so that
``geo-sppa --help`` stays instant. Library errors become ``Error: ...`` on stderr with exit code 1.
"""

from __future__ import annotations

import importlib
import logging

import click

from geo_sppa.collector import collector_paused

__all__ = ["cli", "COMMANDS"]

#: name -> (module in geo_sppa.cli, function name, one-line purpose shown by --help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "clusters": (
        "clusters",
        "clusters",
        "Accident cluster sites: junctions and 100 m road lengths.",
    ),
    "wards": ("wards", "wards", "Ward table: population, IMD and incident rates per 1,000."),
    "outliers": ("outliers", "outliers", "Wards far from what their deprivation predicts."),
    "map": ("map", "map_group", "Re-render saved results as self-contained HTML maps."),
    "data": ("data", "data", "List the bundled datasets: area, rows, years, source, licence."),
    "risk": ("risk", "risk", "Partnership risk matrix: harm x gaps, ranked by priority."),
    "costs": ("costs", "costs", "Cost of road collisions and of recorded crime."),
    "trends": ("trends", "trends", "Collision trends: by year, rolling 12 months, season."),
    "report": ("report", "report", "The strategic assessment as one self-contained HTML report."),
    "evaluate": ("evaluate", "evaluate", "Did the schemes work? EB before/after of treated sites."),
}


class LazyGroup(click.Group):
    """A click group that imports each subcommand's module only when it is invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, (module, _, _) in COMMANDS.items() if _module_exists(module))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, attr, _ = COMMANDS[cmd_name]
        if ctx.resilient_parsing or _help_listing(ctx):
            # For the --help listing, a stub with the one-line purpose avoids heavy imports.
            return click.Command(
                cmd_name, help=COMMANDS[cmd_name][2], short_help=COMMANDS[cmd_name][2]
            )
        module = importlib.import_module(f"geo_sppa.cli.{module_name}")
        return getattr(module, attr)

    def invoke(self, ctx: click.Context):
        from geo_sppa.errors import GeoSppaError

        try:
            return super().invoke(ctx)
        except GeoSppaError as exc:
            raise click.ClickException(str(exc)) from None
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:  # output piped into `head` and the like: stop quietly
            import os
            import sys

            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python's documented SIGPIPE handling
            raise click.exceptions.Exit(1) from None
        except Exception as exc:  # a bug, not bad input: still one line, the traceback on request
            if logging.getLogger().isEnabledFor(logging.DEBUG):
                raise
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise click.ClickException(
                f"unexpected {type(exc).__name__}: {first} (this is a geo-sppa bug; run again with "
                "-vv "
                "for the traceback and report it with the command you ran)"
            ) from None


def _module_exists(module: str) -> bool:
    from importlib.util import find_spec

    return find_spec(f"geo_sppa.cli.{module}") is not None


def _help_listing(ctx: click.Context) -> bool:
    """Return True while click formats the group's own help (it asks each command for help)."""
    return getattr(ctx, "_geo_sppa_listing", False)


class _ListingAwareGroup(LazyGroup):
    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        ctx._geo_sppa_listing = True  # type: ignore[attr-defined]
        try:
            super().format_commands(ctx, formatter)
        finally:
            ctx._geo_sppa_listing = False  # type: ignore[attr-defined]


@click.group(cls=_ListingAwareGroup)
@click.version_option(package_name="geo-sppa", prog_name="geo-sppa")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
def cli(verbose: int, quiet: bool) -> None:
    """geo-sppa: road-safety and community-safety analysis for English local authorities.

    Every command runs on the bundled real data (--area peterborough, the default, or
    leeds-central) or on your own files, and says how many records it read, used and set aside.

    \b
    Example:
        geo-sppa clusters                      # cluster sites for Peterborough, map in maps/
        geo-sppa clusters --area leeds-central # 100 m segment + junction scan on OSM roads
    """
    level = (
        logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    )
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s")
    # Every command: millions of shapely geometries make the cyclic collector's full
    # collections cost seconds at national scale; memory is still freed by reference counting.
    click.get_current_context().with_resource(collector_paused())
