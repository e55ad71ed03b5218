//! Who is calling: the `Authorization: AWS4-HMAC-SHA256 Credential=<key id>/<date>/<region>/
//! <service>/aws4_request, SignedHeaders=…, Signature=…` header every SDK request carries
//! ("Signature Version 4 signing", AWS documentation). The access key id must be the simulator's
//! and the scope must name this region and the service the request is for. The signature itself
//! is not recomputed: the simulator checks who signed, not the arithmetic (see README).

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
    let rest = header.trim().strip_prefix("AWS4-HMAC-SHA256")?;
    let credential = rest.split(',').map(str::trim).find_map(|part| part.strip_prefix("Credential="))?;
    let mut parts = credential.split('/');
    let scope =
        Scope { key_id: parts.next()?, date: parts.next()?, region: parts.next()?, service: parts.next()? };
    (parts.next() == Some("aws4_request") && !scope.key_id.is_empty()).then_some(scope)
}

pub fn check(header: Option<&str>, key_id: &str, region: &str, service: &str) -> Result<(), AuthFailure> {
    let scope = header.and_then(scope).ok_or(AuthFailure::Missing)?;
    if scope.key_id != key_id {
        return Err(AuthFailure::UnknownKey);
    }
    if scope.service != service {
        return Err(AuthFailure::WrongService);
    }
    if scope.region != region {
        return Err(AuthFailure::WrongRegion { region: scope.region.to_string() });
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
        assert_eq!(check(Some(HEADER), "AKIASIM", "eu-west-1", "autoscaling"), Ok(()));
        assert_eq!(check(None, "AKIASIM", "eu-west-1", "autoscaling"), Err(AuthFailure::Missing));
        assert_eq!(
            check(Some(HEADER), "AKIAOTHER", "eu-west-1", "autoscaling"),
            Err(AuthFailure::UnknownKey)
        );
        assert_eq!(check(Some(HEADER), "AKIASIM", "eu-west-1", "ec2"), Err(AuthFailure::WrongService));
        assert_eq!(
            check(Some(HEADER), "AKIASIM", "us-east-1", "autoscaling"),
            Err(AuthFailure::WrongRegion { region: "eu-west-1".into() })
        );
    }
}
