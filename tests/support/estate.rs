//! A simulated estate of many VMs the way large ones are built: scale sets of 1,000 VMs (the most
//! one holds, "Working with large virtual machine scale sets"), each VM with its target.

use scaleguard::sim::{self, RunningSim, SimOptions};

/// The most VMs a scale set holds.
pub const PER_SET: u32 = 1_000;

/// A steady simulator of `sets` full scale sets, listed `page` items a page, and its profile
/// (TOML) naming every set.
pub async fn start(sets: u32, page: usize) -> (RunningSim, String) {
    let (running, more_sets) = start_apart(sets, page).await;
    let toml = running.profile_toml() + &more_sets;
    (running, toml)
}

/// [`start`], with the profile TOML of the sets beyond the simulator's first one given apart (to
/// append to a profile built another way).
pub async fn start_apart(sets: u32, page: usize) -> (RunningSim, String) {
    let running =
        sim::start(SimOptions::new("steady").manual_clock().arm_page_size(page).octopus_page_size(page))
            .await
            .expect("simulator");
    let mut more_sets = String::new();
    running.with_world_mut(|world| {
        let template = world.scale_sets[0].clone();
        for i in 1..sets {
            let mut set = template.clone();
            set.name = format!("{}-{i}", template.name);
            set.computer_name_prefix = format!("{}{i}x", template.computer_name_prefix);
            set.unique_id = format!("{}-{i}", template.unique_id);
            set.vms.clear();
            set.next_instance_id = 0;
            more_sets.push_str(&format!(
                "\n[[profiles.sim.scale_sets]]\nprovider = \"azure\"\nsubscription_id = \"{}\"\nresource_group = \"{}\"\nname = \"{}\"\nmatch = \"computer_name\"\n",
                set.subscription_id, set.resource_group, set.name
            ));
            world.scale_sets.push(set);
        }
        for index in 0..sets as usize {
            for _ in world.scale_sets[index].vms.len() as u32..PER_SET {
                world.add_existing_vm(index, false);
            }
            world.scale_sets[index].capacity = PER_SET;
        }
    });
    (running, more_sets)
}
