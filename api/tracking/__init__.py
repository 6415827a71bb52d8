"""Tracking: link codes, discount-code rules, postback secrets and what is published to Redis."""
