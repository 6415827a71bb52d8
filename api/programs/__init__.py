"""Ambassador programs: members, levels, retainers, bonuses, shipments (the rules and jobs)."""
