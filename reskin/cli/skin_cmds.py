"""`reskin reskin ...`: per-episode skins and continuity sheets."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reskin.cli import _log, main


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


@reskin_group.command("sheet")
@click.argument("character")
@click.option("--series", "-s", "root", type=click.Path(file_okay=False, path_type=Path),
              default=".", help="The series folder.")
@click.option("--output", "-o", "out", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="PNG file to write.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def reskin_sheet(character: str, root: Path, out: Path, as_json: bool) -> None:
    """Continuity sheet: CHARACTER's base and every episode's skin, plus difference heat maps."""
    from reskin.pipeline.continuity import continuity_sheet

    result = continuity_sheet(root, character, out, log=_log(as_json))
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for ep, share in result["confined"].items():
        click.echo(f"{ep}: {share:.1%} of the changed pixels lie in wardrobe regions")
    click.echo(f"continuity sheet: {result['file']}")
