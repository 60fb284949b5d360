"""What auth_org asks the layers above before changing rows they depend on.

Each is sent inside the transaction that makes the change, the row locked; a
listener that owns rows forbidding the change raises an APIError naming why,
which refuses it and writes nothing (as Django's PROTECT refuses a delete).

tenant_deactivating(organization): the tenant is about to be DEACTIVATED
(disbursements: refused while payments are READY or PENDING).
wallet_deleting(organization, wallet): the wallet is about to be deleted
(receivers: refused while receivers are still being invited to it).
"""

from django.dispatch import Signal

tenant_deactivating = Signal()
wallet_deleting = Signal()
