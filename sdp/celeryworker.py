"""The worker's consumer (``worker_consumer`` in sdp/celery.py)."""

import functools

from celery.worker.consumer import Consumer as CeleryConsumer


def _collect_and_forget_channel(connection, collect, *args, **kwargs):
    try:
        return collect(*args, **kwargs)
    finally:
        connection._default_channel = None


class Consumer(CeleryConsumer):
    """Celery's consumer, surviving a broker restart with unacknowledged tasks.

    Celery 5.7.0 added ``connection.close()`` after ``connection.collect()``
    when the broker connection is lost (``on_connection_error_after_connected``).
    ``collect()`` detaches the transport (``transport.client = None``) but keeps
    the default channel; ``close()`` then closes that channel, whose QoS
    restores the unacknowledged messages (``task_acks_late``) through a new
    Redis pool built from ``transport.client``: ``AttributeError: 'NoneType'
    object has no attribute 'hostname'``. ``close()`` swallows only connection
    and channel errors, so the AttributeError ends the worker ("Unrecoverable
    error"). Celery 5.6 called ``collect()`` alone.

    Here ``collect()`` also forgets the default channel, as it forgets the
    transport: ``close()`` has nothing left to close, as in 5.6. Nothing is
    lost: the unacknowledged messages stay in Redis's ``unacked`` set and are
    restored after the visibility timeout (or are gone with a Redis restarted
    empty, where the beat sweepers re-queue the work from the database).
    tests/tss/test_broker_restart.py restarts a real Redis under a real worker.
    """

    def on_connection_error_after_connected(self, exc):
        connection = self.connection
        if connection is not None:
            connection.collect = functools.partial(
                _collect_and_forget_channel, connection, connection.collect
            )
        super().on_connection_error_after_connected(exc)
