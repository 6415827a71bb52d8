"""Bulk imports from spreadsheets: the generic CSV reading (`csvfile`) the importers share."""
