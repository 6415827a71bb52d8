"""Server-rendered pages for people: sign-in, the influencer portal and finance.

The pages are a client of the GraphQL API: each runs the queries and mutations a frontend would
send, through the schema in-process with the signed-in person's viewer (`client`), so what a
page shows is what the API answers. No build step: Jinja2 templates, one stylesheet, two small
scripts, all served from here (`static/`).
"""
