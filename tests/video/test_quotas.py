"""Per-user quotas: stored bytes and videos at upload-url and metadata time (under
concurrency too), upload URLs per hour (in-process and shared through Redis), and the
usage route, on both databases."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from core.db import engine_kind
from plugins.video.config import VideoSettings, settings_problems
from plugins.video.quotas import queries
from plugins.video.tables import Video
from tests.support.stand_ins import StandInServiceAuthPlugin, StandInUserAuthPlugin
from tests.video import workflow
from tests.video.support import run_in_app, user
from tests.video.test_indexes import _fill_and_analyze, _plan

ALICE = user("alice")
BOB = user("bob")
SIZE = len(workflow.SAMPLE_VIDEO)
QUOTA_PATH = f"{workflow.PREFIX}/quota"


def _quota(client: Any, who: workflow.Credentials = ALICE) -> dict[str, Any]:
    answer = client.get(QUOTA_PATH, **who.request_options())
    assert answer.status_code == 200, answer.text
    return answer.json()


def _refused(response: httpx.Response, status: int, limit: str) -> None:
    """A problem of `status` naming `limit`, in its detail and its `limit` member."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["limit"] == limit and problem["detail"].startswith(f"{limit}: "), problem


def _upload_and_register(client: Any, who: workflow.Credentials = ALICE,
                         content: bytes = workflow.SAMPLE_VIDEO) -> httpx.Response:
    return workflow.register(client, who, workflow.upload(client, who, content))


def _upload_undeclared(client: Any, who: workflow.Credentials, content: bytes) -> str:
    """An upload URL asked for without a declared size, then the bytes sent."""
    answer = workflow.request_upload_url(client, who)
    assert answer.status_code == 200, answer.text
    assert workflow.put_file(answer.json(), content).status_code == 200
    return answer.json()["media_id"]


def test_the_usage_route_shows_the_figures_before_and_after_an_upload(make_video_client):
    client = make_video_client(settings={"quota_videos_per_user": 3,
                                         "quota_bytes_per_user": 10 * SIZE,
                                         "quota_upload_urls_per_hour": 5})
    assert _quota(client) == {
        "videos": {"used": 0, "limit": 3}, "bytes": {"used": 0, "limit": 10 * SIZE},
        "upload_urls_per_hour": {"used": 0, "limit": 5, "resets_at": None},
    }
    before = dt.datetime.now(dt.UTC)
    assert _upload_and_register(client).status_code == 201
    after = _quota(client)
    assert after["videos"] == {"used": 1, "limit": 3}
    assert after["bytes"] == {"used": SIZE, "limit": 10 * SIZE}
    hourly = after["upload_urls_per_hour"]
    assert (hourly["used"], hourly["limit"]) == (1, 5)
    resets_at = dt.datetime.fromisoformat(hourly["resets_at"])
    assert before < resets_at <= before + dt.timedelta(hours=1, seconds=1)
    assert _quota(client, BOB)["videos"] == {"used": 0, "limit": 3}


def test_the_usage_route_needs_a_signed_in_user(client):
    assert client.get(QUOTA_PATH).status_code == 401


def test_no_limit_is_configured_by_default_and_none_refuses(client):
    assert _quota(client) == {
        "videos": {"used": 0, "limit": None}, "bytes": {"used": 0, "limit": None},
        "upload_urls_per_hour": {"used": 0, "limit": None, "resets_at": None},
    }
    for _ in range(3):
        assert _upload_and_register(client).status_code == 201
        thumbnail = workflow.request_upload_url(client, ALICE, thumbnail=True)
        assert thumbnail.status_code == 200
    assert _quota(client)["videos"] == {"used": 3, "limit": None}


def test_a_user_at_the_video_count_gets_no_video_upload_url(make_video_client):
    client = make_video_client(settings={"quota_videos_per_user": 1})
    assert _upload_and_register(client).status_code == 201
    _refused(workflow.request_upload_url(client, ALICE), 403, "videos_per_user")
    # A thumbnail may still be uploaded (for a video already there), and others may upload.
    assert workflow.request_upload_url(client, ALICE, thumbnail=True).status_code == 200
    assert workflow.request_upload_url(client, BOB).status_code == 200


def test_a_registration_over_the_video_count_is_refused(make_video_client):
    client = make_video_client(settings={"quota_videos_per_user": 1})
    first, second = workflow.upload(client, ALICE), workflow.upload(client, ALICE)
    assert workflow.register(client, ALICE, first).status_code == 201
    _refused(workflow.register(client, ALICE, second), 403, "videos_per_user")
    assert _quota(client)["videos"] == {"used": 1, "limit": 1}


def test_a_deleted_video_no_longer_counts(make_video_client):
    client = make_video_client(settings={"quota_videos_per_user": 1,
                                         "quota_bytes_per_user": SIZE})
    first = _upload_and_register(client)
    assert first.status_code == 201
    _refused(workflow.request_upload_url(client, ALICE), 403, "videos_per_user")
    assert workflow.delete_video(client, ALICE, first.json()["id"]).status_code == 204
    assert _quota(client)["bytes"] == {"used": 0, "limit": SIZE}
    assert _upload_and_register(client).status_code == 201


def test_a_declared_size_over_the_remaining_bytes_is_refused(make_video_client):
    client = make_video_client(settings={"quota_bytes_per_user": 2 * SIZE})
    assert _upload_and_register(client).status_code == 201
    _refused(workflow.request_upload_url(client, ALICE, size_bytes=SIZE + 1), 403,
             "bytes_per_user")
    # Exactly what remains is allowed.
    assert workflow.request_upload_url(client, ALICE, size_bytes=SIZE).status_code == 200


def test_an_uploaded_object_over_the_remaining_bytes_is_refused(make_video_client):
    client = make_video_client(settings={"quota_bytes_per_user": 2 * SIZE})
    assert _upload_and_register(client).status_code == 201
    # No size declared: the upload URL is given, the real size decides at registration.
    too_big = _upload_undeclared(client, ALICE, workflow.SAMPLE_VIDEO + b"x")
    _refused(workflow.register(client, ALICE, too_big), 403, "bytes_per_user")
    fits = _upload_undeclared(client, ALICE, workflow.SAMPLE_VIDEO)
    assert workflow.register(client, ALICE, fits).status_code == 201
    assert _quota(client)["bytes"] == {"used": 2 * SIZE, "limit": 2 * SIZE}


def _register_concurrently(client: Any, keys: list[str]) -> list[int]:
    with ThreadPoolExecutor(max_workers=len(keys)) as pool:
        return sorted(pool.map(lambda key: workflow.register(client, ALICE, key).status_code,
                               keys))


def test_concurrent_registrations_at_the_bytes_limit_pass_only_as_many_as_fit(
    make_video_client,
):
    client = make_video_client(settings={"quota_bytes_per_user": 2 * SIZE})
    keys = [workflow.upload(client, ALICE) for _ in range(6)]
    assert _register_concurrently(client, keys) == [201] * 2 + [403] * 4
    assert _quota(client)["bytes"] == {"used": 2 * SIZE, "limit": 2 * SIZE}


def test_concurrent_registrations_at_the_video_count_pass_only_as_many_as_allowed(
    make_video_client,
):
    client = make_video_client(settings={"quota_videos_per_user": 2})
    keys = [workflow.upload(client, ALICE) for _ in range(6)]
    assert _register_concurrently(client, keys) == [201] * 2 + [403] * 4
    assert _quota(client)["videos"] == {"used": 2, "limit": 2}


def _assert_hourly_limit_refuses(first: Any, second: Any) -> None:
    """Three upload URLs an hour, videos and thumbnails together, asked of two apps."""
    assert workflow.request_upload_url(first, ALICE).status_code == 200
    assert workflow.request_upload_url(second, ALICE, thumbnail=True).status_code == 200
    assert workflow.request_upload_url(first, ALICE, thumbnail=True).status_code == 200
    for app in (first, second):
        refused = workflow.request_upload_url(app, ALICE)
        _refused(refused, 429, "upload_urls_per_hour")
        assert 0 < int(refused.headers["retry-after"]) <= 3600
        assert refused.json()["detail"].startswith("upload_urls_per_hour: 3 per hour used")
    hourly = _quota(second)["upload_urls_per_hour"]
    assert (hourly["used"], hourly["limit"]) == (3, 3) and hourly["resets_at"]
    assert workflow.request_upload_url(second, BOB).status_code == 200


def test_upload_urls_over_the_hourly_limit_are_refused(make_video_client):
    client = make_video_client(settings={"quota_upload_urls_per_hour": 3})
    _assert_hourly_limit_refuses(client, client)


def test_the_hourly_limit_counts_across_workers_sharing_redis(make_config, make_client,
                                                              redis_url, redis_prefix):
    def worker():
        config = make_config(["cache_redis", "video"], plugins={
            "cache_redis": {"url": redis_url, "key_prefix": redis_prefix},
            "video": {"quota_upload_urls_per_hour": 3}})
        return make_client(config, plugins=[StandInUserAuthPlugin(),
                                            StandInServiceAuthPlugin()])

    _assert_hourly_limit_refuses(worker(), worker())


def test_negative_limits_are_config_problems():
    settings = VideoSettings(quota_videos_per_user=-1, quota_bytes_per_user=-1,
                             quota_upload_urls_per_hour=-1)
    problems = settings_problems(settings)
    for key in ("quota_videos_per_user", "quota_bytes_per_user", "quota_upload_urls_per_hour"):
        assert f"plugins.video.{key}: must not be negative (0 means no limit)" in problems


def test_the_usage_query_reads_the_owner_index(client):
    owner = "user7"  # one of the 50 owners of the 3000 rows, each of 1 byte
    run_in_app(client, _fill_and_analyze)
    plan = run_in_app(client, lambda: _plan(queries.USAGE, (owner,)))
    kind = engine_kind(Video._meta.db)
    assert "videos_owner_" in plan, f"{kind}:\n{plan}"
    assert "Seq Scan" not in plan and "SCAN videos\n" not in plan + "\n", f"{kind}:\n{plan}"
    usage = run_in_app(client, lambda: queries.stored_usage(owner))
    assert usage == queries.StoredUsage(videos=60, bytes=60)


def test_the_quota_route_and_the_429_are_in_the_openapi_document(client):
    paths = client.get("/openapi.json").json()["paths"]
    usage = paths[QUOTA_PATH]["get"]["responses"]["200"]["content"]["application/json"]
    assert usage["schema"]["$ref"].endswith("/QuotaUsage")
    for path in ("upload-url", "thumbnail/upload-url"):
        assert "429" in paths[f"{workflow.PREFIX}/{path}"]["post"]["responses"]
