"""The GraphQL API: one folder per domain (types, mutations, dataloaders, filters)."""
