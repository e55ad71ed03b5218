//! Reading an ARM list page (`{"value": [...], "nextLink": ...}`) one entry at a time.
//!
//! The SDK's list result types (`VirtualMachineScaleSetVmListResult`, `VirtualMachineListResult`)
//! parse a whole page into its models before anything is done with them: a page of 1,000 VMs with
//! their instance views is several megabytes of models, and every set of an estate is read at
//! once. Here each entry is parsed as the same SDK model and handed on before the next one is
//! read, so a page never holds more than one entry's model. What a page must be is what the SDK
//! type asks for: `value` present (an array), `nextLink` absent, null or a string, neither twice,
//! other members ignored.

use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// Why a page could not be read.
#[derive(Debug)]
pub enum PageError {
    /// The body is not a page (not JSON, or not the shape the SDK type has).
    Json(serde_json::Error),
    /// `take` refused an entry (the reason, as `take` worded it).
    Refused(String),
}

/// Parse `body` as a list page of `T`s, handing each entry of `value` to `take` in order; Ok is
/// the page's nextLink. `take` stops the read at the entry it refuses.
pub fn each_entry<T: DeserializeOwned>(
    body: &[u8],
    take: impl FnMut(T) -> Result<(), String>,
) -> Result<Option<String>, PageError> {
    let mut refused = None;
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let page = PageSeed { take, refused: &mut refused, entry: PhantomData };
    let parsed = page.deserialize(&mut deserializer).and_then(|next_link| {
        deserializer.end()?;
        Ok(next_link)
    });
    match (parsed, refused) {
        (_, Some(reason)) => Err(PageError::Refused(reason)),
        (Ok(next_link), None) => Ok(next_link),
        (Err(err), None) => Err(PageError::Json(err)),
    }
}

struct PageSeed<'r, T, F> {
    take: F,
    refused: &'r mut Option<String>,
    entry: PhantomData<fn() -> T>,
}

impl<'de, T: DeserializeOwned, F: FnMut(T) -> Result<(), String>> DeserializeSeed<'de>
    for PageSeed<'_, T, F>
{
    type Value = Option<String>;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned, F: FnMut(T) -> Result<(), String>> Visitor<'de> for PageSeed<'_, T, F> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list page: an object with `value` and `nextLink`")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut value_seen = false;
        let mut next_link: Option<Option<String>> = None;
        while let Some(member) = map.next_key::<String>()? {
            match member.as_str() {
                "value" => {
                    if value_seen {
                        return Err(de::Error::duplicate_field("value"));
                    }
                    value_seen = true;
                    map.next_value_seed(Entries {
                        take: &mut self.take,
                        refused: &mut *self.refused,
                        entry: PhantomData,
                    })?;
                }
                "nextLink" => {
                    if next_link.is_some() {
                        return Err(de::Error::duplicate_field("nextLink"));
                    }
                    next_link = Some(map.next_value()?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !value_seen {
            return Err(de::Error::missing_field("value"));
        }
        Ok(next_link.flatten())
    }
}

/// The `value` array, each entry parsed and taken before the next is read.
struct Entries<'a, T, F> {
    take: &'a mut F,
    refused: &'a mut Option<String>,
    entry: PhantomData<fn() -> T>,
}

impl<'de, T: DeserializeOwned, F: FnMut(T) -> Result<(), String>> DeserializeSeed<'de> for Entries<'_, T, F> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T: DeserializeOwned, F: FnMut(T) -> Result<(), String>> Visitor<'de> for Entries<'_, T, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of entries")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(entry) = seq.next_element::<T>()? {
            if let Err(reason) = (self.take)(entry) {
                *self.refused = Some(reason);
                // Stops the parse; `each_entry` reports the refusal, not this.
                return Err(de::Error::custom("entry refused"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_mgmt_compute::package_2024_07_01::models;

    /// The same body through the SDK's own list type: what a page must be is what it accepts.
    fn sdk(body: &str) -> Result<(Vec<Option<String>>, Option<String>), String> {
        serde_json::from_str::<models::VirtualMachineScaleSetVmListResult>(body)
            .map(|page| (page.value.into_iter().map(|vm| vm.instance_id).collect(), page.next_link))
            .map_err(|err| err.to_string())
    }

    fn streamed(body: &str) -> Result<(Vec<Option<String>>, Option<String>), String> {
        let mut ids = Vec::new();
        each_entry(body.as_bytes(), |vm: models::VirtualMachineScaleSetVm| {
            ids.push(vm.instance_id);
            Ok(())
        })
        .map(|next| (ids, next))
        .map_err(|err| match err {
            PageError::Json(err) => err.to_string(),
            PageError::Refused(reason) => reason,
        })
    }

    #[test]
    fn accepts_and_refuses_the_pages_the_sdk_type_does() {
        let mut accepted = 0;
        for body in [
            r#"{"value":[{"location":"westeurope","instanceId":"0"},{"location":"westeurope","instanceId":"1"}],"nextLink":"http://x/next"}"#,
            r#"{"nextLink":"http://x/next","value":[{"location":"westeurope","instanceId":"0"}]}"#,
            r#"{"value":[],"nextLink":null}"#,
            r#"{"value":[{"location":"westeurope","instanceId":"3","unknown":{"deep":[1,2]}}],"odata.count":1}"#,
            r#"  {"value":[]}  "#,
            r#"{"nextLink":"a"}"#,
            r#"{"value":null}"#,
            r#"{"value":{}}"#,
            r#"{"value":[],"value":[]}"#,
            r#"{"value":[],"nextLink":"a","nextLink":"b"}"#,
            r#"{"value":[],"nextLink":7}"#,
            r#"{"value":[{"location":"westeurope","instanceId":5}]}"#,
            r#"{"value":[{"location":"westeurope","instanceId":"0"}]} trailing"#,
            r#"{"value":[{"location":"westeurope","instanceId":"0"},"#,
            r#"[]"#,
            r#"null"#,
            "",
            r#"{"value":[{"instanceId":"0"}]}"#,
        ] {
            let (ours, theirs) = (streamed(body), sdk(body));
            accepted += usize::from(theirs.is_ok());
            assert_eq!(ours.is_ok(), theirs.is_ok(), "{body}: ours {ours:?}, the SDK's {theirs:?}");
            if theirs.is_ok() {
                assert_eq!(ours, theirs, "{body}");
            }
        }
        assert_eq!(accepted, 5, "the well-formed pages are read, entries and all");
    }

    #[test]
    fn a_refused_entry_stops_the_read_with_the_refusal() {
        let body = r#"{"value":[{"location":"westeurope","instanceId":"0"},{"location":"westeurope","instanceId":"bad"},{"location":"westeurope","instanceId":"2"}]}"#;
        let mut taken = Vec::new();
        let result = each_entry(body.as_bytes(), |vm: models::VirtualMachineScaleSetVm| {
            let id = vm.instance_id.unwrap_or_default();
            if id == "bad" {
                return Err(format!("VM {id} cannot be believed"));
            }
            taken.push(id);
            Ok(())
        });
        assert!(
            matches!(result, Err(PageError::Refused(ref r)) if r == "VM bad cannot be believed"),
            "{result:?}"
        );
        assert_eq!(taken, ["0"], "nothing after the refused entry is taken");
    }
}
