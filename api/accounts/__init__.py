"""API keys and who is calling (later: users and sign-in)."""
