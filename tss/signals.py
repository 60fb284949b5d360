"""News from the TSS to the layers above.

transactions_finished(submitter_transactions): submitter transactions reached
SUCCESS or ERROR, sent once per batch inside the database transaction that made
them final (a listener's writes commit or roll back with them). Listeners
(disbursements) update the payments they pay.

transaction_finished(submitter_transaction): the same news, one row at a time,
for listeners that prefer it.
"""

from django.dispatch import Signal

transactions_finished = Signal()
transaction_finished = Signal()
