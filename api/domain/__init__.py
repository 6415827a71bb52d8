"""Domain rules: plain modules with no GraphQL, HTTP or database in them."""
