"""Demo data: `seed()` fills an empty database with two organizations' worth of realistic data.

The seeder is being split into modules named after what they hold; until then it lives in
`api.demo.catalog` and this package re-exports its public entry points.
"""

from api.demo.catalog import DemoResult, influencer_stats, is_empty, print_progress, seed

__all__ = ["DemoResult", "influencer_stats", "is_empty", "print_progress", "seed"]
