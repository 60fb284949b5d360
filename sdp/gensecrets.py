"""Print a fresh set of the production secrets as .env lines:

    python -m sdp.gensecrets >> .env

Each value is one line (the EC256 PEM key with its line breaks written as \\n,
which the settings read back), so the file needs no shell and no quotes. The
Stellar keys are new random keypairs: fund DISTRIBUTION_PUBLIC_KEY before use.
"""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from stellar_sdk import Keypair


def generate() -> dict[str, str]:
    ec_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    sep10 = Keypair.random()
    distribution = Keypair.random()
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "EC256_PRIVATE_KEY": ec_key.decode(),
        "SEP10_SIGNING_PUBLIC_KEY": sep10.public_key,
        "SEP10_SIGNING_PRIVATE_KEY": sep10.secret,
        "SEP24_JWT_SECRET": secrets.token_urlsafe(32),
        "DISTRIBUTION_PUBLIC_KEY": distribution.public_key,
        "DISTRIBUTION_SEED": distribution.secret,
        "DISTRIBUTION_ACCOUNT_ENCRYPTION_PASSPHRASE": secrets.token_urlsafe(32),
        "CHANNEL_ACCOUNT_ENCRYPTION_PASSPHRASE": secrets.token_urlsafe(32),
        "ADMIN_ACCOUNT": "admin",
        "ADMIN_API_KEY": secrets.token_urlsafe(24),
    }


def env_lines(values: dict[str, str]) -> str:
    return "".join(
        f"{key}={value.strip().replace(chr(10), chr(92) + 'n')}\n"
        for key, value in values.items()
    )


if __name__ == "__main__":
    print(env_lines(generate()), end="")  # noqa: T201
