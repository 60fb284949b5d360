"""``manage.py runserver`` that says ``Connection: close`` when it closes.

Django's development server closes the connection after a request that asked
for it (``Connection: close``) but does not answer with the header. HTTP/1.1
clients that keep connections alive by default (Node 19 and later, under
node-fetch v2 which sends ``Connection: close``) then reuse the closed socket and
fail every second request with ECONNRESET. This runserver answers the header
whenever the connection will be closed; everything else is Django's (static files
included). Listed before ``django.contrib.staticfiles`` so this command wins.
"""

from __future__ import annotations

from django.contrib.staticfiles.management.commands.runserver import (
    Command as StaticfilesRunserver,
)
from django.core.servers import basehttp


class ServerHandler(basehttp.ServerHandler):
    def cleanup_headers(self):
        super().cleanup_headers()
        if self.request_handler.close_connection:
            self.headers["Connection"] = "close"


class WSGIRequestHandler(basehttp.WSGIRequestHandler):
    def handle_one_request(self):
        # Django's own, with the ServerHandler above.
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = ""
            self.request_version = ""
            self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = ServerHandler(
            self.rfile, self.wfile, self.get_stderr(), self.get_environ()
        )
        handler.request_handler = self
        handler.run(self.server.get_app())


class WSGIServer(basehttp.WSGIServer):
    def __init__(self, server_address, _handler_class, *args, **kwargs):
        super().__init__(server_address, WSGIRequestHandler, *args, **kwargs)


class Command(StaticfilesRunserver):
    server_cls = WSGIServer
