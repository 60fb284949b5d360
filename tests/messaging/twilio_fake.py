"""A local stand-in for Twilio's Messages API that records each request and
answers with Twilio's documented payloads (success, 429 and error 21211)."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from django.utils import timezone

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "fake-auth-token"
SERVICE_SID = "MG" + "1" * 32


def error_payload(status: int, code: int, message: str) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


TOO_MANY_REQUESTS = (429, error_payload(429, 20429, "Too Many Requests"))


def invalid_number(number: str) -> tuple[int, dict]:
    return 400, error_payload(
        400, 21211, f"The 'To' number {number} is not a valid phone number."
    )


@dataclass
class FakeTwilio:
    """``script``: answers for the next POSTs, in order; once empty, success.
    An answer is (status, payload), or "hold" / "accept_then_hold": the request
    is held until ``release`` is set (accepted first, or not)."""

    script: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    accepted: list = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def posts(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST"]

    def accept(self, form: dict) -> dict:
        now = timezone.now()
        sid = "SM" + uuid.uuid4().hex
        resource = {
            "account_sid": ACCOUNT_SID,
            "api_version": "2010-04-01",
            "body": form.get("Body", ""),
            "date_created": format_datetime(now),
            "date_sent": None,
            "date_updated": format_datetime(now),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if form.get("MessagingServiceSid") else "queued",
            "subresource_uris": {
                "media": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media.json"
            },
            "to": form.get("To"),
            "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
        }
        with self.lock:
            self.accepted.append(resource)
        return resource

    def handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _answer(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                try:
                    self.end_headers()
                    self.wfile.write(data)
                except BrokenPipeError:
                    pass  # the client (a killed worker) is gone

            def do_GET(self):
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                with fake.lock:
                    fake.requests.append(
                        {"method": "GET", "path": parts.path, "query": query}
                    )
                    found = [
                        m
                        for m in reversed(fake.accepted)
                        if "To" not in query or m["to"] == query["To"]
                    ]
                self._answer(
                    200,
                    {
                        "messages": found,
                        "end": max(len(found) - 1, 0),
                        "first_page_uri": parts.path,
                        "next_page_uri": None,
                        "page": 0,
                        "page_size": int(query.get("PageSize", 50)),
                        "previous_page_uri": None,
                        "start": 0,
                        "uri": self.path,
                    },
                )

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                with fake.lock:
                    fake.requests.append(
                        {
                            "method": "POST",
                            "path": self.path,
                            "form": form,
                            "auth": self.headers.get("Authorization", ""),
                        }
                    )
                    answer = fake.script.pop(0) if fake.script else None
                if answer == "accept_then_hold":
                    resource = fake.accept(form)
                    fake.received.set()
                    fake.release.wait(60)
                    self._answer(201, resource)
                    return
                if answer == "hold":
                    fake.received.set()
                    fake.release.wait(60)
                    self._answer(*TOO_MANY_REQUESTS)
                    return
                fake.received.set()
                if answer is None:
                    self._answer(201, fake.accept(form))
                else:
                    self._answer(*answer)

        return Handler

    def start(self) -> FakeTwilio:
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
