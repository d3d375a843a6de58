"""geo-sppa: community-safety and road-safety analysis for English local authorities."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("geo-sppa")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

from geo_sppa.errors import GeoSppaError, InputError, MissingFileError, OfflineError  # noqa: E402

__all__ = ["__version__", "GeoSppaError", "InputError", "MissingFileError", "OfflineError"]
