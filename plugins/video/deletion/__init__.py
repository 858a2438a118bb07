"""Deleting a video: the row goes at once, its S3 objects by background work.

`DELETE /api/v1/upload/videos/{video_id}` removes the video and records a deletion job in
one transaction; the worker (a lifespan task, or `itube videos purge`) claims due jobs and
removes their objects from S3. A job's row stays as the tombstone of the video's key.
"""
