"""CloudFront signed URLs and cookies, checked as CloudFront would: the policy decoded from
its URL-safe base64, its Resource matched against the URL asked for, the signature verified
with the public key. No CloudFront emulator exists; the key is made by the test."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from http.cookies import SimpleCookie

import pytest

from core.cli import main
from plugins.video.config import VideoSettings, settings_problems
from plugins.video.playback.cdn import CdnSigner, load_private_key
from tests.video import workflow
from tests.video.cdn_keys import (
    KEY_ID,
    ec_pem,
    pem,
    pem_body,
    policy_statement,
    resource_covers,
    rsa_key,
    signed_params,
    verifies,
)
from tests.video.playback.support import completed_with_ladder
from tests.video.support import insert_video, user

ALICE, BOB = user("alice"), user("bob")
TTL, WINDOW = 300, 60
BASE, THUMBS = "https://cdn.example.com/v", "https://cdn.example.com/t"
SIGNED_CDN = {"playback_base_url": BASE, "thumbnail_base_url": THUMBS,
              "playback_url_ttl_seconds": TTL, "media_url_window_seconds": WINDOW,
              "cache_ttl_seconds": 60, "cdn_key_id": KEY_ID, "cdn_private_key": pem()}
COOKIES = {**SIGNED_CDN, "cdn_signed_cookies": True, "cdn_cookie_domain": "example.com"}


def _window_clock(signer: CdnSigner) -> list[dt.datetime]:
    """Sets the signer's clock to the returned list's one item, now at a window's start."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    moment = [now - dt.timedelta(seconds=int(now.timestamp()) % WINDOW)]
    signer.clock = lambda: moment[0]
    return moment


def _assert_signed_for(url: str, resource: str, issued_at: float) -> dict[str, str]:
    """The URL's policy opens `resource` until at least TTL after `issued_at` and at most
    TTL + WINDOW; its signature verifies with the key; the key pair is the configured one."""
    params = signed_params(url)
    statement = policy_statement(params["Policy"])
    assert statement["Resource"] == resource
    assert resource_covers(resource, url)
    expiry = statement["Condition"]["DateLessThan"]["AWS:EpochTime"]
    assert issued_at + TTL <= expiry + 1 and expiry <= issued_at + TTL + WINDOW
    assert verifies(params["Policy"], params["Signature"])
    assert params["Key-Pair-Id"] == KEY_ID
    return params


# -- the signer alone ----------------------------------------------------------------------


def _signer() -> CdnSigner:
    return CdnSigner(KEY_ID, pem(), ttl_seconds=TTL, window_seconds=WINDOW)


def test_one_policy_covers_every_object_under_the_prefix_and_verifies():
    signer = _signer()
    moment = _window_clock(signer)
    moment[0] += dt.timedelta(seconds=WINDOW - 1)
    manifest = signer.signed_url(BASE, "videos/a/1/index.m3u8", "videos/a/1")
    segment = signer.signed_url(BASE, "videos/a/1/720p/seg-00042.ts", "videos/a/1")
    assert manifest.startswith(f"{BASE}/videos/a/1/index.m3u8?Policy=")
    params = _assert_signed_for(manifest, f"{BASE}/videos/a/1*", moment[0].timestamp())
    assert signed_params(segment) == params
    assert resource_covers(f"{BASE}/videos/a/1*", segment.partition("?")[0])


def test_each_prefix_is_signed_once_a_window():
    signer = _signer()
    moment = _window_clock(signer)
    first = signer.signed_url(BASE, "videos/a/1/index.m3u8", "videos/a/1")
    moment[0] += dt.timedelta(seconds=WINDOW - 1)
    signer.signed_url(BASE, "videos/a/1/seg-1.ts", "videos/a/1")
    other = signer.signed_url(BASE, "videos/a/2/index.m3u8", "videos/a/2")
    assert signer.stats.signatures == 2 and signer.stats.hits == 1
    assert signed_params(first)["Signature"] != signed_params(other)["Signature"]
    moment[0] += dt.timedelta(seconds=1)  # the next window
    later = signer.signed_url(BASE, "videos/a/1/index.m3u8", "videos/a/1")
    assert signer.stats.signatures == 3 and later != first


def test_the_policy_cache_is_bounded():
    signer = CdnSigner(KEY_ID, pem(), ttl_seconds=TTL, window_seconds=WINDOW, cache_size=2)
    _window_clock(signer)
    for index in range(3):
        signer.signed_url(BASE, f"videos/a/{index}", f"videos/a/{index}")
    signer.signed_url(BASE, "videos/a/0", "videos/a/0")  # evicted: signed again
    assert signer.stats.size == 2 and signer.stats.signatures == 4


@pytest.mark.parametrize("text", [pem(pkcs1=True), pem().replace("\n", "\\n")])
def test_pkcs1_keys_and_keys_on_one_line_load(text):
    assert load_private_key(text).key_size == rsa_key().key_size


# -- the API's video responses (both databases) --------------------------------------------


def _insert(client, visibility, owner="alice"):
    video_id = uuid.uuid4()
    thumbnail = f"thumbnails/{owner}/{uuid.uuid4()}"
    insert_video(client, id=video_id, visibility=visibility, owner_id=owner,
                 thumbnail_s3_key=thumbnail)
    return str(video_id), f"videos/{owner}/{video_id}", thumbnail


def _cdn(client) -> CdnSigner:
    signer: CdnSigner = client.app.state.ctx.state["video"].storage.cdn
    return signer


@pytest.mark.parametrize("visibility", ["UNLISTED", "PRIVATE"])
def test_a_non_public_video_gets_cloudfront_signed_urls_for_its_prefix(make_video_client,
                                                                       visibility):
    client = make_video_client(SIGNED_CDN)
    video_id, key, thumb = _insert(client, visibility)
    issued_at = time.time()
    seen = workflow.get_video(client, ALICE, video_id).json()
    assert seen["playback_url"].startswith(f"{BASE}/{key}?")
    _assert_signed_for(seen["playback_url"], f"{BASE}/{key}*", issued_at)
    assert resource_covers(f"{BASE}/{key}*", f"{BASE}/{key}/hls/seg-1.ts")
    assert seen["thumbnail_url"].startswith(f"{THUMBS}/{thumb}?")
    _assert_signed_for(seen["thumbnail_url"], f"{THUMBS}/{thumb}*", issued_at)
    assert "X-Amz-Signature" not in seen["playback_url"] + seen["thumbnail_url"]


def test_a_videos_policy_opens_no_other_videos_media(make_video_client):
    client = make_video_client(SIGNED_CDN)
    first_id, first_key, _ = _insert(client, "PRIVATE")
    _, second_key, _ = _insert(client, "PRIVATE")
    _, bobs_key, _ = _insert(client, "PRIVATE", owner="bob")
    url = workflow.get_video(client, ALICE, first_id).json()["playback_url"]
    resource = policy_statement(signed_params(url)["Policy"])["Resource"]
    assert resource_covers(resource, f"{BASE}/{first_key}/index.m3u8")
    for other in (second_key, bobs_key):
        assert not resource_covers(resource, f"{BASE}/{other}")
        assert not resource_covers(resource, f"{BASE}/{other}/index.m3u8")


def test_a_public_video_stays_unsigned_unless_cdn_sign_public(make_video_client):
    client = make_video_client(SIGNED_CDN)
    video_id, key, thumb = _insert(client, "PUBLIC")
    seen = workflow.get_video(client, workflow.ANONYMOUS, video_id).json()
    assert (seen["playback_url"], seen["thumbnail_url"]) == (f"{BASE}/{key}", f"{THUMBS}/{thumb}")

    client = make_video_client({**SIGNED_CDN, "cdn_sign_public": True})
    video_id, key, _ = _insert(client, "PUBLIC")
    seen = workflow.get_video(client, workflow.ANONYMOUS, video_id).json()
    _assert_signed_for(seen["playback_url"], f"{BASE}/{key}*", time.time())


def test_urls_of_one_window_share_one_signature_per_prefix(make_video_client):
    client = make_video_client(SIGNED_CDN)
    for _ in range(2):
        _insert(client, "PRIVATE")
    moment = _window_clock(_cdn(client))
    first = workflow.list_mine(client, ALICE).json()  # never cached: signed afresh each time
    assert _cdn(client).stats.signatures == 4  # two prefixes, two thumbnails
    moment[0] += dt.timedelta(seconds=WINDOW - 1)
    assert workflow.list_mine(client, ALICE).json() == first
    assert _cdn(client).stats.signatures == 4
    moment[0] += dt.timedelta(seconds=1)
    workflow.list_mine(client, ALICE)
    assert _cdn(client).stats.signatures == 8


# -- signed cookies ------------------------------------------------------------------------


def _cookies_of(response) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return jar


def _post_cookies(client, viewer, video_id):
    return client.post(f"{workflow.PREFIX}/{video_id}/playback-cookies",
                       **viewer.request_options())


def test_the_cookies_carry_the_policy_of_the_videos_prefix(make_video_client):
    client = make_video_client(COOKIES)
    video_id, key, _ = _insert(client, "PRIVATE")
    url = workflow.get_video(client, ALICE, video_id).json()["playback_url"]
    answer = _post_cookies(client, ALICE, video_id)
    assert answer.status_code == 204, answer.text
    jar = _cookies_of(answer)
    assert sorted(jar) == ["CloudFront-Key-Pair-Id", "CloudFront-Policy", "CloudFront-Signature"]
    params = signed_params(url)
    assert jar["CloudFront-Policy"].value == params["Policy"]
    assert jar["CloudFront-Signature"].value == params["Signature"]
    assert jar["CloudFront-Key-Pair-Id"].value == KEY_ID
    assert verifies(jar["CloudFront-Policy"].value, jar["CloudFront-Signature"].value)
    assert policy_statement(jar["CloudFront-Policy"].value)["Resource"] == f"{BASE}/{key}*"
    for morsel in jar.values():
        assert morsel["domain"] == "example.com" and morsel["path"] == "/"
        assert morsel["secure"] and morsel["httponly"] and morsel["samesite"].lower() == "lax"
        assert TTL <= int(morsel["max-age"]) <= TTL + WINDOW
    assert answer.headers["cache-control"] == "no-store"
    assert "set-cookie" not in workflow.get_video(client, ALICE, video_id).headers


def test_only_a_viewer_of_the_video_gets_cookies(make_video_client):
    client = make_video_client(COOKIES)
    private_id, _, _ = _insert(client, "PRIVATE")
    unlisted_id, _, _ = _insert(client, "UNLISTED")
    public_id, _, _ = _insert(client, "PUBLIC")
    for viewer in (BOB, workflow.ANONYMOUS):
        refused = _post_cookies(client, viewer, private_id)
        assert refused.status_code == 404 and "set-cookie" not in refused.headers
    assert len(_cookies_of(_post_cookies(client, BOB, unlisted_id))) == 3
    unsigned = _post_cookies(client, BOB, public_id)  # public media needs no cookie
    assert unsigned.status_code == 204 and "set-cookie" not in unsigned.headers


def test_the_cookie_route_exists_only_with_cdn_signed_cookies(make_video_client):
    client = make_video_client(SIGNED_CDN)
    video_id, _, _ = _insert(client, "PRIVATE")
    assert _post_cookies(client, ALICE, video_id).status_code in (404, 405)


# -- settings ------------------------------------------------------------------------------


KEYED = {"cdn_key_id": KEY_ID, "cdn_private_key": pem(), "playback_base_url": BASE}


@pytest.mark.parametrize(("changes", "named"), [
    ({"cdn_key_id": KEY_ID}, "plugins.video.cdn_key_id, cdn_private_key:"),
    ({"cdn_private_key": pem()}, "plugins.video.cdn_key_id, cdn_private_key:"),
    ({**KEYED, "cdn_private_key": ec_pem()}, "plugins.video.cdn_private_key: is not an RSA"),
    ({**KEYED, "cdn_private_key": pem()[:-80]}, "plugins.video.cdn_private_key: does not load"),
    ({**KEYED, "playback_base_url": ""}, "plugins.video.playback_base_url: required"),
    ({**KEYED, "playback_base_url": "http://cdn.example.com"},
     "plugins.video.playback_base_url: expected an https://"),
    ({"thumbnail_base_url": "ftp://cdn.example.com"}, "plugins.video.thumbnail_base_url:"),
    ({**KEYED, "cdn_key_id": "K2 JC&x"}, "plugins.video.cdn_key_id: expected"),
    ({"cdn_sign_public": True}, "plugins.video.cdn_sign_public: needs cdn_key_id"),
    ({"cdn_signed_cookies": True}, "plugins.video.cdn_signed_cookies: needs cdn_key_id"),
    ({**KEYED, "cdn_cookie_domain": "other.org"}, "plugins.video.cdn_cookie_domain:"),
])
def test_unusable_cdn_settings_are_named_and_the_key_never_shown(changes, named):
    problems = settings_problems(VideoSettings(**changes))
    assert any(problem.startswith(named) for problem in problems), problems
    key_text = pem_body(changes.get("cdn_private_key", ""))
    assert not key_text or not any(part in "\n".join(problems)
                                   for part in (key_text, key_text[:40], key_text[-40:]))


@pytest.mark.parametrize("changes", [
    KEYED,
    {**KEYED, "thumbnail_base_url": THUMBS, "cdn_sign_public": True,
     "cdn_signed_cookies": True, "cdn_cookie_domain": ".example.com"},
    {**KEYED, "playback_base_url": "http://localhost:9000/v"},
    {"playback_base_url": BASE},  # unsigned, as before
])
def test_usable_cdn_settings_are_accepted(changes):
    assert settings_problems(VideoSettings(**changes)) == []


def _config_file(tmp_path) -> str:
    path = tmp_path / "cdn.toml"
    path.write_text(f"""
[app]
plugins = ["local_aws", "video"]
[plugins.video]
playback_base_url = "{BASE}"
cdn_key_id = "{KEY_ID}"
cdn_private_key = "env:CDN_PRIVATE_KEY"
""")
    return str(path)


def test_config_check_refuses_a_key_that_is_not_rsa_without_printing_it(tmp_path, capsys,
                                                                         monkeypatch):
    wrong = ec_pem()
    monkeypatch.setenv("CDN_PRIVATE_KEY", wrong)
    assert main(["config", "check", "--config", _config_file(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert "plugins.video.cdn_private_key: is not an RSA key" in err
    assert pem_body(wrong) not in out + err and pem_body(wrong)[:40] not in out + err


def test_config_check_masks_the_key(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CDN_PRIVATE_KEY", pem())
    assert main(["config", "check", "--config", _config_file(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["plugins"]["video"]["cdn_private_key"] == "********"
    assert pem_body(pem())[:40] not in out + err


def test_the_cookie_route_is_in_the_document(make_video_client):
    document = make_video_client(COOKIES).get("/openapi.json").json()
    operation = document["paths"][f"{workflow.PREFIX}/{{video_id}}/playback-cookies"]["post"]
    assert set(operation["responses"]) >= {"204", "404", "503"}
    assert "Set-Cookie" in operation["responses"]["204"]["headers"]


# -- rewritten playlists ---------------------------------------------------------------------


def test_rewritten_playlists_name_cloudfront_signed_segments(make_video_client, s3):
    """Each segment URL carries the policy of the video's prefix in its query, so a stock
    player plays a private video from the CDN without cookies."""
    client = make_video_client(SIGNED_CDN)
    video_id, key = completed_with_ladder(client, s3)
    moment = _window_clock(_cdn(client))
    media = client.get(f"{workflow.PREFIX}/{video_id}/playback/hls/v0/index.m3u8",
                       **ALICE.request_options())
    assert media.status_code == 200, media.text
    segments = [line for line in media.text.splitlines() if line and not line.startswith("#")]
    assert [segment.partition("?")[0] for segment in segments] == [
        f"{BASE}/{key}/hls/v0/segment_000.ts", f"{BASE}/{key}/hls/v0/segment_001.ts"]
    params = _assert_signed_for(segments[0], f"{BASE}/{key}*", moment[0].timestamp())
    assert signed_params(segments[1]) == params  # one policy for the whole prefix
    assert "X-Amz-Signature" not in media.text


def test_a_signed_hls_video_plays_through_the_manifest_route(make_video_client, s3):
    """The CDN's master playlist would name segments without a signature, so a video whose
    media is CloudFront-signed is played through the API's rewritten playlists."""
    client = make_video_client(SIGNED_CDN)
    video_id, _key = completed_with_ladder(client, s3)
    seen = workflow.get_video(client, ALICE, video_id).json()
    manifest = f"{workflow.PREFIX}/{video_id}/playback.m3u8"
    assert seen["playback_url"] == manifest
    assert [r["url"] for r in seen["renditions"] if r["kind"] == "hls"] == [manifest]
    poster = [r["url"] for r in seen["renditions"] if r["kind"] == "poster"]
    assert poster and poster[0].startswith(f"{BASE}/") and "Policy=" in poster[0]
