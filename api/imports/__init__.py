"""Bulk imports from spreadsheets (CSV), shared by the command line and GraphQL."""
