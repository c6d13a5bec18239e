"""``reskin review``: a static review site of a series, or the same served with a notes form."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reskin.cli import _find_series, _log, main


@main.command()
@click.argument("series", type=click.Path(file_okay=False, path_type=Path), default=".",
                callback=_find_series)
@click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="The folder to write (default: out/review in the series). An earlier "
                   "review site there is refreshed; any other non-empty folder is refused.")
@click.option("--serve", is_flag=True,
              help="Serve the site on 127.0.0.1 until Ctrl-C, with a notes form on each shot "
                   "page; notes are appended to review/notes.yaml in the series.")
@click.option("--port", type=click.IntRange(0, 65535),
              help="With --serve: the port (default 8765; 0 picks a free one).")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
def review(series: Path, out_dir: Path | None, serve: bool, port: int | None,
           as_json: bool) -> None:
    """Write SERIES's review site: an index of its episodes; per episode its video,
    storyboard or contact sheet, shot list (cache state, why each shot last rendered) and
    the provenance of its assets; per shot its frames, beauty and depth/normal/motion passes
    and notes; the characters' continuity sheets (out/continuity/NAME.png) where they exist.

    Everything is copied into the folder, linked relatively: it opens from disk or any web
    server. An episode not built yet is listed as not rendered yet.

    \b
    Examples:
      reskin review my-series -o review-site
      reskin review my-series --serve --port 8080
    """
    from reskin.pipeline.review_site import write_review_site

    if not serve and port is not None:
        raise click.UsageError("--port needs --serve")
    site = write_review_site(series, out_dir, served=serve)
    server = None
    if serve:
        from reskin.pipeline.review_server import ReviewServer

        server = ReviewServer(series, site.folder, site.shot_ids(),
                              8765 if port is None else port)
    if as_json:
        click.echo(json.dumps(site.summary() | ({"url": server.url} if server else {}),
                              indent=2, ensure_ascii=False))
    else:
        built = sum(e.built for e in site.episodes)
        click.echo(f"review site of {site.series!r}: {len(site.episodes)} episodes "
                   f"({built} built) -> {site.index}")
        if site.state_error:
            _log(False)(f"warning: cache states unknown: {site.state_error}")
    if server is None:
        return
    with server:
        # stderr, flushed: whoever started it (a person, a test) reads the address from here
        click.echo(f"reskin: serving {server.url} (Ctrl-C stops)", err=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            click.echo("reskin: stopped", err=True)
