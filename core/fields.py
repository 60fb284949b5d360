from __future__ import annotations

from typing import Any

from django.db import models


def amount_field(**kwargs: Any) -> models.DecimalField[Any, Any]:
    # NUMERIC(19, 7): seven places, a stroop, Stellar's smallest amount.
    return models.DecimalField(max_digits=19, decimal_places=7, **kwargs)
