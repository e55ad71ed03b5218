//! Keys for the indexes one refresh builds (names, instance ids, vmIds), compared in the form the
//! rules compare them in without building that form, and the fast hash maps that hold them. At
//! 10,000 VMs a lower-cased copy of every name and id is tens of thousands of allocations per
//! refresh; a key here borrows the text it was read from whenever it can.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};

/// Hash maps and sets for per-refresh indexes: foldhash, seeded at random per map (a hostile
/// server cannot pick names that collide), several times faster than std's SipHash on short keys.
pub use foldhash::{HashMap as FastMap, HashMapExt, HashSet as FastSet, HashSetExt};

/// `str::trim`, without its scan for Unicode white space when the text starts and ends with an
/// ASCII character that is not white space (nearly every name and id a listing carries).
pub fn trim(text: &str) -> &str {
    let bytes = text.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last))
            if !ascii_white_space_or_not_ascii(*first) && !ascii_white_space_or_not_ascii(*last) =>
        {
            text
        }
        _ => text.trim(),
    }
}

/// A byte that `trim` must look at: the ASCII characters of Unicode's White_Space, or any byte of a
/// character that is not ASCII.
fn ascii_white_space_or_not_ascii(byte: u8) -> bool {
    !byte.is_ascii() || matches!(byte, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

/// A string that compares and hashes as its ASCII lower-case form. Each constructor (here and
/// beside the canonical forms: `matching::name_key`, `completeness::{instance_id_key,
/// vm_id_key}`) keeps a form whose ASCII lower-casing is the canonical one, so two keys are equal
/// exactly when their canonical strings are.
#[derive(Debug, Clone)]
pub struct Folded<'a>(Cow<'a, str>);

impl<'a> Folded<'a> {
    pub fn borrowed(text: &'a str) -> Self {
        Self(Cow::Borrowed(text))
    }

    pub fn owned(text: String) -> Self {
        Self(Cow::Owned(text))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The text kept: the key's own text, or its lower-cased form (either folds to the canonical).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The canonical form as a string of its own (for what is reported, not for lookups).
    pub fn to_canonical(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl PartialEq for Folded<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl Eq for Folded<'_> {}

impl Hash for Folded<'_> {
    /// The lower-cased bytes, in fixed-size pieces whatever the key's origin (a hasher need not
    /// give one result for one slice and for the same bytes in two), then a terminator, as `str`.
    fn hash<H: Hasher>(&self, state: &mut H) {
        const PIECE: usize = 32;
        let mut buffer = [0u8; PIECE];
        for piece in self.0.as_bytes().chunks(PIECE) {
            let lowered = &mut buffer[..piece.len()];
            lowered.copy_from_slice(piece);
            lowered.make_ascii_lowercase();
            state.write(lowered);
        }
        state.write_u8(0xff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::completeness::{canonical_instance_id, canonical_vm_id, instance_id_key, vm_id_key};
    use crate::matching::{name_key, normalize_name};
    use proptest::prelude::*;
    use std::hash::BuildHasher;

    fn hash(key: &Folded<'_>) -> u64 {
        // One fixed hasher state, so equal keys must give equal hashes.
        foldhash::fast::FixedState::with_seed(7).hash_one(key)
    }

    /// Keys are equal (and hash alike) exactly when the canonical strings are equal, and each
    /// key reports its canonical string.
    fn agree(a: &str, b: &str) -> Result<(), TestCaseError> {
        type Form = (fn(&str) -> String, for<'x> fn(&'x str) -> Folded<'x>);
        let forms: [Form; 3] = [
            (normalize_name, name_key),
            (canonical_instance_id, instance_id_key),
            (canonical_vm_id, vm_id_key),
        ];
        for (canonical, key) in forms {
            let (ka, kb) = (key(a), key(b));
            prop_assert_eq!(ka.to_canonical(), canonical(a));
            prop_assert_eq!(ka == kb, canonical(a) == canonical(b), "{:?} {:?}", a, b);
            if ka == kb {
                prop_assert_eq!(hash(&ka), hash(&kb));
            }
        }
        Ok(())
    }

    #[test]
    fn trim_is_str_trim() {
        for byte in 0u8..128 {
            let c = byte as char;
            assert_eq!(ascii_white_space_or_not_ascii(byte), c.is_whitespace(), "{byte:#x}");
            for text in [format!("{c}a{c}"), format!("a{c}"), format!("{c}a"), c.to_string()] {
                assert_eq!(trim(&text), text.trim(), "{text:?}");
            }
        }
        for text in ["", "\u{85}web\u{a0}", "\u{3000}", "web\u{2028}", "é", " é ", "a b"] {
            assert_eq!(trim(text), text.trim(), "{text:?}");
        }
    }

    #[test]
    fn keys_agree_with_the_canonical_forms_on_the_hard_cases() {
        let cases = [
            ("WEB01.corp.local", "web01"),
            (" web01 ", "WEB01"),
            ("\u{212A}-1", "k-1"), // the Kelvin sign lower-cases to an ASCII k
            ("ΣΑΣ", "σας"),        // a final sigma: str::to_lowercase is not char by char
            ("ÉCOLE", "école"),
            ("İ", "i"),
            ("007", "7"),
            ("000", "0"),
            (" 0 ", "00"),
            ("Flex_0A1B", "flex_0a1b"),
            ("", "  "),
            (".corp", ""),
            ("VM-ABC", " vm-abc "),
            (&"A".repeat(70), &"a".repeat(70)),
        ];
        for (a, b) in cases {
            agree(a, b).unwrap();
            agree(b, a).unwrap();
        }
    }

    proptest! {
        #[test]
        fn keys_agree_with_the_canonical_forms(
            a in "[ 0aA.\u{212A}kKΣσς_-]{0,6}",
            b in "[ 0aA.\u{212A}kKΣσς_-]{0,6}",
        ) {
            agree(&a, &b)?;
            agree(&a, &a.to_uppercase())?;
            agree(&a, &a.to_lowercase())?;
            agree(&a, &format!(" {a} "))?;
        }
    }
}
