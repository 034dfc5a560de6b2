"""Organisations (banks, e-wallets, telecoms, police, ...) and their API clients."""
