"""Screenplay commands: `reskin script import`, `reskin storyboard`, `reskin export otio`."""

from __future__ import annotations

from pathlib import Path

import click

from reskin.cli import _SERIES, _log, main
from reskin.cli.web_cmds import export as export_group  # one `reskin export` group


@main.group("script")
def script_group() -> None:
    """Screenplays: import a Fountain script as episodes.

    \b
    Examples:
      reskin script import pilot.fountain -s my-series --episode ep05
    """


@script_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@_SERIES
@click.option("--episode", "-e", help="The first episode's id (default: epNN from a "
              "`# Episode N` section, else ep01); more sections count up from it.")
@click.option("--coverage", type=click.Choice(["sparse", "normal", "dense"]), default="normal",
              show_default=True, help="How many shots the automatic coverage cuts.")
@click.option("--force", is_flag=True, help="Overwrite episode files edited since the last "
              "import.")
def script_import(file: Path, root: Path, episode: str | None, coverage: str,
                  force: bool) -> None:
    """Import FILE (Fountain) into the series: episodes/<id>.yaml, shots by the coverage rules
    (docs/coverage.md).

    \b
    Examples:
      reskin script import pilot.fountain -s my-series --episode ep05
      reskin script import pilot.fountain --coverage dense --force
    """
    from reskin.pipeline.script_import import import_script

    for r in import_script(root, file, episode=episode, coverage=coverage, force=force):
        click.echo(f"{r.episode}: {r.status} {r.path}")
        for w in r.wardrobes:
            click.echo(f"  wardrobe: {w} (a copy of the latest; edit it for this episode)")


@main.command()
@click.argument("episode")
@_SERIES
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="board.png or board.pdf")
def storyboard(episode: str, root: Path, output: Path) -> None:
    """Draw EPISODE's storyboard: a preview key frame per shot, with its id, framing,
    duration and lines.

    \b
    Examples:
      reskin storyboard ep05 -s my-series -o board.png
    """
    from reskin.pipeline.build import Builder
    from reskin.pipeline.context import BuildContext
    from reskin.pipeline.storyboard import storyboard as draw

    with BuildContext.open(root, log=_log(False)) as ctx, Builder(ctx) as builder:
        result = draw(builder, episode, output)
    click.echo(f"storyboard: {result['panels']} panels in {result['path']} "
               f"({result['seconds']:.1f} s)")


@export_group.command("otio")
@click.argument("episode")
@_SERIES
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="ep.otio, ep.edl (CMX 3600), ep.xml (Final Cut Pro 7 XML) or "
              "ep.fcpxml (Final Cut Pro X)")
@click.option("--format", "fmt", default=None,
              type=click.Choice(["otio", "edl", "fcp-xml", "fcpxml"]),
              help="The timeline format (default: by the output's suffix).")
def export_otio(episode: str, root: Path, output: Path, fmt: str | None) -> None:
    """Write EPISODE as an OpenTimelineIO timeline: the shot MP4s on a video track, the
    dialogue on audio tracks, the lines as markers. An EDL or FCP 7 XML of it opens in
    DaVinci Resolve and Premiere.

    \b
    Examples:
      reskin export otio ep05 -s my-series -o ep05.otio
      reskin export otio ep05 -s my-series -o ep05.edl
      reskin export otio ep05 -s my-series -o ep05.xml    # or --format fcp-xml
    """
    from reskin.pipeline.build import Builder
    from reskin.pipeline.context import BuildContext
    from reskin.pipeline.otio_export import export_otio as write

    with BuildContext.open(root, log=_log(False)) as ctx, Builder(ctx) as builder:
        result = write(builder, episode, output, fmt)
    click.echo(f"timeline ({result['format']}): {result['clips']} clips, "
               f"{result['seconds']:.2f} s in {result['path']}")
    if result["missing"]:
        click.echo(f"reskin: note: not rendered yet (`reskin build`): "
                   f"{', '.join(result['missing'])}", err=True)
