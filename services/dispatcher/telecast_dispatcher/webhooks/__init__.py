"""Webhooks: subscriptions, the outbox of deliveries fed from the campaign event stream,
and the worker that sends them signed, in order per campaign, with retries."""
