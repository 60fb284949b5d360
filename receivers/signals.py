"""News from receivers to disbursements.

receiver_wallet_registered(receiver_wallet): the wallet became REGISTERED (the
receiver finished registration, or an address came with the CSV); its READY
payments can go to the TSS.

receiver_wallet_unregistering(receiver_wallet): the wallet is about to go back
from REGISTERED to READY, inside the transaction that does it, its row locked. A
listener that owns rows forbidding it raises an APIError naming why, which
refuses it (disbursements: payments in flight to it).
"""

from django.dispatch import Signal

receiver_wallet_registered = Signal()
receiver_wallet_unregistering = Signal()
