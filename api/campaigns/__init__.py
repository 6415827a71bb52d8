"""Campaigns: the compensation plan in effect."""
