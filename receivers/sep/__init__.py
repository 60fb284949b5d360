"""Stellar ecosystem protocols served in-house: SEP-1 (stellar.toml), SEP-10 (web
authentication) and SEP-24 (interactive deposit, which here only binds a wallet
address to a receiver; no funds move through it)."""
