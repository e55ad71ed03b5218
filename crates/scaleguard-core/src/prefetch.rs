//! Asking the CPU for memory a loop will read a few steps later. At 50,000 VMs the names and ids
//! a refresh reads are scattered over tens of megabytes, and a loop that reads each as it comes
//! waits on main memory once per string; asked for ahead, they arrive while earlier ones are
//! worked on. A hint only: it never changes what a loop computes.

use crate::model::{Instance, Target};

/// How many elements ahead a loop asks for: enough to cover the wait on main memory at the
/// work done per element here, few enough that what arrives is still in the cache when read.
pub const AHEAD: usize = 8;

/// `items`, asking for what `ask` names of each item `AHEAD` places before it is reached.
pub fn ahead<I: Iterator + Clone>(items: I, ask: impl Fn(&I::Item)) -> impl Iterator<Item = I::Item> {
    let mut later = items.clone().skip(AHEAD);
    items.inspect(move |_| {
        if let Some(item) = later.next() {
            ask(&item);
        }
    })
}

/// Asks for the first cache line of `text`.
#[inline(always)]
pub fn text(text: &str) {
    address(text.as_ptr());
}

/// Asks for the cache line holding `value` (a field, to have what it points to asked for later).
#[inline(always)]
pub fn value<T>(value: &T) {
    address((value as *const T).cast());
}

/// Where a text is, kept to ask for it later, when it can no longer be borrowed (a map's records
/// while the map is changed). Only asked for: never read through.
#[derive(Debug, Clone, Copy)]
pub struct Later(*const u8);

impl Later {
    pub fn text(text: &str) -> Self {
        Self(text.as_ptr())
    }

    pub fn ask(self) {
        address(self.0);
    }
}

#[inline(always)]
fn address(at: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing into the program and never faults, whatever the address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(at.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}

/// The text of a listed VM that a refresh reads: its instance id, vmId and computer name.
pub fn instance(vm: &Instance) {
    text(&vm.instance_id);
    vm.vm_id.as_deref().map(text);
    vm.computer_name.as_deref().map(text);
}

/// The text a listed VM's history key is made of (`reconcile::vm_key`): its vmId, else its
/// instance id.
pub fn vm_key_text(vm: &Instance) {
    match &vm.vm_id {
        Some(vm_id) => text(vm_id),
        None => text(&vm.instance_id),
    }
}

/// The text of a target that a refresh reads: its id and name.
pub fn target(target: &Target) {
    text(&target.id);
    text(&target.name);
}

/// What a loop asks for of an element it will reach: the element itself first, then (once it is
/// in the cache) the text it points to.
#[derive(Debug, Clone, Copy)]
pub enum Stage {
    Records,
    Text,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ahead_yields_every_item_in_order_and_asks_for_each_after_the_first_few() {
        for len in [0, 1, AHEAD - 1, AHEAD, AHEAD + 1, 3 * AHEAD] {
            let items: Vec<usize> = (0..len).collect();
            let asked = std::cell::RefCell::new(Vec::new());
            let seen: Vec<usize> =
                ahead(items.iter(), |item| asked.borrow_mut().push(**item)).copied().collect();
            assert_eq!(seen, items, "{len} items");
            // Item i + AHEAD is asked for as item i is reached.
            assert_eq!(
                asked.into_inner(),
                items.iter().skip(AHEAD).copied().collect::<Vec<_>>(),
                "{len} items"
            );
        }
    }
}
