"""Readers and writers: the only part of geo-sppa that touches paths.

Every reader returns data in British National Grid (EPSG:27700) with normalised columns
(``docs/architecture.md``) or raises :class:`geo_sppa.errors.InputError` with a one-line message.
"""

from geo_sppa.io._common import SET_ASIDE_COLUMNS, Loaded
from geo_sppa.io.collisions import COLLISION_COLUMNS, ROAD_USERS, read_collisions
from geo_sppa.io.incidents import INCIDENT_COLUMNS, read_incidents
from geo_sppa.io.layers import read_layer, read_lsoas, read_roads, read_study_area, read_wards
from geo_sppa.io.outputs import cluster_tables, write_cluster_outputs
from geo_sppa.io.results import read_results, read_run_info
from geo_sppa.io.tables import read_imd, read_lsoa_lookup, read_population, read_table
from geo_sppa.io.writers import (
    atomic_path,
    output_dir,
    spreadsheet_safe,
    write_csv,
    write_geojson,
    write_gpkg,
    write_png,
    write_text,
)

__all__ = [
    "Loaded",
    "SET_ASIDE_COLUMNS",
    "COLLISION_COLUMNS",
    "ROAD_USERS",
    "INCIDENT_COLUMNS",
    "read_collisions",
    "read_incidents",
    "read_layer",
    "read_wards",
    "read_lsoas",
    "read_study_area",
    "read_roads",
    "read_imd",
    "read_population",
    "read_lsoa_lookup",
    "read_table",
    "output_dir",
    "write_csv",
    "write_gpkg",
    "write_geojson",
    "write_text",
    "write_png",
    "read_results",
    "atomic_path",
    "cluster_tables",
    "write_cluster_outputs",
    "spreadsheet_safe",
    "read_run_info",
]
