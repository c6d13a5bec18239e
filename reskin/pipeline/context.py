"""What every stage of a build reads: the series, its library and where outputs go.

A :class:`BuildContext` is opened once per command and handed to each stage (the build, a dry
run, a preview, a skin job), which takes only what it uses from it; it owns the library
connection and closes it (``with BuildContext.open(root) as ctx: ...``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reskin.assets.library import Library
from reskin.scenes.series import SeriesConfig, load_series, load_style

Log = Callable[[str], None]


def _quiet(msg: str) -> None:
    return None


@dataclass(frozen=True)
class BuildContext:
    """One series opened for work.

    series       : the series config (with a named style applied, when one was asked for)
    lib          : its asset library (open until :meth:`close`)
    cache_root   : ``.reskin/cache``, where renders, styled frames and linked GLBs are kept
    publish_root : where episodes are published (``out/``, or ``out/styles/NAME`` for a style)
    style_name   : the name a stylized shot's style asset is recorded under
    log          : one-line progress messages for a person
    """

    series: SeriesConfig
    lib: Library
    cache_root: Path
    publish_root: Path
    style_name: str = "style.series"
    log: Log = _quiet

    @classmethod
    def open(cls, root: str | Path, *, style: str | None = None,
             log: Log | None = None) -> BuildContext:
        """Read ``root``'s series.yaml (and ``styles/<style>.yaml``) and open its library."""
        series = load_series(root)
        publish_root = series.out_dir.resolve()  # absolute: reports name files anywhere
        if style is not None:
            # A named style publishes beside the series' own output, never over it.
            series = dataclasses.replace(series, style=load_style(root, style))
            publish_root = series.out_dir / "styles" / style
        return cls(series=series, lib=Library(series.library_dir),
                   cache_root=series.library_dir.resolve() / "cache", publish_root=publish_root,
                   style_name=f"style.{style}".lower() if style else "style.series",
                   log=log or _quiet)

    def close(self) -> None:
        self.lib.close()

    def __enter__(self) -> BuildContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
