"""Who may read `/metrics`, and what an app's registry holds."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter

from core.errors import ConfigError
from core.plugins import hookimpl
from tests.metrics.conftest import scrape, value

OUTSIDER = ("203.0.113.7", 40000)


def test_metrics_are_off_by_default(make_config, make_client):
    client = make_client(make_config([]), client=("127.0.0.1", 50000))
    assert client.get("/metrics").status_code == 404


def test_an_allowed_network_scrapes_without_credentials(make_metrics_client):
    client = make_metrics_client(metrics={"allowed_networks": ["203.0.113.0/24"]},
                                 client=OUTSIDER)
    assert "itube_http_requests" in scrape(client)


def test_another_address_needs_a_service_identity(make_metrics_client):
    client = make_metrics_client(client=OUTSIDER)
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert "itube_" not in refused.text
    assert "itube_http_requests" in scrape(client, headers={"X-Test-Service": "prometheus"})


def test_a_trusted_proxy_reports_the_scraper_address(make_metrics_client):
    client = make_metrics_client(
        metrics={"allowed_networks": ["10.1.0.0/16"]},
        http={"trusted_proxies": ["203.0.113.0/24"]}, client=OUTSIDER,
    )
    assert client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.1"}).status_code \
        == 401
    assert "itube_http_requests" in scrape(client, headers={"X-Forwarded-For": "10.1.2.3"})


def test_a_bad_network_stops_start_up(make_config):
    with pytest.raises(ConfigError, match=r"metrics\.allowed_networks.*10\.0\.0\.0/33"):
        make_config([], metrics={"enabled": True, "allowed_networks": ["10.0.0.0/33"]})


def test_two_apps_count_apart(make_metrics_client):
    first, second = make_metrics_client(), make_metrics_client()
    for _ in range(3):
        assert first.get("/healthz").status_code == 200
    assert value(scrape(first)["itube_http_requests"], "itube_http_requests_total",
                 route="/healthz", status="200") == 3
    assert value(scrape(second)["itube_http_requests"], "itube_http_requests_total",
                 route="/healthz") is None


def test_a_method_outside_the_standard_ones_counts_as_other(make_metrics_client):
    client = make_metrics_client()
    for method in ("PROPFIND", "MKCOL", "SEARCH"):
        client.request(method, "/healthz")
    samples = scrape(client)["itube_http_requests"]
    assert value(samples, "itube_http_requests_total", route="/healthz", method="other") == 3
    assert {sample.labels["method"] for sample in samples} <= {"GET", "other"}


class JobsPlugin:
    """A plugin with a metric family of its own, counted by its route."""

    @hookimpl
    def register_metrics(self, ctx, registry: CollectorRegistry) -> None:
        ctx.state["jobs"] = Counter("jobs_done", "Jobs done.", ["kind"], registry=registry)

    @hookimpl
    def register_routes(self, ctx):
        from starlette.responses import Response
        from starlette.routing import Route

        def done(request):
            ctx.state["jobs"].labels("thumbnail").inc()
            return Response(status_code=204)

        def broken(request):
            raise RuntimeError("a bug")

        return [Route("/jobs/done", done, methods=["POST"]),
                Route("/jobs/{job_id:int}", broken, methods=["GET"])]


@pytest.mark.hooks("register_metrics")
def test_a_plugin_adds_its_own_family(make_metrics_client):
    client = make_metrics_client(extra=[JobsPlugin()])
    for _ in range(2):
        assert client.post("/jobs/done").status_code == 204
    families = scrape(client)
    assert value(families["jobs_done"], "jobs_done_total", kind="thumbnail") == 2
    assert value(families["itube_http_requests"], "itube_http_requests_total",
                 method="POST", route="/jobs/done", status="204") == 2


def test_an_unhandled_error_counts_as_a_500_of_its_route(make_metrics_client):
    client = make_metrics_client(extra=[JobsPlugin()])
    assert client.get("/jobs/7").status_code == 500
    families = scrape(client)
    assert value(families["itube_http_requests"], "itube_http_requests_total",
                 method="GET", route="/jobs/{job_id}", status="500") == 1
