//! The Azure credential the config asks for.

use super::ProviderError;
use crate::config::{AzureConfig, CredentialKind};
use azure_core::auth::{AccessToken, TokenCredential};
use azure_identity::{
    AzureCliCredential, ClientSecretCredential, DefaultAzureCredential, TokenCredentialOptions,
};
use std::sync::Arc;
use time::OffsetDateTime;

pub fn build(config: &AzureConfig) -> Result<Arc<dyn TokenCredential>, ProviderError> {
    // `client_secret` and `default` read it from the environment; a server may quote it back.
    if let Ok(client_secret) = std::env::var("AZURE_CLIENT_SECRET") {
        crate::secret::remember(&client_secret);
    }
    let failed = |kind: &str, err: azure_core::Error| ProviderError::Credential {
        what: format!("azure credential `{kind}`"),
        detail: err.to_string(),
    };
    Ok(match config.credential {
        CredentialKind::Default => Arc::new(
            DefaultAzureCredential::create(TokenCredentialOptions::default())
                .map_err(|e| failed("default", e))?,
        ),
        CredentialKind::Cli => Arc::new(AzureCliCredential::create().map_err(|e| failed("cli", e))?),
        CredentialKind::ClientSecret => Arc::new(
            ClientSecretCredential::create(TokenCredentialOptions::default())
                .map_err(|e| failed("client_secret", e))?,
        ),
        CredentialKind::TokenEnv => {
            let var = config.token_env.clone().ok_or_else(|| ProviderError::Credential {
                what: "azure credential `token_env`".into(),
                detail: "azure.token_env must name the environment variable holding the token".into(),
            })?;
            Arc::new(TokenEnvCredential::new(var))
        }
    })
}

/// Any credential, with each token it hands out remembered for [`crate::secret::scrub`]: tokens
/// come from Azure (CLI, client secret, managed identity), never through `Secret::new`.
#[derive(Debug)]
pub struct Remembering(pub Arc<dyn TokenCredential>);

#[async_trait::async_trait]
impl TokenCredential for Remembering {
    async fn get_token(&self, scopes: &[&str]) -> azure_core::Result<AccessToken> {
        let token = self.0.get_token(scopes).await?;
        crate::secret::remember(token.token.secret());
        Ok(token)
    }

    async fn clear_cache(&self) -> azure_core::Result<()> {
        self.0.clear_cache().await
    }
}

/// A bearer token read from an environment variable at each use (so a refreshed token is picked
/// up). Holds only the variable's name: Debug cannot leak the token.
#[derive(Debug, Clone)]
pub struct TokenEnvCredential {
    var: String,
}

impl TokenEnvCredential {
    pub fn new(var: impl Into<String>) -> Self {
        Self { var: var.into() }
    }
}

#[async_trait::async_trait]
impl TokenCredential for TokenEnvCredential {
    async fn get_token(&self, _scopes: &[&str]) -> azure_core::Result<AccessToken> {
        let token = crate::config::read_secret_env(&self.var, "azure.token_env").map_err(|err| {
            azure_core::Error::message(azure_core::error::ErrorKind::Credential, err.to_string())
        })?;
        Ok(AccessToken::new(token.expose().to_string(), OffsetDateTime::now_utc() + time::Duration::hours(1)))
    }

    async fn clear_cache(&self) -> azure_core::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn token_env_reads_the_variable_at_use_and_never_shows_it() {
        let var = "SCALEGUARD_TEST_TOKEN_ENV_CREDENTIAL";
        std::env::set_var(var, "eyJ-secret-token");
        let credential = TokenEnvCredential::new(var);
        let token = credential.get_token(&["https://management.azure.com/.default"]).await.unwrap();
        assert_eq!(token.token.secret(), "eyJ-secret-token");
        assert!(!format!("{credential:?}").contains("eyJ"));
        std::env::remove_var(var);
        let err = credential.get_token(&[]).await.unwrap_err().to_string();
        assert!(err.contains(var), "{err}");
    }
}
