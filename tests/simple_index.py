"""A real PEP 503 simple index on 127.0.0.1 for tests: hand-made wheels (a
wheel is a zip with METADATA, WHEEL and RECORD), served behind HTTP basic auth,
every request recorded with whether it carried the right credentials."""

from __future__ import annotations

import base64
import hashlib
import http.server
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


def make_wheel(folder: Path, name: str, version: str) -> Path:
    """A pure-Python `py3-none-any` wheel of one module, byte-for-byte reproducible."""
    module = name.replace("-", "_")
    dist = f"{module}-{version}"
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n",
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = [f"{path},sha256={_digest(text)},{len(text.encode())}" for path, text in files.items()]
    files[f"{dist}.dist-info/RECORD"] = "\n".join([*record, f"{dist}.dist-info/RECORD,,"]) + "\n"
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(zipfile.ZipInfo(member, (2020, 1, 1, 0, 0, 0)), text)
    return path


def _digest(text: str) -> str:
    raw = hashlib.sha256(text.encode()).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class SimpleIndex:
    url: str  # .../simple, without credentials
    wheels: dict[str, Path]  # project name -> wheel file
    requests: list[tuple[str, bool]] = field(default_factory=list)  # (path, authorised)

    def fetched(self, project: str) -> bool:
        """Whether an authorised client downloaded `project`'s wheel."""
        name = self.wheels[project].name
        return (f"/files/{name}", True) in self.requests


@contextmanager
def serve_index(
    folder: Path, projects: dict[str, str], *, user: str, password: str
) -> Iterator[SimpleIndex]:
    """Serve `projects` (name -> version) at http://127.0.0.1:PORT/simple/."""
    folder.mkdir(parents=True, exist_ok=True)
    wheels = {name: make_wheel(folder, name, version) for name, version in projects.items()}
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    index = SimpleIndex("", wheels)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def _answer(self, *, body: bool) -> None:
            authorised = self.headers.get("Authorization") == expected
            index.requests.append((self.path, authorised))
            if not authorised:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="index"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            found = self._content()
            if found is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data, kind = found
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)

        def _content(self) -> tuple[bytes, str] | None:
            path = self.path.split("?", 1)[0]
            for name, wheel in wheels.items():
                if path.rstrip("/") == f"/simple/{name}":
                    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
                    link = f'<a href="/files/{wheel.name}#sha256={digest}">{wheel.name}</a>'
                    return f"<html><body>{link}</body></html>".encode(), "text/html"
                if path == f"/files/{wheel.name}":
                    return wheel.read_bytes(), "application/octet-stream"
            return None

        def log_message(self, format: str, *args: object) -> None:
            pass  # requests are recorded in `index.requests`

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    index.url = f"http://127.0.0.1:{server.server_address[1]}/simple"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield index
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
