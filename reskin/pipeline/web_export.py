"""``reskin export web``: an episode as a static, offline web package that plays its branches.

The package is a folder: ``index.html`` (the flow graph embedded, so it opens from file://),
the hand-written player (``player.js``, ``player.css``, from ``reskin/data/web``), the shot
MP4s as published by the build (``shots/``), one WebVTT file per shot (``subs/``) and the
graph as ``graph.json``. Only the shots some path from the first shot reaches are packed; a
``goto`` into another episode packs that episode's shots from there on (named ``epNN#shot``),
so playback goes on into it along its own flow.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from reskin.core.errors import ReskinError
from reskin.scenes.branches import check_episode, graph_json
from reskin.scenes.episode import Episode, load_episode

WEB_DATA = Path(__file__).resolve().parents[1] / "data" / "web"
Cue = tuple[float, float, str]
"""(start s, end s, text) within a shot."""


@dataclass
class WebPackage:
    folder: str
    index: str
    shots: list[str]
    """Node ids packed, in the order first reached (``epNN#shot`` for another episode's)."""
    warnings: list[str]


def _seconds(stamp: str) -> float:
    h, m, rest = stamp.replace(",", ".").split(":")
    return int(h) * 3600 + int(m) * 60 + float(rest)


def read_srt(text: str) -> list[Cue]:
    """SubRip text -> cues (start s, end s, text: its lines joined by a newline)."""
    cues = []
    for block in re.split(r"\n\s*\n", text.strip()):
        rows = block.splitlines()
        times = next((i for i, r in enumerate(rows) if "-->" in r), None)
        if times is None:
            continue
        a, b = (s.strip() for s in rows[times].split("-->"))
        cues.append((_seconds(a), _seconds(b), "\n".join(rows[times + 1:])))
    return cues


def to_vtt(cues: list[Cue]) -> str:
    """Cues (start s, end s, text) -> WebVTT text."""
    from reskin.scenes.subtitles import timestamp

    out = ["WEBVTT", ""]
    for n, (a, b, text) in enumerate(cues, start=1):
        out += [str(n), f"{timestamp(a, '.')} --> {timestamp(b, '.')}", text, ""]
    return "\n".join(out)


@dataclass
class _Published:
    """One published episode: its shots' MP4s, frame counts and subtitle cues per shot."""

    folder: Path
    videos: dict[str, Path]
    cues: dict[str, list[Cue]]


def _published(out_root: Path, episode: str) -> _Published:
    folder = out_root / episode
    plans_path = folder / ".plans.json"
    try:
        plans = json.loads(plans_path.read_text())
    except (OSError, ValueError):
        raise ReskinError(f"{episode} is not built yet (run `reskin build -e {episode}` first)",
                          file=plans_path) from None
    srt = folder / f"{episode}.srt"
    cues = read_srt(srt.read_text()) if srt.exists() else []
    videos, per_shot, t = {}, {}, 0.0
    # the episode's SRT is on its timeline: shots one after the other in file order
    for shot, entry in plans.items():
        plan = entry["plan"]
        length = plan["frame_count"] / plan["fps"]
        per_shot[shot] = [(max(a - t, 0.0), min(b, t + length) - t, text)
                          for a, b, text in cues if t - 1e-6 <= a < t + length - 1e-6]
        videos[shot] = folder / shot / f"{shot}.mp4"
        t += length
    return _Published(folder, videos, per_shot)


def _file_name(node: str) -> str:
    return node.replace("#", "--")


def _qualified(node: str, owner: str, home: str) -> str:
    """A flow target of episode ``owner`` as the package of episode ``home`` names it: a plain
    shot id for ``home``'s shots, ``epNN#shot`` for another episode's."""
    other, _, shot = node.rpartition("#")
    episode = other or owner
    return shot if episode == home else f"{episode}#{shot}"


def _nodes(graph: dict, home: str) -> dict[str, dict]:
    """``graph``'s nodes keyed and linked by the names the package of ``home`` gives them."""
    owner = graph["episode"]
    out = {}
    for n in graph["nodes"]:
        node = dict(n, id=_qualified(n["id"], owner, home),
                    next=[_qualified(t, owner, home) for t in n["next"]])
        if "choice" in n:
            node["choice"] = dict(n["choice"], options=[
                dict(o, goto=_qualified(o["goto"], owner, home)) for o in n["choice"]["options"]])
        out[node["id"]] = node
    return out


def _reachable(start: str, nodes: dict[str, dict], graph_of) -> list[str]:  # noqa: ANN001
    """The node ids reachable from ``start``, in the order first reached. A node of another
    episode brings that episode's flow in (``graph_of(episode)`` -> its nodes, named as in
    :func:`_nodes`), so playback goes on there after a cross-episode ``goto``."""
    order, todo, loaded = [], [start], set()
    while todo:
        node = todo.pop(0)
        if node in order:
            continue
        other = node.rpartition("#")[0]
        if node not in nodes and other and other not in loaded:
            loaded.add(other)
            nodes |= {k: v for k, v in graph_of(other).items() if k not in nodes}
        order.append(node)
        todo += nodes[node]["next"] if node in nodes else []
    return order


def export_web(root: str | Path, episode: str, out_dir: str | Path, *,
               publish_root: str | Path | None = None) -> WebPackage:
    """Write the web package of ``episode`` of the series at ``root`` into ``out_dir`` (made or
    replaced) from what the build published (``publish_root``, default ``root/out``)."""
    from reskin.core.atomic import write_text_atomic
    from reskin.scenes.series import load_series

    root = Path(root)
    series = load_series(root)
    path = root / "episodes" / f"{episode}.yaml"
    if not path.exists():
        known = ", ".join(series.episode_ids()) or "none"
        raise ReskinError(f"no episode {episode!r} (episodes: {known})",
                          file=root / "episodes")
    from reskin.pipeline.inputs import load_cast

    cast = set(load_cast(series))
    ep: Episode = load_episode(path, cast, root=root)
    warnings = check_episode(ep)
    graph = graph_json(ep, warnings)
    out_root = Path(publish_root) if publish_root is not None else series.out_dir
    published = {episode: _published(out_root, episode)}
    nodes = _nodes(graph, episode)

    def graph_of(other: str) -> dict[str, dict]:
        found = load_episode(root / "episodes" / f"{other}.yaml", cast, root=root)
        return _nodes(graph_json(found, []), episode)

    order = _reachable(graph["start"], nodes, graph_of)
    out = Path(out_dir)
    shutil.rmtree(out / "shots", ignore_errors=True)
    shutil.rmtree(out / "subs", ignore_errors=True)
    (out / "shots").mkdir(parents=True, exist_ok=True)
    (out / "subs").mkdir(parents=True, exist_ok=True)
    packed = []
    for node in order:
        other, _, shot = node.rpartition("#")
        source_ep = other or episode
        if source_ep not in published:
            published[source_ep] = _published(out_root, source_ep)
        pub = published[source_ep]
        video = pub.videos.get(shot)
        if video is None or not video.exists():
            raise ReskinError(f"shot {node!r} has no published video (run `reskin build -e "
                              f"{source_ep}` first)", file=video or pub.folder)
        name = _file_name(node)
        shutil.copyfile(video, out / "shots" / f"{name}.mp4")
        cues = pub.cues.get(shot, [])
        write_text_atomic(out / "subs" / f"{name}.vtt", to_vtt(cues))
        entry = nodes.setdefault(node, {"id": node, "duration": None, "next": []})
        entry |= {"video": f"shots/{name}.mp4", "subtitles": f"subs/{name}.vtt",
                  "cues": [{"start": a, "end": b, "text": t} for a, b, t in cues]}
        packed.append(node)
    graph["nodes"] = [nodes[n] for n in packed]
    graph |= {"title": ep.title, "series": series.name,
              "size": [series.width, series.height]}
    data = json.dumps(graph, indent=1, ensure_ascii=False)
    write_text_atomic(out / "graph.json", data)
    for asset in ("player.js", "player.css"):
        shutil.copyfile(WEB_DATA / asset, out / asset)
    page = (WEB_DATA / "index.html").read_text()
    # "</" cannot end the embedding script early: JSON allows "<\/"
    page = page.replace("{{title}}", html.escape(f"{series.name} - {ep.title}"))
    page = page.replace("{{graph}}", data.replace("</", "<\\/"))
    write_text_atomic(out / "index.html", page)
    return WebPackage(folder=str(out), index=str(out / "index.html"), shots=packed,
                      warnings=warnings)
