"""Registration links, signed with the SEP-10 key as SDP signs them.

An invitation carries the wallet provider's deep link with ``asset``, ``domain``
and ``name`` query parameters, then ``signature``: the hex ed25519 signature, made
with ``SEP10_SIGNING_PRIVATE_KEY``, of the URL without its signature. The wallet
(or our own registration pages) checks it with the SIGNING_KEY of our stellar.toml.

The signed text is the URL with its query parameters sorted by name and encoded
the way Go's ``url.Values.Encode`` does (SDP's ``utils.SignURL`` re-encodes the
query that way before signing and before verifying), so a link signed here
verifies in SDP's code and the other way round, whatever order the parameters
arrive in.

Public API (stable; the registration pages verify with it):

- ``sign_url(url, *, signing_seed=None) -> str``
- ``verify_signed_url(signed_url, *, public_key=None) -> bool``
- ``registration_link(receiver_wallet, *, organization=None, asset=None) -> str``
- ``asset_param(code, issuer) -> str``
- ``link_refused(url, request) -> bool``: the link's tenant no longer serves
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

from django.conf import settings
from stellar_sdk import Keypair
from stellar_sdk.exceptions import BadSignatureError, Ed25519PublicKeyInvalidError

SIGNATURE_PARAM = "signature"


def asset_param(code: str, issuer: str = "") -> str:
    """SDP's ``asset`` value: ``native`` for XLM, else ``CODE-ISSUER``."""
    if not issuer and code.upper() in {"XLM", "NATIVE"}:
        return "native"
    return f"{code}-{issuer}" if issuer else code


def _split(url: str) -> tuple[tuple[str, str, str, str, str], list[tuple[str, str]]]:
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    return (parts.scheme, parts.netloc, parts.path, parts.query, parts.fragment), params


def _with_query(parts: tuple[str, str, str, str, str], params) -> str:
    # Go's url.Values.Encode: sorted by key (stable for repeated keys),
    # QueryEscape'd (space as "+").
    query = urlencode(sorted(params, key=lambda kv: kv[0]), quote_via=quote_plus)
    scheme, netloc, path, _, fragment = parts
    return urlunsplit((scheme, netloc, path, query, fragment))


def _canonical_without_signature(url: str) -> tuple[str, str]:
    parts, params = _split(url)
    signature = ""
    kept = []
    for key, value in params:
        if key == SIGNATURE_PARAM:
            signature = value
        else:
            kept.append((key, value))
    return _with_query(parts, kept), signature


@lru_cache(maxsize=8)
def _keypair(seed: str) -> Keypair:
    # Decoding a seed costs more than signing; invitations sign thousands.
    return Keypair.from_secret(seed)


def sign_url(url: str, *, signing_seed: str | None = None) -> str:
    """Return ``url`` with ``&signature=<hex ed25519 signature>`` added.

    Any signature already present is replaced. ``signing_seed`` defaults to
    ``SEP10_SIGNING_PRIVATE_KEY``.
    """
    keypair = _keypair(signing_seed or settings.SEP10_SIGNING_PRIVATE_KEY)
    canonical, _ = _canonical_without_signature(url)
    signature = keypair.sign(canonical.encode()).hex()
    parts, params = _split(canonical)
    return _with_query(parts, [*params, (SIGNATURE_PARAM, signature)])


def verify_signed_url(signed_url: str, *, public_key: str | None = None) -> bool:
    """True when ``signed_url`` carries a valid signature by ``public_key``
    (default ``SEP10_SIGNING_PUBLIC_KEY``) over the rest of the URL. Never raises
    on bad input: a missing, malformed or wrong signature is simply False."""
    canonical, signature = _canonical_without_signature(signed_url)
    if not signature:
        return False
    try:
        keypair = Keypair.from_public_key(
            public_key or settings.SEP10_SIGNING_PUBLIC_KEY
        )
        keypair.verify(canonical.encode(), bytes.fromhex(signature))
    except (BadSignatureError, Ed25519PublicKeyInvalidError, ValueError):
        return False
    return True


def tenant_domain(organization) -> str:
    """The host (with port, if any) where a wallet finds the tenant's stellar.toml."""
    base_url = getattr(organization, "base_url", "") or settings.BASE_URL
    return urlsplit(base_url).netloc


def _host_key(host: str) -> str:
    return (host or "").strip().lower()


def organizations_at(host: str, name: str = ""):
    """The organizations (serving or not) a host names, as links and pages are
    addressed to them: by their base URL's host (``tenant_domain``; on the
    shared ``BASE_URL`` host, told apart by ``name``, the display name a link
    carries), else the default one in single-tenant mode, else the one named by
    the host's first label. A queryset, maybe empty."""
    from auth_org.models import Organization

    host = _host_key(host)
    if not host or "\x00" in host:
        return Organization.objects.none()
    pks = [
        org.pk
        for org in Organization.objects.only("pk", "base_url").filter(
            base_url__icontains=host.split(":")[0]
        )
        if _host_key(tenant_domain(org)) == host
    ]
    if _host_key(urlsplit(settings.BASE_URL).netloc) == host:
        shared = Organization.objects.filter(base_url="")
        if name and shared.filter(display_name=name).exists():
            shared = shared.filter(display_name=name)
        pks += list(shared.values_list("pk", flat=True)[:1000])
    if pks:
        return Organization.objects.filter(pk__in=pks)
    if settings.SINGLE_TENANT_MODE:
        return Organization.objects.filter(is_default=True)
    # As auth_org.tenancy reads a host: its first label, when it has three or more.
    labels = host.split(":")[0].split(".")
    if len(labels) < 3 or all(label.isdigit() for label in labels):
        return Organization.objects.none()
    return Organization.objects.filter(name__iexact=labels[0])


def link_refused(url: str, request) -> bool:
    """True when an invitation (or the short link to it) belongs to a tenant
    that no longer serves (deactivated or deleted): the organizations the link's
    ``domain`` names, or else the host it was opened at, exist and none serves.
    A link naming no known organization is left to its signature check."""
    from auth_org.models import Organization

    params = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    for host in (params.get("domain", ""), request.get_host()):
        named = organizations_at(host, params.get("name", ""))
        if named.exists():
            return not (
                named.filter(deleted_at__isnull=True)
                .exclude(status=Organization.Status.DEACTIVATED)
                .exists()
            )
    return False


def registration_link(receiver_wallet, *, organization=None, asset=None) -> str:
    """The signed deep link that starts registration at the receiver's wallet.

    ``asset`` is the auth_org Asset the receiver is paid in (the disbursement's);
    without it, the asset of the receiver wallet's latest READY payment,
    else the first asset its wallet provider supports (``assets_for``).
    """
    organization = organization or receiver_wallet.organization
    wallet = receiver_wallet.wallet
    if asset is None:
        asset = assets_for([receiver_wallet])[receiver_wallet.pk]
    parts, params = _split(wallet.deep_link_schema)
    params = [kv for kv in params if kv[0] not in {"asset", "domain", "name"}]
    if asset is not None:
        params.append(("asset", asset_param(asset.code, asset.issuer)))
    params.append(("domain", tenant_domain(organization)))
    params.append(("name", organization.display_name))
    return sign_url(_with_query(parts, params))


def assets_for(receiver_wallets) -> dict:
    """For each receiver wallet, the asset its link names when the caller has
    none: the asset of its latest READY payment, else the first asset its wallet
    provider supports, else None. Four queries, whatever the number of wallets."""
    from auth_org.models import Asset, Wallet
    from receivers.models import ReceiverWallet

    receiver_wallets = list(receiver_wallets)
    # Payments point at receiver wallets from a higher layer; the reverse relation
    # is reached by name only, so receivers imports nothing from disbursements.
    latest = dict(
        ReceiverWallet.objects.filter(
            pk__any=[rw.pk for rw in receiver_wallets], payments__status="READY"
        )
        .order_by("pk", "-payments__created_at")
        .distinct("pk")
        .values_list("pk", "payments__asset_id")
    )
    assets = Asset.objects.in_bulk(set(latest.values()))
    providers = {rw.wallet_id for rw in receiver_wallets if rw.pk not in latest}
    first_supported = {}
    for wallet in Wallet.objects.filter(pk__in=providers).prefetch_related("assets"):
        supported = sorted(wallet.assets.all(), key=lambda a: a.created_at)
        first_supported[wallet.pk] = supported[0] if supported else None
    return {
        rw.pk: assets[latest[rw.pk]]
        if rw.pk in latest
        else first_supported.get(rw.wallet_id)
        for rw in receiver_wallets
    }
