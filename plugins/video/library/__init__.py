"""The owner's library: edit a video (with `If-Match`), read its status history, retry a
failed one. Routes in `routes.py`, decisions in `service.py`, queries in `queries.py`."""
