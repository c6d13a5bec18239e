"""`reskin asset ...`: the asset library."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from reskin.cli import _SERIES, main


@main.group()
def asset() -> None:
    """Browse the asset library of a series.

    \b
    Examples:
      reskin asset list -s my-series
      reskin asset show lamp -s my-series
    """


@asset.command("list")
@_SERIES
@click.option("--kind", help="Only assets of this kind.")
@click.option("--tag", help="Only versions with this tag.")
@click.option("--json", "as_json", is_flag=True)
def asset_list(root: Path, kind: str | None, tag: str | None, as_json: bool) -> None:
    """List every asset version in the library.

    \b
    Examples:
      reskin asset list --kind skin -s my-series
    """
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
@_SERIES
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The PNG to write.")
@click.option("--kind", help="Only assets of this kind.")
@click.option("--all-versions", is_flag=True, help="Every version, not only the latest.")
def asset_sheet(root: Path, out: Path, kind: str | None, all_versions: bool) -> None:
    """Draw a contact sheet of the library's thumbnails (drawn once per version, cached).

    \b
    Examples:
      reskin asset sheet -s my-series -o library.png
    """
    from reskin.assets.library import Library
    from reskin.render.thumbnails import library_sheet

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
@_SERIES
@click.option("--json", "as_json", is_flag=True)
def asset_show(ref: str, root: Path, as_json: bool) -> None:
    """Show an asset (NAME, NAME@latest or NAME@V) and its whole lineage.

    \b
    Examples:
      reskin asset show mira@latest -s my-series
    """
    from reskin.assets.library import Library

    with Library(root / ".reskin") as lib:
        lineage = lib.lineage(lib.get(ref))
        face = _face(lib, lineage[0])
    if as_json:
        rows = [{"ref": r.ref, "kind": r.kind, "meta": r.meta, "provenance": r.provenance,
                 "blobs": r.blobs} for r in lineage]
        if face is not None:
            rows[0]["face"] = face
        click.echo(json.dumps(rows, indent=2))
        return
    for depth, r in enumerate(lineage):
        pad = "  " * depth
        click.echo(f"{pad}{r.ref} ({r.kind}, {r.created})")
        for k, v in sorted(r.provenance.items()):
            if k != "parents":
                click.echo(f"{pad}  {k}: {v}")
        for finding in r.provenance.get("validation", []):
            if finding.get("severity") == "warning":
                click.echo(f"{pad}  warning: {finding['message']}")
    if face is not None:
        have = len(face["channels"]) - len(face["missing"])
        conv = ", ".join(face["conventions"]) or "no naming convention"
        click.echo(f"face: {have} channels, {face['visemes']}/15 visemes ({conv})")
        for c, v in face["channels"].items():
            click.echo(f"  {c:<10} {v['source']}")


def _face(lib, record) -> dict | None:
    """The canonical face of an asset's ``model.glb``, read from the GLB's JSON chunk only;
    None without a model.glb, or for a non-character with no face channel at all."""
    if "model.glb" not in record.blobs:
        return None
    from reskin.assets.gltf.glb import split_glb
    from reskin.rigging.face_names import gltf_face_map

    text, _ = split_glb(lib.read_blob(record.blobs["model.glb"]))
    face = gltf_face_map(json.loads(text)).to_json()
    if record.kind != "character" and len(face["missing"]) == len(face["channels"]):
        return None
    return face


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
    """Import a GLB/glTF, VRM, OBJ(+MTL), PLY, STL or FBX file as a new asset version.

    The file is validated first; a fatal problem refuses it with one line and leaves the library
    untouched. Repairs and the normalisation (metres, +Y up, feet at the origin) are recorded.
    FBX files (Mixamo, Character Creator, Rocketbox, ...) are converted to GLB by Blender's own
    FBX importer first (joints, weights, shape keys, takes and textures kept); the asset's
    provenance names the FBX and the Blender version.

    \b
    Examples:
      reskin asset import model.glb --name lamp --kind prop --license CC-BY-4.0 -s my-series
      reskin asset import hero.fbx --name hero --license LicenseRef-studio -s my-series
    """
    from reskin.assets.importer import ImportOptions, import_file
    from reskin.pipeline.foreign import import_foreign, is_foreign

    opts = ImportOptions(kind=kind, license=license_, author=author, prompt=prompt, seed=seed,
                         generator=generator, unit=unit, up=up, tags=tags,
                         allow_missing=allow_missing)
    if is_foreign(path):  # through a Blender worker
        rec, report = import_foreign(root / ".reskin", path, name, opts)
    else:
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
    """Export an asset version (NAME, NAME@V) as GLB or USD (UsdSkel for rigged ones).

    \b
    Examples:
      reskin asset export mira@2 -o mira.glb -s my-series
    """
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
    """Every version of NAME, oldest first.

    \b
    Examples:
      reskin asset history mira -s my-series
    """
    from reskin.assets.library import Library

    with Library(root / ".reskin") as lib:
        _print_assets(lib.history(name), as_json)


@asset.command("tag")
@click.argument("ref")
@click.argument("tags", nargs=-1, required=True)
@click.option("--remove", is_flag=True, help="Remove the tags instead.")
@_SERIES
def asset_tag(ref: str, tags: tuple[str, ...], remove: bool, root: Path) -> None:
    """Tag an asset version (NAME@V; NAME means the latest).

    \b
    Examples:
      reskin asset tag lamp@2 approved -s my-series
    """
    from reskin.assets.library import Library

    with Library(root / ".reskin") as lib:
        rec = lib.untag(ref, *tags) if remove else lib.tag(ref, *tags)
    click.echo(f"{rec.ref}: {', '.join(rec.tags) or '(no tags)'}")


@asset.command("search")
@click.argument("text")
@_SERIES
@click.option("--json", "as_json", is_flag=True)
def asset_search(text: str, root: Path, as_json: bool) -> None:
    """Find assets by name, tag, kind, license, author or prompt text.

    \b
    Examples:
      reskin asset search lamp -s my-series --json
    """
    from reskin.assets.library import Library

    with Library(root / ".reskin") as lib:
        _print_assets(lib.search(text), as_json)


@asset.command("rm")
@click.argument("ref")
@_SERIES
def asset_rm(ref: str, root: Path) -> None:
    """Remove NAME@V, unless another asset or a locked episode depends on it.

    \b
    Examples:
      reskin asset rm lamp@1 -s my-series
    """
    from reskin.assets.library import Library

    with Library(root / ".reskin") as lib:
        rec = lib.remove(ref)
    click.echo(f"removed {rec.ref} (its blobs go at the next `reskin asset gc`)")


@asset.command("fsck")
@click.option("--repair", is_flag=True, help="Move corrupt blobs and stray files to quarantine/.")
@_SERIES
def asset_fsck(repair: bool, root: Path) -> None:
    """Verify every blob's hash and every reference in the library.

    \b
    Examples:
      reskin asset fsck -s my-series --repair
    """
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
    """Delete blobs no asset references (and temp files left by interrupted writes).

    \b
    Examples:
      reskin asset gc -s my-series --dry-run
    """
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
    """Write assets and their whole lineage to a pack file (zip with a manifest).

    \b
    Examples:
      reskin asset pack mira@2 lamp -o cast.zip -s my-series
    """
    from reskin.assets.library import Library
    from reskin.assets.packs import pack

    with Library(root / ".reskin") as lib:
        packed = pack(lib, list(refs), out)
    click.echo(f"packed {len(packed)} asset versions to {out}")


@asset.command("unpack")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@_SERIES
def asset_unpack(path: Path, root: Path) -> None:
    """Add the assets of a pack file to this library (every hash is checked first).

    \b
    Examples:
      reskin asset unpack cast.zip -s my-series
    """
    from reskin.assets.library import Library
    from reskin.assets.packs import unpack

    with Library(root / ".reskin") as lib:
        added = unpack(lib, path)
    for src, here in added:
        click.echo(f"{src} -> {here}")
