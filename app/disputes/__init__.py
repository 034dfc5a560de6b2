"""Disputes: the holder's bank contests a listing; police or the regulator decide."""
