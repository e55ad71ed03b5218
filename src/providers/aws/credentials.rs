//! The AWS SDK configuration: region, endpoint, our HTTP client and timeouts, no SDK retries, and
//! credentials from the default chain with every secret they carry remembered for the scrubber.
//!
//! Credentials are never configured in scaleguard: the chain reads the environment
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), the shared config and
//! credentials files (the profile named by `aws.profile`), SSO, and instance metadata. The secret
//! access key and session token are remembered (`secret::remember`) the moment the chain hands
//! them out, so a server or a crate quoting one back never prints it.
//!
//! An `endpoint_url` on a loopback address (the simulator, tests) reads credentials from the
//! environment only: nothing then asks the instance metadata service (169.254.169.254), SSO or
//! STS, or any other address off this machine.

use crate::config::AwsConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use std::time::Duration;

/// Hands out the inner provider's credentials after remembering their secrets.
#[derive(Debug)]
pub(crate) struct Remembering(pub SharedCredentialsProvider);

impl ProvideCredentials for Remembering {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let credentials = self.0.provide_credentials().await?;
            crate::secret::remember(credentials.secret_access_key());
            if let Some(token) = credentials.session_token() {
                crate::secret::remember(token);
            }
            Ok(credentials)
        })
    }
}

/// Is `url` on a loopback address (127.0.0.0/8, ::1, localhost)?
pub(crate) fn is_loopback(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else { return false };
    match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Load the SDK configuration for `config`; `credentials` replaces the chain (tests).
pub(crate) async fn load(config: &AwsConfig, credentials: Option<SharedCredentialsProvider>) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let timeout = Duration::from_secs(config.timeout_secs.max(1));
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(config.region.clone()))
        .http_client(http)
        // One retry loop, ours (`call::with_retry`): the SDK's would retry writes on its own rules.
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeout.min(Duration::from_secs(10)))
                .operation_attempt_timeout(timeout)
                .build(),
        );
    if let Some(profile) = &config.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &config.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let loopback = config.endpoint_url.as_deref().is_some_and(is_loopback);
    let credentials = match credentials {
        Some(given) => Some(given),
        None if loopback => Some(local_chain(config).await),
        None => None,
    };
    if let Some(given) = credentials {
        loader = loader.credentials_provider(given);
    }
    let sdk = loader.load().await;
    match sdk.credentials_provider() {
        Some(inner) => {
            sdk.to_builder().credentials_provider(SharedCredentialsProvider::new(Remembering(inner))).build()
        }
        None => sdk,
    }
}

/// The environment's keys only: no network at all (no instance metadata, no SSO, no STS).
async fn local_chain(_config: &AwsConfig) -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(aws_config::environment::EnvironmentVariableCredentialsProvider::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::Credentials;

    #[test]
    fn loopback_endpoints_are_told_from_others() {
        assert!(is_loopback("http://127.0.0.1:9000"));
        assert!(is_loopback("http://localhost:9000/"));
        assert!(is_loopback("http://[::1]:80"));
        assert!(!is_loopback("https://autoscaling.eu-west-1.amazonaws.com"));
        assert!(!is_loopback("http://169.254.169.254"));
    }

    #[tokio::test]
    async fn the_secret_and_session_token_are_remembered_when_handed_out() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY-remembered";
        let token = "FQoGZXIvYXdzEXAMPLESESSIONTOKEN-remembered";
        let inner = SharedCredentialsProvider::new(Credentials::new(
            "AKIDEXAMPLE",
            secret,
            Some(token.into()),
            None,
            "test",
        ));
        let wrapped = Remembering(inner);
        assert!(crate::secret::scrub(&format!("x {secret} y")).contains(secret), "not remembered before use");
        wrapped.provide_credentials().await.expect("credentials");
        let scrubbed = crate::secret::scrub(&format!("x {secret} y {token}")).into_owned();
        assert!(!scrubbed.contains(secret) && !scrubbed.contains(token), "{scrubbed}");
    }
}
