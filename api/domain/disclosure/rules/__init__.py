"""Versioned disclosure rule sets: one JSON file per jurisdiction, plus common.json."""
