"""Microsoft's Python SDK (azure-mgmt-compute, generated from the Microsoft.Compute 2024-07-01 REST
spec) against `scaleguard sim`: what a real client relies on.

The SDK itself enforces the status codes the spec allows for each operation (it raises
"Operation returned an invalid status" otherwise), follows long-running operations the way ARM
defines them and parses ARM errors into typed exceptions; these tests add the checks it does not
make: pages followed to the end, the poll headers, every exchange staying on 127.0.0.1.
Scope: Uniform scale sets, and Flexible ones (their VMs are VM resources: the resource group's VM
list filtered on the set, to the end; a capacity update on a Flexible set; a VM deleted as a VM);
azure-mgmt-monitor (autoscale settings, activity log) gets its own module, azure_monitor.py.
"""

import json
import re
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import (
    Sku,
    VirtualMachineScaleSetUpdate,
    VirtualMachineScaleSetVMInstanceRequiredIDs,
    VirtualMachineScaleSetVMProtectionPolicy,
)

API_VERSION = "2024-07-01"
LRO_TIMEOUT_SECS = 60


class StaticToken:
    """The simulator's bearer token (what scaleguard's `token_env` credential hands out)."""

    def __init__(self, token: str):
        self.token = token

    def get_token(self, *scopes, **kwargs):
        return AccessToken(self.token, int(time.time()) + 3600)


class LoopbackOnly(SansIOHTTPPolicy):
    """azure-core refuses bearer tokens over plain http unless told; allow it for 127.0.0.1 only."""

    def on_request(self, request):
        host = urlparse(request.http_request.url).hostname
        assert host == "127.0.0.1", f"conformance traffic must stay on loopback, not {host}"
        request.context["enforce_https"] = False


@dataclass
class Exchange:
    method: str
    url: str
    status: int
    headers: dict
    request_headers: dict
    response: object = field(repr=False)

    def json(self):
        return json.loads(self.response.text() or "null")

    def query(self, name):
        return parse_qs(urlparse(self.url).query).get(name, [None])[0]


class Recorder(SansIOHTTPPolicy):
    """Every HTTP exchange as sent (a per-retry policy: each retry is its own exchange)."""

    def __init__(self):
        self.exchanges: list[Exchange] = []

    def on_response(self, request, response):
        http = response.http_response
        self.exchanges.append(
            Exchange(
                request.http_request.method,
                request.http_request.url,
                http.status_code,
                {k.lower(): v for k, v in http.headers.items()},
                {k.lower(): v for k, v in request.http_request.headers.items()},
                http,
            )
        )

    def where(self, method=None, path_contains=""):
        return [
            e
            for e in self.exchanges
            if (method is None or e.method == method) and path_contains.lower() in urlparse(e.url).path.lower()
        ]


def compute(sim, recorder, token=None):
    return ComputeManagementClient(
        StaticToken(token or sim.arm_token),
        sim.scale_set["subscription_id"],
        base_url=sim.arm_url,
        polling_interval=0.05,
        per_call_policies=[LoopbackOnly()],
        per_retry_policies=[recorder],
    )


@pytest.fixture
def arm(sim):
    recorder = Recorder()
    client = compute(sim, recorder)
    set_ = sim.scale_set
    yield client, recorder, set_["resource_group"], set_["name"]
    client.close()
    every_url = [e.url for e in recorder.exchanges]
    assert all(url.startswith(sim.arm_url) for url in every_url), every_url


def sim_vm_ids(sim):
    state = sim.control("GET", "state")
    return sorted(str(vm["instance_id"]) for vm in state["scale_sets"][0]["vms"])


def test_the_sdk_asks_for_api_version_2024_07_01(arm):
    client, recorder, rg, name = arm
    client.virtual_machine_scale_sets.get(rg, name)
    assert [e.query("api-version") for e in recorder.exchanges] == [API_VERSION]


def test_a_scale_set_reads_into_the_sdk_model(sim, arm):
    client, recorder, rg, name = arm
    scale_set = client.virtual_machine_scale_sets.get(rg, name)
    assert scale_set.name == name
    assert scale_set.sku.capacity == len(sim_vm_ids(sim))
    assert scale_set.provisioning_state == "Succeeded"
    assert scale_set.orchestration_mode == "Uniform"
    assert scale_set.etag and scale_set.etag == recorder.exchanges[-1].headers["etag"], "body etag = ETag header"
    assert scale_set.id.lower().endswith(f"/resourcegroups/{rg}/providers/microsoft.compute/virtualmachinescalesets/{name}")


def test_the_scale_sets_of_a_resource_group_are_listed_to_the_end(arm):
    client, recorder, rg, name = arm
    sets = list(client.virtual_machine_scale_sets.list(rg))
    assert [s.name for s in sets] == [name]
    pages = recorder.where("GET", "/virtualMachineScaleSets")
    assert [p.status for p in pages] == [200] * len(pages)
    assert "nextLink" not in pages[-1].json() or not pages[-1].json()["nextLink"]


def test_what_is_missing_is_a_typed_not_found_with_the_arm_code(arm):
    client, _, rg, name = arm
    with pytest.raises(ResourceNotFoundError) as no_group:
        list(client.virtual_machine_scale_sets.list("rg-does-not-exist"))
    assert no_group.value.status_code == 404 and no_group.value.error.code == "ResourceGroupNotFound"
    with pytest.raises(ResourceNotFoundError) as no_set:
        client.virtual_machine_scale_sets.get(rg, "vmss-does-not-exist")
    assert no_set.value.error.code == "ResourceNotFound"
    with pytest.raises(ResourceNotFoundError) as no_vm:
        client.virtual_machine_scale_set_vms.get(rg, name, "999")
    assert no_vm.value.status_code == 404


def test_uniform_vms_are_listed_with_instance_view_over_every_page(sim, arm):
    client, recorder, rg, name = arm
    sim.control("POST", "page_size", {"arm": 2})
    vms = list(client.virtual_machine_scale_set_vms.list(rg, name, expand="instanceView"))
    ids = [vm.instance_id for vm in vms]
    assert sorted(ids) == sim_vm_ids(sim) and len(set(ids)) == len(ids), "every VM exactly once"
    pages = recorder.where("GET", "/virtualMachines")
    assert len(pages) == 2, "3 VMs at 2 per page"
    assert all(p.status == 200 and p.query("$expand") == "instanceView" for p in pages), "nextLink keeps $expand"
    assert pages[0].json()["nextLink"].startswith(sim.arm_url), "nextLink is absolute"
    assert not pages[-1].json().get("nextLink"), "the last page ends the list"
    for vm in vms:
        codes = [s.code for s in vm.instance_view.statuses]
        assert any(c.startswith("ProvisioningState/") for c in codes) and any(c.startswith("PowerState/") for c in codes)
        assert vm.os_profile.computer_name and vm.vm_id
        assert vm.protection_policy.protect_from_scale_in is False


def test_a_vm_reads_alone_with_its_instance_view(arm):
    client, _, rg, name = arm
    vm = client.virtual_machine_scale_set_vms.get(rg, name, "1", expand="instanceView")
    assert vm.instance_id == "1" and vm.name == f"{name}_1"
    assert vm.instance_view is not None and vm.instance_view.statuses
    plain = client.virtual_machine_scale_set_vms.get(rg, name, "1")
    assert plain.instance_view is None, "no instanceView without $expand"


def test_a_capacity_update_is_a_long_running_operation_answered_200(sim, arm):
    client, recorder, rg, name = arm
    before = client.virtual_machine_scale_sets.get(rg, name)
    update = VirtualMachineScaleSetUpdate(sku=Sku(capacity=before.sku.capacity + 1))
    poller = client.virtual_machine_scale_sets.begin_update(rg, name, update, if_match=before.etag)
    after = poller.result(timeout=LRO_TIMEOUT_SECS)
    assert poller.done() and poller.status() == "Succeeded"
    assert after.sku.capacity == before.sku.capacity + 1
    assert after.provisioning_state == "Succeeded", "the poller returns the settled scale set"
    [patch] = recorder.where("PATCH")
    assert patch.status == 200, "VirtualMachineScaleSets_Update allows only 200"
    assert patch.request_headers["if-match"] == before.etag, "the change is conditional"
    operation_url = patch.headers["azure-asyncoperation"]
    assert operation_url.startswith(sim.arm_url), operation_url
    polls = [e for e in recorder.exchanges if e.url == operation_url]
    statuses = [p.json()["status"] for p in polls]
    assert statuses[0] == "InProgress" and statuses[-1] == "Succeeded", statuses
    assert all(p.status == 200 for p in polls)
    assert recorder.exchanges[-1].method == "GET" and recorder.exchanges[-1].url.split("?")[0] == patch.url.split("?")[0], (
        "the final state is read from the scale set"
    )
    assert len(sim_vm_ids(sim)) >= after.sku.capacity


def test_a_stale_if_match_is_a_typed_412_precondition_failed(arm):
    client, recorder, rg, name = arm
    before = client.virtual_machine_scale_sets.get(rg, name)
    update = VirtualMachineScaleSetUpdate(sku=Sku(capacity=before.sku.capacity + 1))
    with pytest.raises(HttpResponseError) as stale:
        client.virtual_machine_scale_sets.begin_update(rg, name, update, if_match='"999"')
    assert stale.value.status_code == 412 and stale.value.error.code == "PreconditionFailed"
    # The typed form a caller asks for with azure-core's error map.
    with pytest.raises(ResourceModifiedError) as typed:
        client.virtual_machine_scale_sets.begin_update(
            rg, name, update, if_match='"999"', error_map={412: ResourceModifiedError}
        )
    assert typed.value.error.code == "PreconditionFailed"
    assert client.virtual_machine_scale_sets.get(rg, name).sku.capacity == before.sku.capacity, "nothing changed"
    assert [e.status for e in recorder.where("PATCH")] == [412, 412], "a 412 is not retried"


def test_deleting_instances_is_a_long_running_operation(sim, arm):
    client, recorder, rg, name = arm
    before = client.virtual_machine_scale_sets.get(rg, name).sku.capacity
    ids = VirtualMachineScaleSetVMInstanceRequiredIDs(instance_ids=["2"])
    client.virtual_machine_scale_sets.begin_delete_instances(rg, name, ids).result(timeout=LRO_TIMEOUT_SECS)
    [post] = recorder.where("POST", "/delete")
    assert post.status in (200, 202), "VirtualMachineScaleSets_DeleteInstances allows 200 and 202"
    if post.status == 202:
        assert post.headers.get("azure-asyncoperation") or post.headers.get("location"), "a 202 says where to poll"
    assert "2" not in [vm.instance_id for vm in client.virtual_machine_scale_set_vms.list(rg, name)]
    assert "2" not in sim_vm_ids(sim)
    assert client.virtual_machine_scale_sets.get(rg, name).sku.capacity == before - 1


def test_scale_in_protection_is_a_vm_update(arm):
    client, recorder, rg, name = arm
    vm = client.virtual_machine_scale_set_vms.get(rg, name, "1")
    vm.protection_policy = VirtualMachineScaleSetVMProtectionPolicy(
        protect_from_scale_in=True, protect_from_scale_set_actions=False
    )
    updated = client.virtual_machine_scale_set_vms.begin_update(rg, name, "1", vm).result(timeout=LRO_TIMEOUT_SECS)
    assert updated.protection_policy.protect_from_scale_in is True
    [put] = recorder.where("PUT")
    assert put.status in (200, 202), "VirtualMachineScaleSetVMs_Update allows 200 and 202"
    again = client.virtual_machine_scale_set_vms.get(rg, name, "1")
    assert again.protection_policy.protect_from_scale_in is True


def test_a_rejected_token_is_a_typed_authentication_error(sim):
    recorder = Recorder()
    client = compute(sim, recorder, token="not-the-token")
    with pytest.raises(ClientAuthenticationError) as rejected:
        client.virtual_machine_scale_sets.get(sim.scale_set["resource_group"], sim.scale_set["name"])
    assert rejected.value.status_code == 401 and rejected.value.error.code == "InvalidAuthenticationToken"
    assert sim.arm_token not in str(rejected.value)


def test_throttling_is_retried_honouring_retry_after(sim, arm):
    client, recorder, rg, name = arm
    sim.control("POST", "fault", {"target": "arm", "kind": "429", "count": 1, "retry_after_secs": 1})
    started = time.monotonic()
    client.virtual_machine_scale_sets.get(rg, name)
    assert [e.status for e in recorder.exchanges] == [429, 200]
    assert recorder.exchanges[0].headers["retry-after"] == "1"
    assert time.monotonic() - started >= 1.0, "Retry-After was honoured"


def vm_list_pages(recorder):
    """The VirtualMachines_List requests (not the scale sets' paths, which share the prefix)."""
    return [
        e
        for e in recorder.exchanges
        if e.method == "GET" and urlparse(e.url).path.lower().endswith("/providers/microsoft.compute/virtualmachines")
    ]


def settled(client, rg, name, capacity):
    """The Flexible set once it holds `capacity` VMs and its provisioning is over (the simulator
    runs at 100x, so a scenario's scale event settles in about a second)."""
    deadline = time.monotonic() + LRO_TIMEOUT_SECS
    while True:
        scale_set = client.virtual_machine_scale_sets.get(rg, name)
        if scale_set.sku.capacity == capacity and scale_set.provisioning_state == "Succeeded":
            return scale_set
        assert time.monotonic() < deadline, f"{name} did not settle at {capacity}"
        time.sleep(0.1)


def flexible_vm_names(sim):
    state = sim.control("GET", "state")
    return sorted(vm["name"] for vm in state["scale_sets"][0]["vms"])


@pytest.mark.scenario("flex-scale-in")
def test_flexible_vms_are_listed_with_the_set_filter_and_instance_view_to_the_end(sim, arm):
    client, recorder, rg, name = arm
    scale_set = settled(client, rg, name, 3)
    assert scale_set.orchestration_mode == "Flexible"
    assert scale_set.overprovision is None, "Flexible sets do not overprovision"
    sim.control("POST", "page_size", {"arm": 2})
    recorder.exchanges.clear()
    vms = list(client.virtual_machines.list(rg, filter=f"'virtualMachineScaleSet/id' eq '{scale_set.id}'", expand="instanceView"))
    names = [vm.name for vm in vms]
    assert sorted(names) == flexible_vm_names(sim) and len(set(names)) == len(names), "every VM exactly once"
    pages = vm_list_pages(recorder)
    assert len(pages) == 2, "3 VMs at 2 per page"
    assert all(p.status == 200 and p.query("$expand") == "instanceView" for p in pages), "nextLink keeps $expand"
    assert all(p.query("$filter") == f"'virtualMachineScaleSet/id' eq '{scale_set.id}'" for p in pages), "and $filter"
    assert pages[0].json()["nextLink"].startswith(sim.arm_url), "nextLink is absolute"
    assert not pages[-1].json().get("nextLink"), "the last page ends the list"
    for vm in vms:
        assert re.fullmatch(rf"{re.escape(name)}_[0-9a-f]{{8}}", vm.name), vm.name
        assert vm.virtual_machine_scale_set.id.lower() == scale_set.id.lower()
        assert re.fullmatch(r"flexweb[0-9a-z]{6}", vm.os_profile.computer_name), vm.os_profile.computer_name
        assert vm.vm_id and vm.time_created and vm.provisioning_state == "Succeeded"
        codes = [s.code for s in vm.instance_view.statuses]
        assert "PowerState/running" in codes and any(c.startswith("ProvisioningState/") for c in codes)
        assert vm.zones and vm.zones[0] in ("1", "2", "3")


@pytest.mark.scenario("flex-scale-in")
def test_the_vm_list_refuses_expand_without_a_filter(arm):
    client, recorder, rg, _ = arm
    with pytest.raises(HttpResponseError) as refused:
        list(client.virtual_machines.list(rg, expand="instanceView"))
    assert refused.value.status_code == 400 and refused.value.error.code == "InvalidParameter"
    plain = list(client.virtual_machines.list(rg))
    assert plain and all(vm.instance_view is None for vm in plain), "no instance view without $expand"


@pytest.mark.scenario("flex-scale-out")
def test_a_capacity_update_on_a_flexible_set_runs_to_completion(sim, arm):
    client, recorder, rg, name = arm
    before = settled(client, rg, name, 6)
    update = VirtualMachineScaleSetUpdate(sku=Sku(capacity=before.sku.capacity + 1))
    poller = client.virtual_machine_scale_sets.begin_update(rg, name, update, if_match=before.etag)
    after = poller.result(timeout=LRO_TIMEOUT_SECS)
    assert poller.status() == "Succeeded" and after.sku.capacity == 7
    assert after.orchestration_mode == "Flexible" and after.provisioning_state == "Succeeded"
    [patch] = recorder.where("PATCH")
    assert patch.status == 200 and patch.request_headers["if-match"] == before.etag
    assert len(flexible_vm_names(sim)) == 7, "one VM created, no over-provisioned extras"


@pytest.mark.scenario("flex-scale-in")
def test_a_flexible_vm_is_deleted_as_a_virtual_machine(sim, arm):
    client, recorder, rg, name = arm
    before = settled(client, rg, name, 3)
    victim = flexible_vm_names(sim)[0]
    client.virtual_machines.begin_delete(rg, victim).result(timeout=LRO_TIMEOUT_SECS)
    [delete] = recorder.where("DELETE")
    assert delete.status in (200, 202, 204), "VirtualMachines_Delete allows 200, 202 and 204"
    assert victim not in flexible_vm_names(sim)
    assert client.virtual_machine_scale_sets.get(rg, name).sku.capacity == before.sku.capacity - 1
    with pytest.raises(HttpResponseError) as per_instance:
        client.virtual_machine_scale_set_vms.get(rg, name, "0")
    assert per_instance.value.status_code == 400, "the per-instance API does not address Flexible VMs"
