//! Target id → its position among a snapshot's targets, searched in one contiguous copy of the
//! ids, compared as Octopus compares them (`model::same_octopus_id`: ASCII case ignored). A search compares the id asked with the copy, not with the target's own string: at
//! 50,000 targets those are scattered over memory, and the history asks for every one of them in
//! its own (sorted) order, so each comparison would wait on main memory.

use crate::folded::Folded;
use foldhash::fast::RandomState;
use hashbrown::HashTable;
use std::hash::BuildHasher;

/// `S` is the hasher: randomly seeded, as every per-refresh index is (tests use one that makes
/// every id collide, so that the comparisons alone must tell the ids apart).
#[derive(Debug)]
pub(crate) struct TargetPositions<S = RandomState> {
    /// Every id, one after another in position order.
    ids: String,
    /// Each id's span in `ids`, with its position.
    table: HashTable<Entry>,
    hasher: S,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    start: u32,
    end: u32,
    position: u32,
}

impl TargetPositions {
    /// The positions of `ids` (`count` of them, for the table's size), in order. None when an id
    /// is listed twice (in any case), or when the ids do not fit the index's 32-bit offsets (4 GiB of ids, which
    /// no estate comes near): the caller then goes by id.
    pub(crate) fn of<'t>(ids: impl Iterator<Item = &'t str>, count: usize) -> Option<Self> {
        Self::hashed_by(RandomState::default(), ids, count)
    }
}

impl<S: BuildHasher> TargetPositions<S> {
    fn hashed_by<'t>(hasher: S, ids: impl Iterator<Item = &'t str>, count: usize) -> Option<Self> {
        let mut index = Self { ids: String::new(), table: HashTable::with_capacity(count), hasher };
        for (position, id) in ids.enumerate() {
            let start = u32::try_from(index.ids.len()).ok()?;
            index.ids.push_str(id);
            let entry = Entry {
                start,
                end: u32::try_from(index.ids.len()).ok()?,
                position: u32::try_from(position).ok()?,
            };
            let hash = index.hasher.hash_one(Folded::borrowed(id));
            let text = &index.ids;
            let span = |entry: &Entry| &text[entry.start as usize..entry.end as usize];
            if index.table.find(hash, |listed| span(listed).eq_ignore_ascii_case(id)).is_some() {
                return None;
            }
            index
                .table
                .insert_unique(hash, entry, |listed| index.hasher.hash_one(Folded::borrowed(span(listed))));
        }
        Some(index)
    }

    pub(crate) fn get(&self, id: &str) -> Option<usize> {
        let span = |entry: &Entry| &self.ids[entry.start as usize..entry.end as usize];
        self.table
            .find(self.hasher.hash_one(Folded::borrowed(id)), |entry| span(entry).eq_ignore_ascii_case(id))
            .map(|entry| entry.position as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_id_listed_twice_has_no_positions() {
        assert!(TargetPositions::of(["Machines-1", "Machines-2", "Machines-1"].into_iter(), 3).is_none());
        assert!(TargetPositions::of(["Machines-1", "machines-1"].into_iter(), 2).is_none());
        assert!(
            TargetPositions::of(std::iter::empty(), 0).is_some_and(|index| index.get("Machines-1").is_none())
        );
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

    /// The same answers as a map from each id's ASCII lower case to its position.
    fn agrees_with_a_map<S: BuildHasher>(
        index: Option<TargetPositions<S>>,
        ids: &[String],
        asked: &str,
    ) -> Result<(), TestCaseError> {
        let mut expected = std::collections::HashMap::new();
        let unique = ids
            .iter()
            .enumerate()
            .all(|(position, id)| expected.insert(id.to_ascii_lowercase(), position).is_none());
        prop_assert_eq!(index.is_some(), unique);
        if let Some(index) = index {
            for id in ids.iter().map(String::as_str).chain([asked]) {
                prop_assert_eq!(index.get(id), expected.get(&id.to_ascii_lowercase()).copied(), "{:?}", id);
            }
        }
        Ok(())
    }

    proptest! {
        /// For ids that are prefixes of one another, empty, in either case, or not ASCII (whose
        /// case is not folded); hashed as in a refresh, and all alike.
        #[test]
        fn positions_are_those_of_a_map(
            ids in proptest::collection::vec("[abA\u{e9}\u{c9}]{0,3}", 0..40),
            asked in "[abA\u{e9}\u{c9}]{0,3}",
        ) {
            agrees_with_a_map(TargetPositions::of(ids.iter().map(String::as_str), ids.len()), &ids, &asked)?;
            let colliding = TargetPositions::hashed_by(Colliding, ids.iter().map(String::as_str), ids.len());
            agrees_with_a_map(colliding, &ids, &asked)?;
        }
    }
}
