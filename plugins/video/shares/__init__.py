"""Share links: an owner lets anyone holding a token watch a private or unlisted video.

`POST /api/v1/upload/videos/{video_id}/shares` makes a link (`video_shares`: the token's
SHA-256, never the token), `GET …/shares` lists them with their states, `DELETE
…/shares/{share_id}` revokes one. `GET /api/v1/shared/{token}` answers the video to anyone
holding a live token and counts the view in the same conditional UPDATE that checks the
link is live, so every worker sees a revocation, an expiry or the last view at once;
`…/{token}/playback.m3u8` and `…/{token}/playback/{path}` serve the video's HLS playlists
to a link opened at least once, counting no view. Rows go with their video (the foreign
key cascades).
"""
