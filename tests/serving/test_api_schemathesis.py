"""A bounded schemathesis run against the real service (uvicorn on a free port, real stores):
every operation of the OpenAPI document, generated and mutated bodies, 0 server errors.
Issue 13, item 7: before, 69 of 673 schemathesis requests got a 500."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from featurelock.serving.app import create_app
from tests.conftest import nyc

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def base_url(served_home) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(nyc()), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the service did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


def test_no_request_gets_a_server_error(base_url):
    """Every operation: schema-conforming and mutated cases (schemathesis' strategies, driven by
    hypothesis directly: its pytest plugin does not run on this pytest), each must get no 5xx."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert sorted(op.path for op in operations) == ["/health", "/model", "/predict", "/predict/batch"]
    calls = []
    for operation, mode in itertools.product(operations, GenerationMode):

        @given(case=operation.as_strategy(mode))
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            response = case.call_and_validate(base_url=base_url, checks=[not_a_server_error])
            calls.append(response.status_code)

        try:
            check()
        except Unsatisfiable:  # a GET without parameters has no negative case to generate
            assert mode is GenerationMode.NEGATIVE and operation.method.upper() == "GET"
    assert len(calls) >= 150 and max(calls) < 500
