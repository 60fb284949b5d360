"""News from messaging to the layers above (they listen; messaging imports none).

message_delivered(message): the provider accepted the message.
message_failed(message): the message failed for good (no more retries).
"""

from django.dispatch import Signal

message_delivered = Signal()
message_failed = Signal()
