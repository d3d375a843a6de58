"""The geo-sppa error hierarchy.

Every message says what was expected, what was found, and how to fix it, in one line, so the CLI can
print it as ``Error: ...`` with no traceback.
"""

from __future__ import annotations

__all__ = ["GeoSppaError", "InputError", "MissingFileError", "OfflineError"]


class GeoSppaError(Exception):
    """Base class for every error geo-sppa raises on purpose."""


class InputError(GeoSppaError, ValueError):
    """Input data that cannot be used as given (bad column, value, CRS, geometry...)."""


class MissingFileError(InputError, FileNotFoundError):
    """A file or folder the user named, or a bundled dataset, does not exist."""


class OfflineError(GeoSppaError, ConnectionError):
    """A step needs the internet and the machine is offline."""
