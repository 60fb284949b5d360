"""A local stand-in for Twilio SendGrid's v3 mail send API
(``POST /v3/mail/send``): records each request and answers as SendGrid
documents it (202 with an ``X-Message-Id`` header and no body; errors as
``{"errors": [{"message", "field", "help"}]}``)."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_KEY = "SG.fake-key.fake-secret"


def error(status: int, message: str, field_name: str | None = None) -> tuple:
    return status, {"errors": [{"message": message, "field": field_name, "help": None}]}


@dataclass
class FakeSendGrid:
    """``script``: answers (status, payload) for the next POSTs, in order;
    "hold": the request is held until ``release`` is set; once empty, 202."""

    script: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    accepted: list = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, payload: dict | None, headers=()):
                data = json.dumps(payload).encode() if payload is not None else b""
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                try:
                    self.end_headers()
                    self.wfile.write(data)
                except BrokenPipeError:
                    pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"null")
                with fake.lock:
                    fake.requests.append(
                        {
                            "path": self.path,
                            "json": body,
                            "auth": self.headers.get("Authorization", ""),
                            "content_type": self.headers.get("Content-Type", ""),
                        }
                    )
                    answer = fake.script.pop(0) if fake.script else None
                if answer == "hold":
                    fake.release.wait(60)
                    answer = None
                if self.path != "/v3/mail/send":
                    self._answer(*error(404, "not found"))
                elif answer is None:
                    message_id = uuid.uuid4().hex[:22]
                    with fake.lock:
                        fake.accepted.append(message_id)
                    self._answer(202, None, [("X-Message-Id", message_id)])
                else:
                    self._answer(*answer)

        return Handler

    def start(self) -> FakeSendGrid:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, args=(0.05,), daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
