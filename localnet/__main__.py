import sys

from localnet.server import main

sys.exit(main())
