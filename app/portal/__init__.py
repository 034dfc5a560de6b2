"""The public portal (SPEC §13): citizens check a payee, read scam methods, report a scam."""
