"""Registry of dashboard routes for the role-matrix and tenant-isolation suites.

Each app registers its routes in ``tests/<app>/api_routes.py`` (found automatically,
no shared file to edit)::

    from auth_org.permissions import BIZ, OWNER_FC
    from tests.api_matrix import Route, register, register_object

    @register_object("disbursement")
    def make_disbursement(organization, user) -> str:
        return str(DisbursementFactory(organization=organization).pk)

    register(
        Route("GET", "disbursements", BIZ, "read:disbursements"),
        Route("GET", "disbursements/{disbursement}", BIZ, "read:disbursements"),
        Route(
            "PATCH",
            "disbursements/{disbursement}/status",
            {"owner", "financial_controller", "approver"},
            "write:disbursements",
            body={"status": "STARTED"},
        ),
    )

- ``path`` has no leading slash; ``{name}`` is filled with the id returned by the
  object maker registered under ``name`` (made in the caller's organization for the
  role matrix, in another organization for the isolation suite).
- ``roles``: the roles allowed (anything else must get 403).
- ``key_permission``: the API-key permission the route needs, or None when keys
  are refused.
- ``body``: a dict, or a callable ``(ids) -> dict`` given the object ids; sent as JSON
  (``multipart=True`` sends it as form fields, and an ``Upload`` value as a file:
  a fresh one for every request). Objects named only in the body are listed in
  ``body_objects`` so the isolation suite covers them too.

The role matrix checks that an allowed role is neither 401 nor 403 (the request may
still be refused for its content) and that every other role gets 403. The isolation
suite checks that a user, and an API key, of organization A get 404 for every route
whose path (or ``body_objects``) names an object of organization B, and that a list
route (``lists``) shows A's object of each listed kind (made by the maker for A's
user, so it must be visible with the route's default filters) and never B's.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from auth_org.models import Organization, User

_PLACEHOLDER = re.compile(r"{(\w+)}")

ObjectMaker = Callable[[Organization, User], str]


@dataclass(frozen=True)
class Upload:
    """A file field of a multipart body."""

    name: str
    content: bytes
    content_type: str = "text/csv"

    def open(self) -> SimpleUploadedFile:
        # A file object is read once: each request gets its own.
        return SimpleUploadedFile(self.name, self.content, self.content_type)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    roles: Iterable[str]
    key_permission: str | None
    body: dict[str, Any] | Callable[[dict[str, str]], dict[str, Any]] | None = None
    multipart: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    # Objects named in the body rather than the path (e.g. {"user_id": ...}).
    body_objects: tuple[str, ...] = ()
    # Object kinds a list route returns: another organization's must not appear.
    lists: tuple[str, ...] = ()

    @property
    def objects(self) -> list[str]:
        return [*_PLACEHOLDER.findall(self.path), *self.body_objects]

    @property
    def id(self) -> str:
        kind = " (multipart)" if self.multipart else ""
        return f"{self.method} /{self.path}{kind}"

    def url(self, ids: dict[str, str]) -> str:
        return "/" + _PLACEHOLDER.sub(lambda m: ids[m.group(1)], self.path)

    def payload(self, ids: dict[str, str]) -> dict[str, Any] | None:
        return self.body(ids) if callable(self.body) else self.body


ROUTES: list[Route] = []
OBJECTS: dict[str, ObjectMaker] = {}


def register(*routes: Route) -> None:
    ROUTES.extend(routes)


def register_object(name: str) -> Callable[[ObjectMaker], ObjectMaker]:
    def decorator(maker: ObjectMaker) -> ObjectMaker:
        OBJECTS[name] = maker
        return maker

    return decorator


def make_objects(route: Route, organization: Organization, user: User) -> dict:
    return {name: OBJECTS[name](organization, user) for name in route.objects}


def call(client, route: Route, ids: dict[str, str], **headers: str):
    """Send the route's request as the dashboard does (JSON, or multipart)."""
    method = getattr(client, route.method.lower())
    payload = route.payload(ids)
    kwargs: dict[str, Any] = {**route.headers, **headers}
    if payload is None:
        return method(route.url(ids), **kwargs)
    if route.multipart:
        fields = {
            name: value.open() if isinstance(value, Upload) else value
            for name, value in payload.items()
        }
        if route.method == "POST":  # the test client encodes a POST's form itself
            return method(route.url(ids), fields, **kwargs)
        return method(
            route.url(ids),
            encode_multipart(BOUNDARY, fields),
            content_type=MULTIPART_CONTENT,
            **kwargs,
        )
    return method(route.url(ids), payload, content_type="application/json", **kwargs)


def load_routes() -> list[Route]:
    """Import every ``tests/<app>/api_routes.py`` once."""
    tests_dir = Path(__file__).resolve().parent
    for module in pkgutil.iter_modules([str(tests_dir)]):
        if module.ispkg and (tests_dir / module.name / "api_routes.py").exists():
            importlib.import_module(f"tests.{module.name}.api_routes")
    return ROUTES
