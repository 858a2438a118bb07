"""The janitor: removes uploads that never became videos.

An object under `videos/` (raw bucket) or `thumbnails/` (thumbnails bucket) older than
`orphan_upload_seconds` that no video refers to is deleted; an S3 multipart upload started
before that and never completed is aborted. It sweeps as a lifespan task of the app (every
`janitor_interval_seconds`) and from `itube videos janitor`. Sweeps keep no state: each
lists what S3 holds and decides afresh, so a sweep cut short is finished by the next.
"""
