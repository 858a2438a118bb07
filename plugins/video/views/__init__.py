"""View counts: a get-by-id by anyone but the owner counts once per viewer per video per
window (`service`), in memory until the flusher adds them to the video's row of
`video_view_counts`."""
