//! Listing a scale set's VMs, all pages, through the safe page walker (paging.rs): Uniform sets
//! through the set's own VM list, Flexible sets through the resource group's VM list filtered on
//! the set (flexible.rs). Only a 200 is a page; a failed page voids the whole listing.

use super::flexible::{self, Member};
use super::page_stream::{self, PageError};
use super::paging::{self, PageWalk};
use super::{convert, unreadable_body, AzureProvider, API_VERSION};
use crate::model::{Instance, ScaleSetKey, ScaleSetState, SharedKey};
use crate::providers::{Members, ProviderError};
use azure_core::Url;
use azure_mgmt_compute::package_2024_07_01::models;
use serde::de::DeserializeOwned;

impl AzureProvider {
    /// Every VM of a Uniform set, page by page, for a set of `capacity` (which bounds the pages).
    pub(super) async fn list_uniform(
        &self,
        key: &ScaleSetKey,
        capacity: u32,
    ) -> Result<Vec<Instance>, ProviderError> {
        let what = format!("GET instances of {key}");
        // The SDK's request: its path, api-version, then $expand.
        let mut url = self.set_url(key, &["virtualMachines"]);
        url.query_pairs_mut().append_pair("api-version", API_VERSION).append_pair("$expand", "instanceView");
        let mut instances = Vec::new();
        let shared = SharedKey::new(key.clone());
        self.walk_pages(url, capacity, &what, |vm: models::VirtualMachineScaleSetVm| {
            // A VM of another set (or one that cannot be told apart) is never counted as ours.
            convert::membership(key, &vm)?;
            let vm = convert::instance(&shared, vm);
            let id = vm.instance_id.clone();
            instances.push(vm);
            Ok(id)
        })
        .await?;
        Ok(instances)
    }

    /// Every VM of a Flexible set: the resource group's VM list filtered on the set, with instance
    /// views, all pages. VMs that report another set are returned apart, never as the set's.
    pub(super) async fn list_flexible(&self, state: &ScaleSetState) -> Result<Members, ProviderError> {
        let key = &state.key;
        let set_id = state.layout.resource_id.clone().unwrap_or_else(|| flexible::scale_set_id(key));
        let what = format!(
            "GET virtual machines of Flexible scale set {key} (the VM list of resource group {} filtered on the set)",
            key.resource_group
        );
        let url = flexible::list_url(&self.endpoint, key, &set_id, API_VERSION);
        let mut members = Members::default();
        let shared = SharedKey::new(key.clone());
        self.walk_pages(url, state.capacity, &what, |vm: models::VirtualMachine| {
            Ok(match flexible::member(&shared, &set_id, vm) {
                Member::Instance(instance) => {
                    let id = instance.instance_id.clone();
                    members.instances.push(*instance);
                    id
                }
                Member::Foreign(foreign) => {
                    let id = foreign.name.clone();
                    members.foreign.push(foreign);
                    id
                }
            })
        })
        .await?;
        Ok(members)
    }

    /// Request `first`, then each nextLink the walker accepts (same origin, no loop, within the
    /// pages `capacity` implies), handing each entry of each page to `take` as it is parsed
    /// (page_stream.rs). `take` answers the entry's id (for loop detection), or Err: the entry
    /// cannot be believed, named; the listing fails.
    async fn walk_pages<T: DeserializeOwned>(
        &self,
        first: Url,
        capacity: u32,
        what: &str,
        mut take: impl FnMut(T) -> Result<String, String>,
    ) -> Result<(), ProviderError> {
        let mut walk = PageWalk::new(&self.endpoint, &first, capacity);
        let mut url = first;
        let mut page = 1u32;
        loop {
            let fail = |cause: ProviderError| match page {
                1 => cause,
                _ => ProviderError::PartialListing { page, cause: Box::new(cause) },
            };
            let what_page = if page == 1 { what.to_string() } else { format!("{what} (page {page})") };
            let body = self.list_page(url, &what_page).await.map_err(fail)?;
            let mut ids = Vec::new();
            let next_link = page_stream::each_entry(&body, |entry: T| {
                ids.push(take(entry)?);
                Ok(())
            })
            .map_err(|err| {
                let detail = match err {
                    PageError::Json(err) => crate::untrusted::not_json(&body, &err),
                    PageError::Refused(detail) => detail,
                };
                fail(ProviderError::BadResponse { what: what_page.clone(), detail })
            })?;
            drop(body);
            let stopped = |stop: paging::PagingStop| ProviderError::Paging {
                what: what.to_string(),
                detail: stop.to_string(),
            };
            walk.page(ids).map_err(stopped)?;
            match walk.next(next_link.as_deref()).map_err(stopped)? {
                Some(next) => url = next,
                None => return Ok(()),
            }
            page += 1;
        }
    }

    /// One list page's body; like the SDK, only a 200 is a page.
    async fn list_page(&self, mut url: Url, what: &str) -> Result<Vec<u8>, ProviderError> {
        if !url.query_pairs().any(|(k, _)| k == "api-version") {
            url.query_pairs_mut().append_pair("api-version", API_VERSION);
        }
        let (status, headers, body) = self.get_on_origin(url, what).await?;
        if status != 200 {
            return Err(ProviderError::BadResponse {
                what: what.to_string(),
                detail: format!("answered {status} where a page (200) was expected"),
            });
        }
        if let Some(detail) = unreadable_body(&headers) {
            return Err(ProviderError::BadResponse { what: what.to_string(), detail });
        }
        Ok(body)
    }
}
