"""The demo page over plain HTTP: served with its files (hls.js among them, as the npm
registry ships it), locked down by its headers, listed in the embedded default and refused
in production."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from core.app import prepare
from core.config import config_from_dict
from core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "plugins" / "demo" / "static"
SCRIPTS = ("demo.js", "player.js", "hls.light.min.js")


@pytest.fixture
def client(make_config, make_client):
    return make_client(make_config(["auth_cognito", "video", "demo"]))


def directives(policy: str) -> dict[str, list[str]]:
    parsed = (part.split() for part in policy.split(";") if part.strip())
    return {name: sources for name, *sources in parsed}


def test_the_page_and_its_files_are_served_with_their_types(client):
    page = client.get("/demo")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<progress" in page.text and 'type="file"' in page.text
    for path, media_type in (
            *((f"/demo/static/{name}", "text/javascript; charset=utf-8") for name in SCRIPTS),
            ("/demo/static/demo.css", "text/css; charset=utf-8")):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"] == media_type
        assert answer.content == (STATIC / path.rsplit("/", 1)[1]).read_bytes()


def test_every_file_the_page_names_is_served(client):
    page = client.get("/demo").text
    named = re.findall(r'(?:src|href)="(/[^"]*)"', page)
    assert named
    for path in named:
        assert client.get(path).status_code == 200, path


def test_hls_js_comes_before_the_scripts_using_it():
    page = (STATIC / "index.html").read_text()
    scripts = re.findall(r'<script src="/demo/static/([^"]+)" defer></script>', page)
    assert scripts == ["hls.light.min.js", "player.js", "demo.js"]


def test_the_vendored_hls_js_is_the_npm_release_with_its_licence():
    script = (STATIC / "hls.light.min.js").read_text()
    assert '"1.7.4"' in script
    assert "Apache License" in (STATIC / "hls.js-LICENSE.txt").read_text()


@pytest.mark.parametrize("path", ["/demo/static/index.html", "/demo/static/missing.js",
                                  "/demo/static/..%2F__init__.py", "/demo/static/"])
def test_nothing_else_under_the_page_is_served(client, path):
    answer = client.get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"


def test_the_page_may_run_only_its_own_scripts_and_talk_only_to_the_api_and_s3(
        client, moto_endpoint):
    for path in ("/demo", "/demo/static/demo.js", "/demo/static/demo.css"):
        headers = client.get(path).headers
        policy = directives(headers["content-security-policy"])
        assert policy["default-src"] == ["'none'"]
        assert policy["script-src"] == ["'self'"]
        assert policy["style-src"] == ["'self'"]
        assert policy["connect-src"] == ["'self'", moto_endpoint]
        # hls.js plays through Media Source Extensions (blob: URLs), without a worker.
        assert policy["media-src"] == ["'self'", moto_endpoint, "https:", "blob:"]
        assert "worker-src" not in policy
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["base-uri"] == ["'none'"]
        assert headers["x-content-type-options"] == "nosniff"
        # Presigned URLs must not leak to other sites through Referer.
        assert headers["referrer-policy"] == "no-referrer"


def test_hls_js_may_fetch_from_the_cdn_serving_videos(make_config, make_client,
                                                      moto_endpoint):
    client = make_client(make_config(["auth_cognito", "video", "demo"], plugins={
        "video": {"playback_base_url": "https://cdn.example.com/media"}}))
    policy = directives(client.get("/demo").headers["content-security-policy"])
    assert policy["connect-src"] == ["'self'", moto_endpoint, "https://cdn.example.com"]


def test_the_page_uses_no_inline_script_or_style():
    page = (STATIC / "index.html").read_text()
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
    assert "<style" not in page and " style=" not in page
    assert re.search(r"\son[a-z]+=", page) is None


def test_the_page_is_not_part_of_the_api_document(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/demo")]


def test_a_production_config_refuses_the_demo():
    config = config_from_dict({"app": {"environment": "production", "plugins": ["demo"]}},
                              source="<test>", environ={})
    with pytest.raises(ConfigError, match="demo serves a development page at /demo"):
        prepare(config)


def test_the_embedded_default_serves_it_and_production_does_not_load_it():
    default = tomllib.loads((REPO / "config" / "default.toml").read_text())
    production = tomllib.loads((REPO / "config" / "production.toml").read_text())
    assert "demo" in default["app"]["plugins"]
    assert "demo" not in production["app"]["plugins"]
    assert "demo" not in production.get("plugins", {})
