//! What EC2 DescribeInstances says of a group's instances (the names `match` needs, the group
//! each is tagged with): one SigV4-signed Query call (form POST, `Version=2016-11-15`, XML
//! answer), read with roxmltree. Instances go in batches of
//! [`BATCH`] ids as an `instance-id` filter (a filter, unlike `InstanceId.N`, does not fail the
//! whole call for an instance that just terminated), each batch paged to its end by `nextToken`.
//! aws-sdk-ec2 would read the same data at a build cost of minutes (see the README).
//!
//! Wire shapes: "DescribeInstances" and "Query requests for Amazon EC2" in the Amazon EC2 API
//! Reference: answers `DescribeInstancesResponse/reservationSet/item/instancesSet/item`, errors
//! `Response/Errors/Error/{Code,Message}`.

use super::call::{service_failure, with_retry, Failure};
use crate::providers::ProviderError;
use crate::retry::{Outcome, RequestKind, RetryPolicy};
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use std::collections::HashMap;
use std::time::SystemTime;
use time::OffsetDateTime;

/// Instance ids per DescribeInstances filter (EC2 takes up to 200 values in one filter).
pub(crate) const BATCH: usize = 200;
/// Most instances per page (EC2's MaxResults range is 5 to 1000).
const PAGE: usize = 1000;
/// A batch that pages longer than this loops.
const MAX_PAGES: usize = 100;

/// What EC2 says about one instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ec2Facts {
    pub private_dns_name: Option<String>,
    pub name_tag: Option<String>,
    /// `instanceState/name`: pending, running, stopping, stopped, shutting-down, terminated.
    pub state: Option<String>,
    pub launch_time: Option<OffsetDateTime>,
    /// The `aws:autoscaling:groupName` tag: the Auto Scaling group the instance is in.
    pub group_tag: Option<String>,
}

/// One page of an answer.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Page {
    pub instances: Vec<(String, Ec2Facts)>,
    pub next_token: Option<String>,
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|c| c.is_element() && c.tag_name().name() == name)
}

fn children<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    name: &'a str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> + 'a {
    node.children().filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn text(node: roxmltree::Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name).and_then(|n| n.text()).map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

/// A DescribeInstances answer body.
pub(crate) fn parse_page(body: &str) -> Result<Page, String> {
    let document = roxmltree::Document::parse(body).map_err(|err| format!("the body is not XML ({err})"))?;
    let root = document.root_element();
    if root.tag_name().name() != "DescribeInstancesResponse" {
        return Err(format!("the answer is <{}>, not <DescribeInstancesResponse>", root.tag_name().name()));
    }
    let mut page = Page { next_token: text(root, "nextToken"), ..Page::default() };
    let reservations = child(root, "reservationSet").into_iter().flat_map(|set| children(set, "item"));
    for reservation in reservations {
        let items = child(reservation, "instancesSet").into_iter().flat_map(|set| children(set, "item"));
        for item in items {
            let id = text(item, "instanceId").ok_or("an instance has no instanceId")?;
            let tag = |key: &str| {
                child(item, "tagSet")
                    .into_iter()
                    .flat_map(|set| children(set, "item"))
                    .find(|tag| text(*tag, "key").as_deref() == Some(key))
                    .and_then(|tag| text(tag, "value"))
            };
            let (name_tag, group_tag) = (tag("Name"), tag("aws:autoscaling:groupName"));
            let launch_time = text(item, "launchTime")
                .and_then(|t| OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok());
            let state = child(item, "instanceState").and_then(|s| text(s, "name"));
            page.instances.push((
                id,
                Ec2Facts {
                    private_dns_name: text(item, "privateDnsName"),
                    name_tag,
                    state,
                    launch_time,
                    group_tag,
                },
            ));
        }
    }
    Ok(page)
}

/// An EC2 error answer: (code, message).
pub(crate) fn parse_error(body: &str) -> (Option<String>, Option<String>) {
    let Ok(document) = roxmltree::Document::parse(body) else { return (None, None) };
    let error = document.descendants().find(|n| n.is_element() && n.tag_name().name() == "Error");
    match error {
        Some(error) => (text(error, "Code"), text(error, "Message")),
        None => (None, None),
    }
}

/// The form body of one page's request.
pub(crate) fn form(ids: &[String], next_token: Option<&str>) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("Action", "DescribeInstances")
        .append_pair("Version", "2016-11-15")
        .append_pair("Filter.1.Name", "instance-id");
    for (i, id) in ids.iter().enumerate() {
        form.append_pair(&format!("Filter.1.Value.{}", i + 1), id);
    }
    form.append_pair("MaxResults", &PAGE.to_string());
    if let Some(token) = next_token {
        form.append_pair("NextToken", token);
    }
    form.finish()
}

/// What EC2 described, each instance once: a second record of an id (in any case) that says
/// something else is an error, not a replacement (a name decides which HA node an instance hosts
/// and which target is its, so the last record must not simply win).
#[derive(Default)]
struct Described {
    facts: HashMap<String, Ec2Facts>,
    /// Each id's ASCII lower case → the id as first described.
    spellings: HashMap<String, String>,
}

impl Described {
    fn add(&mut self, id: String, described: Ec2Facts) -> Result<(), String> {
        match self.spellings.get(&id.to_ascii_lowercase()) {
            Some(seen) if *seen == id && self.facts.get(seen) == Some(&described) => Ok(()),
            Some(seen) => {
                let before = self.facts.get(seen).cloned().unwrap_or_default();
                Err(format!(
                    "instance {id} is described twice, differently (as {seen}: private DNS name {:?}, Name tag \
                     {:?}, state {:?}; as {id}: {:?}, {:?}, {:?}): which record is right cannot be told",
                    before.private_dns_name,
                    before.name_tag,
                    before.state,
                    described.private_dns_name,
                    described.name_tag,
                    described.state
                ))
            }
            None => {
                self.spellings.insert(id.to_ascii_lowercase(), id.clone());
                self.facts.insert(id, described);
                Ok(())
            }
        }
    }
}

/// Reads EC2 with the profile's credentials and endpoint.
pub(crate) struct Ec2Reader<'a> {
    pub http: &'a reqwest::Client,
    pub sdk: &'a aws_config::SdkConfig,
    pub endpoint: &'a str,
    pub region: &'a str,
    pub retry: &'a RetryPolicy,
}

impl Ec2Reader<'_> {
    /// Facts for every id EC2 still knows (an id it does not answer for has none).
    pub(crate) async fn describe(&self, ids: &[String]) -> Result<HashMap<String, Ec2Facts>, ProviderError> {
        let mut described = Described::default();
        for batch in ids.chunks(BATCH) {
            let mut token: Option<String> = None;
            let mut pages = 0;
            loop {
                pages += 1;
                let what = format!("EC2 DescribeInstances at {} (page {pages})", self.endpoint);
                if pages > MAX_PAGES {
                    return Err(ProviderError::Paging {
                        what,
                        detail: format!("more than {MAX_PAGES} pages for {} ids", batch.len()),
                    });
                }
                let body = form(batch, token.as_deref());
                let page = with_retry(self.retry, RequestKind::Read, || self.page(&what, &body)).await?;
                for (id, facts) in page.instances {
                    described
                        .add(id, facts)
                        .map_err(|detail| ProviderError::BadResponse { what: what.clone(), detail })?;
                }
                match page.next_token {
                    Some(next) if Some(&next) == token.as_ref() => {
                        return Err(ProviderError::Paging {
                            what,
                            detail: "the server sent the same nextToken again".into(),
                        })
                    }
                    Some(next) => token = Some(next),
                    None => break,
                }
            }
        }
        Ok(described.facts)
    }

    async fn page(&self, what: &str, body: &str) -> Result<Page, Failure> {
        let unsent = |error: ProviderError| Failure { error, outcome: Outcome::Connect };
        let provider = self.sdk.credentials_provider().ok_or_else(|| {
            unsent(ProviderError::Credential {
                what: what.to_string(),
                detail: "no AWS credentials provider is configured".into(),
            })
        })?;
        let credentials = provider.provide_credentials().await.map_err(|err| {
            unsent(ProviderError::Credential {
                what: what.to_string(),
                detail: crate::untrusted::server_text(
                    &aws_sdk_autoscaling::error::DisplayErrorContext(&err).to_string(),
                ),
            })
        })?;
        let identity = credentials.into();
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let signed = (|| {
            let params = aws_sigv4::sign::v4::SigningParams::builder()
                .identity(&identity)
                .region(self.region)
                .name("ec2")
                .time(SystemTime::now())
                .settings(SigningSettings::default())
                .build()
                .map_err(|e| e.to_string())?
                .into();
            let request = SignableRequest::new(
                "POST",
                self.endpoint,
                std::iter::once(("content-type", content_type)),
                SignableBody::Bytes(body.as_bytes()),
            )
            .map_err(|e| e.to_string())?;
            sign(request, &params).map(|out| out.into_parts().0).map_err(|e| e.to_string())
        })()
        .map_err(|detail| {
            unsent(ProviderError::Credential {
                what: what.to_string(),
                detail: format!("cannot sign the request: {detail}"),
            })
        })?;
        let mut request =
            self.http.post(self.endpoint).header("content-type", content_type).body(body.to_string());
        for (name, value) in signed.headers() {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|err| transport(what, &err))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|err| transport(what, &err))?;
        if !(200..300).contains(&status) {
            let (code, message) = parse_error(&text);
            return Err(service_failure(what, status, code.as_deref(), message.as_deref()));
        }
        parse_page(&text).map_err(|detail| Failure {
            error: ProviderError::BadResponse { what: what.to_string(), detail },
            outcome: Outcome::Status { status, retry_after: None },
        })
    }
}

fn transport(what: &str, err: &reqwest::Error) -> Failure {
    let detail = crate::untrusted::server_text(&err.to_string());
    if err.is_timeout() {
        Failure {
            error: ProviderError::Timeout { what: what.to_string(), detail },
            outcome: Outcome::Timeout,
        }
    } else if err.is_connect() {
        Failure {
            error: ProviderError::Connect { what: what.to_string(), detail },
            outcome: Outcome::Connect,
        }
    } else {
        Failure { error: ProviderError::Connect { what: what.to_string(), detail }, outcome: Outcome::Io }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>8f7724cf-496f-496e-8fe3-example</requestId>
  <reservationSet>
    <item>
      <reservationId>r-1234567890abcdef0</reservationId>
      <instancesSet>
        <item>
          <instanceId>i-0598c7d356eba48d7</instanceId>
          <instanceState><code>16</code><name>running</name></instanceState>
          <privateDnsName>ip-10-0-1-5.eu-west-1.compute.internal</privateDnsName>
          <launchTime>2026-11-29T08:00:00.000Z</launchTime>
          <tagSet>
            <item><key>aws:autoscaling:groupName</key><value>web-asg</value></item>
            <item><key>Name</key><value>web-1</value></item>
          </tagSet>
        </item>
        <item>
          <instanceId>i-0aaa</instanceId>
          <instanceState><code>0</code><name>pending</name></instanceState>
          <privateDnsName></privateDnsName>
        </item>
      </instancesSet>
    </item>
  </reservationSet>
  <nextToken>eyJ2IjoiMiJ9</nextToken>
</DescribeInstancesResponse>"#;

    #[test]
    fn a_page_gives_names_tags_states_and_the_next_token() {
        let page = parse_page(PAGE_XML).expect("parses");
        assert_eq!(page.next_token.as_deref(), Some("eyJ2IjoiMiJ9"));
        assert_eq!(page.instances.len(), 2);
        let (id, facts) = &page.instances[0];
        assert_eq!(id, "i-0598c7d356eba48d7");
        assert_eq!(facts.private_dns_name.as_deref(), Some("ip-10-0-1-5.eu-west-1.compute.internal"));
        assert_eq!(facts.name_tag.as_deref(), Some("web-1"), "the Name tag, not another tag's value");
        assert_eq!(facts.group_tag.as_deref(), Some("web-asg"));
        assert_eq!(facts.state.as_deref(), Some("running"));
        assert!(facts.launch_time.is_some());
        let (_, pending) = &page.instances[1];
        assert_eq!(pending.private_dns_name, None, "an empty name is no name");
        assert_eq!(pending.name_tag, None);
        assert_eq!(pending.group_tag, None, "no tagSet: no group");
    }

    #[test]
    fn errors_and_foreign_answers_are_read_not_guessed() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>x</RequestID></Response>"#;
        assert_eq!(
            parse_error(body),
            (Some("RequestLimitExceeded".into()), Some("Request limit exceeded.".into()))
        );
        assert!(parse_page(body).unwrap_err().contains("not <DescribeInstancesResponse>"));
        assert!(parse_page("{\"json\": true}").unwrap_err().contains("not XML"));
        let no_id = PAGE_XML.replace("<instanceId>i-0aaa</instanceId>", "");
        assert!(parse_page(&no_id).unwrap_err().contains("instanceId"));
    }

    #[test]
    fn the_form_filters_by_instance_id_and_pages() {
        let body = form(&["i-1".into(), "i-2".into()], Some("tok/en"));
        assert_eq!(
            body,
            "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=instance-id&Filter.1.Value.1=i-1&\
             Filter.1.Value.2=i-2&MaxResults=1000&NextToken=tok%2Fen"
        );
    }

    #[test]
    fn an_instance_described_twice_differently_is_an_error_not_the_last_record() {
        let named = |dns: &str| Ec2Facts { private_dns_name: Some(dns.into()), ..Ec2Facts::default() };
        let mut described = Described::default();
        described.add("i-1".into(), named("ip-10-0-0-4.ec2.internal")).unwrap();
        described.add("i-1".into(), named("ip-10-0-0-4.ec2.internal")).unwrap();
        let twice = described.add("i-1".into(), named("ip-10-0-9-99.ec2.internal")).unwrap_err();
        assert!(twice.contains("ip-10-0-0-4") && twice.contains("ip-10-0-9-99"), "{twice}");
        let spelled = described.add("I-1".into(), named("ip-10-0-0-4.ec2.internal")).unwrap_err();
        assert!(spelled.contains("as i-1") && spelled.contains("as I-1"), "{spelled}");
        described.add("i-2".into(), named("ip-10-0-0-5.ec2.internal")).unwrap();
        assert_eq!(described.facts.len(), 2);
        assert_eq!(described.facts["i-1"], named("ip-10-0-0-4.ec2.internal"), "the first record stays");
    }
}
