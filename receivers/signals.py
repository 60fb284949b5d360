"""News from receivers to disbursements.

receiver_wallet_registered(receiver_wallet): the wallet became REGISTERED (the
receiver finished registration, or an address came with the CSV); its READY
payments can go to the TSS.
"""

from django.dispatch import Signal

receiver_wallet_registered = Signal()
