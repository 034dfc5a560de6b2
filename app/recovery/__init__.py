"""The asset-recovery ledger: money frozen, released to the holder, returned to victims."""
