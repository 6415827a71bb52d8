"""Finance: balances, payout batches, statements and their CSV export, all sums over the ledger."""
