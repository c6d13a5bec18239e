"""`reskin rig ...` and `reskin clip ...`: rigging characters once, and their motion clips."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reskin.cli import _SERIES, main
from reskin.core.errors import ReskinError


def _size(text: str) -> tuple[int, int]:
    w, sep, h = text.lower().partition("x")
    if not (sep and w.isdigit() and h.isdigit()) or not (
            16 <= int(w) <= 4096 and 16 <= int(h) <= 4096) or int(w) % 2 or int(h) % 2:
        raise ReskinError(f"expected WxH with even numbers from 16 to 4096 (e.g. 360x640), "
                          f"got {text!r}", field="--size")
    return int(w), int(h)


class _UnnamedContext(click.Context):
    @property
    def command_path(self) -> str:
        return super().command_path.rstrip()  # the hidden command's own name is ""


class _RigGroup(click.Group):
    """`reskin rig NAME [OPTIONS]` rigs NAME; `reskin rig preview ...` is a subcommand.

    Anything that is not a subcommand goes to the hidden command :data:`DEFAULT`, whose name
    can never be an asset name (those start with a letter or digit), so NAME stays positional.
    """

    DEFAULT = "_rig"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [self.DEFAULT, *args]
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        name, cmd, rest = super().resolve_command(ctx, args)
        # Usage and errors of the hidden command read "reskin rig NAME", not "reskin rig _rig".
        return ("" if name == self.DEFAULT else name), cmd, rest

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # `reskin rig -h` documents the rigging options too, not only the subcommands.
        self.commands[self.DEFAULT].format_options(ctx, formatter)
        self.format_commands(ctx, formatter)


@main.group(cls=_RigGroup, options_metavar="",
            subcommand_metavar="NAME [OPTIONS] | preview NAME --clip C -o FILE")
def rig() -> None:
    """Rig character NAME once: fit the skeleton, bind skin weights, store a new version.

    The new version's parent is the version rigged (NAME means the latest). A character that
    is already rigged keeps its weights unless --recompute-weights; --skeleton FILE moves
    joints by hand (a YAML mapping such as `leftHand: [0.71, 1.42, 0.02]`, metres).

    \b
    Examples:
      reskin rig hero -s my-series --skeleton fixes.yaml
      reskin rig preview hero --clip walk -o walk.mp4 -s my-series
    """


@rig.command(_RigGroup.DEFAULT, hidden=True)
@click.argument("name")
@_SERIES
@click.option("--skeleton", "skeleton_file", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML of joint name -> [x, y, z] (metres) correcting fitted joints.")
@click.option("--recompute-weights", is_flag=True,
              help="Compute new weights even if the character already has some.")
@click.option("--influences", type=click.Choice(["4", "8"]),
              help="Joints per vertex (default 4, glTF's limit; or the existing rig's).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the result (with each fitted joint's confidence) as JSON.")
def rig_character(name: str, root: Path, skeleton_file: Path | None, recompute_weights: bool,
                  influences: str | None, as_json: bool) -> None:
    """Rig character NAME (see `reskin rig -h`)."""
    from reskin.assets.library import Library
    from reskin.rigging.rig_job import rig_asset

    with Library(root / ".reskin") as lib:
        result = rig_asset(lib, name, skeleton_file=skeleton_file,
                           recompute_weights=recompute_weights,
                           influences=int(influences) if influences else None)
    rec = result.record
    for line in result.warnings:
        click.echo(f"warning: {line}", err=True)
    if as_json:
        click.echo(json.dumps({
            "ref": rec.ref, "parents": list(rec.parents), "made": result.made,
            "skeleton": result.skeleton, "weights": result.weights,
            "influences": rec.provenance.get("influences"),
            "overridden": list(result.overridden), "joint_confidence": result.confidence,
            "warnings": list(result.warnings)}, indent=2))
        return
    if not result.made:
        click.echo(f"{rec.ref} already holds this rig (nothing to change; see --skeleton, "
                   "--recompute-weights, --influences)")
        return
    n = len(result.overridden)
    moved = f", {n} joint{'s' * (n != 1)} moved by {skeleton_file}" if n else ""
    if result.skeleton == "given":
        moved = f" by {skeleton_file}"
    click.echo(f"rigged {rec.ref} <- {', '.join(rec.parents)}: skeleton {result.skeleton}"
               f"{moved}, weights {result.weights} ({rec.provenance['influences']} per vertex)")
    if result.confidence:
        c = result.confidence
        least = min(c, key=lambda n: c[n])
        click.echo(f"joint confidence: mean {sum(c.values()) / len(c):.2f}, lowest {least} "
                   f"{c[least]:.2f}")


rig_character.context_class = _UnnamedContext


@rig.command("preview")
@click.argument("name")
@click.option("--clip", "clip_name", required=True,
              help="A procedural clip (idle, wave, nod) or a clip asset (NAME or NAME@V).")
@click.option("-o", "--output", "out", required=True,
              type=click.Path(dir_okay=False, path_type=Path), help="The MP4 to write.")
@_SERIES
@click.option("--frames", type=click.IntRange(min=1), help="Draw at most this many frames.")
@click.option("--size", default="360x640", show_default=True, help="Video size WxH in pixels.")
def rig_preview(name: str, clip_name: str, out: Path, root: Path, frames: int | None,
                size: str) -> None:
    """Draw rigged character NAME playing clip C with the preview rasterizer, as an MP4.

    \b
    Examples:
      reskin rig preview hero --clip walk -o walk.mp4 -s my-series
    """
    from reskin.assets.library import Library
    from reskin.render.rig_preview import load_rig, render_clip_preview
    from reskin.rigging.clip_assets import clip_for_character

    if out.suffix.lower() != ".mp4":
        raise ReskinError("the preview is written as MP4; name a FILE.mp4", file=out)
    width, height = _size(size)
    with Library(root / ".reskin") as lib:
        rig_ = load_rig(lib, lib.get(name))
        clip = clip_for_character(lib, clip_name, rig_.skeleton)
    report = render_clip_preview(rig_, clip, out, frames=frames, size=(width, height))
    click.echo(f"wrote {report['frames']} frames at {report['fps']} fps of {rig_.record.ref} "
               f"playing {clip_name} to {out}")


@main.group()
def clip() -> None:
    """Motion clips in the library (BVH imports), reusable by every character.

    \b
    Examples:
      reskin clip import walk.bvh --name walk -s my-series
      reskin clip list -s my-series
    """


@clip.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Clip asset name (a new version if it exists).")
@_SERIES
@click.option("--license", "license_", help="SPDX license id, e.g. CC-BY-4.0.")
@click.option("--author")
def clip_import(path: Path, name: str, root: Path, license_: str | None,
                author: str | None) -> None:
    """Import a BVH file as a clip on the canonical skeleton (retargeted to each character
    when used).

    \b
    Examples:
      reskin clip import walk.bvh --name walk -s my-series
    """
    from reskin.assets.library import Library
    from reskin.rigging.clip_assets import import_bvh_clip

    with Library(root / ".reskin") as lib:
        rec, made = import_bvh_clip(lib, path, name, license=license_, author=author)
    m = rec.meta
    verb = "imported" if made else "already imported as"
    click.echo(f"{verb} {rec.ref} ({m['frames']} frames at {m['fps']:g} fps, "
               f"{m['duration']:.2f} s, {m['convention']} names, {m['joints']} joints)")


@clip.command("list")
@_SERIES
@click.option("--json", "as_json", is_flag=True)
def clip_list(root: Path, as_json: bool) -> None:
    """List the clip assets in the library (and the procedural clips every character has).

    \b
    Examples:
      reskin clip list -s my-series --json
    """
    from reskin.assets.library import Library
    from reskin.rigging.procedural_clips import PROCEDURAL_CLIPS

    with Library(root / ".reskin") as lib:
        records = lib.list("clip")
    if as_json:
        click.echo(json.dumps([{"ref": r.ref, "frames": r.meta.get("frames"),
                                "fps": r.meta.get("fps"), "duration": r.meta.get("duration"),
                                "convention": r.meta.get("convention"),
                                "source": r.provenance.get("source"),
                                "license": r.provenance.get("license"),
                                "author": r.provenance.get("author"), "created": r.created}
                               for r in records], indent=2))
        return
    for r in records:
        m = r.meta
        lic = f"  {r.provenance['license']}" if r.provenance.get("license") else ""
        click.echo(f"{r.ref:<24} {m.get('frames', '?'):>6} frames {m.get('fps', 0):>6g} fps "
                   f"{m.get('duration', 0):>7.2f} s  {m.get('convention', '?')}{lic}")
    click.echo(f"procedural (every character): {', '.join(PROCEDURAL_CLIPS)}")
