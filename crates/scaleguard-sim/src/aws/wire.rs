//! The query protocols on the wire: which service a request is for, who signed it, the answer's
//! envelope (`<XResponse><XResult>…` for Auto Scaling, `<XResponse><requestId>…` for EC2) and the
//! error shapes (`ErrorResponse/Error/{Type,Code,Message}` and `Response/Errors/Error/{Code,Message}`).

use super::super::faults::FaultKind;
use super::super::http::{Reply, Request};
use super::super::world::World;
use super::super::Shared;
use super::auth::{self, AuthFailure};
use super::form::{Form, ParamError};
use super::sigv4::Received;
use super::xml::Xml;
use super::AwsError;
use axum::http::StatusCode;
use rand::RngExt;

pub const AUTOSCALING_VERSION: &str = "2011-01-01";
pub const EC2_VERSION: &str = "2016-11-15";
const AUTOSCALING_NS: &str = "http://autoscaling.amazonaws.com/doc/2011-01-01/";
const EC2_NS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    AutoScaling,
    Ec2,
}

impl Service {
    /// The SigV4 signing name, and the prefix of the simulator's endpoint names.
    pub fn name(self) -> &'static str {
        match self {
            Self::AutoScaling => "autoscaling",
            Self::Ec2 => "ec2",
        }
    }
}

/// A parsed query-protocol request.
#[derive(Debug, Clone)]
pub struct AwsCall {
    pub service: Service,
    pub action: String,
    pub version: String,
    pub form: Form,
}

impl AwsCall {
    /// `autoscaling.DescribeAutoScalingGroups`: the request counter's name, and what a fault's
    /// `target` or a request hook's `path_prefix` matches (`aws`, `autoscaling`, `ec2` or this).
    pub fn key(&self) -> String {
        format!("{}.{}", self.service.name(), self.action)
    }
}

/// A query-protocol request: `/` with an `Action` parameter (in the form body, or the query
/// string of a GET). The service is the one its `Version` belongs to, else the one its signature
/// is scoped to.
pub fn parse_call(request: &Request) -> Option<AwsCall> {
    if !request.segments().is_empty() {
        return None;
    }
    let form = Form::parse(&request.query, &request.body);
    let action = form.get("Action")?.to_string();
    let version = form.get("Version").unwrap_or_default().to_string();
    let signed_for = request.header("authorization").and_then(auth::scope).map(|s| s.service.to_string());
    let service = match (version.as_str(), signed_for.as_deref()) {
        (EC2_VERSION, _) => Service::Ec2,
        (AUTOSCALING_VERSION, _) => Service::AutoScaling,
        (_, Some("ec2")) => Service::Ec2,
        _ => Service::AutoScaling,
    };
    Some(AwsCall { service, action, version, form })
}

fn request_id() -> String {
    uuid::Builder::from_random_bytes(rand::rng().random()).into_uuid().to_string()
}

pub(super) fn error_status(code: &str) -> StatusCode {
    match code {
        "InvalidClientTokenId"
        | "MissingAuthenticationToken"
        | "SignatureDoesNotMatch"
        | "ExpiredToken"
        | "AccessDenied"
        | "UnauthorizedOperation" => StatusCode::FORBIDDEN,
        "AuthFailure" => StatusCode::UNAUTHORIZED,
        "DryRunOperation" => StatusCode::PRECONDITION_FAILED,
        "ResourceContention" | "InternalFailure" | "InternalError" => StatusCode::INTERNAL_SERVER_ERROR,
        "ServiceUnavailable" | "Unavailable" | "RequestLimitExceeded" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The error document of `service`, with the status its code has.
pub fn error_reply(service: Service, error: &AwsError) -> Reply {
    let status = error_status(&error.code);
    let mut xml = Xml::new();
    match service {
        Service::AutoScaling => {
            xml.open_ns("ErrorResponse", AUTOSCALING_NS).open("Error");
            xml.text("Type", if status.is_server_error() { "Receiver" } else { "Sender" });
            xml.text("Code", &error.code).text("Message", &error.message).close();
            xml.text("RequestId", request_id());
        }
        Service::Ec2 => {
            xml.open("Response").open("Errors").open("Error");
            xml.text("Code", &error.code).text("Message", &error.message).close().close();
            xml.text("RequestID", request_id());
        }
    }
    Reply::xml(status, xml.finish()).header("x-amzn-RequestId", request_id())
}

impl From<ParamError> for AwsError {
    fn from(err: ParamError) -> Self {
        AwsError::validation(format!("1 validation error detected: {}", err.message))
    }
}

fn auth_error(service: Service, failure: &AuthFailure) -> AwsError {
    let scoped = |what: &str| {
        AwsError::new("SignatureDoesNotMatch", format!("Credential should be scoped to {what}. "))
    };
    match (service, failure) {
        (Service::AutoScaling, AuthFailure::Missing) => {
            AwsError::new("MissingAuthenticationToken", "Request is missing Authentication Token")
        }
        (Service::AutoScaling, AuthFailure::UnknownKey) => {
            AwsError::new("InvalidClientTokenId", "The security token included in the request is invalid.")
        }
        (Service::Ec2, AuthFailure::Missing | AuthFailure::UnknownKey) => {
            AwsError::new("AuthFailure", "AWS was not able to validate the provided access credentials")
        }
        (_, AuthFailure::WrongService) => scoped(&format!("correct service: '{}'", service.name())),
        (_, AuthFailure::WrongRegion { region }) => scoped(&format!("a valid region, not '{region}'")),
        (_, AuthFailure::BadSignature) => AwsError::new(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ),
    }
}

/// Answer one call: check the signature's scope, then run the action.
pub(crate) fn handle(shared: &Shared, request: &Request, call: &AwsCall) -> Reply {
    let region = shared.world().aws.region.clone();
    let expected = auth::Expected {
        key_id: &shared.aws_access_key_id,
        secret: &shared.aws_secret_access_key,
        region: &region,
        service: call.service.name(),
    };
    let headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(name, value)| {
            (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned())
        })
        .collect();
    let received = Received {
        method: request.method.as_str(),
        path: &request.path,
        query: &request.query,
        headers: &headers,
        body: &request.body,
    };
    if let Err(failure) = auth::check(request.header("authorization"), &expected, &received) {
        return error_reply(call.service, &auth_error(call.service, &failure));
    }
    let mut world = shared.world();
    match call.service {
        Service::AutoScaling => autoscaling(&mut world, call, request.truncate_page),
        Service::Ec2 => ec2(&mut world, call, request.truncate_page),
    }
}

/// What an action writes inside its answer, given the world, the form and whether to lose the
/// page's NextToken.
type Action = fn(&mut World, &Form, bool, &mut Xml) -> Result<(), AwsError>;

fn autoscaling(world: &mut World, call: &AwsCall, lose_token: bool) -> Reply {
    use super::{autoscaling_read as read, autoscaling_write as write};
    let unknown = || {
        let version = if call.version.is_empty() { AUTOSCALING_VERSION } else { &call.version };
        AwsError::new(
            "InvalidAction",
            format!("Could not find operation {} for version {version}", call.action),
        )
    };
    if call.version != AUTOSCALING_VERSION {
        return error_reply(Service::AutoScaling, &unknown());
    }
    // (action, has a Result element)
    let (run, has_result): (Action, bool) = match call.action.as_str() {
        "DescribeAutoScalingGroups" => (read::groups, true),
        "DescribeAutoScalingInstances" => (read::instances, true),
        "DescribeLifecycleHooks" => (read::hooks, true),
        "DescribeWarmPool" => (read::warm_pool, true),
        "DescribeInstanceRefreshes" => (read::refreshes, true),
        "DescribeScalingActivities" => (read::activities, true),
        "TerminateInstanceInAutoScalingGroup" => (write::terminate, true),
        "SetDesiredCapacity" => (write::set_desired, false),
        "SetInstanceProtection" => (write::protection, true),
        "CompleteLifecycleAction" => (write::complete, true),
        "RecordLifecycleActionHeartbeat" => (write::heartbeat, true),
        _ => return error_reply(Service::AutoScaling, &unknown()),
    };
    let mut xml = Xml::new();
    xml.open_ns(&format!("{}Response", call.action), AUTOSCALING_NS);
    if has_result {
        xml.open(&format!("{}Result", call.action));
    }
    if let Err(err) = run(world, &call.form, lose_token, &mut xml) {
        return error_reply(Service::AutoScaling, &err);
    }
    if has_result {
        xml.close();
    }
    xml.open("ResponseMetadata").text("RequestId", request_id()).close();
    Reply::xml(StatusCode::OK, xml.finish()).header("x-amzn-RequestId", request_id())
}

fn ec2(world: &mut World, call: &AwsCall, lose_token: bool) -> Reply {
    let run: Action = match (call.version.as_str(), call.action.as_str()) {
        (EC2_VERSION, "DescribeInstances") => super::ec2::describe_instances,
        (_, action) => {
            let err = AwsError::new(
                "InvalidAction",
                format!("The action {action} is not valid for this web service."),
            );
            return error_reply(Service::Ec2, &err);
        }
    };
    let mut xml = Xml::new();
    xml.open_ns(&format!("{}Response", call.action), EC2_NS).text("requestId", request_id());
    if let Err(err) = run(world, &call.form, lose_token, &mut xml) {
        return error_reply(Service::Ec2, &err);
    }
    Reply::xml(StatusCode::OK, xml.finish()).header("x-amzn-RequestId", request_id())
}

/// A success that says nothing: an empty result (an `ok_noop` fault, or the "other origin" a
/// redirect leads to, where every listing is empty).
pub fn empty_reply(call: &AwsCall) -> Reply {
    let mut xml = Xml::new();
    match call.service {
        Service::AutoScaling => {
            xml.open_ns(&format!("{}Response", call.action), AUTOSCALING_NS);
            xml.open(&format!("{}Result", call.action)).close();
            xml.open("ResponseMetadata").text("RequestId", request_id()).close();
        }
        Service::Ec2 => {
            xml.open_ns(&format!("{}Response", call.action), EC2_NS).text("requestId", request_id());
            xml.open("reservationSet").close();
        }
    }
    Reply::xml(StatusCode::OK, xml.finish())
}

/// The answer an injected fault gives, in the service's own words.
pub fn fault_reply(call: &AwsCall, kind: FaultKind, authorization: Option<&str>) -> Reply {
    let service = call.service;
    let (code, message) = match (service, kind) {
        (Service::AutoScaling, FaultKind::TooManyRequests { .. }) => ("Throttling", "Rate exceeded".to_string()),
        (Service::Ec2, FaultKind::TooManyRequests { .. }) => ("RequestLimitExceeded", "Request limit exceeded.".into()),
        (Service::AutoScaling, FaultKind::ServerError) => ("InternalFailure", "An internal error occurred.".into()),
        (Service::Ec2, FaultKind::ServerError) => ("InternalError", "An internal error has occurred".into()),
        (Service::AutoScaling, FaultKind::Unavailable) => ("ServiceUnavailable", "Service is unavailable".into()),
        (Service::Ec2, FaultKind::Unavailable) => {
            ("Unavailable", "The server is overloaded and can't handle the request.".into())
        }
        (_, FaultKind::Unauthorized) => return error_reply(service, &auth_error(service, &AuthFailure::UnknownKey)),
        (Service::AutoScaling, FaultKind::Forbidden) => (
            "AccessDenied",
            format!(
                "User: arn:aws:iam::123456789012:user/scaleguard-sim is not authorized to perform: autoscaling:{}",
                call.action
            ),
        ),
        (Service::Ec2, FaultKind::Forbidden) => {
            ("UnauthorizedOperation", "You are not authorized to perform this operation.".into())
        }
        (Service::AutoScaling, FaultKind::ExpiredToken) => {
            ("ExpiredToken", "The security token included in the request is expired".into())
        }
        (Service::Ec2, FaultKind::ExpiredToken) => ("RequestExpired", "Request has expired.".into()),
        (Service::AutoScaling, FaultKind::EchoSecret) => (
            "InvalidClientTokenId",
            format!("The security token included in the request is invalid: {}", authorization.unwrap_or_default()),
        ),
        (Service::Ec2, FaultKind::EchoSecret) => (
            "AuthFailure",
            format!("AWS was not able to validate the provided access credentials: {}", authorization.unwrap_or_default()),
        ),
        _ => ("InternalFailure", "unreachable fault".into()),
    };
    error_reply(service, &AwsError::new(code, message))
}

/// The `hook_timeout` fault: before the request is served, every lifecycle action waiting in the
/// group it names (every group when it names none) times out.
pub(crate) fn time_out_hooks(shared: &Shared, call: &AwsCall) {
    let group = call.form.get("AutoScalingGroupName").map(str::to_string);
    let mut world = shared.world();
    let known = group.as_deref().is_some_and(|g| world.aws.group_index(g).is_some());
    let _ = world.aws_expire_actions(if known { group.as_deref() } else { None });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_shapes_are_the_services_own() {
        let err = AwsError::validation("bad <thing>");
        let reply = error_reply(Service::AutoScaling, &err);
        let xml = reply.xml.unwrap();
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert!(xml.contains("<ErrorResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>bad &lt;thing&gt;</Message></Error><RequestId>"));
        let xml = error_reply(Service::Ec2, &AwsError::new("AuthFailure", "no")).xml.unwrap();
        assert!(xml.contains("<Response><Errors><Error><Code>AuthFailure</Code><Message>no</Message></Error></Errors><RequestID>"));
        assert_eq!(error_status("Throttling"), StatusCode::BAD_REQUEST);
        assert_eq!(error_status("RequestLimitExceeded"), StatusCode::SERVICE_UNAVAILABLE);
    }
}
