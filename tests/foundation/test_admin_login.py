import pytest

from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_operator_logs_into_the_admin_with_email_and_password(client, operator):
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": operator.email.upper(), "password": TEST_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_dashboard_user_without_staff_flag_cannot_log_into_the_admin(client, user):
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": user.email, "password": TEST_PASSWORD},
    )
    assert response.status_code == 200  # the form again, with an error
    assert client.get("/admin/").status_code == 302


def test_wrong_password_is_refused(client, operator):
    response = client.post(
        "/admin/login/?next=/admin/", {"username": operator.email, "password": "nope"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_demo_seed_is_idempotent_and_its_login_works(client):
    from django.core.management import call_command

    from auth_org.models import Organization, User
    from sdp.management.commands.demo import DEMO_PASSWORD, OPERATOR_EMAIL

    call_command("demo", "--no-serve")
    call_command("demo", "--no-serve")
    assert Organization.objects.filter(name="demo").count() == 1
    assert User.objects.filter(email=OPERATOR_EMAIL).count() == 1
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": OPERATOR_EMAIL, "password": DEMO_PASSWORD},
    )
    assert response.status_code == 302


def test_two_staff_users_with_one_email_cannot_log_in_ambiguously(client, operator):
    UserFactory(email=operator.email, is_staff=True)  # staff in some organization
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": operator.email, "password": TEST_PASSWORD},
    )
    assert response.status_code == 200
