//! Listing a scale set's VMs, all pages, through the safe page walker (paging.rs): Uniform sets
//! through the set's own VM list, Flexible sets through the resource group's VM list filtered on
//! the set (flexible.rs). Only a 200 is a page; a failed page voids the whole listing.

use super::flexible::{self, Member};
use super::paging::{self, PageWalk};
use super::{convert, unreadable_body, AzureProvider, API_VERSION};
use crate::model::{Instance, ScaleSetKey, ScaleSetState, SharedKey};
use crate::providers::{Members, ProviderError};
use azure_core::Url;
use azure_mgmt_compute::package_2024_07_01::models;
use serde::de::DeserializeOwned;

/// What one page gave: the ids it listed (for loop detection) and its nextLink.
struct Page {
    ids: Vec<String>,
    next_link: Option<String>,
}

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
        self.walk_pages(url, capacity, &what, |list: models::VirtualMachineScaleSetVmListResult| {
            let mut ids = Vec::with_capacity(list.value.len());
            for vm in list.value {
                // A VM of another set (or one that cannot be told apart) is never counted as ours.
                convert::membership(key, &vm)?;
                let vm = convert::instance(&shared, vm);
                ids.push(vm.instance_id.clone());
                instances.push(vm);
            }
            Ok(Page { ids, next_link: list.next_link })
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
        self.walk_pages(url, state.capacity, &what, |list: models::VirtualMachineListResult| {
            let mut ids = Vec::with_capacity(list.value.len());
            for vm in list.value {
                match flexible::member(&shared, &set_id, vm) {
                    Member::Instance(instance) => {
                        ids.push(instance.instance_id.clone());
                        members.instances.push(*instance);
                    }
                    Member::Foreign(foreign) => {
                        ids.push(foreign.name.clone());
                        members.foreign.push(foreign);
                    }
                }
            }
            Ok(Page { ids, next_link: list.next_link })
        })
        .await?;
        Ok(members)
    }

    /// Request `first`, then each nextLink the walker accepts (same origin, no loop, within the
    /// pages `capacity` implies), handing each parsed page to `take` (Err: the page holds an entry
    /// that cannot be believed, named; the listing fails).
    async fn walk_pages<P: DeserializeOwned>(
        &self,
        first: Url,
        capacity: u32,
        what: &str,
        mut take: impl FnMut(P) -> Result<Page, String>,
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
            let list: P = self.list_page(url, &what_page).await.map_err(fail)?;
            let stopped = |stop: paging::PagingStop| ProviderError::Paging {
                what: what.to_string(),
                detail: stop.to_string(),
            };
            let Page { ids, next_link } = take(list)
                .map_err(|detail| fail(ProviderError::BadResponse { what: what_page.clone(), detail }))?;
            walk.page(ids).map_err(stopped)?;
            match walk.next(next_link.as_deref()).map_err(stopped)? {
                Some(next) => url = next,
                None => return Ok(()),
            }
            page += 1;
        }
    }

    /// One list page; like the SDK, only a 200 is a page.
    async fn list_page<P: DeserializeOwned>(&self, mut url: Url, what: &str) -> Result<P, ProviderError> {
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
        serde_json::from_slice(&body).map_err(|err| ProviderError::BadResponse {
            what: what.to_string(),
            detail: crate::untrusted::not_json(&body, &err),
        })
    }
}
