//! Octopus service messages: how a runbook step hands values to later steps.
//!
//! Octopus reads `##octopus[setVariable name='<base64>' value='<base64>']` lines from a script's
//! output; base64 keeps any character in a name or value from breaking the message.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// One `setVariable` service message line (no trailing newline).
pub fn set_variable(name: &str, value: &str) -> String {
    format!("##octopus[setVariable name='{}' value='{}']", STANDARD.encode(name), STANDARD.encode(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(encoded: &str) -> String {
        String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap()
    }

    #[test]
    fn set_variable_encodes_name_and_value_in_base64() {
        let line = set_variable("VMSSDeploymentTargetIds", "Machines-1,Machines-2 ']");
        let inner = line.strip_prefix("##octopus[setVariable ").unwrap().strip_suffix(']').unwrap();
        let parts: Vec<&str> = inner.split('\'').collect();
        assert_eq!(parts[0], "name=");
        assert_eq!(decode(parts[1]), "VMSSDeploymentTargetIds");
        assert_eq!(parts[2], " value=");
        assert_eq!(decode(parts[3]), "Machines-1,Machines-2 ']");
    }
}
