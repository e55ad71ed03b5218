"""Start `scaleguard sim` (the real binary) on 127.0.0.1 and talk to its control endpoint.

Shared by every Python conformance module (one module per platform SDK).
"""

import json
import os
import selectors
import subprocess
import tempfile
import tomllib
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent


def binary() -> str:
    """The scaleguard binary under test: $SCALEGUARD_BIN, else the debug build."""
    path = os.environ.get("SCALEGUARD_BIN") or str(REPO / "target" / "debug" / "scaleguard")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"no scaleguard binary at {path}: build it (cargo build) or set SCALEGUARD_BIN")
    return path


class Simulator:
    """One simulator process; `stop()` ends it (the fixtures always do)."""

    def __init__(self, scenario: str = "steady", speed: float = 100.0):
        self._dir = tempfile.TemporaryDirectory(prefix="scaleguard-conformance-")
        config = Path(self._dir.name) / "sim.toml"
        self._stderr = open(Path(self._dir.name) / "sim.stderr", "w+")
        self.process = subprocess.Popen(
            [binary(), "sim", "--listen", "127.0.0.1:0", "--scenario", scenario, "--speed", str(speed),
             "--write-config", str(config)],
            stdout=subprocess.PIPE, stderr=self._stderr, stdin=subprocess.DEVNULL, text=True,
        )
        try:
            line = self._first_line(timeout=30)
            printed = json.loads(line)
        except Exception:
            self.stop()
            raise
        self.arm_url = printed["arm_url"].rstrip("/")
        self.octopus_url = printed["octopus_url"].rstrip("/")
        for url in (self.arm_url, self.octopus_url):
            if urlparse(url).hostname != "127.0.0.1":
                self.stop()
                raise RuntimeError(f"the simulator must listen on loopback only, it printed {url}")
        self.arm_token = printed["env"]["ARM_TOKEN"]
        self.api_key = printed["env"]["OCTOPUS_API_KEY"]
        # Everything a client needs, AWS credentials and region included for an AWS scenario.
        self.env = dict(printed["env"])
        self.aws_url = printed.get("aws_url", "").rstrip("/")
        if self.aws_url and urlparse(self.aws_url).hostname != "127.0.0.1":
            self.stop()
            raise RuntimeError(f"the simulator must listen on loopback only, it printed {self.aws_url}")
        profile = tomllib.loads(config.read_text())
        first_profile = next(iter(profile["profiles"].values()))
        self.scale_set = first_profile["scale_sets"][0]

    def _first_line(self, timeout: float) -> str:
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise RuntimeError(f"scaleguard sim printed nothing within {timeout}s: {self.stderr()}")
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"scaleguard sim exited ({self.process.poll()}): {self.stderr()}")
        return line

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()[-2000:]

    def control(self, method: str, path: str, body=None):
        """`/_sim/<path>`: page sizes, faults, events, stats."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.arm_url}/_sim/{path}", data=data, method=method,
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self._stderr.close()
        self._dir.cleanup()
