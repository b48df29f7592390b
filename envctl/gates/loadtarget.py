"""The trivial server the load generator is calibrated against: any GET or POST
answers 200 with `{}` at once, over keep-alive HTTP/1.1. Standard library only:
it is copied into a container of the stage's image and run by its Python.

`python loadtarget.py PORT`
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The head and the body go out as two writes: with Nagle's algorithm the second
    # waits for the client's delayed ACK (40 ms on Linux), which is no server's cost.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer()

    def _answer(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:  # the base's names
        pass  # one line per request would be the largest cost of a trivial server


if __name__ == "__main__":
    ThreadingHTTPServer.daemon_threads = True
    # The default backlog (5) drops connections a burst opens at once, and a dropped
    # SYN is retried after a second: the generator would be blamed for it.
    ThreadingHTTPServer.request_queue_size = 1024
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Answer).serve_forever()
