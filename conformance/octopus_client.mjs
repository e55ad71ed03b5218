// Octopus Deploy's official TypeScript client (@octopusdeploy/api-client, pinned) against
// `scaleguard sim`: its repositories read what scaleguard reads, its raw request methods send what
// scaleguard writes, and every answer's status code is one the server's Swagger document allows.
// Run by conformance/run with `node --test`.

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { requirePinned, startSimulator } from "./simulator.mjs";

const {
  Client,
  DeploymentRepository,
  EnvironmentRepository,
  ProjectRepository,
  ReleaseRepository,
  ServerTaskRepository,
  SpaceRepository,
  SpaceServerTaskRepository,
} = requirePinned("@octopusdeploy/api-client");

const here = path.dirname(fileURLToPath(import.meta.url));
// The Swagger subset of the real server (tests/fixtures/octopus/SOURCES: go-octopusdeploy, 2020.5).
const swagger = JSON.parse(fs.readFileSync(path.join(here, "..", "tests", "fixtures", "octopus", "swagger_subset.json"), "utf8"));
const SPACE = "Default";

/** Allowed status codes for a method and path: the Swagger's, else the REST default for the verb. */
function allowedStatuses(method, urlPath) {
  const candidates = [urlPath, urlPath.replace(/^\/api\/Spaces-\d+\//i, "/api/")];
  for (const candidate of candidates) {
    for (const [template, operations] of Object.entries(swagger.paths)) {
      const pattern = new RegExp("^" + template.replace(/\{[^}]+\}/g, "[^/]+") + "$", "i");
      const operation = operations[method.toLowerCase()];
      if (pattern.test(candidate) && operation?.responses) {
        return { from: template, codes: Object.keys(operation.responses).map(Number) };
      }
    }
  }
  const byVerb = { GET: [200], PUT: [200], DELETE: [200], POST: [200, 201] };
  return { from: "default", codes: byVerb[method] };
}

/** A connected client whose every answer is checked against the Swagger when the test ends. */
async function connect(sim, apiKey = sim.apiKey) {
  const client = await Client.create({ instanceURL: sim.octopusUrl, apiKey, userAgentApp: "scaleguard-conformance" });
  const answers = [];
  client.subscribeToResponses("conformance", (r) => answers.push(r));
  client.subscribeToErrors("conformance", (r) => answers.push(r));
  const checkStatuses = () => {
    for (const { method, url, statusCode } of answers) {
      const parsed = new URL(url);
      assert.equal(parsed.hostname, "127.0.0.1", `traffic stays on loopback: ${url}`);
      if (statusCode >= 400) continue; // errors are checked where a test provokes them
      const allowed = allowedStatuses(method, parsed.pathname);
      assert.ok(allowed.codes.includes(statusCode), `${method} ${parsed.pathname} answered ${statusCode}; ${allowed.from} allows ${allowed.codes}`);
    }
  };
  return { client, answers, checkStatuses };
}

/** Start a simulator, run `body` with a connected client, check statuses, stop. */
async function withSimulator(options, body) {
  const sim = await startSimulator(options);
  try {
    const connection = await connect(sim);
    await body({ sim, ...connection });
    connection.checkStatuses();
  } finally {
    await sim.stop();
  }
}

/** Every item of a paged collection, asking `take` per page and following skip to the end. */
async function pageToTheEnd(list, take = 30) {
  const items = [];
  let pages = 0;
  for (let skip = 0; ; ) {
    const page = await list({ skip, take });
    pages += 1;
    for (const key of ["Items", "TotalResults", "ItemsPerPage", "NumberOfPages", "LastPageNumber", "Links"]) {
      assert.ok(key in page, `a collection has ${key}`);
    }
    assert.ok(page.Items.length <= take, "never more than asked");
    items.push(...page.Items);
    skip += page.Items.length;
    if (page.Items.length === 0 || skip >= page.TotalResults) {
      assert.equal(page.Links["Page.Next"], undefined, "the last page has no Page.Next");
      assert.equal(items.length, page.TotalResults, "every item, as many as TotalResults");
      break;
    }
    assert.ok(page.Links["Page.Next"], "a page before the last links the next one");
  }
  const ids = items.map((item) => item.Id);
  assert.equal(new Set(ids).size, ids.length, `each item exactly once: ${ids}`);
  return { items, pages };
}

async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail("the call was expected to fail");
}

test("the client connects: GET /api is the server's information", () =>
  withSimulator({}, async ({ client, answers }) => {
    const info = await client.getServerInformation(); // read by Client.create
    assert.match(info.version, /^\d{4}\.\d+/);
    assert.ok(info.installationId);
    const root = await client.get("~/api");
    assert.equal(root.Version, info.version);
    assert.deepEqual(answers.map((a) => [a.method, new URL(a.url).pathname, a.statusCode]), [["GET", "/api", 200]]);
  }));

test("spaces, environments and projects are read page by page to the end", () =>
  withSimulator({}, async ({ sim, client }) => {
    await sim.control("POST", "page_size", { octopus: 1 });
    const spaces = await pageToTheEnd((args) => new SpaceRepository(client).list(args));
    assert.ok(spaces.items.some((s) => s.Name === SPACE));
    const environments = await pageToTheEnd((args) => new EnvironmentRepository(client, SPACE).list(args));
    assert.ok(environments.pages > 1, "pages shorter than asked are followed");
    const projects = await pageToTheEnd((args) => new ProjectRepository(client, SPACE).list(args));
    const project = await new ProjectRepository(client, SPACE).get(projects.items[0].Id);
    assert.equal(project.Name, projects.items[0].Name);
  }));

test("an environment's machines are read to the end through the client", () =>
  withSimulator({}, async ({ sim, client }) => {
    await sim.control("POST", "page_size", { octopus: 2 });
    const environments = new EnvironmentRepository(client, SPACE);
    const { Items: all } = await environments.list({ take: 100 });
    let total = 0;
    for (const environment of all) {
      const { items } = await pageToTheEnd((args) => environments.machines(environment, args));
      assert.ok(items.every((m) => m.EnvironmentIds.includes(environment.Id)), `only ${environment.Name}'s machines`);
      total += items.length;
    }
    const state = await sim.control("GET", "state");
    assert.equal(total, state.machines.length, "each machine is in one environment");
  }));

test("the machines listing scaleguard reads (roles filter) pages to the end", () =>
  withSimulator({ scenario: "scale-in" }, async ({ sim, client }) => {
    await sim.control("POST", "page_size", { octopus: 2 });
    const list = (args) =>
      client.request("~/api/{spaceId}/machines{?skip,take,roles}", { spaceName: SPACE, roles: ["vmss-web"], ...args });
    const { items, pages } = await pageToTheEnd(list, 500);
    assert.ok(pages > 1);
    assert.ok(items.every((m) => m.Roles.includes("vmss-web")));
    for (const machine of items) {
      for (const key of ["Id", "Name", "Roles", "EnvironmentIds", "IsDisabled", "HealthStatus", "Endpoint", "MachinePolicyId"]) {
        assert.ok(key in machine, `a machine has ${key}`);
      }
    }
  }));

test("releases are read newest first, for the space and for a project", () =>
  withSimulator({}, async ({ client }) => {
    const releases = new ReleaseRepository(client, SPACE);
    const { items: all } = await pageToTheEnd((args) => releases.list(args));
    const newestFirst = [...all].sort((a, b) => Date.parse(b.Assembled) - Date.parse(a.Assembled));
    assert.deepEqual(all.map((r) => r.Id), newestFirst.map((r) => r.Id));
    const project = all[0].ProjectId;
    const { items: mine } = await pageToTheEnd((args) => releases.listForProject(project, args));
    assert.equal(mine[0].Id, all.find((r) => r.ProjectId === project).Id);
    assert.equal((await releases.get(mine[0].Id)).Version, mine[0].Version);
  }));

test("deployments and their tasks are read back", () =>
  withSimulator({}, async ({ client }) => {
    const { items: deployments } = await pageToTheEnd((args) => new DeploymentRepository(client, SPACE).list(args));
    assert.ok(deployments.length > 0);
    const deployment = await new DeploymentRepository(client, SPACE).get(deployments[0].Id);
    const tasks = new SpaceServerTaskRepository(client, SPACE);
    const task = await tasks.getById(deployment.TaskId);
    assert.equal(task.Id, deployment.TaskId);
    assert.equal(task.Arguments.DeploymentId, deployment.Id);
    const byIds = await tasks.getByIds(deployments.map((d) => d.TaskId));
    assert.deepEqual(byIds.map((t) => t.Id).sort(), deployments.map((d) => d.TaskId).sort());
    const details = await tasks.getDetails(task.Id);
    assert.equal(details.Task.Id, task.Id);
    assert.ok(Array.isArray(details.ActivityLogs));
  }));

test("every link the simulator hands out resolves", () =>
  withSimulator({}, async ({ client }) => {
    const documents = [
      ...(await new EnvironmentRepository(client, SPACE).list({ take: 100 })).Items,
      ...(await new ProjectRepository(client, SPACE).list({ take: 100 })).Items,
      ...(await new ReleaseRepository(client, SPACE).list({ take: 100 })).Items,
      ...(await new DeploymentRepository(client, SPACE).list({ take: 100 })).Items,
    ];
    const task = documents.find((d) => d.TaskId);
    documents.push(await new SpaceServerTaskRepository(client, SPACE).getById(task.TaskId));
    const links = new Set(documents.flatMap((d) => Object.entries(d.Links).filter(([rel]) => !["Web", "Cancel"].includes(rel)).map(([, href]) => href)));
    assert.ok(links.size > 5);
    for (const link of links) {
      // A link is a URI template; expanding it with nothing gives the resource or collection itself.
      // (Web opens the UI; Cancel is a POST, covered by the write test.)
      await client.get(link);
    }
  }));

test("what scaleguard writes: a deployment to specific machines, then cancelling its task", () =>
  withSimulator({}, async ({ client, answers }) => {
    const [release] = (await new ReleaseRepository(client, SPACE).list({ take: 1 })).Items;
    const environment = (await new EnvironmentRepository(client, SPACE).list({ take: 100 })).Items.find((e) => e.Name === "Production");
    const machines = await client.request("~/api/{spaceId}/machines{?skip,take}", { spaceName: SPACE, take: 500 });
    const target = machines.Items.find((m) => m.EnvironmentIds.includes(environment.Id));
    const body = {
      ReleaseId: release.Id,
      EnvironmentId: environment.Id,
      SpecificMachineIds: [target.Id],
      ExcludedMachineIds: [],
      Comments: "conformance",
      UseGuidedFailure: false,
    };
    const deployment = await client.doCreate("~/api/{spaceId}/deployments", body, { spaceName: SPACE });
    assert.equal(answers.at(-1).statusCode, 201, "POST deployments answers 201 Created");
    assert.deepEqual(deployment.SpecificMachineIds, [target.Id]);
    assert.match(deployment.TaskId, /^ServerTasks-/);
    await new ServerTaskRepository(client).cancel(deployment.TaskId);
    assert.equal(answers.at(-1).statusCode, 200);
    const task = await new SpaceServerTaskRepository(client, SPACE).getById(deployment.TaskId);
    assert.ok(["Cancelling", "Canceled"].includes(task.State), task.State);
  }));

test("what scaleguard writes: deleting a target", () =>
  withSimulator({}, async ({ client, answers }) => {
    const machines = await client.request("~/api/{spaceId}/machines{?skip,take}", { spaceName: SPACE, take: 500 });
    const target = machines.Items[0];
    await client.del("~/api/{spaceId}/machines/{id}", { spaceName: SPACE, id: target.Id });
    assert.equal(answers.at(-1).statusCode, 200);
    const gone = await rejection(client.get("~/api/{spaceId}/machines/{id}", { spaceId: "Spaces-1", id: target.Id }));
    assert.equal(gone.StatusCode, 404);
    const again = await rejection(client.del("~/api/{spaceId}/machines/{id}", { spaceName: SPACE, id: target.Id }));
    assert.equal(again.StatusCode, 404, "a second delete finds nothing");
  }));

test("what scaleguard writes: an HA node drained (PUT), capped and deleted", () =>
  withSimulator({ scenario: "ha-drain" }, async ({ client, answers }) => {
    const summary = await client.get("~/api/octopusservernodes/summary");
    assert.ok(summary.Nodes.length >= 2);
    const node = await client.get("~/api/octopusservernodes/{id}", { id: summary.Nodes[0].Id });
    const drained = await client.doUpdate("~/api/octopusservernodes/{id}", { ...node, IsInMaintenanceMode: true, MaxConcurrentTasks: 3 }, { id: node.Id });
    assert.equal(answers.at(-1).statusCode, 200);
    assert.equal(drained.IsInMaintenanceMode, true);
    assert.equal(drained.MaxConcurrentTasks, 3);
    const details = await client.get("~/api/octopusservernodes/{id}/details", { id: node.Id });
    assert.ok(Array.isArray(details.RunningTasks));
    const running = await client.get("~/api/tasks{?node,states,skip,take}", { node: node.Id, states: ["Executing", "Cancelling"], take: 100 });
    assert.ok(running.Items.every((t) => t.ServerNode === node.Id));
    await client.del("~/api/octopusservernodes/{id}", { id: node.Id });
    assert.equal(answers.at(-1).statusCode, 200);
    const after = await client.get("~/api/octopusservernodes/summary");
    assert.ok(!after.Nodes.some((n) => n.Id === node.Id));
  }));

test("errors reach the client as OctopusError with the server's message", () =>
  withSimulator({}, async ({ sim, client }) => {
    const missing = await rejection(new ProjectRepository(client, SPACE).get("Projects-999"));
    assert.equal(missing.StatusCode, 404);
    assert.ok(missing.message && !missing.message.startsWith("undefined"), `ErrorMessage is read: ${missing.message}`);

    const invalid = await rejection(
      client.doCreate("~/api/{spaceId}/deployments", { ReleaseId: "Releases-999", EnvironmentId: "Environments-1" }, { spaceName: SPACE }),
    );
    assert.equal(invalid.StatusCode, 400);
    const [headline, ...reasons] = invalid.message.split("\n");
    assert.ok(headline && !headline.startsWith("undefined"), invalid.message);
    assert.ok(reasons.length > 0, `the Errors list follows the ErrorMessage: ${invalid.message}`);

    const wrongKey = await rejection(connect(sim, "API-NOTTHEKEY000000000000000").then(({ client: c }) => c.get("~/api/spaces")));
    assert.equal(wrongKey.StatusCode, 401);
    assert.ok(!wrongKey.message.includes(sim.apiKey));

    await sim.control("POST", "fault", { target: "octopus", kind: "403", count: 1 });
    const forbidden = await rejection(new SpaceRepository(client).list({}));
    assert.equal(forbidden.StatusCode, 403);
  }));
