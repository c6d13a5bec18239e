"""Series commands: init, demo, build, render, stylize, lock."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from reskin.cli import _SERIES, SERIES_PATH, _log, _print_report, main


@main.command()
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="Series name (default: the folder's name).")
def init(path: Path, name: str | None) -> None:
    """Create an empty series folder at PATH.

    \b
    Examples:
      reskin init my-series --name "Night Shift"
    """
    from reskin.pipeline.series_init import init_series

    root = init_series(path, name)
    click.echo(f"created series at {root}")


@main.command()
@SERIES_PATH
@click.option("--episode", "-e", "episodes", multiple=True,
              help="Build only this episode (repeatable).")
@click.option("--shot", "force_shots", multiple=True,
              help="With --force: a shot of the built episodes to render again (repeatable).")
@click.option("--force", is_flag=True,
              help="Drop the --shot shots' render and stylize cache entries and render them "
                   "again (needs --shot; refused without it).")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object (videos, sheets, shots, cache hits; absolute paths); "
                   "no progress.")
@click.option("--dry-run", is_flag=True, help="List what would render and why; do nothing.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Blender worker processes on this machine (local executor).")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local",
              show_default=True, help="Render here, or as tasks on a Ray cluster.")
@click.option("--address", help="Ray cluster address (default: start or join a local one).")
@click.option("--skip-style-check", is_flag=True,
              help="Stylize even if the style no longer matches its lock (`reskin style lock`).")
@click.option("--preview", is_flag=True,
              help="A draft: every shot drawn by the OpenGL preview renderer instead of "
                   "Blender, here (kept apart from Blender's renders in the cache).")
def build(path: Path, episodes: tuple[str, ...], force_shots: tuple[str, ...], force: bool,
          as_json: bool, dry_run: bool, jobs: int, executor: str, address: str | None,
          skip_style_check: bool, preview: bool) -> None:
    """Build the series at PATH: cast, skins, renders, stylized frames, videos, sheets.

    Only what changed is rebuilt: shots whose inputs are unchanged come from the cache,
    and an interrupted render resumes at the first missing frame. PATH defaults to this
    folder or the first one above it with series.yaml.

    \b
    Examples:
      reskin build my-series -e ep01 --dry-run
      reskin build -e ep01 --shot s02-closeup --force
      reskin build my-series --preview
    """
    from reskin.core.errors import ReskinError
    from reskin.pipeline.build import build as run_build

    if force and not force_shots:
        raise ReskinError("--force needs --shot SHOT (the shots to render again)",
                          field="--force")
    if force_shots and not force:
        raise ReskinError("--shot only says which shots --force renders again; add --force",
                          field="--shot")
    if preview and (executor != "local" or jobs != 1 or address):
        raise ReskinError("--preview draws every shot here, in this process; drop "
                          "--executor/--jobs/--address", field="--preview")
    if dry_run:
        from reskin.pipeline.context import BuildContext
        from reskin.pipeline.dry_run import dry_run as plan_dry_run

        with BuildContext.open(path) as ctx:
            rows = plan_dry_run(ctx, list(episodes) or None, list(force_shots) or None,
                                render_kind="preview" if preview else "render")
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
    report = run_build(path, log=_log(as_json), progress=_progress(as_json),
                       episodes=list(episodes) or None, executor=runner,
                       force=list(force_shots) or None, style_check=not skip_style_check,
                       preview=preview)
    if as_json:  # with each episode's flow graph (shots, choices, where they lead)
        click.echo(report.to_json())
        return
    _print_report(report, as_json)


def _progress(as_json: bool) -> bool | str:
    """How a build shows progress: tqdm bars on a terminal, one line per finished shot when
    stderr is a pipe or a file, nothing with --json."""
    if as_json:
        return False
    return "bars" if sys.stderr.isatty() else "lines"


@main.command()
@click.argument("episode")
@_SERIES
@click.option("--preview", is_flag=True,
              help="Draft with the OpenGL preview renderer instead of Blender.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def render(episode: str, root: Path, preview: bool, as_json: bool) -> None:
    """Render one EPISODE: a fast OpenGL draft with --preview, else the full Blender build.

    \b
    Examples:
      reskin render ep01 -s my-series --preview
      reskin render ep01 --json
    """
    from reskin.pipeline.build import Builder
    from reskin.pipeline.build import build as run_build
    from reskin.pipeline.context import BuildContext
    from reskin.pipeline.preview_job import preview_episode

    if not preview:
        report = run_build(root, log=_log(as_json), episodes=[episode],
                           progress=_progress(as_json))
        _print_report(report, as_json)
        return
    with BuildContext.open(root, log=_log(as_json)) as ctx, Builder(ctx) as builder:
        result = preview_episode(builder, episode)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for shot in result["shots"]:
        click.echo(f"{episode}/{shot['id']}: {shot['frames']} frames in {shot['folder']}")
    click.echo(f"preview drawn at {result['fps']} frames/s")


@main.command()
@click.argument("episode")
@_SERIES
@click.option("--style", help="A style from styles/NAME.yaml (default: series.yaml's style);"
              " its output goes to out/styles/NAME/.")
@click.option("--shots", help="Comma-separated shot ids that must exist in EPISODE (the episode "
              "is still published from all its shots).")
@click.option("--json", "as_json", is_flag=True, help="Print the build report as JSON.")
@click.option("--skip-style-check", is_flag=True,
              help="Stylize even if the style no longer matches its lock (`reskin style lock`).")
def stylize(episode: str, root: Path, style: str | None, shots: str | None,
            as_json: bool, skip_style_check: bool) -> None:
    """Stylize EPISODE's rendered shots (rendering any that are missing).

    Styled frames are cached by the render and every style setting (model file hashes
    included), so re-stylizing an unchanged shot is a cache hit. The episode is always
    published whole: with --shots, its other shots are rendered and stylized as a build
    would (cache hits when unchanged), so the episode video keeps every shot.

    \b
    Examples:
      reskin stylize ep01 -s my-series --style ink
      reskin stylize ep01 --shots s01-medium,s02-closeup --json
    """
    from reskin.pipeline.build import build as run_build

    report = run_build(root, log=_log(as_json), episodes=[episode], style=style,
                       shots=[s.strip() for s in shots.split(",")] if shots else None,
                       progress=_progress(as_json), style_check=not skip_style_check)
    _print_report(report, as_json)


@main.command("lock")
@click.argument("episode")
@_SERIES
@click.option("--release", is_flag=True, help="Unlock instead: follow the wardrobes again.")
def lock_cmd(episode: str, root: Path, release: bool) -> None:
    """Lock EPISODE to the exact skin versions it uses now (pinned in the library).

    A locked episode keeps rendering from those versions when wardrobes or characters change,
    and `asset rm` refuses to delete them.

    \b
    Examples:
      reskin lock ep01 -s my-series
      reskin lock ep01 --release -s my-series
    """
    from reskin.pipeline.build import Builder
    from reskin.pipeline.context import BuildContext

    with BuildContext.open(root, log=_log(False)) as ctx:
        if release:
            from reskin.pipeline.locks import unlock

            was = unlock(ctx.lib, episode)
            click.echo(f"{episode} unlocked" if was else f"{episode} was not locked")
            return
        with Builder(ctx) as builder:
            chosen = builder.lock(episode)
        for char, ref in chosen.items():
            click.echo(f"{episode}: {char} -> {ref}")


@main.command()
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), default="demo-series")
@click.option("--json", "as_json", is_flag=True, help="Print the build report as JSON.")
def demo(path: Path, as_json: bool) -> None:
    """Create the built-in sample series at PATH (default ./demo-series) and build it.

    \b
    Examples:
      reskin demo
      reskin demo /tmp/sample --json
    """
    from reskin.pipeline.build import build as run_build
    from reskin.pipeline.series_init import create_demo

    root = create_demo(path)
    _log(as_json)(f"sample series at {root}")
    report = run_build(root, log=_log(as_json), progress=_progress(as_json))
    _print_report(report, as_json)
