"""The commission ledger: posting entries (`posting`)."""
