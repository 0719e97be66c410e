"""The audience: contacts (the Telegram recipients) and the queries that select them.

Contacts are reference data, not campaign state: millions of rows, upserted in bulk at
COPY speed, so they live in a plain table of the campaign service's schema rather than in
the event store. Segments and templates, which campaigns refer to, are aggregates.
"""
