import pytest

from tests.messaging.twilio_fake import ACCOUNT_SID, AUTH_TOKEN, SERVICE_SID, FakeTwilio


@pytest.fixture
def fake_twilio():
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


@pytest.fixture
def twilio_settings(settings, fake_twilio):
    settings.SMS_SENDER_TYPE = "TWILIO_SMS"
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_SERVICE_SID = SERVICE_SID
    settings.TWILIO_WHATSAPP_FROM_NUMBER = "+14155550000"
    settings.TWILIO_WHATSAPP_RECEIVER_INVITATION_TEMPLATE_SID = "HX" + "a" * 32
    settings.TWILIO_WHATSAPP_RECEIVER_OTP_TEMPLATE_SID = "HX" + "b" * 32
    settings.TWILIO_API_BASE_URL = fake_twilio.base_url
    return settings


@pytest.fixture
def fake_sendgrid():
    from tests.messaging.sendgrid_fake import FakeSendGrid

    fake = FakeSendGrid().start()
    yield fake
    fake.stop()


@pytest.fixture
def sendgrid_settings(settings, fake_sendgrid):
    """SDP's variables for EMAIL_SENDER_TYPE=TWILIO_EMAIL, against the fake."""
    from tests.messaging.sendgrid_fake import API_KEY

    settings.EMAIL_SENDER_TYPE = "TWILIO_EMAIL"
    settings.TWILIO_SENDGRID_API_KEY = API_KEY
    settings.TWILIO_SENDGRID_SENDER_ADDRESS = "no-reply@aid.example.org"
    settings.TWILIO_SENDGRID_API_URL = fake_sendgrid.base_url
    return settings
