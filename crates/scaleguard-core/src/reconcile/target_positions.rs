//! Target id → its position among a snapshot's targets, searched in one contiguous copy of the
//! ids. A search compares the id asked with the copy, not with the target's own string: at
//! 50,000 targets those are scattered over memory, and the history asks for every one of them in
//! its own (sorted) order, so each comparison would wait on main memory.
//!
//! Ids are found as listed. An id from another document (a deployment's `DeployedToMachineIds`)
//! may be spelled in another case, which Octopus takes for the same id: it is looked up in any
//! case ([`TargetPositions::in_any_case`]), from a second table built only once an id is not found
//! as listed.

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// `S` is the hasher: randomly seeded, as every per-refresh index is (tests use one that makes
/// every id collide, so that the comparisons alone must tell the ids apart).
#[derive(Debug)]
pub(crate) struct TargetPositions<S = RandomState> {
    /// Every id, one after another in position order.
    ids: String,
    /// Each id's span in `ids`, with its position.
    table: HashTable<Entry>,
    hasher: S,
    /// The same entries by `case_blind_hash`, built the first time `in_any_case` misses `table`.
    case_blind: OnceLock<HashTable<Entry>>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    start: u32,
    end: u32,
    position: u32,
}

impl TargetPositions {
    /// The positions of `ids` (`count` of them, for the table's size), in order. None when an id
    /// is listed twice, or when the ids do not fit the index's 32-bit offsets (4 GiB of ids, which
    /// no estate comes near): the caller then goes by id.
    pub(crate) fn of<'t>(ids: impl Iterator<Item = &'t str>, count: usize) -> Option<Self> {
        Self::hashed_by(RandomState::default(), ids, count)
    }
}

impl<S: BuildHasher> TargetPositions<S> {
    fn hashed_by<'t>(hasher: S, ids: impl Iterator<Item = &'t str>, count: usize) -> Option<Self> {
        let mut index = Self {
            ids: String::new(),
            table: HashTable::with_capacity(count),
            hasher,
            case_blind: OnceLock::new(),
        };
        for (position, id) in ids.enumerate() {
            let start = u32::try_from(index.ids.len()).ok()?;
            index.ids.push_str(id);
            let entry = Entry {
                start,
                end: u32::try_from(index.ids.len()).ok()?,
                position: u32::try_from(position).ok()?,
            };
            let hash = index.hasher.hash_one(id);
            let text = &index.ids;
            let span = |entry: &Entry| &text[entry.start as usize..entry.end as usize];
            if index.table.find(hash, |listed| span(listed) == id).is_some() {
                return None;
            }
            index.table.insert_unique(hash, entry, |listed| index.hasher.hash_one(span(listed)));
        }
        Some(index)
    }

    pub(crate) fn get(&self, id: &str) -> Option<usize> {
        self.table
            .find(self.hasher.hash_one(id), |entry| self.span(entry) == id)
            .map(|entry| entry.position as usize)
    }

    /// The position of `id` as listed; failing that, of every listed id equal to it but for ASCII
    /// case (more than one only if the listing spells one id in two cases, which then all count).
    pub(crate) fn in_any_case<'s>(&'s self, id: &'s str) -> impl Iterator<Item = usize> + 's {
        let listed = self.get(id);
        let in_other_cases = listed.is_none().then(|| {
            let case_blind = self.case_blind.get_or_init(|| {
                let mut table = HashTable::with_capacity(self.table.len());
                for entry in &self.table {
                    table.insert_unique(case_blind_hash(&self.hasher, self.span(entry)), *entry, |listed| {
                        case_blind_hash(&self.hasher, self.span(listed))
                    });
                }
                table
            });
            case_blind
                .iter_hash(case_blind_hash(&self.hasher, id))
                .filter(move |entry| self.span(entry).eq_ignore_ascii_case(id))
                .map(|entry| entry.position as usize)
        });
        listed.into_iter().chain(in_other_cases.into_iter().flatten())
    }

    fn span(&self, entry: &Entry) -> &str {
        &self.ids[entry.start as usize..entry.end as usize]
    }
}

/// A hash equal for ids equal but for ASCII case, eight bytes at a time: every byte gets bit 5
/// set, which lower-cases each ASCII letter (and merges a few other pairs of bytes, which only the
/// comparison then tells apart).
fn case_blind_hash<S: BuildHasher>(hasher: &S, id: &str) -> u64 {
    let mut state = hasher.build_hasher();
    for chunk in id.as_bytes().chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        state.write_u64(u64::from_le_bytes(word) | 0x2020_2020_2020_2020);
    }
    state.write_usize(id.len());
    state.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_id_listed_twice_has_no_positions() {
        assert!(TargetPositions::of(["Machines-1", "Machines-2", "Machines-1"].into_iter(), 3).is_none());
        assert!(
            TargetPositions::of(std::iter::empty(), 0).is_some_and(|index| index.get("Machines-1").is_none())
        );
    }

    #[test]
    fn an_id_in_another_case_is_found_in_any_case_only() {
        let ids = ["Machines-1", "machines-2", "MACHINES-2"];
        let index = TargetPositions::of(ids.into_iter(), ids.len()).unwrap();
        assert_eq!(index.get("machines-1"), None);
        assert_eq!(index.in_any_case("machines-1").collect::<Vec<_>>(), [0]);
        assert_eq!(index.in_any_case("machines-2").collect::<Vec<_>>(), [1], "as listed first");
        let mut both: Vec<usize> = index.in_any_case("Machines-2").collect();
        both.sort_unstable();
        assert_eq!(both, [1, 2], "spelled in two cases: both count");
        assert_eq!(index.in_any_case("Machines-3").count(), 0);
    }

    /// Every id hashes alike: only the comparisons tell them apart.
    struct Colliding;

    impl BuildHasher for Colliding {
        type Hasher = ConstantHasher;
        fn build_hasher(&self) -> ConstantHasher {
            ConstantHasher
        }
    }

    struct ConstantHasher;

    impl std::hash::Hasher for ConstantHasher {
        fn finish(&self) -> u64 {
            7
        }
        fn write(&mut self, _: &[u8]) {}
    }

    /// The same answers as a map from each id to its position; in any case, the id's own position
    /// if listed, else those of the ids equal to it but for ASCII case.
    fn agrees_with_a_map<S: BuildHasher>(
        index: Option<TargetPositions<S>>,
        ids: &[String],
        asked: &str,
    ) -> Result<(), TestCaseError> {
        let mut expected = std::collections::HashMap::new();
        let unique =
            ids.iter().enumerate().all(|(position, id)| expected.insert(id.as_str(), position).is_none());
        prop_assert_eq!(index.is_some(), unique);
        if let Some(index) = index {
            for id in ids.iter().map(String::as_str).chain([asked]) {
                prop_assert_eq!(index.get(id), expected.get(id).copied(), "{:?}", id);
                let in_any_case: Vec<usize> = match expected.get(id) {
                    Some(position) => vec![*position],
                    None => (0..ids.len()).filter(|p| ids[*p].eq_ignore_ascii_case(id)).collect(),
                };
                let mut found: Vec<usize> = index.in_any_case(id).collect();
                found.sort_unstable();
                prop_assert_eq!(found, in_any_case, "{:?} in any case", id);
            }
        }
        Ok(())
    }

    proptest! {
        /// For ids that are prefixes of one another, empty, in either case, or not ASCII (whose case
        /// is not folded); hashed as in a refresh, and all alike.
        #[test]
        fn positions_are_those_of_a_map(
            ids in proptest::collection::vec("[abA\u{e9}\u{c9}]{0,3}", 0..40),
            asked in "[abA\u{e9}\u{c9}]{0,3}",
        ) {
            agrees_with_a_map(TargetPositions::of(ids.iter().map(String::as_str), ids.len()), &ids, &asked)?;
            let colliding = TargetPositions::hashed_by(Colliding, ids.iter().map(String::as_str), ids.len());
            agrees_with_a_map(colliding, &ids, &asked)?;
        }

        /// With no id listed twice, so that every answer is checked.
        #[test]
        fn positions_of_distinct_ids_are_those_of_a_map(
            ids in proptest::collection::hash_set("[abA\u{e9}\u{c9}]{0,3}", 0..40),
            asked in "[abA\u{e9}\u{c9}]{0,3}",
        ) {
            let ids: Vec<String> = ids.into_iter().collect();
            agrees_with_a_map(TargetPositions::of(ids.iter().map(String::as_str), ids.len()), &ids, &asked)?;
            let colliding = TargetPositions::hashed_by(Colliding, ids.iter().map(String::as_str), ids.len());
            agrees_with_a_map(colliding, &ids, &asked)?;
        }
    }
}
