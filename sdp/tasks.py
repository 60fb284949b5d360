from celery import shared_task


@shared_task
def sample_operations_task() -> int:
    """Beat, every minute: the levels the operations page draws over time."""
    from sdp.operations import sample_operations

    return sample_operations()
