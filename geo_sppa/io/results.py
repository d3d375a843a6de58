"""Read saved outputs back (``geo-sppa map`` redraws from them): results layers and run info."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from geo_sppa.io.layers import read_layer
from geo_sppa.io.writers import LIST_SEPARATOR

__all__ = ["read_results", "read_run_info"]


def read_results(
    path: str | Path,
    *,
    layer: str | None = None,
    list_columns: tuple[str, ...] = ("collision_ids",),
) -> gpd.GeoDataFrame:
    """Read a results layer written by :func:`write_gpkg` or :func:`write_geojson`, in EPSG:27700.

    Joined list columns (``collision_ids``) are split back into lists.
    """
    frame, _ = read_layer(path, what="results", layer=layer)
    for column in list_columns:
        if column in frame:
            frame[column] = (
                frame[column]
                .fillna("")
                .astype(str)
                .map(lambda v: [x for x in v.split(LIST_SEPARATOR) if x])
            )
    return frame


def read_run_info(path: str | Path) -> dict[str, object]:
    """Return the ``run`` table of a results GeoPackage as a dict ({} when it has none)."""
    import pyogrio

    path = Path(path)
    if not path.is_file() or "run" not in {str(name) for name, _ in pyogrio.list_layers(path)}:
        return {}
    table = pyogrio.read_dataframe(path, layer="run", read_geometry=False)
    return (
        {k: (v.item() if hasattr(v, "item") else v) for k, v in table.iloc[0].items()}
        if len(table)
        else {}
    )
