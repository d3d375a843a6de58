"""Offline copies of the scripts and stylesheets a geo-sppa web map needs, and the inliner.

Folium writes ``<script src="https://cdn...">`` and ``<link href="https://cdn...">`` tags. A map
that is emailed, opened from a shared drive or read on a council network that blocks CDNs cannot
fetch them, so :func:`inline_assets` swaps every such tag for the file's text, read from an
installed package:

- Leaflet core (``leaflet.js``, ``leaflet.css`` and its images): the ``xstatic-leaflet`` package
  (``xstatic.pkg.leaflet``), the same Leaflet release folium 0.20 asks for;
- the heat-map plugin (``leaflet_heat.min.js``): folium itself ships it in ``folium/templates``;
- the fullscreen control (leaflet.fullscreen 3.0.0, MIT, Bruno Bergot): vendored in this folder
  because no maintained PyPI package ships it (see ``README.md`` here).

Images a stylesheet refers to (``url(images/layers.png)``) become ``data:`` URIs. A URL with no
local copy raises :class:`~geo_sppa.errors.OfflineError` naming it, rather than writing a map that
silently breaks offline.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from geo_sppa.errors import OfflineError

__all__ = ["Asset", "local_asset", "inline_assets", "remote_references"]

_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Asset:
    """A local copy of a remote script or stylesheet.

    Attributes
    ----------
    path
        The file on disk.
    kind
        ``"js"`` or ``"css"``.
    provider
        The installed distribution (or ``geo-sppa`` for vendored files) it comes from.

    """

    path: Path
    kind: str
    provider: str

    def text(self) -> str:
        """Return the file's text, ready to inline (source-map comments removed, images inlined)."""
        text = self.path.read_text(encoding="utf-8")
        # A sourceMappingURL comment makes developer tools fetch a .map file that is not there.
        text = re.sub(r"^\s*//# sourceMappingURL=\S+\s*$", "", text, flags=re.MULTILINE)
        text = re.sub(r"/\*# sourceMappingURL=[^*]*\*/", "", text)
        if self.kind == "css":
            text = _inline_css_urls(text, self.path.parent)
            return text.replace("</style", "<\\/style")
        return text.replace("</script", "<\\/script")


def _leaflet_dir() -> Path:
    try:
        import xstatic.pkg.leaflet as xleaflet
    except ImportError as exc:  # pragma: no cover - the package is an install requirement
        raise OfflineError(
            "the offline copy of Leaflet is missing (package xstatic-leaflet is not installed); "
            "run: pip install 'xstatic-leaflet==1.9.3.0'"
        ) from exc
    return Path(xleaflet.BASE_DIR)


def _folium_template(name: str) -> Path:
    return Path(str(resources.files("folium") / "templates" / name))


# (pattern on the URL folium writes, function giving the local file, kind, provider)
_RULES: tuple[tuple[re.Pattern[str], object, str, str], ...] = (
    (
        re.compile(r"/leaflet@1\.9\.\d+/dist/leaflet\.js$"),
        lambda: _leaflet_dir() / "leaflet.js",
        "js",
        "xstatic-leaflet",
    ),
    (
        re.compile(r"/leaflet@1\.9\.\d+/dist/leaflet\.css$"),
        lambda: _leaflet_dir() / "leaflet.css",
        "css",
        "xstatic-leaflet",
    ),
    (
        re.compile(r"/folium(@[\w.]+)?/folium/templates/leaflet_heat\.min\.js$"),
        lambda: _folium_template("leaflet_heat.min.js"),
        "js",
        "folium",
    ),
    (
        re.compile(r"/leaflet\.fullscreen@3\.0\.0/Control\.FullScreen(\.min)?\.js$"),
        lambda: _HERE / "leaflet.fullscreen.js",
        "js",
        "geo-sppa",
    ),
    (
        re.compile(r"/leaflet\.fullscreen@3\.0\.0/Control\.FullScreen(\.min)?\.css$"),
        lambda: _HERE / "leaflet.fullscreen.css",
        "css",
        "geo-sppa",
    ),
)


def local_asset(url: str) -> Asset:
    """Return the local copy of the script or stylesheet at ``url``.

    Raises
    ------
    OfflineError
        geo-sppa has no local copy of that URL, or the package that should hold it is missing.

    """
    for pattern, locate, kind, provider in _RULES:
        if pattern.search(url):
            path = locate()  # type: ignore[operator]
            if not path.is_file():
                raise OfflineError(
                    f"the offline copy of {url} should be at {path} but is missing; "
                    f"reinstall {provider}"
                )
            return Asset(path=path, kind=kind, provider=provider)
    raise OfflineError(
        f"the map needs {url}, and geo-sppa has no offline copy of it, so the map would not work "
        "without internet; remove the plugin or element that adds it (geo-sppa maps use Leaflet, "
        "the heat map and fullscreen plugins only)"
    )


def _inline_css_urls(css: str, folder: Path) -> str:
    def replace(match: re.Match[str]) -> str:
        target = match.group(2)
        if target.startswith(("data:", "#", "http:", "https:", "//")):
            return match.group(0)
        path = folder / target
        if not path.is_file():
            raise OfflineError(
                f"stylesheet in {folder} refers to {target}, which is not there; reinstall the "
                "package that provides it"
            )
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"url(data:{mime};base64,{data})"

    return re.sub(r"url\((['\"]?)([^'\")]+)\1\)", replace, css)


_SCRIPT_SRC = re.compile(
    r"<script\b[^>]*\bsrc\s*=\s*['\"](?P<url>(?:https?:)?//[^'\"]+)['\"][^>]*>\s*</script>",
    re.IGNORECASE,
)
_LINK_HREF = re.compile(
    r"<link\b(?=[^>]*\brel\s*=\s*['\"]?stylesheet)[^>]*\bhref\s*=\s*['\"]"
    r"(?P<url>(?:https?:)?//[^'\"]+)['\"][^>]*/?>",
    re.IGNORECASE,
)


def remote_references(html: str) -> list[str]:
    """Return the URL of each remote ``<script src>`` and stylesheet ``<link href>`` in ``html``."""
    return [m.group("url") for m in _SCRIPT_SRC.finditer(html)] + [
        m.group("url") for m in _LINK_HREF.finditer(html)
    ]


def inline_assets(html: str) -> str:
    """Return ``html`` with every remote script and stylesheet tag replaced by inline content.

    Each distinct URL is inlined once (a second tag for the same URL is dropped).

    Raises
    ------
    OfflineError
        A tag points at a URL geo-sppa has no local copy of.

    """
    seen: set[str] = set()

    def swap(match: re.Match[str]) -> str:
        url = match.group("url")
        asset = local_asset(url)
        if url in seen:
            return ""
        seen.add(url)
        tag = "script" if asset.kind == "js" else "style"
        label = _attr(f"{asset.provider}:{asset.path.name}")
        return f"<{tag} data-asset={label}>\n{asset.text()}\n</{tag}>"

    html = _SCRIPT_SRC.sub(swap, html)
    return _LINK_HREF.sub(swap, html)


def _attr(value: str) -> str:
    return '"' + value.replace("&", "&amp;").replace('"', "&quot;") + '"'
