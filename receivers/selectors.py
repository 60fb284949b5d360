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
