"""scripts/develop's Home Assistant, started as a developer starts it."""
