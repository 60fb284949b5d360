"""News from webhooks to the layers above (they listen; webhooks imports none).

endpoint_disabled(endpoint): the platform disabled an endpoint after it failed
for the whole retry window; its tenant's owners should be told.
"""

from django.dispatch import Signal

endpoint_disabled = Signal()
