"""The Grafana dashboard and the Prometheus alerting rules under deploy/ name
only metrics the app exports (issue 18, item 6a): the names are read from a
real scrape, through the metrics view function (the public URL may move to its
own port)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.core.cache import cache
from django.test import RequestFactory
from django.utils import timezone
from django_prometheus.exports import ExportToDjangoView
from prometheus_client.parser import text_string_to_metric_families

from core.fsm import transition
from disbursements.models import Payment
from messaging.models import Message
from tests.factories import MessageFactory, OrganizationFactory, PaymentFactory

pytestmark = pytest.mark.django_db

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "sdp-alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "sdp-dashboard.json"
OURS = re.compile(r"\b((?:sdp|tss|django|process|python|celery)_[a-z0-9_]+)\b")
REQUIRED_ALERTS = {
    "SDPNoWorkerTakingWork",
    "SDPOldestPendingPaymentTooOld",
    "SDPPaymentFailureRate",
    "SDPDistributionBalanceBelowInFlight",
    "SDPMessagesFailing",
}


@pytest.fixture
def tenant(settings):
    settings.HORIZON_URL = "http://127.0.0.1:9"  # no network: balances unknown
    cache.clear()
    organization = OrganizationFactory(name="watched-org")
    pending = PaymentFactory(disbursement__organization=organization, status="READY")
    transition(pending, to=Payment.Status.PENDING)
    PaymentFactory(disbursement__organization=organization, status="READY")
    message = MessageFactory(tenant_id=organization.id)
    Message.objects.filter(pk=message.pk).update(
        updated_at=timezone.now() - timedelta(minutes=20)
    )
    return organization


def scrape() -> str:
    response = ExportToDjangoView(RequestFactory().get("/metrics"))
    assert response.status_code == 200
    return response.content.decode()


def exported_names(text: str) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(f"{family.name}_total")
        if family.type == "histogram":
            names.update(f"{family.name}_{s}" for s in ("bucket", "sum", "count"))
    return names


def rule_list() -> list[dict]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def named_metrics() -> dict[str, set[str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = {
        f"panel {panel['title']}": target["expr"]
        for panel in dashboard["panels"]
        for target in panel["targets"]
    }
    exprs.update({f"alert {r['alert']}": r["expr"] for r in rule_list()})
    return {where: set(OURS.findall(expr)) for where, expr in exprs.items()}


def test_every_metric_named_by_the_dashboard_and_the_alerts_exists(client, tenant):
    client.get("/health")  # the request metrics appear after a request
    names = exported_names(scrape())
    named = named_metrics()
    assert sum(len(found) for found in named.values()) > 20
    missing = {
        where: sorted(found - names) for where, found in named.items() if found - names
    }
    assert not missing, missing


def test_the_alerts_the_operators_need_are_there_and_well_formed():
    rules = rule_list()
    assert {rule["alert"] for rule in rules} >= REQUIRED_ALERTS
    for rule in rules:
        assert rule["expr"].strip()
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]
        assert re.fullmatch(r"\d+[smh]", rule["for"])


def test_the_metrics_the_alerts_compare_carry_the_figures(tenant):
    families = {f.name: f for f in text_string_to_metric_families(scrape())}

    def value(name, **labels):
        for sample in families[name].samples:
            if all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
        raise AssertionError(f"no {name} sample with {labels}")

    asset = Payment.objects.filter(organization=tenant).first().asset.code
    assert value("sdp_payments_in_flight_amount", tenant="watched-org",
                 asset=asset) == 25.0  # fmt: skip
    assert value("sdp_messages_pending_oldest_age_seconds", tenant="watched-org") > 1100
    assert value("sdp_payments_pending_oldest_age_seconds", tenant="watched-org") >= 0
    assert value("sdp_payments_finished_last_hour", tenant="watched-org",
                 result="FAILED") == 0  # fmt: skip
    assert value("sdp_ledger_capacity_payments_per_minute") > 0
