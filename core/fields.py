from django.db import models


def amount_field(**kwargs) -> models.DecimalField:
    # NUMERIC(19, 7): seven places, a stroop, Stellar's smallest amount.
    return models.DecimalField(max_digits=19, decimal_places=7, **kwargs)
