"""Resumable multipart uploads straight to S3, recorded in a ledger.

`POST /api/v1/upload/videos/multipart` starts an S3 multipart upload under the caller's own
prefix and records it (`video_multipart_uploads`); the client PUTs each part to a
presigned UploadPart URL, may list what S3 holds to resume (`GET …/{upload_id}`), asks for
more URLs (`POST …/{upload_id}/parts`, with each part's checksum when one was declared),
then completes (`POST …/{upload_id}/complete`) or aborts (`DELETE …/{upload_id}`). The
completed key is registered with the metadata route like any upload. S3's UploadId stays
server-side; another user's upload is a 404.
"""
