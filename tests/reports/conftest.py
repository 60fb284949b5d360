from tests.api2_fixtures import client_for  # noqa: F401
from tests.tss.conftest import (  # noqa: F401
    channel_accounts,
    network,
    tss_network,
    tss_worker,
)
