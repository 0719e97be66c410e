"""The projection service: read models built from the event streams, answering queries."""
