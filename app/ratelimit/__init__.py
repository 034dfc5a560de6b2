"""Per-organisation request limits and the enumeration guard on lookups."""
