"""Influencers: roster figures and audience quality over our rows."""
