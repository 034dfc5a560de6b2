"""Public awareness: fraud typologies with advice to citizens."""
