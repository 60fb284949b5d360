"""What the fake providers (Twilio, SendGrid) share: their HTTP server on a free
loopback port, started and stopped."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Self


class ServedFake:
    """A fake provider's server; the fake gives ``handler()`` and a ``release``
    event (set at stop, so a held request lets go)."""

    server: ThreadingHTTPServer
    release: threading.Event

    def handler(self) -> type:
        raise NotImplementedError

    def start(self) -> Self:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.server.daemon_threads = True
        # A 50 ms poll: shutdown() returns at once (the default 0.5 s per fake
        # adds up over a test session).
        threading.Thread(
            target=self.server.serve_forever, args=(0.05,), daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
