// Start `scaleguard sim` (the real binary) on 127.0.0.1 and talk to its control endpoint.
// Shared by every Node conformance module (one module per platform client).

import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Packages from the pinned npm folder conformance/run installs (outside the source tree). */
export function requirePinned(name) {
  const folder = process.env.CONFORMANCE_NPM_DIR ?? path.join(repo, "target", "conformance", "npm");
  return createRequire(path.join(folder, "package.json"))(name);
}

function firstLine(stream, timeoutMs, stderr) {
  return new Promise((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => reject(new Error(`scaleguard sim printed nothing within ${timeoutMs} ms: ${stderr()}`)), timeoutMs);
    stream.on("data", (chunk) => {
      buffered += chunk;
      const end = buffered.indexOf("\n");
      if (end >= 0) {
        clearTimeout(timer);
        resolve(buffered.slice(0, end));
      }
    });
    stream.on("end", () => {
      clearTimeout(timer);
      reject(new Error(`scaleguard sim exited before printing its line: ${stderr()}`));
    });
  });
}

/** One simulator process; `stop()` ends it (every test does, in a finally). */
export async function startSimulator({ scenario = "steady", speed = 100 } = {}) {
  const binary = process.env.SCALEGUARD_BIN ?? path.join(repo, "target", "debug", "scaleguard");
  const child = spawn(binary, ["sim", "--listen", "127.0.0.1:0", "--scenario", scenario, "--speed", String(speed)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr = (stderr + chunk).slice(-2000)));
  const spawnFailed = new Promise((_, reject) => child.on("error", (err) => reject(new Error(`cannot run ${binary}: ${err.message}`))));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
  };
  let printed;
  try {
    printed = JSON.parse(await Promise.race([firstLine(child.stdout, 30_000, () => stderr), spawnFailed]));
  } catch (err) {
    await stop();
    throw err;
  }
  const octopusUrl = printed.octopus_url.replace(/\/$/, "");
  const controlUrl = printed.arm_url.replace(/\/$/, "");
  for (const url of [octopusUrl, controlUrl]) {
    if (new URL(url).hostname !== "127.0.0.1") {
      await stop();
      throw new Error(`the simulator must listen on loopback only, it printed ${url}`);
    }
  }
  return {
    octopusUrl,
    apiKey: printed.env.OCTOPUS_API_KEY,
    /** `/_sim/<path>`: page sizes, faults, events, state. */
    async control(method, controlPath, body) {
      const response = await fetch(`${controlUrl}/_sim/${controlPath}`, {
        method,
        headers: { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`/_sim/${controlPath}: ${response.status} ${await response.text()}`);
      return response.json();
    },
    stop,
  };
}
