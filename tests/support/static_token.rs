//! A credential that hands out a fixed bearer token (what `token_env` yields), for tests that build
//! an `AzureProvider` or the azure_mgmt_compute client directly.

/// Always the same token, valid for an hour from each request.
#[derive(Debug)]
pub struct StaticToken(pub String);

#[async_trait::async_trait]
impl azure_core::auth::TokenCredential for StaticToken {
    async fn get_token(&self, _: &[&str]) -> azure_core::Result<azure_core::auth::AccessToken> {
        Ok(azure_core::auth::AccessToken::new(
            self.0.clone(),
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }
    async fn clear_cache(&self) -> azure_core::Result<()> {
        Ok(())
    }
}
