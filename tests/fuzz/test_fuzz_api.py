"""Schemathesis against a real itube process, driven by the OpenAPI document it serves:
every operation, every check, in three passes (anonymous; a registered, signed-in user's
cookies; SigV4-signed service calls on the internal routes). No response may be a 5xx and
every response must match the document. The figures are printed in the run's summary."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.core.failures import FailureGroup

from tests.fuzz.budget import MAX_EXAMPLES
from tests.fuzz.figures import FIGURES, counting_session, figures_for
from tests.fuzz.server import FuzzServer

pytestmark = pytest.mark.slow

# The service pass has two operations where the others have all of them: it gets more
# examples each for about the same time.
SERVICE_FACTOR = 4


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,  # a real server on a shared machine: time is not what is checked
        derandomize=True,  # reproducible: the same cases on every run
        database=None,  # and nothing remembered from an earlier run
        # Generating bodies and parameters that fit the document is slow and filters out
        # many draws by design; neither is a problem of the code under test.
        suppress_health_check=list(HealthCheck),
    )


def security(operation: Any) -> list[dict[str, Any]]:
    return operation.definition.raw.get("security", [])


def is_service_operation(ctx: Any) -> bool:
    """An operation whose security names a service-auth scheme (`service_<name>`)."""
    return any(name.startswith("service_") for req in security(ctx.operation) for name in req)


def is_event_stream(ctx: Any) -> bool:
    return ctx.operation.path == "/api/v1/upload/videos/events"


def requires_credentials(operation: Any) -> bool:
    """Security declared, and no empty requirement (which would make it optional)."""
    requirements = security(operation)
    return bool(requirements) and all(requirements)


@pytest.fixture(autouse=True)
def _node_id_for_lazy_schemas(request: pytest.FixtureRequest) -> None:
    # Schemathesis 4.32's lazy schemas (`from_fixture`) read and rename pytest's private
    # `Node._nodeid` to label each operation; pytest 9.2 keeps the id elsewhere. Give it
    # the attribute (only the labels depend on it).
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


anonymous = schemathesis.pytest.from_fixture("anonymous_schema")
# The live event stream's body never ends (tests/video/test_live.py covers it); without a
# session it is a 401 like any other route, which the anonymous pass checks.
signed_in = schemathesis.pytest.from_fixture("signed_in_schema").exclude(is_event_stream)
service = schemathesis.pytest.from_fixture("service_schema").include(is_service_operation)


def call_and_check(case: Any, server: FuzzServer, pass_name: str) -> None:
    figures = figures_for(f"{pass_name}[{server.backend}]")
    try:
        response = case.call_and_validate(session=counting_session(figures))
    except FailureGroup as group:
        figures.record_failures(group.exceptions)
        raise
    figures.record_success(response.status_code,
                           requires_credentials=requires_credentials(case.operation))


def test_the_served_document_is_valid_openapi_3_1(fuzz_server: FuzzServer) -> None:
    """The document of the embedded default's plugins, as the fuzzer reads it."""
    document = httpx.get(f"{fuzz_server.url}/openapi.json", timeout=10).json()
    assert document["openapi"] == "3.1.0"
    validate(document)


@anonymous.parametrize()
@fuzz_settings(MAX_EXAMPLES)
def test_anonymous(case: Any, fuzz_server: FuzzServer) -> None:
    call_and_check(case, fuzz_server, "anonymous")


@signed_in.parametrize()
@fuzz_settings(MAX_EXAMPLES)
def test_signed_in_user(case: Any, fuzz_server: FuzzServer) -> None:
    call_and_check(case, fuzz_server, "signed-in")


@service.parametrize()
@fuzz_settings(MAX_EXAMPLES * SERVICE_FACTOR)
def test_service_signed(case: Any, fuzz_server: FuzzServer) -> None:
    call_and_check(case, fuzz_server, "service")


def test_the_passes_were_real_and_the_server_logged_no_error(fuzz_server: FuzzServer) -> None:
    """Runs after the passes (same module, same server). Every pass sent requests; the
    credentialed passes got 2xx answers where credentials are required (else a broken
    signer or session would hide behind declared 401s); no exception escaped a handler
    (it would be logged at ERROR)."""
    ran = {name.partition("[")[0]: figures for name, figures in FIGURES.items()
           if name.endswith(f"[{fuzz_server.backend}]")}
    if set(ran) != {"anonymous", "signed-in", "service"}:
        pytest.skip("run with the three passes to check their figures")
    assert all(figures.requests > 0 for figures in ran.values())
    assert ran["signed-in"].authorized_successes > 0
    assert ran["service"].authorized_successes > 0
    assert ran["anonymous"].authorized_successes == 0
    assert fuzz_server.errors_logged() == []
