"""Microsoft's Python SDK for Azure Monitor (azure-mgmt-monitor 7.0.0: autoscale settings at
api-version 2022-10-01, the Activity Log at 2015-04-01, its defaults) against `scaleguard sim`'s
`autoscale` scenario: what a real client relies on.

The SDK enforces the status codes the spec allows (AutoscaleSettings_CreateOrUpdate: 200 or 201;
_Update and _Get: 200), follows `nextLink` pages and parses ARM errors into typed exceptions;
these tests add what it does not check: pages followed to the end, every exchange on 127.0.0.1,
the Activity Log's $filter grammar and its events for each capacity write.
"""

import datetime
from urllib.parse import urlparse

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.monitor import MonitorManagementClient
from azure.mgmt.monitor.models import AutoscaleSettingResourcePatch, ScaleCapacity

from azure_compute import LoopbackOnly, Recorder, StaticToken

SETTING = "vmss-web-autoscale"


def monitor(sim, recorder):
    return MonitorManagementClient(
        StaticToken(sim.arm_token),
        sim.scale_set["subscription_id"],
        base_url=sim.arm_url,
        per_call_policies=[LoopbackOnly()],
        per_retry_policies=[recorder],
    )


@pytest.fixture
def insights(sim):
    recorder = Recorder()
    client = monitor(sim, recorder)
    yield client, recorder, sim.scale_set["resource_group"]
    client.close()
    every_url = [e.url for e in recorder.exchanges]
    assert all(url.startswith(sim.arm_url) for url in every_url), every_url


def set_id(sim):
    s = sim.scale_set
    return (f"/subscriptions/{s['subscription_id']}/resourceGroups/{s['resource_group']}"
            f"/providers/Microsoft.Compute/virtualMachineScaleSets/{s['name']}")


def window():
    """A wide $filter window: the simulator's clock runs ahead of the real one at speed 100."""
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
    return stamp(now - datetime.timedelta(hours=1)), stamp(now + datetime.timedelta(days=2))


@pytest.mark.scenario("autoscale")
def test_the_sdk_asks_for_its_default_api_versions(sim, insights):
    client, recorder, rg = insights
    list(client.autoscale_settings.list_by_resource_group(rg))
    since, until = window()
    list(client.activity_logs.list(filter=f"eventTimestamp ge '{since}' and eventTimestamp le '{until}' "
                                          f"and resourceUri eq '{set_id(sim)}'"))
    assert [e.query("api-version") for e in recorder.exchanges] == ["2022-10-01", "2015-04-01"]


@pytest.mark.scenario("autoscale")
def test_autoscale_settings_are_listed_to_the_end_and_read_into_the_sdk_model(sim, insights):
    client, recorder, rg = insights
    ours = client.autoscale_settings.get(rg, SETTING)
    assert ours.target_resource_uri.lower() == set_id(sim).lower()
    assert ours.enabled is True
    default = ours.profiles[0]
    assert default.name == "default"
    assert (default.capacity.minimum, default.capacity.maximum, default.capacity.default) == ("2", "6", "4")
    assert [r.scale_action.direction for r in default.rules] == ["Increase", "Decrease"]
    black_friday = ours.profiles[1]
    assert black_friday.fixed_date.time_zone == "Eastern Standard Time"
    # A second setting, created with a PUT (201), so the list needs two pages of one.
    ours.target_resource_uri = set_id(sim).replace("vmss-web", "vmss-api")
    created = client.autoscale_settings.create_or_update(rg, "api-autoscale", ours)
    assert created.name == "api-autoscale"
    assert recorder.where("PUT", "/autoscalesettings/")[-1].status == 201
    sim.control("POST", "page_size", {"arm": 1})
    names = sorted(s.name for s in client.autoscale_settings.list_by_resource_group(rg))
    assert names == ["api-autoscale", SETTING]
    pages = recorder.where("GET", "/autoscalesettings")[-2:]
    assert [p.status for p in pages] == [200, 200]
    assert pages[0].json()["nextLink"].startswith(sim.arm_url), "nextLink is absolute, on the origin"
    assert not pages[-1].json().get("nextLink"), "the last page ends the list"


@pytest.mark.scenario("autoscale")
def test_an_update_changes_the_profile_and_a_put_replaces_it(insights):
    client, recorder, rg = insights
    setting = client.autoscale_settings.get(rg, SETTING)
    profiles = setting.profiles
    profiles[0].capacity = ScaleCapacity(minimum="2", maximum="8", default="4")
    patched = client.autoscale_settings.update(rg, SETTING, AutoscaleSettingResourcePatch(profiles=profiles))
    assert patched.profiles[0].capacity.maximum == "8"
    assert recorder.where("PATCH", "/autoscalesettings/")[-1].status == 200
    assert client.autoscale_settings.get(rg, SETTING).profiles[0].capacity.maximum == "8"
    patched.enabled = False
    replaced = client.autoscale_settings.create_or_update(rg, SETTING, patched)
    assert replaced.enabled is False
    assert recorder.where("PUT", "/autoscalesettings/")[-1].status == 200, "an existing setting is replaced: 200"
    assert "etag" not in {k.lower() for k in recorder.exchanges[-1].headers}, "autoscale settings have no ETag"


@pytest.mark.scenario("autoscale")
def test_a_missing_setting_and_a_bad_profile_are_typed_errors(insights):
    client, _, rg = insights
    with pytest.raises(ResourceNotFoundError) as missing:
        client.autoscale_settings.get(rg, "no-such-setting")
    assert missing.value.status_code == 404 and missing.value.error.code == "ResourceNotFound"
    setting = client.autoscale_settings.get(rg, SETTING)
    setting.profiles[0].capacity = ScaleCapacity(minimum="5", maximum="3", default="4")
    with pytest.raises(HttpResponseError) as refused:
        client.autoscale_settings.create_or_update(rg, SETTING, setting)
    assert refused.value.status_code == 400 and refused.value.error.code == "BadRequest"


@pytest.mark.scenario("autoscale")
def test_the_activity_log_lists_each_write_with_its_caller_over_every_page(sim, insights):
    client, recorder, _ = insights
    for capacity in (5, 4):
        sim.control("POST", "event", {"action": "scale_by", "set": "vmss-web", "capacity": capacity,
                                      "caller": "conformance@contoso.com", "app": "portal"})
    sim.control("POST", "page_size", {"arm": 1})
    since, until = window()
    events = list(client.activity_logs.list(
        filter=f"eventTimestamp ge '{since}' and eventTimestamp le '{until}' and resourceUri eq '{set_id(sim)}'"))
    portal = [e for e in events if e.caller == "conformance@contoso.com"]
    assert len(portal) >= 4, "Started and Accepted (and Succeeded once done) for each of the two writes"
    assert {e.status.value for e in portal} <= {"Started", "Accepted", "Succeeded"}
    assert all(e.operation_name.value == "Microsoft.Compute/virtualMachineScaleSets/write" for e in portal)
    assert all(e.resource_id.lower() == set_id(sim).lower() for e in events)
    assert all(isinstance(e.event_timestamp, datetime.datetime) for e in events)
    operations = {e.operation_id for e in portal}
    assert len(operations) == 2, "one operationId per write"
    pages = recorder.where("GET", "/eventtypes/management/values")
    assert len(pages) == len(events), "one event per page at page size 1"
    assert all(urlparse(p.url).hostname == "127.0.0.1" for p in pages)
    assert all(p.query("$filter") for p in pages), "every nextLink keeps the $filter"


@pytest.mark.scenario("autoscale")
def test_the_activity_log_refuses_a_filter_outside_its_grammar(insights):
    client, _, _ = insights
    with pytest.raises(HttpResponseError) as refused:
        list(client.activity_logs.list(filter="caller eq 'ops@contoso.com'"))
    assert refused.value.status_code == 400
