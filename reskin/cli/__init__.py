"""The ``reskin`` command line: parse, call the library, print. No logic lives here.

The commands live in submodules by topic (series_cmds, asset_cmds, rig_cmds, skin_cmds,
provenance_cmds); importing this package registers them on :data:`main`. Heavy modules are
imported inside commands.
"""

from __future__ import annotations

from pathlib import Path

import click

from reskin import __version__
from reskin.core.errors import ReskinError

_RESUMABLE = {"build", "render", "stylize", "demo"}


class ReskinGroup(click.Group):
    """Turns a user's mistake (ReskinError) into one line on stderr and exit code 2, and Ctrl-C
    into one line and exit code 130 (a build resumes at its first missing frame)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ReskinError as exc:
            click.echo(f"reskin: error: {exc.one_line()}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            what = ("; `reskin build` again resumes the build at the first missing frame"
                    if ctx.invoked_subcommand in _RESUMABLE else "")
            click.echo(f"reskin: interrupted{what}", err=True)
            ctx.exit(130)


@click.group(cls=ReskinGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reskin")
def main() -> None:
    """reskin: a recurring 3D cast for episodic short dramas.

    Characters are made once, rigged once, re-skinned per episode, rendered by headless
    Blender and stylized. Start with `reskin demo` to build the sample series, or
    `reskin init my-series` for an empty one.

    \b
    Examples:
      reskin demo
      reskin build my-series -e ep01
    """


def _log(quiet: bool):
    return (lambda msg: None) if quiet else (lambda msg: click.echo(f"reskin: {msg}", err=True))


def _find_series(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    """A series path as given; the default ``.`` is looked up from here upwards, as git does."""
    from reskin.scenes.series import find_series_root

    if ctx.resilient_parsing:
        return value
    return find_series_root(value, walk_up=value == Path("."))


_SERIES = click.option("--series", "-s", "root", type=click.Path(file_okay=False, path_type=Path),
                       default=".", callback=_find_series,
                       help="The series folder (default: this one or the first above it with "
                            "series.yaml).")
SERIES_PATH = click.argument("path", type=click.Path(file_okay=False, path_type=Path),
                             default=".", callback=_find_series)


def _print_report(report, as_json: bool) -> None:
    if as_json:
        click.echo(report.to_json())
        return
    for ep in report.episodes:
        cached = sum(s.cached for s in ep.shots)
        click.echo(f"{ep.id}: {len(ep.shots)} shots ({cached} cached)")
        click.echo(f"  video:         {ep.video}")
        click.echo(f"  contact sheet: {ep.contact_sheet}")
    click.echo(f"built {report.series!r} in {report.seconds:.1f} s")


# Imported last: each module registers its commands on `main`.
from reskin.cli import (  # noqa: E402, F401
    asset_cmds,
    provenance_cmds,
    review_cmds,
    rig_cmds,
    script_cmds,
    series_cmds,
    skin_cmds,
    style_cmds,
    web_cmds,
)
