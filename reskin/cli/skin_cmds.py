"""`reskin skin ...`: per-episode skins and continuity sheets (`reskin reskin` is a hidden,
deprecated alias)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reskin.cli import _SERIES, _log, main

_EPISODE_FLAGS = ("-e", "--episode")


class _SkinGroup(click.Group):
    """`reskin skin CHARACTER -e EP` is short for `reskin skin make CHARACTER -e EP`.

    A first argument that is not a subcommand is a character. One that is (a character named
    ``sheet``) is still read as a character when the rest only makes sense for `make` (an
    episode is given, which `sheet` does not take); `make NAME` always works.
    """

    default = "make"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in ("-h", "--help") and (
            args[0] not in self.commands
            or (args[0] != self.default and _names_episode(args[1:]))
        ):
            args = [self.default, *args]
        elif not args:
            args = [self.default]
        return super().parse_args(ctx, args)


def _names_episode(args: list[str]) -> bool:
    return any(a in _EPISODE_FLAGS or a.startswith("--episode=") or
               (a.startswith("-e") and len(a) > 2) for a in args)


_HELP = """\b
reskin skin CHARACTER -e EP -s SERIES        one character's skin for EP
reskin skin -e EP -s SERIES                  the whole cast's skins for EP
reskin skin make CHARACTER -e EP -s SERIES   the same (for a character named like a command)
reskin skin sheet CHARACTER -s SERIES -o F   base and every skin side by side
"""


@main.group("skin", cls=_SkinGroup, help="Make characters' skins for an episode, or draw a "
            "continuity sheet.\n\n" + _HELP)
def skin_group() -> None:
    pass


@main.group("reskin", cls=_SkinGroup, hidden=True,
            help="Deprecated: the old name of `reskin skin`.")
def reskin_alias() -> None:
    click.echo("reskin: warning: `reskin reskin` is deprecated; use `reskin skin` "
               "(same arguments)", err=True)


@click.command("make")
@click.argument("character", required=False)
@click.option("--episode", "-e", required=True, help="The episode whose wardrobe to apply.")
@_SERIES
@click.option("--json", "as_json", is_flag=True, help="Print the skins made as JSON.")
def skin_make(character: str | None, episode: str, root: Path, as_json: bool) -> None:
    """Make CHARACTER's skin for EPISODE (the whole cast without CHARACTER); cached if unchanged.

    \b
    Examples:
      reskin skin make mira -e ep03 -s my-series
    """
    from reskin.pipeline.skin_runner import reskin_episode

    rows = reskin_episode(root, episode, [character] if character else None,
                          log=_log(as_json))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        worn = "; ".join(f"{g['name']} ({g['bind']}, {g['penetration_m'] * 1000:.1f} mm into "
                         "the body at worst)" for g in r["garments"])
        click.echo(f"{r['character']} {r['episode']}: {r['skin']} "
                   f"({'made' if r['made'] else 'cached'})" + (f", wearing {worn}" if worn else ""))


@click.command("sheet")
@click.argument("character")
@_SERIES
@click.option("--output", "-o", "out", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="PNG file to write.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def skin_sheet(character: str, root: Path, out: Path, as_json: bool) -> None:
    """Continuity sheet: CHARACTER's base and every episode's skin, plus difference heat maps.

    \b
    Examples:
      reskin skin sheet mira -s my-series -o mira.png
    """
    from reskin.pipeline.continuity import continuity_sheet

    result = continuity_sheet(root, character, out, log=_log(as_json))
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for ep, share in result["confined"].items():
        click.echo(f"{ep}: {share:.1%} of the changed pixels lie in wardrobe regions")
    click.echo(f"continuity sheet: {result['file']}")


for _group in (skin_group, reskin_alias):
    _group.add_command(skin_make)
    _group.add_command(skin_sheet)
