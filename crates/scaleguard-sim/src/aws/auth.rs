//! Who is calling: the `Authorization: AWS4-HMAC-SHA256 Credential=<key id>/<date>/<region>/
//! <service>/aws4_request, SignedHeaders=…, Signature=…` header every SDK request carries
//! ("Signature Version 4 signing", AWS documentation). The access key id must be the simulator's,
//! the scope must name this region and the service the request is for, and the signature must be
//! the one the simulator's secret gives (`sigv4`).

use super::sigv4::{self, Received};

/// Why a request is refused before it is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// No Authorization header, or not a SigV4 one.
    Missing,
    /// A key id the simulator did not hand out.
    UnknownKey,
    /// Signed for another service (`ec2` for an Auto Scaling request, or the other way round).
    WrongService,
    /// Signed for another region.
    WrongRegion { region: String },
    /// Signed with another secret, or the request changed after signing.
    BadSignature,
}

/// The parts of a SigV4 credential scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope<'a> {
    pub key_id: &'a str,
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

pub fn scope(header: &str) -> Option<Scope<'_>> {
    let signed = sigv4::parse(header)?;
    Some(Scope { key_id: signed.key_id, date: signed.date, region: signed.region, service: signed.service })
}

/// The simulator's key pair, and where and for what a request must be signed.
pub struct Expected<'a> {
    pub key_id: &'a str,
    pub secret: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

pub fn check(
    header: Option<&str>,
    expected: &Expected<'_>,
    received: &Received<'_>,
) -> Result<(), AuthFailure> {
    let signed = header.and_then(sigv4::parse).ok_or(AuthFailure::Missing)?;
    if signed.key_id != expected.key_id {
        return Err(AuthFailure::UnknownKey);
    }
    if signed.service != expected.service {
        return Err(AuthFailure::WrongService);
    }
    if signed.region != expected.region {
        return Err(AuthFailure::WrongRegion { region: signed.region.to_string() });
    }
    if sigv4::expected_signature(expected.secret, &signed, received) != signed.signature {
        return Err(AuthFailure::BadSignature);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "AWS4-HMAC-SHA256 Credential=AKIASIM/20260105/eu-west-1/autoscaling/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=abc";

    #[test]
    fn the_scope_names_key_region_and_service() {
        let s = scope(HEADER).unwrap();
        assert_eq!(
            (s.key_id, s.date, s.region, s.service),
            ("AKIASIM", "20260105", "eu-west-1", "autoscaling")
        );
        assert_eq!(scope("Bearer xyz"), None);
        assert_eq!(scope("AWS4-HMAC-SHA256 Credential=K/d/r/s/other"), None);
    }

    #[test]
    fn each_mismatch_has_its_reason() {
        let headers = vec![
            ("host".to_string(), "127.0.0.1:1".to_string()),
            ("x-amz-date".to_string(), "20260105T090000Z".to_string()),
        ];
        let received =
            Received { method: "POST", path: "/", query: &[], headers: &headers, body: b"Action=X" };
        let sign = |key: &str, secret: &str, region: &str, service: &str| {
            sigv4::authorization(key, secret, (region, service), "POST", &headers, b"Action=X")
        };
        let expected =
            Expected { key_id: "AKIASIM", secret: "s3cr3t", region: "eu-west-1", service: "autoscaling" };
        let check = |header: Option<String>| check(header.as_deref(), &expected, &received);
        assert_eq!(check(Some(sign("AKIASIM", "s3cr3t", "eu-west-1", "autoscaling"))), Ok(()));
        assert_eq!(check(None), Err(AuthFailure::Missing));
        assert_eq!(
            check(Some(sign("AKIAOTHER", "s3cr3t", "eu-west-1", "autoscaling"))),
            Err(AuthFailure::UnknownKey)
        );
        assert_eq!(
            check(Some(sign("AKIASIM", "s3cr3t", "eu-west-1", "ec2"))),
            Err(AuthFailure::WrongService)
        );
        assert_eq!(
            check(Some(sign("AKIASIM", "s3cr3t", "us-east-1", "autoscaling"))),
            Err(AuthFailure::WrongRegion { region: "us-east-1".into() })
        );
        assert_eq!(
            check(Some(sign("AKIASIM", "guessed", "eu-west-1", "autoscaling"))),
            Err(AuthFailure::BadSignature)
        );
    }
}
