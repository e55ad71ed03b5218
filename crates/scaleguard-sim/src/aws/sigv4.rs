//! Signature Version 4 recomputed by the server ("Create a signed AWS API request", AWS
//! documentation): the canonical request over the headers the client signed and the payload's
//! SHA-256, the string to sign, the key derived from the secret through date, region, service
//! and `aws4_request`. A request signed with any other secret does not match. The request's time
//! is not compared with the simulator's clock (a manual clock is days away from the real one).

use sha2::{Digest, Sha256};

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest<'a> {
    pub key_id: &'a str,
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    pub signed_headers: Vec<&'a str>,
    pub signature: &'a str,
}

pub fn parse(header: &str) -> Option<SignedRequest<'_>> {
    let rest = header.trim().strip_prefix("AWS4-HMAC-SHA256")?;
    let field = |name: &str| rest.split(',').map(str::trim).find_map(|part| part.strip_prefix(name));
    let mut scope = field("Credential=")?.split('/');
    let (key_id, date, region, service) = (scope.next()?, scope.next()?, scope.next()?, scope.next()?);
    if scope.next() != Some("aws4_request") || key_id.is_empty() {
        return None;
    }
    Some(SignedRequest {
        key_id,
        date,
        region,
        service,
        signed_headers: field("SignedHeaders=").map(|h| h.split(';').collect()).unwrap_or_default(),
        signature: field("Signature=").unwrap_or_default(),
    })
}

/// What the signature covers, as the server received it.
pub struct Received<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The query string's pairs, decoded.
    pub query: &'a [(String, String)],
    /// Every header (lower-case names; a name may repeat).
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// HMAC-SHA256 (RFC 2104; SHA-256's block is 64 bytes).
fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(data);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// SigV4's URI encoding: everything but `A-Z a-z 0-9 - _ . ~` as `%XX`.
fn uri_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> =
        query.iter().map(|(k, v)| (uri_encode(k), uri_encode(v))).collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// A header's values joined by commas, each trimmed with inner runs of spaces made one.
fn canonical_value(headers: &[(String, String)], name: &str) -> String {
    headers
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(",")
}

/// The signature the request should carry if `secret` signed it.
pub fn expected_signature(secret: &str, signed: &SignedRequest<'_>, received: &Received<'_>) -> String {
    let payload_hash = match canonical_value(received.headers, "x-amz-content-sha256") {
        declared if !declared.is_empty() && declared != "UNSIGNED-PAYLOAD" => declared,
        _ => hex(&Sha256::digest(received.body)),
    };
    let headers: String = signed
        .signed_headers
        .iter()
        .map(|name| format!("{name}:{}\n", canonical_value(received.headers, name)))
        .collect();
    let path = if received.path.is_empty() { "/" } else { received.path };
    let canonical_request = format!(
        "{}\n{path}\n{}\n{headers}\n{}\n{payload_hash}",
        received.method,
        canonical_query(received.query),
        signed.signed_headers.join(";"),
    );
    let amz_date = canonical_value(received.headers, "x-amz-date");
    let scope = format!("{}/{}/{}/aws4_request", signed.date, signed.region, signed.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let key = [signed.date, signed.region, signed.service, "aws4_request"]
        .iter()
        .fold(format!("AWS4{secret}").into_bytes(), |key, part| hmac(&key, part.as_bytes()).to_vec());
    hex(&hmac(&key, string_to_sign.as_bytes()))
}

/// An `Authorization` header for a request with these headers (lower-case names, `host` among
/// them) and body: what a test client signs with.
pub fn authorization(
    key_id: &str,
    secret: &str,
    (region, service): (&str, &str),
    method: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> String {
    let amz_date = canonical_value(headers, "x-amz-date");
    let date = amz_date.get(..8).unwrap_or_default();
    let mut names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let signed = SignedRequest { key_id, date, region, service, signed_headers: names, signature: "" };
    let received = Received { method, path: "/", query: &[], headers, body };
    let signature = expected_signature(secret, &signed, &received);
    format!(
        "AWS4-HMAC-SHA256 Credential={key_id}/{date}/{region}/{service}/aws4_request, SignedHeaders={}, Signature={signature}",
        signed.signed_headers.join(";")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(date: &str) -> Vec<(String, String)> {
        vec![
            ("content-type".into(), "application/x-www-form-urlencoded; charset=utf-8".into()),
            ("host".into(), "127.0.0.1:4321".into()),
            ("x-amz-date".into(), date.into()),
        ]
    }

    const BODY: &[u8] =
        b"Action=DescribeAutoScalingGroups&Version=2011-01-01&AutoScalingGroupNames.member.1=web-asg";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    /// Signed by botocore 1.44.8 (`SigV4Auth(credentials, "autoscaling", "eu-west-1")`): an
    /// implementation independent of this one.
    #[test]
    fn a_botocore_signature_verifies() {
        let header = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261129/eu-west-1/autoscaling/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=2c746211b09b7a6f654332a57b2327309ae1e3a3f9a7dd5337fef850fde3e15f";
        let signed = parse(header).unwrap();
        let headers = headers("20261129T214832Z");
        let received = Received { method: "POST", path: "/", query: &[], headers: &headers, body: BODY };
        assert_eq!(expected_signature(SECRET, &signed, &received), signed.signature);
        assert_ne!(expected_signature("another secret", &signed, &received), signed.signature);
        let tampered = Received { body: b"Action=SetDesiredCapacity", ..received };
        assert_ne!(expected_signature(SECRET, &signed, &tampered), signed.signature);
    }

    #[test]
    fn what_it_signs_it_verifies() {
        let headers = headers("20260105T090000Z");
        let header = authorization("AKIASIM", SECRET, ("eu-west-1", "ec2"), "POST", &headers, BODY);
        let signed = parse(&header).unwrap();
        assert_eq!((signed.date, signed.service), ("20260105", "ec2"));
        assert_eq!(signed.signed_headers, ["content-type", "host", "x-amz-date"]);
        let received = Received { method: "POST", path: "/", query: &[], headers: &headers, body: BODY };
        assert_eq!(expected_signature(SECRET, &signed, &received), signed.signature);
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex(&mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
