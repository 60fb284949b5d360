"""The dashboard's Circle routes: PATCH /organization/circle-config and
GET /balances (Circle tenants only; a Stellar tenant gets SDP's 400)."""

from __future__ import annotations

from typing import cast

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auth_org import circle_config, schemas
from auth_org.models import Organization, User
from auth_org.permissions import ALL, OWNER
from core.apidoc import Message, answers, json_body
from core.middleware import client_ip


class CircleConfigView(APIView):
    roles = {"PATCH": OWNER}
    api_key_permissions = {"PATCH": "write:organization"}

    @extend_schema(
        request=json_body(schemas.CircleConfigInput, text_plain=True),
        responses=answers(Message),
    )
    def patch(self, request: Request) -> Response:
        serializer = schemas.CircleConfigInput(
            data=request.data if isinstance(request.data, dict) else {}
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = cast(User, request.user)
        circle_config.configure(
            cast(Organization, user.organization),
            wallet_id=data.get("wallet_id", "").strip(),
            api_key=data.get("api_key", "").strip(),
            actor=user,
            ip=client_ip(request._request),
        )
        return Response({"message": "Circle configuration updated"})


class BalancesView(APIView):
    roles = ALL
    api_key_permissions = "read:all"

    @extend_schema(responses=answers(schemas.CircleBalances))
    def get(self, request: Request) -> Response:
        user = cast(User, request.user)
        return Response(
            circle_config.balances_json(cast(Organization, user.organization))
        )
