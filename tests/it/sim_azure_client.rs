//! The simulator as the provider will see it: through azure_mgmt_compute 0.21's own client
//! (endpoint path dropped, absolute nextLink followed as given).

use crate::support::sim_harness::{self, SUB};
use crate::support::static_token::StaticToken;
use azure_mgmt_compute::package_2024_07_01::Client;
use futures::StreamExt;
use scaleguard::sim::SimOptions;
use std::sync::Arc;

#[tokio::test]
async fn azure_mgmt_compute_reads_the_set_and_pages_the_vms() {
    let h = sim_harness::start_with(SimOptions::new("scale-out").manual_clock().arm_page_size(3)).await;
    h.advance(11);
    h.sim.reset_stats();
    let client = Client::builder(Arc::new(StaticToken(h.sim.arm_token())))
        .endpoint(azure_core::Url::parse(&h.sim.arm_url()).unwrap())
        .scopes(&["https://management.azure.com/.default"])
        .build()
        .unwrap();
    let set = client.virtual_machine_scale_sets_client().get("rg-web", "vmss-web", SUB).await.unwrap();
    assert_eq!(set.sku.unwrap().capacity, Some(6));
    let mut stream = client
        .virtual_machine_scale_set_v_ms_client()
        .list("rg-web", "vmss-web", SUB)
        .expand("instanceView")
        .into_stream();
    let mut instance_ids = Vec::new();
    while let Some(page) = stream.next().await {
        let page = page.unwrap();
        instance_ids.extend(page.value.into_iter().filter_map(|vm| vm.instance_id));
    }
    assert_eq!(instance_ids.len(), 8);
    let stats = h.sim.stats();
    assert_eq!(stats.get("arm.get_scale_set"), 1);
    assert_eq!(stats.get("arm.list_vms"), 3, "8 VMs over pages of 3");
}
