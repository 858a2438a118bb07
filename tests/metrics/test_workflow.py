"""After the video workflow, `/metrics` shows every kernel family with sensible labels."""

from __future__ import annotations

import uuid

from tests.metrics.conftest import scrape, value
from tests.video import workflow
from tests.video.support import TRANSCODER, user

ALICE = user("alice")
VIDEO_ROUTE = "/api/v1/upload/videos/{video_id}"
STATUS_ROUTE = "/api/v1/upload/videos/{video_id}/status"


def test_every_family_after_a_workflow(make_metrics_client):
    client = make_metrics_client(
        ["video", "auth_local"],
        plugins={"auth_local": {"rate_limits": {"login": "1/minute"}}},
    )
    seen = workflow.run_workflow(client, ALICE, TRANSCODER)
    video_id = seen["id"]
    for _ in range(2):  # the second listing is served from the cache
        assert workflow.list_public(client, ALICE).status_code == 200
    assert workflow.get_video(client, ALICE, video_id).status_code == 200
    assert client.get(f"/api/v1/upload/videos/{uuid.uuid4()}").status_code == 404
    assert client.get("/no/such/route").status_code == 404
    assert client.post(f"{workflow.PREFIX}/upload-url").status_code == 401
    assert client.get(workflow.by_key_path(seen["video_s3_key"])).status_code == 401
    login = {"email": "nobody@example.com", "password": "not-the-password"}
    assert client.post("/api/v1/auth/login", json=login).status_code == 401
    assert client.post("/api/v1/auth/login", json=login).status_code == 429

    families = scrape(client)

    requests = families["itube_http_requests"]
    assert value(requests, "itube_http_requests_total",
                 method="PATCH", route=STATUS_ROUTE, status="200") == 1
    # The workflow's anonymous read before processing, and the unknown id.
    assert value(requests, "itube_http_requests_total",
                 method="GET", route=VIDEO_ROUTE, status="404") == 2
    assert value(requests, "itube_http_requests_total",
                 method="GET", route="(unmatched)", status="404") == 1
    routes = {sample.labels["route"] for sample in requests}
    assert video_id not in "".join(routes), "a raw path leaked into the route label"
    assert "/no/such/route" not in routes

    latency = families["itube_http_request_duration_seconds"]
    reads = value(latency, "itube_http_request_duration_seconds_count",
                  method="GET", route=VIDEO_ROUTE, status="200")
    assert reads is not None and reads >= 2
    assert value(latency, "itube_http_request_duration_seconds_bucket",
                 method="GET", route=VIDEO_ROUTE, status="200", le="+Inf") == reads
    assert value(latency, "itube_http_request_duration_seconds_sum",
                 method="GET", route=VIDEO_ROUTE, status="200") > 0

    # The scrape itself is the one request being answered.
    assert value(families["itube_http_requests_in_flight"],
                 "itube_http_requests_in_flight") == 1

    cache = families["itube_cache_lookups"]
    assert value(cache, "itube_cache_lookups_total", outcome="hit") >= 1
    assert value(cache, "itube_cache_lookups_total", outcome="miss") >= 1

    assert value(families["itube_video_status_transitions"],
                 "itube_video_status_transitions_total",
                 from_status="IN_PROGRESS", to_status="COMPLETED") == 1

    assert value(families["itube_rate_limit_refusals"],
                 "itube_rate_limit_refusals_total", limit="login") == 1

    failures = families["itube_auth_failures"]
    assert value(failures, "itube_auth_failures_total", kind="user", reason="missing") >= 1
    assert value(failures, "itube_auth_failures_total", kind="service", reason="missing") == 1

    for gauge in ("itube_db_pool_connections_in_use", "itube_db_pool_waiting"):
        level = value(families[gauge], gauge)
        assert level is not None and 0 <= level <= 10
