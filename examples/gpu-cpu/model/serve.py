"""The moons classifier as a web API, standard library only besides torch.

    python serve.py --port 8000

GET /health answers {"status": "ok"}; POST /predict takes {"instances": [[x, y], ...]}
and answers {"labels": [0 or 1, ...]}.
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from net import load, predict

NET = load()
MAX_INSTANCES = 1000


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/health":
            self._answer(200, {"status": "ok"})
        else:
            self._answer(404, {"detail": "not found"})

    def do_POST(self) -> None:
        if self.path != "/predict":
            self._answer(404, {"detail": "not found"})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            instances = json.loads(self.rfile.read(length))["instances"]
            if not 0 < len(instances) <= MAX_INSTANCES or any(len(i) != 2 for i in instances):
                raise ValueError("instances: 1 to 1000 points of 2 numbers")
            self._answer(200, {"labels": predict(NET, instances)})
        except (ValueError, KeyError, TypeError) as exc:
            self._answer(422, {"detail": str(exc)})

    def _answer(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
