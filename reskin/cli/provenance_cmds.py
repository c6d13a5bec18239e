"""`reskin provenance ...`: what an episode used and under which licences, checking a
published file's labels and C2PA manifest, and a local test signing key."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reskin.cli import _SERIES, main


class _ProvenanceGroup(click.Group):
    """`reskin provenance EP -s SERIES` is short for `reskin provenance show EP -s SERIES`."""

    default = "show"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in ("-h", "--help") and args[0] not in self.commands:
            args = [self.default, *args]
        return super().parse_args(ctx, args)


_HELP = """\b
reskin provenance EP -s SERIES [--json]   every asset EP used, with licence, author, source
reskin provenance check FILE [--json]     a published MP4/PNG: AIGC label and C2PA manifest
reskin provenance keygen DIR              a local, untrusted test key and certificate
"""


@main.group("provenance", cls=_ProvenanceGroup,
            help="AI-content labels, C2PA manifests, licences and credits.\n\n" + _HELP)
def provenance_group() -> None:
    pass


@provenance_group.command("show")
@click.argument("episode")
@_SERIES
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(episode: str, root: Path, as_json: bool) -> None:
    """Every asset a published EPISODE used, transitively (skins, their characters and
    imports, props, clips, styles), with version, licence, author and source.

    \b
    Examples:
      reskin provenance ep01 -s my-series
      reskin provenance show ep01 -s my-series --json
    """
    from reskin.pipeline.provenance import episode_report
    from reskin.scenes.series import load_series

    report = episode_report(load_series(root), episode)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    click.echo(f"{report['series']} - {report['episode']} ({report['content_id']})")
    for a in report["assets"]:
        inherited = "" if a["own_license"] else " (from its sources)"
        click.echo(f"  {a['ref']:<28} {a['kind']:<9} v{a['version']:<3} "
                   f"{a['license']}{inherited}  author: {a['author'] or '-'}  "
                   f"source: {a['source'] or '-'}  [{a['used_as']}]")
    click.echo(f"credits: {report['credits']}")


@provenance_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--trust", type=click.Path(dir_okay=False, path_type=Path),
              help="PEM trust anchors (e.g. the test CA from `keygen`) to verify against.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def check(file: Path, trust: Path | None, as_json: bool) -> None:
    """Read FILE's AIGC metadata and verify its C2PA manifest; exit 1 when a manifest is
    there but does not verify (the file changed after signing, or a bad signature).

    \b
    Examples:
      reskin provenance check out/ep01/ep01.mp4
      reskin provenance check out/ep01/ep01_sheet.png --trust keys/test-ca.pem --json
    """
    from reskin.pipeline.c2pa_sign import verify
    from reskin.render.aigc_meta import read_aigc

    aigc = read_aigc(file)
    result = verify(file, trust=trust)
    if as_json:
        click.echo(json.dumps({"file": str(file), "aigc": aigc} | {"c2pa": result.to_dict()},
                              indent=2, ensure_ascii=False))
    else:
        click.echo(f"{file}")
        click.echo("  AIGC label: " + (json.dumps(aigc, ensure_ascii=False) if aigc else
                                       "none (no implicit AI-content label)"))
        if not result.has_manifest:
            click.echo("  C2PA: no manifest")
        elif result.ok:
            trust_note = ("signer trusted" if result.trusted else
                          "signer NOT on a trust list (a test certificate, or pass --trust)")
            click.echo(f"  C2PA: verified ({result.state}; {trust_note})")
        else:
            click.echo(f"  C2PA: verification FAILED ({', '.join(result.failures) or 'invalid'})")
        if result.manifest:
            for line in _claims(result.manifest):
                click.echo("    " + line)
    if result.has_manifest and not result.ok:
        raise SystemExit(1)


def _claims(manifest: dict) -> list[str]:
    """Readable lines of a manifest: signer, actions and ingredients."""
    sig = manifest.get("signature_info") or {}
    lines = [f"signed by: {sig.get('common_name', '?')} ({sig.get('issuer', '?')})"]
    for assertion in manifest.get("assertions", []):
        if assertion.get("label", "").startswith("c2pa.actions"):
            for a in assertion.get("data", {}).get("actions", []):
                source = a.get("digitalSourceType", "").rsplit("/", 1)[-1]
                lines.append(f"action: {a.get('action')}"
                             f"{' [' + source + ']' if source else ''}"
                             f" {a.get('description', '')}".rstrip())
    for ing in manifest.get("ingredients", []):
        meta = ing.get("metadata") or {}
        lines.append(f"ingredient: {ing.get('title')} {meta.get('reskin:contentHash', '')[:16]}"
                     f" {meta.get('reskin:license', '')}".rstrip())
    return lines


@provenance_group.command("keygen")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def keygen(folder: Path) -> None:
    """Make a local TEST signing key and certificate chain in FOLDER. Nobody trusts them:
    files signed with them verify, but read as untrusted; use the studio's own certificate
    for delivery.

    \b
    Examples:
      reskin provenance keygen my-series/keys
    """
    from reskin.pipeline.c2pa_sign import make_test_keys

    keys = make_test_keys(folder)
    click.echo(f"wrote {keys.cert}, {keys.key} (private) and {keys.ca}")
    click.echo("UNTRUSTED: a self-made test CA signed this certificate; no platform or "
               "verifier trusts it. Use it for tests only.")
    click.echo("series.yaml:\n  signing:\n"
               f"    cert: {keys.cert}\n    key: {keys.key}\n    trust: {keys.ca}")
