"""News from the TSS to the layers above.

transaction_finished(submitter_transaction): a submitter transaction reached
SUCCESS or ERROR. Listeners (disbursements) update the payment it pays.
"""

from django.dispatch import Signal

transaction_finished = Signal()
