from tests.api2_fixtures import *  # noqa: F403
