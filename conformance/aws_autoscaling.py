"""The AWS SDK for Python (boto3/botocore, pinned in requirements.txt) against `scaleguard sim`:
Amazon EC2 Auto Scaling (query protocol, 2011-01-01) and EC2 DescribeInstances (2016-11-15).

botocore serializes the requests from the services' own models, signs them (SigV4, scoped to
`autoscaling` or `ec2`), parses every answer with the models' shapes (integers, booleans,
timestamps) and every error into a ClientError carrying the service's code; its paginators follow
NextToken. The clients are built from the environment `scaleguard sim` prints and nothing else
(the default credential chain, the region, no config files), so the printed env is tested too.
"""

import time
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

WAIT_SECS = 30


class Recorder:
    """Every request botocore sends (after signing), and a check that it stays on loopback."""

    def __init__(self):
        self.sent = []

    def __call__(self, request, **kwargs):
        url = urlparse(request.url)
        assert url.hostname == "127.0.0.1", f"conformance traffic must stay on loopback, not {url.hostname}"
        body = request.body.decode() if isinstance(request.body, bytes) else (request.body or "")
        self.sent.append({"url": request.url, "form": parse_qs(body), "headers": dict(request.headers)})

    def actions(self):
        return [r["form"].get("Action", [None])[0] for r in self.sent]


@pytest.fixture
def aws(sim, monkeypatch):
    """(autoscaling client, ec2 client, recorder), configured only from the printed env."""
    assert sim.aws_url, "an AWS scenario prints aws_url"
    for key in [k for k in list(__import__("os").environ) if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    for key, value in sim.env.items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    session = boto3.session.Session()
    assert session.region_name == sim.env["AWS_REGION"]
    config = Config(retries={"mode": "standard", "total_max_attempts": 1})
    recorder = Recorder()
    autoscaling = session.client("autoscaling", endpoint_url=sim.aws_url, config=config)
    ec2 = session.client("ec2", endpoint_url=sim.aws_url, config=config)
    for client in (autoscaling, ec2):
        client.meta.events.register("before-send", recorder)
    yield autoscaling, ec2, recorder
    assert all(r["url"].startswith(sim.aws_url) for r in recorder.sent)


def wait_for(what, check):
    deadline = time.monotonic() + WAIT_SECS
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def group(autoscaling, name="web-asg"):
    return autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]


def in_state(autoscaling, state):
    return [i["InstanceId"] for i in group(autoscaling)["Instances"] if i["LifecycleState"] == state]


@pytest.mark.scenario("aws-scale-in")
@pytest.mark.speed(1)
def test_a_group_reads_into_the_sdk_model_signed_for_autoscaling(aws):
    autoscaling, _, recorder = aws
    found = group(autoscaling)
    assert (found["MinSize"], found["MaxSize"], found["DesiredCapacity"], found["DefaultCooldown"]) == (1, 10, 5, 300)
    assert found["TerminationPolicies"] == ["OldestInstance"]
    assert found["LaunchTemplate"]["Version"] == "3" and found["LaunchTemplate"]["LaunchTemplateId"].startswith("lt-")
    assert found["CreatedTime"].tzinfo is not None
    assert len(found["AvailabilityZones"]) == 3
    instances = found["Instances"]
    assert len(instances) == 5
    assert [i["ProtectedFromScaleIn"] for i in instances] == [True, False, False, False, False]
    assert {i["HealthStatus"] for i in instances} == {"Healthy"}
    assert all(i["LaunchTemplate"]["Version"] == "3" for i in instances)
    sent = recorder.sent[-1]
    assert sent["form"]["Version"] == ["2011-01-01"] and sent["form"]["AutoScalingGroupNames.member.1"] == ["web-asg"]
    scope = sent["headers"]["Authorization"]
    assert "/eu-west-1/autoscaling/aws4_request" in (scope.decode() if isinstance(scope, bytes) else scope)


@pytest.mark.scenario("aws-scale-in")
@pytest.mark.speed(1)
def test_paginators_follow_next_token_to_the_end(aws):
    autoscaling, _, recorder = aws
    pages = list(autoscaling.get_paginator("describe_auto_scaling_instances").paginate(PaginationConfig={"PageSize": 2}))
    ids = [i["InstanceId"] for page in pages for i in page["AutoScalingInstances"]]
    assert len(pages) == 3 and len(ids) == 5 and len(set(ids)) == 5
    assert "NextToken" not in pages[-1]
    assert {i["HealthStatus"] for page in pages for i in page["AutoScalingInstances"]} == {"HEALTHY"}
    assert [r["form"].get("NextToken") is not None for r in recorder.sent] == [False, True, True]
    groups = list(autoscaling.get_paginator("describe_auto_scaling_groups").paginate())
    assert [g["AutoScalingGroupName"] for page in groups for g in page["AutoScalingGroups"]] == ["web-asg"]


@pytest.mark.scenario("aws-scale-out")
def test_a_launch_waits_under_its_hook_until_completed(aws):
    autoscaling, _, _ = aws
    waiting = wait_for("two instances in Pending:Wait", lambda: (w := in_state(autoscaling, "Pending:Wait")) and len(w) == 2 and w)
    hooks = autoscaling.describe_lifecycle_hooks(AutoScalingGroupName="web-asg")["LifecycleHooks"]
    assert [(h["LifecycleHookName"], h["LifecycleTransition"], h["HeartbeatTimeout"], h["DefaultResult"]) for h in hooks] == [
        ("octopus-deploy", "autoscaling:EC2_INSTANCE_LAUNCHING", 900, "ABANDON")
    ]
    autoscaling.record_lifecycle_action_heartbeat(
        LifecycleHookName="octopus-deploy", AutoScalingGroupName="web-asg", InstanceId=waiting[0]
    )
    for instance_id in waiting:
        autoscaling.complete_lifecycle_action(
            LifecycleHookName="octopus-deploy",
            AutoScalingGroupName="web-asg",
            LifecycleActionResult="CONTINUE",
            InstanceId=instance_id,
        )
    wait_for("all four in service", lambda: len(in_state(autoscaling, "InService")) == 4)
    with pytest.raises(ClientError) as late:
        autoscaling.complete_lifecycle_action(
            LifecycleHookName="octopus-deploy",
            AutoScalingGroupName="web-asg",
            LifecycleActionResult="CONTINUE",
            InstanceId=waiting[0],
        )
    assert late.value.response["Error"]["Code"] == "ValidationError"
    activities = autoscaling.describe_scaling_activities(AutoScalingGroupName="web-asg")["Activities"]
    assert len(activities) == 2 and all(a["StatusCode"] == "Successful" and a["Progress"] == 100 for a in activities)
    assert all("desired capacity from 2 to 4" in a["Cause"] and a["EndTime"] >= a["StartTime"] for a in activities)


@pytest.mark.scenario("aws-scale-in")
@pytest.mark.speed(1)
def test_desired_capacity_protection_and_termination(aws):
    autoscaling, _, _ = aws
    with pytest.raises(ClientError) as above:
        autoscaling.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=11)
    error = above.value.response["Error"]
    assert (error["Code"], error["Type"]) == ("ValidationError", "Sender")
    assert above.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    autoscaling.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=6, HonorCooldown=True)
    with pytest.raises(autoscaling.exceptions.ScalingActivityInProgressFault):
        autoscaling.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=7, HonorCooldown=True)
    ids = in_state(autoscaling, "InService")
    autoscaling.set_instance_protection(InstanceIds=[ids[1]], AutoScalingGroupName="web-asg", ProtectedFromScaleIn=True)
    assert {i["InstanceId"]: i["ProtectedFromScaleIn"] for i in group(autoscaling)["Instances"]}[ids[1]] is True
    activity = autoscaling.terminate_instance_in_auto_scaling_group(InstanceId=ids[2], ShouldDecrementDesiredCapacity=True)["Activity"]
    assert activity["Description"] == f"Terminating EC2 instance: {ids[2]}" and activity["StartTime"].tzinfo is not None
    assert group(autoscaling)["DesiredCapacity"] == 5


@pytest.mark.scenario("aws-scale-out")
@pytest.mark.speed(1)
def test_ec2_describes_instances_by_id_and_by_filter_pages(aws):
    autoscaling, ec2, _ = aws
    ids = [i["InstanceId"] for i in group(autoscaling)["Instances"]]
    reservations = ec2.describe_instances(InstanceIds=ids)["Reservations"]
    instances = [i for r in reservations for i in r["Instances"]]
    assert sorted(i["InstanceId"] for i in instances) == sorted(ids)
    for instance in instances:
        assert instance["State"] == {"Code": 16, "Name": "running"}
        assert instance["PrivateDnsName"].endswith(".eu-west-1.compute.internal")
        assert {t["Key"]: t["Value"] for t in instance["Tags"]}["aws:autoscaling:groupName"] == "web-asg"
        assert instance["LaunchTime"].tzinfo is not None
    with pytest.raises(ClientError) as both:
        ec2.describe_instances(InstanceIds=ids[:1], MaxResults=5)
    assert both.value.response["Error"]["Code"] == "InvalidParameterCombination"
    with pytest.raises(ClientError) as unknown:
        ec2.describe_instances(InstanceIds=["i-0123456789abcdef0"])
    assert unknown.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"
    pages = list(
        ec2.get_paginator("describe_instances").paginate(
            Filters=[{"Name": "tag:aws:autoscaling:groupName", "Values": ["web-asg"]}],
            PaginationConfig={"PageSize": 5},
        )
    )
    found = [i["InstanceId"] for p in pages for r in p["Reservations"] for i in r["Instances"]]
    assert sorted(found) == sorted(ids)


@pytest.mark.scenario("azure-aws")
@pytest.mark.speed(1)
def test_a_warm_pool_reads_apart_from_the_group(aws):
    autoscaling, _, _ = aws
    pool = autoscaling.describe_warm_pool(AutoScalingGroupName="web-asg")
    assert pool["WarmPoolConfiguration"]["PoolState"] == "Stopped" and pool["WarmPoolConfiguration"]["MinSize"] == 1
    warm = [i["InstanceId"] for i in pool["Instances"]]
    assert len(warm) == 2 and {i["LifecycleState"] for i in pool["Instances"]} == {"Warmed:Stopped"}
    assert not set(warm) & {i["InstanceId"] for i in group(autoscaling)["Instances"]}
    refreshes = autoscaling.describe_instance_refreshes(AutoScalingGroupName="web-asg")
    assert refreshes["InstanceRefreshes"] == []


@pytest.mark.scenario("aws-scale-in")
@pytest.mark.speed(1)
def test_faults_parse_into_the_services_errors(sim, aws):
    autoscaling, ec2, _ = aws
    sim.control("POST", "fault", {"target": "autoscaling.DescribeAutoScalingGroups", "kind": "throttling", "count": 1})
    with pytest.raises(ClientError) as throttled:
        autoscaling.describe_auto_scaling_groups()
    assert throttled.value.response["Error"]["Code"] == "Throttling"
    # botocore's standard retry mode knows Throttling as a throttling error and retries it.
    retrying = boto3.session.Session().client(
        "autoscaling", endpoint_url=sim.aws_url, config=Config(retries={"mode": "standard", "total_max_attempts": 3})
    )
    sim.control("POST", "fault", {"target": "autoscaling.DescribeAutoScalingGroups", "kind": "throttling", "count": 2})
    answer = retrying.describe_auto_scaling_groups()
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2 and answer["AutoScalingGroups"]
    sim.control("POST", "fault", {"target": "autoscaling", "kind": "expired_token", "count": 1})
    with pytest.raises(ClientError) as expired:
        autoscaling.describe_auto_scaling_groups()
    assert expired.value.response["Error"]["Code"] == "ExpiredToken"
    sim.control("POST", "fault", {"target": "ec2", "kind": "expired_token", "count": 1})
    with pytest.raises(ClientError) as expired:
        ec2.describe_instances()
    assert expired.value.response["Error"]["Code"] == "RequestExpired"
    sim.control("POST", "fault", {"target": "autoscaling", "kind": "lost_next_token", "count": 1})
    short = list(autoscaling.get_paginator("describe_auto_scaling_instances").paginate(PaginationConfig={"PageSize": 4}))
    assert len(short) == 1 and len(short[0]["AutoScalingInstances"]) == 2, "the page ended early, with no token"


@pytest.mark.scenario("aws-scale-in")
@pytest.mark.speed(1)
@pytest.mark.parametrize(
    "who, code",
    [("a stranger's key", "InvalidClientTokenId"), ("the right key id, a guessed secret", "SignatureDoesNotMatch")],
)
def test_anyone_else_is_refused_as_aws_refuses_them(sim, monkeypatch, who, code):
    monkeypatch.setenv("AWS_CONFIG_FILE", sim.env["AWS_CONFIG_FILE"])
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", sim.env["AWS_SHARED_CREDENTIALS_FILE"])
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    key_id = "AKIAIOSFODNN7EXAMPLE" if who == "a stranger's key" else sim.env["AWS_ACCESS_KEY_ID"]
    session = boto3.session.Session(
        aws_access_key_id=key_id, aws_secret_access_key="x" * 40, region_name=sim.env["AWS_REGION"]
    )
    client = session.client("autoscaling", endpoint_url=sim.aws_url, config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as refused:
        client.describe_auto_scaling_groups()
    assert refused.value.response["Error"]["Code"] == code
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
