"""Factories for every model, shared by the tests of all apps."""

from decimal import Decimal

import factory
from stellar_sdk import Keypair

from auth_org.models import Asset, Organization, Role, User, Wallet
from disbursements.models import Disbursement, Payment, RegistrationContactType
from messaging.models import Message
from receivers.models import Receiver, ReceiverWallet
from tss.models import SubmitterTransaction

TEST_PASSWORD = "Correct-Horse-9-Battery!"


def _letters(n: int) -> str:
    """n in bijective base 26 (a, ..., z, aa, ab, ...): tenant names are letters
    and dashes, at most 63, and a whole test session makes thousands."""
    text = ""
    n += 1
    while n:
        n, digit = divmod(n - 1, 26)
        text = chr(97 + digit) + text
    return text


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"org-{_letters(n)}")
    display_name = factory.LazyAttribute(lambda o: o.name.replace("-", " ").title())
    status = Organization.Status.ACTIVATED


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"user{n}@example.org")
    first_name = "Ada"
    last_name = "Lovelace"
    roles = factory.LazyFunction(lambda: [Role.OWNER])
    is_owner = True

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or TEST_PASSWORD)
        if create:
            obj.save(update_fields=["password"])


class AssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Asset

    organization = factory.SubFactory(OrganizationFactory)
    code = "USDC"
    issuer = factory.LazyFunction(lambda: Keypair.random().public_key)


class WalletFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Wallet

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Wallet {n}")
    homepage = factory.Sequence(lambda n: f"https://wallet{n}.example.org")
    deep_link_schema = factory.Sequence(lambda n: f"wallet{n}://sdp")
    sep_10_client_domain = factory.Sequence(lambda n: f"wallet{n}.example.org")


class ReceiverFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Receiver

    organization = factory.SubFactory(OrganizationFactory)
    external_id = factory.Sequence(lambda n: f"receiver-{n}")
    # A range no test writes by hand (they use +1415555xxxx): a test's own
    # receiver never collides with one a factory made earlier in the session.
    phone_number = factory.Sequence(lambda n: f"+1646{2_000_000 + n:07d}")


class ReceiverWalletFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReceiverWallet

    receiver = factory.SubFactory(ReceiverFactory)
    organization = factory.SelfAttribute("receiver.organization")
    wallet = factory.SubFactory(
        WalletFactory, organization=factory.SelfAttribute("..organization")
    )


class DisbursementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Disbursement

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Payroll {n}")
    asset = factory.SubFactory(
        AssetFactory, organization=factory.SelfAttribute("..organization")
    )
    wallet = factory.SubFactory(
        WalletFactory, organization=factory.SelfAttribute("..organization")
    )
    registration_contact_type = RegistrationContactType.PHONE_NUMBER
    verification_field = "DATE_OF_BIRTH"


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    disbursement = factory.SubFactory(DisbursementFactory)
    organization = factory.SelfAttribute("disbursement.organization")
    receiver_wallet = factory.SubFactory(
        ReceiverWalletFactory,
        receiver__organization=factory.SelfAttribute("...organization"),
    )
    receiver = factory.SelfAttribute("receiver_wallet.receiver")
    asset = factory.SelfAttribute("disbursement.asset")
    amount = Decimal("12.5000000")


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    tenant_id = factory.LazyFunction(lambda: OrganizationFactory().id)
    kind = Message.Kind.RECEIVER_INVITATION
    channel = Message.Channel.SMS
    recipient = "+14155550100"
    body = "You have a payment waiting for you."


class SubmitterTransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SubmitterTransaction

    tenant_id = factory.LazyFunction(lambda: OrganizationFactory().id)
    external_id = factory.Sequence(lambda n: f"payment-{n}")
    asset_code = "USDC"
    asset_issuer = factory.LazyFunction(lambda: Keypair.random().public_key)
    amount = Decimal("1.0000000")
    destination = factory.LazyFunction(lambda: Keypair.random().public_key)
