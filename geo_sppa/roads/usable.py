"""The collisions a cluster scan can use, and those it sets aside with a reason.

A collision is usable when it has a point geometry, a parseable date and a severity of fatal,
serious or slight; every other row is set aside (``source, row, record_id, reason, detail``,
:data:`geo_sppa.schema.SET_ASIDE_COLUMNS`). ``row`` is the 1-based file row from the loader's
``source_row`` column, NA without it (a position in the frame is not a file row).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_sppa.crs import require_bng
from geo_sppa.errors import InputError
from geo_sppa.schema import SET_ASIDE_COLUMNS

__all__ = ["snap_set_aside", "source_rows", "usable_collisions"]

#: Optional collision columns the scans read; added as NA when the input lacks them.
OPTIONAL_COLUMNS = ("casualties", "road_number", "location", "at_junction")


def usable_collisions(
    collisions: gpd.GeoDataFrame, source: str
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Return the collisions that can be placed and dated, and the set-aside rows.

    Parameters
    ----------
    collisions
        Normalised collisions (:func:`geo_sppa.io.read_collisions`), EPSG:27700; not modified.
    source
        Name for the set-aside rows' ``source`` column.

    Returns
    -------
    tuple of GeoDataFrame and DataFrame
        The usable rows, labelled by their position in ``collisions``, with ``year``, ``_x`` and
        ``_y`` added and sorted by place, id and date (so row order never matters); and the rows
        set aside.

    Raises
    ------
    InputError
        Not a GeoDataFrame, a normalised column missing, or not in EPSG:27700.

    """
    frame = _normalised(collisions)
    geom = frame.geometry
    no_xy = np.asarray(geom.isna(), dtype=bool) | np.asarray(geom.is_empty, dtype=bool)
    no_xy[~no_xy] = (geom[~no_xy].geom_type != "Point").to_numpy()
    no_date = frame["date"].isna().to_numpy() & ~no_xy
    bad_sev = ~frame["severity"].isin(["fatal", "serious", "slight"]).fillna(False).to_numpy()
    bad_sev &= ~no_xy & ~no_date
    reasons = np.select(
        [no_xy, no_date, bad_sev],
        ["missing coordinates", "unparseable date", "unknown severity"],
        "",
    )
    out = reasons != ""
    severities = frame["severity"].iloc[out].to_numpy(dtype=object)
    set_aside = pd.DataFrame(
        {
            "source": source,
            "row": source_rows(frame, out),
            "record_id": frame["collision_id"].to_numpy()[out],
            "reason": reasons[out],
            "detail": [
                f"severity {s!r}" if r == "unknown severity" else ""
                for r, s in zip(reasons[out], severities, strict=True)
            ],
        },
        columns=SET_ASIDE_COLUMNS,
    )
    usable = frame.loc[~out].copy()
    usable["year"] = usable["date"].dt.year.astype(int)
    usable["_x"] = usable.geometry.x.to_numpy()
    usable["_y"] = usable.geometry.y.to_numpy()
    usable = usable.sort_values(["_x", "_y", "collision_id", "date"], kind="mergesort")
    return usable, set_aside


def _normalised(collisions: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return a copy labelled by position, with typed id, date and severity columns."""
    if not isinstance(collisions, gpd.GeoDataFrame):
        raise InputError(
            f"collisions: expected a GeoDataFrame, found {type(collisions).__name__}; "
            "read the file with geo_sppa.io.read_collisions"
        )
    missing = [c for c in ("collision_id", "date", "severity") if c not in collisions.columns]
    if missing:
        raise InputError(
            f"collisions: no column {', '.join(missing)}; expected the normalised columns of "
            "geo_sppa.io.read_collisions (collision_id, date, severity, geometry, ...)"
        )
    require_bng(collisions, what="collisions")
    frame = collisions.reset_index(drop=True)  # positions as labels; mapped back by the caller
    for column in OPTIONAL_COLUMNS:
        if column not in frame.columns:
            frame[column] = pd.NA
    frame["collision_id"] = frame["collision_id"].astype("string")
    frame["date"] = pd.to_datetime(frame["date"], errors="coerce")
    frame["severity"] = frame["severity"].astype("string").str.strip().str.lower()
    return frame


def source_rows(
    frame: pd.DataFrame, which: np.ndarray | pd.Index
) -> pd.api.extensions.ExtensionArray:
    """Return the file rows (1-based) of the selected rows: ``source_row``, else NA.

    Parameters
    ----------
    frame
        Collisions, possibly with the loader's ``source_row`` column.
    which
        A boolean mask over ``frame`` or index labels of it.

    Returns
    -------
    ExtensionArray
        ``Int64`` file rows, NA where unknown.

    """
    picked = frame.loc[which] if isinstance(which, pd.Index) else frame[which]
    if "source_row" not in frame.columns:
        return pd.array([pd.NA] * len(picked), dtype="Int64")
    return pd.array(pd.to_numeric(picked["source_row"], errors="coerce").to_numpy(), dtype="Int64")


def snap_set_aside(
    usable: pd.DataFrame, lost: pd.Index, detail: pd.Series, source: str
) -> pd.DataFrame:
    """Return set-aside rows for collisions the road network could not take.

    Parameters
    ----------
    usable
        The usable collisions.
    lost
        Labels of ``usable`` beyond the snap tolerance.
    detail
        Per label of ``lost`` (at least), the snap step's detail text.
    source
        Name for the ``source`` column.

    Returns
    -------
    DataFrame
        Columns :data:`geo_sppa.schema.SET_ASIDE_COLUMNS`, reason ``beyond snap tolerance``.

    """
    return pd.DataFrame(
        {
            "source": source,
            "row": source_rows(usable, lost),
            "record_id": usable.loc[lost, "collision_id"].astype(str).to_numpy(),
            "reason": "beyond snap tolerance",
            "detail": detail.loc[lost].to_numpy(),
        },
        columns=SET_ASIDE_COLUMNS,
    )
