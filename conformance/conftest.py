"""pytest fixtures shared by the Python conformance modules: a fresh simulator per test."""

import pytest

from simulator import Simulator


@pytest.fixture
def sim(request):
    """`scaleguard sim` on 127.0.0.1; `@pytest.mark.scenario("scale-in")` picks another scenario,
    `@pytest.mark.speed(10)` another speed (simulated seconds per second, default 100)."""
    marker = request.node.get_closest_marker("scenario")
    speed = request.node.get_closest_marker("speed")
    simulator = Simulator(scenario=marker.args[0] if marker else "steady", speed=speed.args[0] if speed else 100.0)
    yield simulator
    simulator.stop()


def pytest_configure(config):
    config.addinivalue_line("markers", "scenario(name): the simulator scenario the test starts")
    config.addinivalue_line("markers", "speed(x): the simulator's speed, simulated seconds per second")
