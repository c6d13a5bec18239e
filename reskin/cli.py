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


@main.command("lock")
@click.argument("episode")
@click.option("--series", "-s", "root", type=click.Path(file_okay=False, path_type=Path),
              default=".", help="The series folder.")
@click.option("--release", is_flag=True, help="Unlock instead: follow the wardrobes again.")
def lock_cmd(episode: str, root: Path, release: bool) -> None:
    """Lock EPISODE to the exact skin versions it uses now (pinned in the library).

    A locked episode keeps rendering from those versions when wardrobes or characters change,
    and `asset rm` refuses to delete them.
    """
    from reskin.build import Builder

    builder = Builder(root, log=_log(False))
    try:
        if release:
            from reskin.scenes.locks import unlock

            was = unlock(builder.lib, episode)
            click.echo(f"{episode} unlocked" if was else f"{episode} was not locked")
            return
        for char, ref in builder.lock(episode).items():
            click.echo(f"{episode}: {char} -> {ref}")
    finally:
        builder.close()


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
@click.option("--tag", help="Only versions with this tag.")
@click.option("--json", "as_json", is_flag=True)
def asset_list(root: Path, kind: str | None, tag: str | None, as_json: bool) -> None:
    """List every asset version in the library."""
    from reskin.assets.library import Library

    with Library(root / ".reskin") as lib:
        records = lib.list(kind, tag)
    _print_assets(records, as_json)


def _print_assets(records, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([{"ref": r.ref, "kind": r.kind, "created": r.created,
                                "parents": list(r.parents), "tags": list(r.tags),
                                "license": r.provenance.get("license")} for r in records],
                              indent=2))
        return
    for r in records:
        parents = f"  <- {', '.join(r.parents)}" if r.parents else ""
        tags = f"  [{', '.join(r.tags)}]" if r.tags else ""
        click.echo(f"{r.ref:<24} {r.kind:<10} {r.created}{tags}{parents}")


@asset.command("sheet")
@click.option("--series", "-s", "root", type=click.Path(file_okay=False, path_type=Path),
              default=".", help="The series folder.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The PNG to write.")
@click.option("--kind", help="Only assets of this kind.")
@click.option("--all-versions", is_flag=True, help="Every version, not only the latest.")
def asset_sheet(root: Path, out: Path, kind: str | None, all_versions: bool) -> None:
    """Draw a contact sheet of the library's thumbnails (drawn once per version, cached)."""
    from reskin.assets.library import Library
    from reskin.assets.thumbnails import library_sheet

    with Library(root / ".reskin") as lib:
        records = lib.list(kind)
        if not all_versions:
            latest = {r.name: r for r in records}
            records = list(latest.values())
        if not records:
            click.echo("reskin: the library has no assets to draw", err=True)
            return
        library_sheet(lib, records, out)
    click.echo(f"{len(records)} assets drawn to {out}")


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


_SERIES = click.option("--series", "-s", "root", type=click.Path(file_okay=False, path_type=Path),
                       default=".", help="The series folder.")


@asset.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Asset name (a new version if it exists).")
@click.option("--kind", help="character, prop, set, ... (default: character if skinned).")
@click.option("--license", "license_", help="SPDX license id, e.g. CC-BY-4.0.")
@click.option("--author")
@click.option("--prompt", help="The prompt, if an AI generator made the file.")
@click.option("--seed", type=int, help="The generator's seed, if any.")
@click.option("--generator", help="The tool or model that made the file.")
@click.option("--unit", default="auto", show_default=True,
              help="Unit of OBJ/PLY/STL numbers: auto, m, dm, cm, mm, in, ft.")
@click.option("--up", default="auto", show_default=True, help="Up axis of the file: auto, y, z.")
@click.option("--tag", "tags", multiple=True, help="Tag the new version (repeatable).")
@click.option("--allow-missing", is_flag=True,
              help="Import even if textures or material files are missing (recorded).")
@_SERIES
@click.option("--json", "as_json", is_flag=True)
def asset_import(path: Path, name: str, kind: str | None, license_: str | None,
                 author: str | None, prompt: str | None, seed: int | None,
                 generator: str | None, unit: str, up: str, tags: tuple[str, ...],
                 allow_missing: bool, root: Path, as_json: bool) -> None:
    """Import a GLB/glTF, OBJ(+MTL), PLY or STL file as a new asset version.

    The file is validated first; a fatal problem refuses it with one line and leaves the library
    untouched. Repairs and the normalisation (metres, +Y up, feet at the origin) are recorded.
    """
    from reskin.assets.importer import ImportOptions, import_file

    opts = ImportOptions(kind=kind, license=license_, author=author, prompt=prompt, seed=seed,
                         generator=generator, unit=unit, up=up, tags=tags,
                         allow_missing=allow_missing)
    rec, report = import_file(root / ".reskin", path, name, opts)
    if as_json:
        click.echo(json.dumps({"ref": rec.ref, "kind": rec.kind, "meta": rec.meta,
                               "validation": report.to_json()}, indent=2))
        return
    for f in report.findings:
        if f.severity != "info":
            click.echo(f"{path}: {f.where + ': ' if f.where else ''}{f.severity}: {f.message}",
                       err=True)
    click.echo(f"imported {rec.ref} ({rec.kind}, {rec.meta['vertices']} vertices, "
               f"{rec.meta['faces']} faces, {rec.meta['joints']} joints, "
               f"{len(rec.meta['animations'])} animations)")


@asset.command("export")
@click.argument("ref")
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path),
              help="FILE.glb, FILE.usda or FILE.usdc.")
@_SERIES
def asset_export(ref: str, out: Path, root: Path) -> None:
    """Export an asset version (NAME, NAME@V) as GLB or USD (UsdSkel for rigged ones)."""
    from reskin.assets.export import export_asset
    from reskin.assets.library import Library

    with Library(root / ".reskin") as lib:
        rec = export_asset(lib, ref, out)
    click.echo(f"wrote {rec.ref} to {out}")


@asset.command("history")
@click.argument("name")
@_SERIES
@click.option("--json", "as_json", is_flag=True)
def asset_history(name: str, root: Path, as_json: bool) -> None:
    """Every version of NAME, oldest first."""
    from reskin.assets.library import Library

    with Library(root / ".reskin") as lib:
        _print_assets(lib.history(name), as_json)


@asset.command("tag")
@click.argument("ref")
@click.argument("tags", nargs=-1, required=True)
@click.option("--remove", is_flag=True, help="Remove the tags instead.")
@_SERIES
def asset_tag(ref: str, tags: tuple[str, ...], remove: bool, root: Path) -> None:
    """Tag an asset version (NAME@V; NAME means the latest)."""
    from reskin.assets.library import Library

    with Library(root / ".reskin") as lib:
        rec = lib.untag(ref, *tags) if remove else lib.tag(ref, *tags)
    click.echo(f"{rec.ref}: {', '.join(rec.tags) or '(no tags)'}")


@asset.command("search")
@click.argument("text")
@_SERIES
@click.option("--json", "as_json", is_flag=True)
def asset_search(text: str, root: Path, as_json: bool) -> None:
    """Find assets by name, tag, kind, license, author or prompt text."""
    from reskin.assets.library import Library

    with Library(root / ".reskin") as lib:
        _print_assets(lib.search(text), as_json)


@asset.command("rm")
@click.argument("ref")
@_SERIES
def asset_rm(ref: str, root: Path) -> None:
    """Remove NAME@V, unless another asset or a locked episode depends on it."""
    from reskin.assets.library import Library

    with Library(root / ".reskin") as lib:
        rec = lib.remove(ref)
    click.echo(f"removed {rec.ref} (its blobs go at the next `reskin asset gc`)")


@asset.command("fsck")
@click.option("--repair", is_flag=True, help="Move corrupt blobs and stray files to quarantine/.")
@_SERIES
def asset_fsck(repair: bool, root: Path) -> None:
    """Verify every blob's hash and every reference in the library."""
    from reskin.assets.fsck import fsck
    from reskin.assets.library import Library

    with Library(root / ".reskin") as lib:
        report = fsck(lib, repair=repair)
    for err in report.errors:
        click.echo(f"error: {err}")
    for path in report.quarantined:
        click.echo(f"quarantined: {path}")
    click.echo(f"{report.assets_checked} assets, {report.blobs_checked} blobs checked: "
               f"{len(report.errors)} errors, {len(report.garbage)} unreferenced files"
               + (" (run `reskin asset gc`)" if report.garbage else ""))
    if not report.clean:
        sys.exit(1)


@asset.command("gc")
@click.option("--grace", type=float, default=3600.0, show_default=True,
              help="Keep unreferenced files younger than this many seconds.")
@click.option("--dry-run", is_flag=True)
@_SERIES
def asset_gc(grace: float, dry_run: bool, root: Path) -> None:
    """Delete blobs no asset references (and temp files left by interrupted writes)."""
    from reskin.assets.fsck import gc
    from reskin.assets.library import Library

    with Library(root / ".reskin") as lib:
        removed, freed = gc(lib, grace_seconds=grace, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {len(removed)} files, {freed} bytes")


@asset.command("pack")
@click.argument("refs", nargs=-1, required=True)
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path))
@_SERIES
def asset_pack(refs: tuple[str, ...], out: Path, root: Path) -> None:
    """Write assets and their whole lineage to a pack file (zip with a manifest)."""
    from reskin.assets.library import Library
    from reskin.assets.packs import pack

    with Library(root / ".reskin") as lib:
        packed = pack(lib, list(refs), out)
    click.echo(f"packed {len(packed)} asset versions to {out}")


@asset.command("unpack")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@_SERIES
def asset_unpack(path: Path, root: Path) -> None:
    """Add the assets of a pack file to this library (every hash is checked first)."""
    from reskin.assets.library import Library
    from reskin.assets.packs import unpack

    with Library(root / ".reskin") as lib:
        added = unpack(lib, path)
    for src, here in added:
        click.echo(f"{src} -> {here}")


class _DefaultCommandGroup(click.Group):
    """A group whose first argument may be a subcommand or, failing that, the default's."""

    default = "run"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [self.default, *args]
        return super().parse_args(ctx, args)


@main.group("reskin", cls=_DefaultCommandGroup)
def reskin_group() -> None:
    """Re-skin characters for an episode, or draw a continuity sheet.

    \b
    reskin reskin CHARACTER --episode EP -s SERIES   one character's skin for EP
    reskin reskin --episode EP -s SERIES             the whole cast's skins for EP
    reskin reskin sheet CHARACTER -s SERIES -o FILE  base and every skin side by side
    """


@reskin_group.command("run")
@click.argument("character", required=False)
@click.option("--episode", "-e", required=True, help="The episode whose wardrobe to apply.")
@click.option("--series", "-s", "root", type=click.Path(file_okay=False, path_type=Path),
              default=".", help="The series folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the skins made as JSON.")
def reskin_run(character: str | None, episode: str, root: Path, as_json: bool) -> None:
    """Make CHARACTER's skin for EPISODE (the whole cast without CHARACTER); cached if unchanged."""
    from reskin.reskin_jobs.runner import reskin_episode

    rows = reskin_episode(root, episode, [character] if character else None,
                          log=_log(as_json))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['character']} {r['episode']}: {r['skin']} "
                   f"({'made' if r['made'] else 'cached'})")


@reskin_group.command("sheet")
@click.argument("character")
@click.option("--series", "-s", "root", type=click.Path(file_okay=False, path_type=Path),
              default=".", help="The series folder.")
@click.option("--output", "-o", "out", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="PNG file to write.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def reskin_sheet(character: str, root: Path, out: Path, as_json: bool) -> None:
    """Continuity sheet: CHARACTER's base and every episode's skin, plus difference heat maps."""
    from reskin.reskin_jobs.continuity import continuity_sheet

    result = continuity_sheet(root, character, out, log=_log(as_json))
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for ep, share in result["confined"].items():
        click.echo(f"{ep}: {share:.1%} of the changed pixels lie in wardrobe regions")
    click.echo(f"continuity sheet: {result['file']}")


if __name__ == "__main__":
    main()
