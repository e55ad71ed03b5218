//! Ids a server sent, checked before they go into a request path (pure).
//!
//! An id is put into a path only when it is shaped like an Octopus id: letters, a dash, digits
//! (`Machines-12`, `ServerTasks-2041`), or for an HA node `OctopusServerNodes-` and its host name.
//! Anything else (`Machines-99/../Machines-1`, a `?` or `#`, percent-escapes) could point the
//! request at another resource; it is refused with one sentence naming the id, and never sent.

use super::error::OctopusError;

/// The longest id accepted; real ones are far shorter.
const MAX_ID_CHARS: usize = 128;

/// `Machines-12`: letters, a dash, digits.
pub fn is_octopus_id(id: &str) -> bool {
    let Some((kind, number)) = id.split_once('-') else { return false };
    id.len() <= MAX_ID_CHARS
        && !kind.is_empty()
        && kind.bytes().all(|b| b.is_ascii_alphabetic())
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// `OctopusServerNodes-` and a host name (letters, digits, `-`, `_`, `.`; not starting with a
/// dot), as real nodes are named after the machine they run on.
pub fn is_node_id(id: &str) -> bool {
    let Some(host) = id.strip_prefix("OctopusServerNodes-") else { return false };
    id.len() <= MAX_ID_CHARS
        && host.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `id` when it is an Octopus id; otherwise the error naming it.
pub(super) fn checked<'a>(what: &'static str, id: &'a str) -> Result<&'a str, OctopusError> {
    if is_octopus_id(id) {
        Ok(id)
    } else {
        Err(not_an_id(what, id))
    }
}

/// `id` when it is an HA node's id; otherwise the error naming it.
pub(super) fn checked_node(id: &str) -> Result<&str, OctopusError> {
    if is_node_id(id) {
        Ok(id)
    } else {
        Err(not_an_id("HA node", id))
    }
}

pub(super) fn not_an_id(what: &'static str, id: &str) -> OctopusError {
    OctopusError::NotAnId { what, id: crate::untrusted::server_text(id) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octopus_ids_are_letters_a_dash_and_digits() {
        for id in ["Machines-1", "ServerTasks-204133", "Spaces-1", "MachinePolicies-2"] {
            assert!(is_octopus_id(id), "{id}");
        }
        for id in [
            "Machines-99/../Machines-1",
            "Machines-1%2F..",
            "Machines-1?x=1",
            "Machines-1#x",
            "Machines-",
            "-1",
            "Machines-1-2",
            "Machines 1",
            "..",
            "",
            "Máchines-1",
        ] {
            assert!(!is_octopus_id(id), "{id}");
        }
        assert!(!is_octopus_id(&format!("Machines-{}", "1".repeat(200))));
    }

    #[test]
    fn node_ids_carry_the_host_name() {
        for id in [
            "OctopusServerNodes-OCTO-NODE-1",
            "OctopusServerNodes-octopus-i8932-79236734bc234-09h234n",
            "OctopusServerNodes-a.b_c",
        ] {
            assert!(is_node_id(id), "{id}");
        }
        for id in [
            "OctopusServerNodes-",
            "OctopusServerNodes-..",
            "OctopusServerNodes-a/../b",
            "OctopusServerNodes-a?b",
            "Machines-1",
        ] {
            assert!(!is_node_id(id), "{id}");
        }
    }

    #[test]
    fn the_refusal_names_the_id_on_one_line() {
        let message = checked("target", "Machines-99/../Machines-1\nforged line").unwrap_err().to_string();
        assert!(message.contains("Machines-99/../Machines-1"), "{message}");
        assert_eq!(message.lines().count(), 1, "{message}");
    }
}
