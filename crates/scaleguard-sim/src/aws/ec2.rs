//! EC2 `DescribeInstances` (API version 2016-11-15): `InstanceId.N`, `Filter.N.Name` /
//! `Filter.N.Value.M`, `MaxResults` (5..=1000, refused together with instance ids, as EC2 does)
//! and `NextToken`; the answer's `reservationSet/item/instancesSet/item` named as aws-sdk-ec2's
//! deserializer reads them. Terminated instances stay visible for an hour, then are unknown.

use super::super::world::World;
use super::autoscaling_read::timestamp;
use super::form::Form;
use super::model::AsgInstance;
use super::paging;
use super::xml::Xml;
use super::AwsError;

/// One instance as EC2 sees it.
struct Described<'w> {
    group: &'w str,
    instance: &'w AsgInstance,
    instance_type: &'w str,
    /// `(code, name)`: 48 terminated for one gone from its group.
    state: (u32, &'static str),
}

impl Described<'_> {
    fn terminated(&self) -> bool {
        self.state.0 == 48
    }
}

fn everything(world: &World) -> Vec<Described<'_>> {
    let live = world.aws.groups.iter().flat_map(|g| {
        g.instances.iter().map(move |i| Described {
            group: &g.name,
            instance: i,
            instance_type: &g.instance_type,
            state: i.lifecycle.ec2_state(),
        })
    });
    let gone = world.aws.terminated.iter().map(|t| {
        let instance_type = world
            .aws
            .groups
            .iter()
            .find(|g| g.name == t.group)
            .map_or("t3.medium", |g| g.instance_type.as_str());
        Described { group: &t.group, instance: &t.instance, instance_type, state: (48, "terminated") }
    });
    live.chain(gone).collect()
}

/// `i-` and 8 or 17 hexadecimal digits.
fn well_formed(id: &str) -> bool {
    id.strip_prefix("i-")
        .is_some_and(|hex| (hex.len() == 8 || hex.len() == 17) && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

/// EC2 filter values take `*` and `?` wildcards.
fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    go(&p, &t)
}

fn tags<'a>(d: &'a Described<'_>) -> [(&'a str, &'a str); 2] {
    [("Name", d.instance.name_tag.as_str()), ("aws:autoscaling:groupName", d.group)]
}

fn dns_name(world: &World, d: &Described<'_>) -> String {
    if d.terminated() {
        String::new()
    } else {
        d.instance.private_dns_name(&world.aws.region)
    }
}

fn matches(world: &World, d: &Described<'_>, filters: &[(String, Vec<String>)]) -> Result<bool, AwsError> {
    for (name, values) in filters {
        let any = |text: &str| values.iter().any(|v| glob(v, text));
        let hit = match name.as_str() {
            "instance-id" => any(&d.instance.instance_id),
            "instance-state-name" => any(d.state.1),
            "private-dns-name" => any(&dns_name(world, d)),
            "availability-zone" => any(&d.instance.zone),
            "tag-key" => tags(d).iter().any(|(k, _)| any(k)),
            "tag-value" => tags(d).iter().any(|(_, v)| any(v)),
            key if key.starts_with("tag:") => tags(d).iter().any(|(k, v)| *k == &key[4..] && any(v)),
            other => {
                return Err(AwsError::new(
                    "InvalidParameterValue",
                    format!("The filter '{other}' is invalid"),
                ));
            }
        };
        if !hit {
            return Ok(false);
        }
    }
    Ok(true)
}

pub fn describe_instances(
    world: &mut World,
    form: &Form,
    lose_token: bool,
    xml: &mut Xml,
) -> Result<(), AwsError> {
    let ids = form.flat_list("InstanceId");
    let max_results = form.int("MaxResults")?;
    if ids.is_some() && max_results.is_some() {
        return Err(AwsError::new(
            "InvalidParameterCombination",
            "The parameter instancesSet cannot be used with the parameter maxResults",
        ));
    }
    if let Some(n) = max_results.filter(|n| !(5..=1000).contains(n)) {
        return Err(AwsError::new(
            "InvalidParameterValue",
            format!(
                "Value ( {n} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000."
            ),
        ));
    }
    if form.bool("DryRun")? == Some(true) {
        return Err(AwsError::new(
            "DryRunOperation",
            "Request would have succeeded, but DryRun flag is set.",
        ));
    }
    let filters = form.filters("Filter", "Value", "");
    let all = everything(world);
    if let Some(ids) = &ids {
        if let Some(bad) = ids.iter().find(|id| !well_formed(id)) {
            return Err(AwsError::new("InvalidInstanceID.Malformed", format!("Invalid id: \"{bad}\"")));
        }
        let missing: Vec<&str> = ids
            .iter()
            .filter(|id| !all.iter().any(|d| &d.instance.instance_id == *id))
            .map(String::as_str)
            .collect();
        match missing.as_slice() {
            [] => {}
            [one] => {
                return Err(AwsError::new(
                    "InvalidInstanceID.NotFound",
                    format!("The instance ID '{one}' does not exist"),
                ))
            }
            many => {
                return Err(AwsError::new(
                    "InvalidInstanceID.NotFound",
                    format!("The instance IDs '{}' do not exist", many.join(", ")),
                ))
            }
        }
    }
    let mut chosen = Vec::new();
    for d in &all {
        let named = ids.as_ref().is_none_or(|ids| ids.contains(&d.instance.instance_id));
        if named && matches(world, d, &filters)? {
            chosen.push(d);
        }
    }
    chosen.sort_by(|a, b| a.instance.instance_id.cmp(&b.instance.instance_id));
    // Without MaxResults EC2 answers everything at once.
    let size = max_results.map_or(usize::MAX, |n| n as usize);
    let page = paging::page(
        chosen,
        |d| d.instance.instance_id.clone(),
        "ec2",
        form.get("NextToken"),
        size,
        lose_token,
    )
    .map_err(|_| AwsError::new("InvalidParameterValue", "Invalid value for nextToken"))?;
    xml.open("reservationSet");
    for d in &page.items {
        reservation(world, xml, d);
    }
    xml.close();
    xml.opt_text("nextToken", page.next_token);
    Ok(())
}

fn reservation(world: &World, xml: &mut Xml, d: &Described<'_>) {
    let instance = d.instance;
    let hex = instance.instance_id.trim_start_matches("i-");
    let zone_letter = instance.zone.chars().last().unwrap_or('a');
    xml.open("item");
    xml.text("reservationId", format!("r-{hex}"));
    xml.text("ownerId", &world.aws.account_id);
    xml.open("groupSet").close();
    xml.open("instancesSet").open("item");
    xml.text("instanceId", &instance.instance_id);
    xml.text("imageId", "ami-0a1b2c3d4e5f60718");
    xml.open("instanceState").text("code", d.state.0).text("name", d.state.1).close();
    xml.text("privateDnsName", dns_name(world, d));
    xml.text("dnsName", "");
    xml.text("reason", "");
    xml.text("amiLaunchIndex", 0);
    xml.open("productCodes").close();
    xml.text("instanceType", d.instance_type);
    xml.text("launchTime", timestamp(world, instance.launched_at));
    xml.open("placement")
        .text("availabilityZone", &instance.zone)
        .text("groupName", "")
        .text("tenancy", "default");
    xml.close();
    xml.open("monitoring").text("state", "disabled").close();
    if !d.terminated() {
        xml.text("subnetId", format!("subnet-0sim{zone_letter}000000000000"));
        xml.text("vpcId", "vpc-0sim0000000000000");
        xml.text("privateIpAddress", &instance.private_ip);
    }
    xml.open("tagSet");
    for (key, value) in tags(d) {
        xml.open("item").text("key", key).text("value", value).close();
    }
    xml.close();
    xml.close().close().close();
}

#[cfg(test)]
mod tests {
    use super::super::model::Lifecycle;
    use super::*;

    #[test]
    fn ids_and_wildcards() {
        assert!(well_formed("i-0123456789abcdef0"));
        assert!(well_formed("i-12345678"));
        assert!(!well_formed("i-xyz"));
        assert!(!well_formed("web-1"));
        assert!(glob("ip-10-0-*", "ip-10-0-1-4.eu-west-1.compute.internal"));
        assert!(glob("web-?", "web-7"));
        assert!(!glob("web-?", "web-17"));
    }

    #[test]
    fn ec2_states_follow_the_lifecycle() {
        assert_eq!(Lifecycle::Pending.ec2_state(), (0, "pending"));
        assert_eq!(Lifecycle::PendingWait.ec2_state(), (16, "running"));
        assert_eq!(Lifecycle::TerminatingProceed.ec2_state(), (32, "shutting-down"));
        assert_eq!(Lifecycle::WarmedStopped.ec2_state(), (80, "stopped"));
    }
}
