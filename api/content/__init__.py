"""Deliverables and submissions: the content review rules."""
