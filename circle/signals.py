"""News from the Circle rail to the layers above.

transfers_finished(transfer_requests): Circle reported these requests complete
(SUCCESS, with the Stellar transaction hash when Circle gives it) or failed
(FAILED, with a readable reason in ``status_message``); sent inside the database
transaction that made them final, so a listener's writes commit with them.
"""

from django.dispatch import Signal

transfers_finished = Signal()
