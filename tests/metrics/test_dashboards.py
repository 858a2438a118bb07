"""The Grafana dashboard and the Prometheus alerts of docs/ query metric names a real
`/metrics` scrape exports, and the operator's guide lists every alert."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.video import workflow
from tests.video.support import user

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "docs" / "grafana" / "itube-dashboard.json"
ALERTS = REPO / "docs" / "prometheus" / "alerts.yml"
GUIDE = REPO / "docs" / "operations.md"
METRIC_NAME = re.compile(r"\bitube_[a-z0-9_]+\b")
# Series Prometheus makes itself for every target it scrapes.
PROMETHEUS_OWN = {"up"}
# The series names each family type is stored under.
SUFFIXES = {"counter": ["_total"], "gauge": [""], "histogram": ["_bucket", "_count", "_sum"]}


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    queries += [variable["definition"] for variable in dashboard["templating"]["list"]
                if "definition" in variable]
    return queries


def alert_rules() -> dict[str, str]:
    """Alert name -> its expression, read with a pattern (no YAML parser is installed)."""
    rules = re.findall(r"- alert: (\w+)\n\s+expr: (\|\n(?:\s{10,}.*\n)+|.*\n)",
                       ALERTS.read_text(encoding="utf-8"))
    return {name: expr.removeprefix("|") for name, expr in rules}


@pytest.fixture
def exported_names(make_metrics_client, redis_url, redis_prefix) -> set[str]:
    """Every series name a scrape exports after some requests, families not yet counted
    included (they are declared by their `# TYPE` line)."""
    client = make_metrics_client(
        ["cache_redis", "video"],
        plugins={"cache_redis": {"url": redis_url, "key_prefix": redis_prefix}},
    )
    assert workflow.list_public(client, user("alice")).status_code == 200
    assert client.get(f"{workflow.PREFIX}/{uuid.uuid4()}").status_code == 404
    assert client.get("/healthz").status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200
    names = set()
    for family in text_string_to_metric_families(response.text):
        names |= {sample.name for sample in family.samples}
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, [""])}
    return names


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_metric_the_dashboard_queries_is_exported(exported_names):
    queries = dashboard_queries()
    assert len(queries) >= 12
    used = {name for query in queries for name in METRIC_NAME.findall(query)}
    assert len(used) >= 10
    assert sorted(used - exported_names) == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_metric_the_alerts_query_is_exported(exported_names):
    rules = alert_rules()
    assert len(rules) >= 8
    for name, expr in rules.items():
        used = set(METRIC_NAME.findall(expr)) or {word for word in PROMETHEUS_OWN if
                                                 re.search(rf"\b{word}\{{", expr)}
        assert used, f"{name} queries no metric"
        assert sorted(used - exported_names - PROMETHEUS_OWN) == [], name


def test_the_dashboard_is_json_with_a_panel_per_view():
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    titles = [panel["title"] for panel in dashboard["panels"]]
    assert len(set(titles)) == len(titles)
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(titles)
    for wanted in ("Request rate", "Error rate", "Latency p50", "Latency p95", "Latency p99",
                   "in flight", "Database pool", "Cache hit ratio", "Cache breaker",
                   "status transitions", "Rate-limit refusals", "Auth failures"):
        assert any(wanted in title for title in titles), wanted


def test_every_alert_rule_is_complete_and_listed_in_the_guide():
    text = ALERTS.read_text(encoding="utf-8")
    rules = alert_rules()
    assert text.count("- alert: ") == len(rules)
    for field in ("for: ", "severity: ", "summary: ", "description: "):
        assert text.count(field) == len(rules), field
    guide = GUIDE.read_text(encoding="utf-8")
    assert [name for name in rules if f"| `{name}` |" not in guide] == []
    assert len(re.findall(r"^\| `Itube\w+` \|", guide, re.M)) == len(rules)
