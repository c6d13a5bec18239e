"""``reskin review --serve``: the review site on localhost, with the notes form working.

Python's own ``http.server`` serves the site's folder (one thread per request); two routes are
added: ``GET /api/notes?episode=EP&shot=S`` (that shot's notes) and ``POST /api/notes`` with
``{"episode", "shot", "note"}`` (appended to ``review/notes.yaml`` by
:func:`reskin.pipeline.review_notes.add_note`, which holds the lock). Bad input gets a 400 with
``{"error": "..."}``; it binds to 127.0.0.1 only.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from reskin.core.errors import ReskinError

API = "/api/notes"
MAX_BODY = 64 * 1024


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files from the site's folder, plus the notes API."""

    def __init__(self, *args, series: Path, shots: frozenset[tuple[str, str]], **kwargs):
        self.series, self.shots = series, shots
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args) -> None:  # noqa: A002, ANN002
        return None  # a request per image: too chatty for a terminal

    def _json(self, status: int, data: dict) -> None:
        body = json.dumps(data, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _notes(self, episode: str, shot: str) -> dict:
        from reskin.pipeline.review_notes import load_notes, shot_notes

        return {"notes": shot_notes(load_notes(self.series), episode, shot)}

    def _shot(self, episode: object, shot: object) -> tuple[str, str]:
        if not (isinstance(episode, str) and isinstance(shot, str)) or \
                (episode, shot) not in self.shots:
            raise ReskinError(f"no shot {episode!r}/{shot!r} in this series")
        return str(episode), str(shot)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        url = urlsplit(self.path)
        if url.path != API:
            return super().do_GET()
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        try:
            self._json(200, self._notes(*self._shot(query.get("episode"), query.get("shot"))))
        except ReskinError as exc:
            self._json(400, {"error": exc.one_line()})

    def do_POST(self) -> None:  # noqa: N802
        from reskin.pipeline.review_notes import add_note

        if urlsplit(self.path).path != API:
            return self._json(404, {"error": "not found"})
        try:
            size = int(self.headers.get("Content-Length") or 0)
            if not 0 < size <= MAX_BODY:
                raise ReskinError(f"a note is sent as 1 to {MAX_BODY} bytes of JSON")
            try:
                data = json.loads(self.rfile.read(size))
            except (ValueError, UnicodeDecodeError):
                raise ReskinError("not JSON") from None
            if not isinstance(data, dict) or not isinstance(data.get("note"), str):
                raise ReskinError('expected {"episode", "shot", "note"}')
            episode, shot = self._shot(data.get("episode"), data.get("shot"))
            entry = add_note(self.series, episode, shot, data["note"])
            self._json(200, {"saved": entry} | self._notes(episode, shot))
        except ReskinError as exc:
            self._json(400, {"error": exc.one_line()})


class ReviewServer:
    """The site in ``folder`` served on 127.0.0.1:``port`` (0: a free one), notes going to the
    series at ``series``; ``shots``: the (episode, shot) pairs a note may be on.

    A context manager: ``with ReviewServer(...) as srv: srv.serve_forever()``, or
    ``srv.start()`` to serve from a thread (tests); leaving it stops and closes it.
    """

    def __init__(self, series: str | Path, folder: str | Path,
                 shots: set[tuple[str, str]], port: int = 0):
        handler = functools.partial(_Handler, directory=str(folder), series=Path(series),
                                    shots=frozenset(shots))
        try:
            self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError as exc:
            raise ReskinError(f"cannot listen on port {port} ({exc.strerror}); choose another "
                              "with --port, or 0 for a free one", field="--port") from None
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/index.html"

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def start(self) -> ReviewServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
        self.httpd.server_close()

    def __enter__(self) -> ReviewServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
