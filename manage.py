#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdp.settings")
    # Outside production, the embedded PostgreSQL/Redis the settings point at when
    # DATABASE_URL/REDIS_URL are unset (importing the settings starts nothing).
    from sdp import devservices

    devservices.STARTED_HERE = devservices.ensure_started()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
