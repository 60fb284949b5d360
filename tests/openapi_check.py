"""Hold real answers against /openapi.json, strictly (tests/auth_org/test_openapi.py,
tests/receivers/test_sep_openapi.py).

OpenAPI 3.0's ``nullable`` becomes JSON Schema's null type, and every object
schema that lists its properties allows no other: a missing required field, an
extra field, a wrong type or an unexpected null each fail.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker

# jsonschema checks these two only with optional packages: checked here.
FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    """RFC 3339: a date, a time and a zone (Z or an offset)."""
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return "T" in value and parsed.tzinfo is not None


@FORMATS.checks("uri")
def _uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc)


def strict(node: Any) -> Any:
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: strict(value) for key, value in node.items()}
    if node.get("type") == "object" and "properties" in node:
        node.setdefault("additionalProperties", False)
    if node.pop("nullable", False):
        if "enum" in node and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        return {"anyOf": [node, {"type": "null"}]}
    return node


class OpenAPI:
    def __init__(self, document: dict[str, Any]):
        self.document = document
        self.components = strict(copy.deepcopy(document.get("components", {})))
        self.templates = [
            (re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$"), path)
            for path in document["paths"]
        ]
        # (METHOD, template, status) of every answer checked
        self.checked: set[tuple[str, str, int]] = set()

    def template(self, path: str) -> str:
        path = path.split("?")[0].rstrip("/") or "/"
        # literal paths first (/receivers/verification-types before /receivers/{id})
        matches = [t for regex, t in self.templates if regex.match(path)]
        assert matches, f"{path} is not in /openapi.json"
        return min(matches, key=lambda t: t.count("{"))

    def operation(self, method: str, path: str) -> dict[str, Any]:
        template = self.template(path)
        operation = self.document["paths"][template].get(method.lower())
        assert operation, f"{method} {template} is not in /openapi.json"
        return operation

    def validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        return Draft202012Validator(
            {**strict(schema), "components": self.components},
            format_checker=FORMATS,
        )

    def check_body(self, schema: dict[str, Any], body: Any, where: str) -> None:
        errors = sorted(
            self.validator(schema).iter_errors(body), key=lambda e: list(e.path)
        )
        assert not errors, f"{where}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
            for e in errors[:5]
        )

    def check_response(self, method: str, path: str, response) -> None:
        operation = self.operation(method, path)
        status = response.status_code
        where = f"{method} {path} -> {status}"
        documented = operation["responses"]
        answer = documented.get(str(status)) or documented.get(f"{status // 100}XX")
        assert answer is not None, f"{where}: status not documented"
        content = answer.get("content")
        if not content:
            assert status == 204, where
            assert not response.content, where
        else:
            media = response["Content-Type"].split(";")[0]
            if media == "application/json":
                assert "application/json" in content, f"{where}: not JSON per doc"
                body = json.loads(response.content)
                self.check_body(content["application/json"]["schema"], body, where)
            else:
                assert any(
                    media == key or (key.endswith("/*") and media.startswith(key[:-1]))
                    for key in content
                ), f"{where}: {media} not among {list(content)}"
        self.checked.add((method.upper(), self.template(path), status))

    def check_request(self, method: str, path: str, media: str, body: Any) -> None:
        """A request the dashboard sends is one the document describes."""
        operation = self.operation(method, path)
        content = operation.get("requestBody", {}).get("content", {})
        assert media in content, f"{method} {path}: {media} not among {list(content)}"
        self.check_body(content[media]["schema"], body, f"{method} {path} body")
