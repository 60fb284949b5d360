"""localnet: a Horizon-compatible local Stellar network.

For the demo, the tests and the benchmarks only; production uses testnet or
pubnet through HORIZON_URL and NETWORK_PASSPHRASE. It imports nothing of the
project. Run it with ``python -m localnet`` or ``manage.py localnet``.
"""

DEFAULT_PASSPHRASE = "Standalone Network ; February 2017"
