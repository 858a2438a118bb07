"""Live events for their owner over Server-Sent Events.

`GET /api/v1/upload/videos/events` streams the signed-in user's own videos' events (status
changes, edits, deletions, completed uploads) as they are dispatched, through the app's
event broker (in-process by default, Redis pub/sub with `cache_redis`, so every worker
sees every event). `Last-Event-ID` resumes from the outbox; heartbeats keep proxies from
closing an idle stream; a cap on open streams per user is counted in the app's cache.
"""
