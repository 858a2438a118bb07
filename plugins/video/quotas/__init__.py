"""Per-user quotas: stored bytes, videos, and upload URLs per hour, from config.

Upload URLs are refused (403) when the declared size would take the user over the bytes
limit or the user already has the most videos allowed, and (429) past the hourly count of
upload URLs, counted in the app's cache. A registration is refused (403) when the uploaded
object's real size would go over the bytes limit or the video count is reached: checked in
the transaction that inserts the video, one owner at a time. `GET
/api/v1/upload/videos/quota` shows the usage against each limit.
"""
