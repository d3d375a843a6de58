"""Write results: CSV that opens cleanly in Excel, GeoPackage, GeoJSON, HTML and PNG files."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo_sppa.errors import InputError

__all__ = [
    "output_dir",
    "write_csv",
    "write_gpkg",
    "write_geojson",
    "write_text",
    "read_results",
    "write_png",
    "write_run_info",
    "read_run_info",
    "LIST_SEPARATOR",
]

LIST_SEPARATOR = ";"


def output_dir(path: str | Path) -> Path:
    """Return ``path`` as an existing folder, creating it (and parents) if needed."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{path}: the output folder is a file; pass another -o/--output-dir")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".geo-sppa-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(
            f"{path}: cannot write results there ({exc.strerror}); pass another -o/--output-dir"
        ) from None
    return path


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy whose list-valued columns are joined into text (GPKG and CSV have no lists)."""
    out = frame.copy()
    for column in out.columns:
        if column == getattr(out, "_geometry_column_name", None):
            continue
        if out[column].dtype == object and any(isinstance(v, (list, tuple)) for v in out[column]):
            out[column] = out[column].map(
                lambda v: LIST_SEPARATOR.join(map(str, v)) if isinstance(v, (list, tuple)) else v
            )
    return out


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as UTF-8 CSV with a byte-order mark (Excel reads accents); drop geometry."""
    path = Path(path)
    table = pd.DataFrame(_flat(frame))
    if isinstance(frame, gpd.GeoDataFrame):
        table = table.drop(columns=[frame.geometry.name])
    table.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return path


def write_gpkg(
    frame: gpd.GeoDataFrame, path: str | Path, *, layer: str | None = None, replace: bool = True
) -> Path:
    """Write ``frame`` as a layer of a GeoPackage, EPSG:27700 as given.

    With ``replace`` (the default) an existing file is replaced; otherwise the layer is added to it
    (or replaces a layer of the same name).
    """
    path = Path(path)
    if replace and path.exists():
        path.unlink()
    gpd.GeoDataFrame(_flat(frame)).to_file(path, layer=layer or path.stem, driver="GPKG")
    return path


def write_geojson(frame: gpd.GeoDataFrame, path: str | Path) -> Path:
    """Write ``frame`` as RFC 7946 GeoJSON (EPSG:4326, as the format requires)."""
    path = Path(path)
    if path.exists():
        path.unlink()
    gpd.GeoDataFrame(_flat(frame)).to_crs(4326).to_file(path, driver="GeoJSON")
    return path


def write_text(text: str, path: str | Path) -> Path:
    """Write ``text`` (an HTML page, a report) as UTF-8."""
    path = Path(path)
    path.write_text(text, encoding="utf-8")
    return path


def write_png(figure, path: str | Path, *, dpi: int = 150) -> Path:
    """Save a matplotlib figure as PNG and close it (figures are not kept alive between charts)."""
    import matplotlib.pyplot as plt

    path = Path(path)
    figure.savefig(path, dpi=dpi)
    plt.close(figure)
    return path


def read_results(
    path: str | Path,
    *,
    layer: str | None = None,
    list_columns: tuple[str, ...] = ("collision_ids",),
) -> gpd.GeoDataFrame:
    """Read a results layer written by :func:`write_gpkg` or :func:`write_geojson`, in EPSG:27700.

    Joined list columns (``collision_ids``) are split back into lists.
    """
    from geo_sppa.io.layers import read_layer

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


def write_run_info(info: dict[str, object], path: str | Path) -> Path:
    """Add a one-row ``run`` table (area, window, mode...) to a GeoPackage, for redrawing later."""
    import pyogrio

    pyogrio.write_dataframe(
        pd.DataFrame({k: [v] for k, v in info.items()}), Path(path), layer="run"
    )
    return Path(path)


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
