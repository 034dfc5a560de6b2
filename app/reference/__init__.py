"""Vietnamese reference data shipped inside the package (public lists)."""
