"""The ``reskin`` command line: parse, call the library, print. No logic lives here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from reskin import __version__
from reskin.errors import ReskinError


class ReskinGroup(click.Group):
    """Turns a user's mistake (ReskinError) into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ReskinError as exc:
            click.echo(f"reskin: error: {exc.one_line()}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=ReskinGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reskin")
def main() -> None:
    """reskin: a recurring 3D cast for episodic short dramas.

    Characters are made once, rigged once, re-skinned per episode, rendered by headless
    Blender and stylized. Start with `reskin demo` to build the sample series, or
    `reskin init my-series` for an empty one.
    """


def _log(quiet: bool):
    return (lambda msg: None) if quiet else (lambda msg: click.echo(f"reskin: {msg}", err=True))


@main.command()
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="Series name (default: the folder's name).")
def init(path: Path, name: str | None) -> None:
    """Create an empty series folder at PATH."""
    from reskin.series_init import init_series

    root = init_series(path, name)
    click.echo(f"created series at {root}")


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


@main.command()
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--episode", "-e", "episodes", multiple=True,
              help="Build only this episode (repeatable).")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object (videos, sheets, shots, cache hits); no progress.")
@click.option("--dry-run", is_flag=True, help="List what would render and why; do nothing.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Blender worker processes on this machine (local executor).")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local",
              show_default=True, help="Render here, or as tasks on a Ray cluster.")
@click.option("--address", help="Ray cluster address (default: start or join a local one).")
def build(path: Path, episodes: tuple[str, ...], as_json: bool, dry_run: bool, jobs: int,
          executor: str, address: str | None) -> None:
    """Build the series at PATH: cast, skins, renders, stylized frames, videos, sheets.

    Only what changed is rebuilt: shots whose inputs are unchanged come from the cache,
    and an interrupted render resumes at the first missing frame.
    """
    from reskin.build import Builder
    from reskin.build import build as run_build

    if dry_run:
        builder = Builder(path)
        try:
            rows = builder.dry_run()
        finally:
            builder.close()
        if as_json:
            click.echo(json.dumps(rows, indent=2))
        for r in [] if as_json else rows:
            click.echo(f"{r['action']:<7} {r['episode']}/{r['shot']:<20} {r['why']}")
        return

    logs = path / "out" / "logs"
    if executor == "ray":
        from reskin.render.executors import RayExecutor

        runner = RayExecutor(logs, address=address, workers=jobs if jobs > 1 else None)
    else:
        from reskin.render.executors import LocalExecutor

        runner = LocalExecutor(logs, jobs=jobs)
    report = run_build(path, log=_log(as_json), progress=not as_json and sys.stderr.isatty(),
                       episodes=list(episodes) or None, executor=runner)
    _print_report(report, as_json)


@main.command()
@click.argument("episode")
@click.option("--series", "-s", "root", type=click.Path(file_okay=False, path_type=Path),
              default=".", help="The series folder.")
@click.option("--preview", is_flag=True,
              help="Draft with the OpenGL preview renderer instead of Blender.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def render(episode: str, root: Path, preview: bool, as_json: bool) -> None:
    """Render one EPISODE: a fast OpenGL draft with --preview, else the full Blender build."""
    from reskin.build import Builder
    from reskin.build import build as run_build

    if not preview:
        report = run_build(root, log=_log(as_json), episodes=[episode],
                           progress=not as_json and sys.stderr.isatty())
        _print_report(report, as_json)
        return
    builder = Builder(root, log=_log(as_json))
    try:
        result = builder.preview(episode)
    finally:
        builder.close()
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for shot in result["shots"]:
        click.echo(f"{episode}/{shot['id']}: {shot['frames']} frames in {shot['folder']}")
    click.echo(f"preview drawn at {result['fps']} frames/s")


@main.command()
@click.argument("episode")
@click.option("--series", "-s", "root", type=click.Path(file_okay=False, path_type=Path),
              default=".", help="The series folder.")
@click.option("--style", help="A style from styles/NAME.yaml (default: series.yaml's style);"
              " its output goes to out/styles/NAME/.")
@click.option("--shots", help="Comma-separated shot ids (default: every shot).")
@click.option("--json", "as_json", is_flag=True, help="Print the build report as JSON.")
def stylize(episode: str, root: Path, style: str | None, shots: str | None,
            as_json: bool) -> None:
    """Stylize EPISODE's rendered shots (rendering any that are missing).

    Styled frames are cached by the render and every style setting (model file hashes
    included), so re-stylizing an unchanged shot is a cache hit.
    """
    from reskin.build import build as run_build

    report = run_build(root, log=_log(as_json), episodes=[episode], style=style,
                       shots=[s.strip() for s in shots.split(",")] if shots else None,
                       progress=not as_json and sys.stderr.isatty())
    _print_report(report, as_json)


@main.command()
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), default="demo-series")
@click.option("--json", "as_json", is_flag=True, help="Print the build report as JSON.")
def demo(path: Path, as_json: bool) -> None:
    """Create the built-in sample series at PATH (default ./demo-series) and build it."""
    from reskin.build import build as run_build
    from reskin.series_init import create_demo

    root = create_demo(path)
    _log(as_json)(f"sample series at {root}")
    report = run_build(root, log=_log(as_json), progress=not as_json and sys.stderr.isatty())
    _print_report(report, as_json)


@main.group()
def asset() -> None:
    """Browse the asset library of a series."""


@asset.command("list")
@click.option("--series", "-s", "root", type=click.Path(file_okay=False, path_type=Path),
              default=".", help="The series folder.")
@click.option("--kind", help="Only assets of this kind.")
@click.option("--json", "as_json", is_flag=True)
def asset_list(root: Path, kind: str | None, as_json: bool) -> None:
    """List every asset version in the library."""
    from reskin.assets.library import Library

    with Library(root / ".reskin") as lib:
        records = lib.list(kind)
    if as_json:
        click.echo(json.dumps([{"ref": r.ref, "kind": r.kind, "created": r.created,
                                "parents": list(r.parents)} for r in records], indent=2))
        return
    for r in records:
        parents = f"  <- {', '.join(r.parents)}" if r.parents else ""
        click.echo(f"{r.ref:<24} {r.kind:<10} {r.created}{parents}")


@asset.command("show")
@click.argument("ref")
@click.option("--series", "-s", "root", type=click.Path(file_okay=False, path_type=Path),
              default=".", help="The series folder.")
@click.option("--json", "as_json", is_flag=True)
def asset_show(ref: str, root: Path, as_json: bool) -> None:
    """Show an asset (NAME, NAME@latest or NAME@V) and its whole lineage."""
    from reskin.assets.library import Library

    with Library(root / ".reskin") as lib:
        lineage = lib.lineage(lib.get(ref))
    if as_json:
        click.echo(json.dumps([{"ref": r.ref, "kind": r.kind, "meta": r.meta,
                                "provenance": r.provenance, "blobs": r.blobs} for r in lineage],
                              indent=2))
        return
    for depth, r in enumerate(lineage):
        pad = "  " * depth
        click.echo(f"{pad}{r.ref} ({r.kind}, {r.created})")
        for k, v in sorted(r.provenance.items()):
            if k != "parents":
                click.echo(f"{pad}  {k}: {v}")


if __name__ == "__main__":
    main()
