"""The review site's pages as HTML text (:mod:`reskin.pipeline.review_site` gathers and writes).

Hand-written, small HTML with one stylesheet (``review.css``) and one script (``review.js``,
the notes form of a served site); every link is relative to the page that holds it.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reskin.pipeline.review_site import EpisodeEntry, ReviewSite, ShotEntry

STATES = {"cached": "cached", "render": "renders next build", "resume": "resumes next build",
          "unknown": "unknown"}


def relative(target: str, page: str) -> str:
    """The link from site page ``page`` to site file ``target`` (both relative to the site)."""
    return PurePosixPath(os.path.relpath(target, PurePosixPath(page).parent)).as_posix()


def _page(site: ReviewSite, path: str, title: str, body: str, crumbs: list[tuple[str, str]]
          ) -> str:
    """A whole page at site path ``path``; ``crumbs``: (label, site path) above its title."""
    nav = " / ".join(f'<a href="{escape(relative(p, path))}">{escape(label)}</a>'
                     for label, p in crumbs)
    served = " data-served" if site.served else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} - {escape(site.series)} review</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{relative("review.css", path)}">
</head>
<body{served}>
<nav>{nav}</nav>
<h1>{escape(title)}</h1>
{body}
<script src="{relative("review.js", path)}"></script>
</body>
</html>
"""


def _link(target: str | None, page: str, label: str) -> str:
    if target is None:
        return escape(label)
    return f'<a href="{escape(relative(target, page))}">{escape(label)}</a>'


def _img(target: str, page: str, alt: str, cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<img{c} src="{escape(relative(target, page))}" alt="{escape(alt)}">'


def _asset_link(ref: str, page: str) -> str:
    return f'<a href="{escape(relative("assets.html", page))}#{escape(ref)}">{escape(ref)}</a>'


def index_page(site: ReviewSite) -> str:
    """The series: its episodes (built or not), its characters' continuity sheets."""
    page = "index.html"
    rows = []
    for e in site.episodes:
        rendered = sum(1 for s in e.shots if s.page)
        state = "built" if e.built else "not rendered yet"
        notes = sum(len(s.notes) for s in e.shots)
        rows.append(f"<tr><td>{_link(e.page, page, e.id)}</td><td>{escape(e.title)}</td>"
                    f'<td class="{"ok" if e.built else "todo"}">{state}</td>'
                    f"<td>{rendered} of {len(e.shots)}</td><td>{notes}</td></tr>")
    error = (f'<p class="error">Cache states unknown: {escape(site.state_error)}</p>'
             if site.state_error else "")
    chars = []
    for name, sheet in site.characters.items():
        shown = _img(sheet, page, f"{name}'s continuity sheet", "sheet") if sheet else (
            f'<p class="todo">no continuity sheet yet (<code>reskin skin sheet {escape(name)} '
            f"-o out/continuity/{escape(name)}.png</code>)</p>")
        chars.append(f'<section class="character"><h3 id="{escape(name)}">{escape(name)}</h3>'
                     f"{shown}</section>")
    body = (f"{error}<h2>Episodes</h2><table><tr><th>episode</th><th>title</th><th>state</th>"
            f"<th>shots rendered</th><th>notes</th></tr>{''.join(rows)}</table>"
            f"<h2>Characters</h2>{''.join(chars) or '<p>no cast</p>'}"
            f"<h2>Assets</h2><p>{_link('assets.html', page, 'Provenance of every asset used')}"
            "</p>")
    return _page(site, page, site.series, body, [])


def episode_page(site: ReviewSite, e: EpisodeEntry) -> str:
    """An episode: its video, storyboard or contact sheet, shot list and assets."""
    page = e.page
    parts = []
    if not e.built:
        parts.append(f'<p class="todo">{escape(e.id)} is not rendered yet '
                     f"(<code>reskin build -e {escape(e.id)}</code>).</p>")
    if e.video:
        parts.append(f'<video controls preload="metadata" '
                     f'src="{escape(relative(e.video, page))}"></video>')
    for label, img in (("Storyboard", e.storyboard), ("Contact sheet", e.sheet)):
        if img:
            parts.append(f"<h2>{label}</h2>{_img(img, page, f'{e.id} {label.lower()}', 'sheet')}")
    rows = []
    for s in e.shots:
        nxt = ", ".join(_link(_target(site, e, n), page, n) for n in s.next) or "-"
        last = escape(s.last_why) if s.last_why else ("-" if not s.page else "not recorded")
        rows.append(
            f"<tr><td>{_link(s.page, page, s.id)}</td>"
            f"<td>{s.frames or 'not rendered yet'}</td>"
            f'<td class="state-{escape(s.state)}">{STATES.get(s.state, escape(s.state))}</td>'
            f"<td>{escape(s.why_now)}</td><td>{last}</td><td>{nxt}</td>"
            f"<td>{len(s.notes)}</td></tr>")
    parts.append("<h2>Shots</h2><table><tr><th>shot</th><th>frames</th><th>cache</th>"
                 "<th>why (next build)</th><th>why it last rendered</th><th>then</th>"
                 f"<th>notes</th></tr>{''.join(rows)}</table>")
    if e.assets:
        rows = [f"<tr><td>{_asset_link(a['ref'], page)}</td><td>{escape(a['kind'])}</td>"
                f"<td>{escape(a['license'])}</td><td>{escape(a.get('author') or '-')}</td>"
                f"<td>{escape(a['used_as'])}</td></tr>" for a in e.assets]
        credits = f"<p>{_link(e.credits, page, 'Credits')}</p>" if e.credits else ""
        parts.append("<h2>Assets</h2><table><tr><th>asset</th><th>kind</th><th>licence</th>"
                     f"<th>author</th><th>used as</th></tr>{''.join(rows)}</table>{credits}")
    title = f"{e.id}: {e.title}"
    return _page(site, page, title, "".join(parts), [(site.series, "index.html")])


def _target(site: ReviewSite, e: EpisodeEntry, node: str) -> str | None:
    """The page of a flow target (``shot`` or ``epNN#shot``), None when it has none."""
    other, _, shot = node.rpartition("#")
    ep = next((x for x in site.episodes if x.id == (other or e.id)), None)
    found = ep and next((s for s in ep.shots if s.id == shot), None)
    return found.page if found else None


def _strip(title: str, images: list[tuple[int, str]], page: str) -> str:
    if not images:
        return ""
    figs = "".join(f"<figure>{_img(img, page, f'{title} frame {i}')}"
                   f"<figcaption>frame {i}</figcaption></figure>" for i, img in images)
    return f'<h2>{escape(title)}</h2><div class="strip">{figs}</div>'


def shot_page(site: ReviewSite, e: EpisodeEntry, s: ShotEntry) -> str:
    """A shot: its video, frames (styled and beauty), passes, why it rendered, and notes."""
    page = s.page or ""
    parts = [f"<p>{s.frames} frames; cast: {escape(', '.join(s.cast) or '-')}; cache: "
             f"{STATES.get(s.state, escape(s.state))} ({escape(s.why_now)}); last rendered "
             f"because: {escape(s.last_why or 'not recorded')}</p>"]
    parts += [f'<p class="line"><b>{escape(who)}</b>: {escape(text)}</p>' for who, text in s.lines]
    if s.video:
        parts.append(f'<video controls preload="metadata" '
                     f'src="{escape(relative(s.video, page))}"></video>')
    parts.append(_strip("Frames (stylized, as published)", s.styled, page))
    parts.append(_strip("Beauty (as rendered)", s.beauty, page))
    if s.passes:
        rows = "".join(f"<tr><th>frame {i}</th>" + "".join(
            f"<td>{_img(img, page, f'{name} pass, frame {i}')}</td>"
            for name, img in imgs.items()) + "</tr>" for i, imgs in s.passes)
        names = "".join(f"<th>{escape(n)}</th>" for n in s.passes[0][1])
        parts.append(f'<h2>Passes</h2><table class="passes"><tr><th></th>{names}</tr>{rows}'
                     "</table>")
    notes = "".join(f'<li><time>{escape(n.get("time", ""))}</time> {escape(n["note"])}</li>'
                    for n in s.notes)
    parts.append(
        f'<h2>Notes</h2><ul id="notes">{notes}</ul>'
        f'<p class="static-only">Notes are added on the served site '
        f"(<code>reskin review --serve</code>) and kept in review/notes.yaml.</p>"
        f'<form id="note-form" data-episode="{escape(e.id)}" data-shot="{escape(s.id)}">'
        '<textarea id="note" name="note" rows="3" placeholder="A note on this shot">'
        '</textarea><button id="note-save" type="submit">Save note</button>'
        '<span id="note-status"></span></form>')
    return _page(site, page, f"{e.id} / {s.id}", "".join(parts),
                 [(site.series, "index.html"), (e.id, e.page)])


def asset_page(site: ReviewSite) -> str:
    """Every asset the built episodes used: provenance and lineage (parents link here)."""
    page = "assets.html"
    parts = []
    for ref, a in site.assets.items():
        parents = ", ".join(_asset_link(p, page) for p in a.get("parents", [])) or "-"
        used = ", ".join(_link(f"{ep}/index.html", page, ep) for ep in a["episodes"])
        inherited = "" if a.get("own_license", True) else " (from its sources)"
        fields = [("kind", escape(f"{a['kind']} v{a['version']}")),
                  ("licence", escape(a["license"] + inherited)),
                  ("author", escape(a.get("author") or "-")),
                  ("source", escape(a.get("source") or "-")),
                  ("generator", escape(a.get("generator") or "-")),
                  ("made from", parents), ("created", escape(a.get("created") or "-")),
                  ("content hash", f"<code>{escape(a['content_hash'])}</code>"),
                  ("used in", f"{used} ({escape(a['used_as'])})")]
        dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in fields)
        parts.append(f'<section class="asset" id="{escape(ref)}"><h2>{escape(ref)}</h2>'
                     f"<dl>{dl}</dl></section>")
    body = "".join(parts) or '<p class="todo">No episode is built yet: no assets used.</p>'
    return _page(site, page, "Assets", body, [(site.series, "index.html")])
