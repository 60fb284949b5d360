"""Reads of receivers for the dashboard.

Payment figures (counters, received amounts) live a layer above: the receivers'
JSON that shows them is written in disbursements.receivers_api.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from auth_org.models import Organization
from core.ids import prefix_range
from core.listing import date_range, ordering, statuses
from core.params import DATES, PAGING, QueryParams, search, sorting, status
from receivers.models import Receiver, ReceiverWallet

RECEIVER_SORTS = {"created_at": "created_at", "updated_at": "updated_at"}
# What the receivers list and its export accept (SDP 6.5's receiver query
# validator); what receivers_for() reads.
RECEIVER_PARAMS = QueryParams(
    PAGING,
    status(
        ReceiverWallet.Status.values, "Only receivers with a wallet in these statuses"
    ),
    search(
        "the start of the receiver's id, or text in its external id, phone"
        " number or email"
    ),
    DATES,
    sorting(RECEIVER_SORTS, "updated_at"),
)


def receivers_for(organization: Organization, params) -> QuerySet[Receiver]:
    queryset = Receiver.objects.filter(organization=organization)
    if values := statuses(params, ReceiverWallet.Status.values):
        queryset = queryset.filter(
            pk__in=ReceiverWallet.objects.filter(
                organization=organization, status__in=values
            ).values("receiver_id")
        )
    if q := params.get("q"):
        match = (
            Q(external_id__icontains=q)
            | Q(phone_number__icontains=q)
            | Q(email__icontains=q)
        )
        # SDP matches part of an id (r.id ILIKE); here its start, as a range
        # of the primary key.
        if (keys := prefix_range(q)) is not None:
            match |= Q(pk__range=keys)
        queryset = queryset.filter(match)
    queryset = date_range(queryset, params)
    return queryset.order_by(*ordering(params, RECEIVER_SORTS, "updated_at"))


def registration_contact_kinds(sep24_transaction) -> list[str]:
    """Which contact the registration page asks for ("phone", "email"), the one
    to show first at the front: the contacts that receivers waiting at this
    wallet provider have (their disbursement's registration contact type put
    them there). Says nothing about any one receiver. With none waiting, both,
    phone first, so the page does not tell that nobody is expected."""
    wallet_rules = {
        "wallets__status": ReceiverWallet.Status.READY,
        "wallets__wallet__enabled": True,
        "wallets__wallet__deleted_at__isnull": True,
    }
    if sep24_transaction.client_domain:
        wallet_rules["wallets__wallet__sep_10_client_domain"] = (
            sep24_transaction.client_domain
        )
    # One filter() call: the rules hold for the same wallet row.
    waiting = Receiver.objects.filter(
        organization_id=sep24_transaction.organization_id, **wallet_rules
    )
    kinds = [
        kind
        for kind, column in (("phone", "phone_number"), ("email", "email"))
        if waiting.exclude(**{f"{column}__isnull": True})
        .exclude(**{column: ""})
        .exists()
    ]
    return kinds or ["phone", "email"]
