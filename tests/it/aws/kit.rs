//! A query-protocol client for the simulator's AWS side: form posts signed with SigV4 as the SDKs
//! sign them (the simulator recomputes the signature).

use scaleguard::sim::{self, RunningSim, SimOptions};

pub struct Aws {
    pub sim: RunningSim,
    pub http: reqwest::Client,
}

pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    /// The text of every `<tag>` element, in document order.
    pub fn all(&self, tag: &str) -> Vec<String> {
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        let mut out = Vec::new();
        let mut rest = self.body.as_str();
        while let Some(start) = rest.find(&open) {
            rest = &rest[start + open.len()..];
            let Some(end) = rest.find(&close) else { break };
            out.push(unescape(&rest[..end]));
            rest = &rest[end + close.len()..];
        }
        out
    }
    pub fn one(&self, tag: &str) -> Option<String> {
        self.all(tag).into_iter().next()
    }
    /// `(status, Code)` of an error answer.
    pub fn error(&self) -> (u16, String) {
        (self.status, self.one("Code").unwrap_or_default())
    }
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

pub async fn start(scenario: &str) -> Aws {
    let sim = sim::start(SimOptions::new(scenario).manual_clock()).await.expect("simulator starts");
    Aws { sim, http: reqwest::Client::new() }
}

/// Who signs a request: key id, secret, region, service.
pub struct Signer<'a> {
    pub key_id: &'a str,
    pub secret: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
const AMZ_DATE: &str = "20260105T090000Z";

impl Aws {
    /// An Auto Scaling call (`Version=2011-01-01`).
    pub async fn autoscaling(&self, action: &str, params: &[(&str, &str)]) -> Answer {
        let (key_id, secret) = (self.sim.aws_access_key_id(), self.sim.aws_secret_access_key());
        let signer = Signer { key_id: &key_id, secret: &secret, region: "eu-west-1", service: "autoscaling" };
        self.post(action, "2011-01-01", params, Some(&signer)).await
    }
    /// An EC2 call (`Version=2016-11-15`).
    pub async fn ec2(&self, action: &str, params: &[(&str, &str)]) -> Answer {
        let (key_id, secret) = (self.sim.aws_access_key_id(), self.sim.aws_secret_access_key());
        let signer = Signer { key_id: &key_id, secret: &secret, region: "eu-west-1", service: "ec2" };
        self.post(action, "2016-11-15", params, Some(&signer)).await
    }

    pub async fn post(
        &self,
        action: &str,
        version: &str,
        params: &[(&str, &str)],
        signer: Option<&Signer<'_>>,
    ) -> Answer {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", action).append_pair("Version", version);
        for (key, value) in params {
            form.append_pair(key, value);
        }
        let body = form.finish();
        let mut request = self
            .http
            .post(format!("{}/", self.sim.aws_url()))
            .header("content-type", CONTENT_TYPE)
            .header("x-amz-date", AMZ_DATE)
            .body(body.clone());
        if let Some(signer) = signer {
            let host = self.sim.aws_url().trim_start_matches("http://").to_string();
            let signed = [
                ("content-type".to_string(), CONTENT_TYPE.to_string()),
                ("host".to_string(), host),
                ("x-amz-date".to_string(), AMZ_DATE.to_string()),
            ];
            let authorization = scaleguard::sim::aws::sigv4::authorization(
                signer.key_id,
                signer.secret,
                (signer.region, signer.service),
                "POST",
                &signed,
                body.as_bytes(),
            );
            request = request.header("authorization", authorization);
        }
        let response = request.send().await.expect("AWS call");
        let status = response.status().as_u16();
        Answer { status, body: response.text().await.expect("AWS answer") }
    }

    /// Every page of an Auto Scaling listing: the items' `item_tag` texts and the pages read.
    pub async fn all_pages(
        &self,
        action: &str,
        params: &[(&str, &str)],
        item_tag: &str,
    ) -> (Vec<String>, usize) {
        let (mut items, mut pages, mut token) = (Vec::new(), 0, None::<String>);
        loop {
            let mut with_token: Vec<(&str, &str)> = params.to_vec();
            if let Some(token) = &token {
                with_token.push(("NextToken", token));
            }
            let answer = self.autoscaling(action, &with_token).await;
            assert_eq!(answer.status, 200, "{}", answer.body);
            pages += 1;
            items.extend(answer.all(item_tag));
            match answer.one("NextToken") {
                Some(next) => token = Some(next),
                None => return (items, pages),
            }
        }
    }

    pub fn advance(&self, secs: u64) {
        self.sim.advance(std::time::Duration::from_secs(secs)).expect("manual clock");
    }

    pub fn fault(&self, target: &str, kind: &str, count: u32) {
        self.sim
            .inject_fault(sim::FaultSpec {
                target: target.into(),
                kind: kind.into(),
                count,
                retry_after_secs: None,
                delay_ms: None,
            })
            .expect("fault accepted");
    }

    /// Instance ids of `group` in `state`, from the world.
    pub fn in_state(&self, group: &str, state: &str) -> Vec<String> {
        self.sim.with_world(|w| {
            w.aws
                .groups
                .iter()
                .filter(|g| g.name == group)
                .flat_map(|g| &g.instances)
                .filter(|i| i.lifecycle.as_str() == state)
                .map(|i| i.instance_id.clone())
                .collect()
        })
    }
}
