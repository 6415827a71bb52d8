"""The tracker: Vouch's edge service (redirects, click logging, postbacks).

It never imports SQLAlchemy, strawberry or `api`: it reads what the API publishes to Redis
(`tracker.keys`) and writes events to Redis streams (`tracker.events`).
"""
