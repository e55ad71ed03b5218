"""pytest fixtures shared by the Python conformance modules: a fresh simulator per test."""

import pytest

from simulator import Simulator


@pytest.fixture
def sim(request):
    """`scaleguard sim` on 127.0.0.1; `@pytest.mark.scenario("scale-in")` picks another scenario."""
    marker = request.node.get_closest_marker("scenario")
    simulator = Simulator(scenario=marker.args[0] if marker else "steady")
    yield simulator
    simulator.stop()


def pytest_configure(config):
    config.addinivalue_line("markers", "scenario(name): the simulator scenario the test starts")
