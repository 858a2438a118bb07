"""The transcoder contract v2: leases on a video's processing, progress reports, failure
codes, and the sweep that ends expired leases (docs/video.md)."""
