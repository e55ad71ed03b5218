//! The parameters of a query-protocol request (`Action=…&Version=…`), as the AWS SDKs send them:
//! Auto Scaling lists as `Name.member.N` (an empty list as a bare `Name=`), EC2 lists flattened as
//! `Name.N`, EC2 filters as `Filter.N.Name` / `Filter.N.Value.M`.

use std::collections::BTreeMap;

/// A problem with one parameter: the service answers it as a validation error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    pub param: String,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct Form {
    params: BTreeMap<String, String>,
}

impl Form {
    /// Decode a form body (and the query string, which a GET uses instead); the body wins.
    pub fn parse(query: &[(String, String)], body: &[u8]) -> Self {
        let mut params: BTreeMap<String, String> = query.iter().cloned().collect();
        params.extend(url::form_urlencoded::parse(body).into_owned());
        Self { params }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// A parameter that must be there (the services' "Value null at '…'" when it is not).
    pub fn required(&self, name: &str) -> Result<&str, ParamError> {
        self.get(name).ok_or_else(|| ParamError {
            param: name.to_string(),
            message: format!(
                "Value null at '{}' failed to satisfy constraint: Member must not be null",
                camel(name)
            ),
        })
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>, ParamError> {
        match self.get(name) {
            None => Ok(None),
            Some(text) => text.trim().parse::<i64>().map(Some).map_err(|_| ParamError {
                param: name.to_string(),
                message: format!(
                    "Value '{text}' at '{}' failed to satisfy constraint: Member must be a number",
                    camel(name)
                ),
            }),
        }
    }

    pub fn required_int(&self, name: &str) -> Result<i64, ParamError> {
        self.required(name)?;
        Ok(self.int(name)?.unwrap_or_default())
    }

    pub fn required_bool(&self, name: &str) -> Result<bool, ParamError> {
        self.required(name)?;
        Ok(self.bool(name)?.unwrap_or_default())
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, ParamError> {
        match self.get(name) {
            None => Ok(None),
            Some(text) if text.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(text) if text.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(text) => Err(ParamError {
                param: name.to_string(),
                message: format!(
                    "Value '{text}' at '{}' failed to satisfy constraint: Member must be a boolean",
                    camel(name)
                ),
            }),
        }
    }

    /// `Name.member.1`, `Name.member.2`, … in index order; None when the list is absent, empty
    /// when sent as `Name=` (how the SDKs write an empty list).
    pub fn member_list(&self, name: &str) -> Option<Vec<String>> {
        let prefix = format!("{name}.member.");
        let items = self.indexed(&prefix, |rest| rest.parse::<u32>().ok());
        if items.is_empty() {
            return self.get(name).map(|_| Vec::new());
        }
        Some(items)
    }

    /// EC2's flattened lists: `InstanceId.1`, `InstanceId.2`, …; None when absent.
    pub fn flat_list(&self, name: &str) -> Option<Vec<String>> {
        let prefix = format!("{name}.");
        let items = self.indexed(&prefix, |rest| rest.parse::<u32>().ok());
        (!items.is_empty()).then_some(items)
    }

    /// Filters: `Filter.N.Name` + `Filter.N.Value.M` (EC2, `infix` ""), or
    /// `Filters.member.N.Name` + `Filters.member.N.Values.member.M` (Auto Scaling, `infix` "member.").
    pub fn filters(&self, name: &str, values: &str, infix: &str) -> Vec<(String, Vec<String>)> {
        let prefix = format!("{name}.{infix}");
        let mut indexes: Vec<u32> = self
            .params
            .keys()
            .filter_map(|key| key.strip_prefix(&prefix))
            .filter_map(|rest| rest.split_once('.').and_then(|(n, _)| n.parse::<u32>().ok()))
            .collect();
        indexes.sort_unstable();
        indexes.dedup();
        indexes
            .into_iter()
            .filter_map(|n| {
                let filter_name = self.get(&format!("{prefix}{n}.Name"))?.to_string();
                let value_prefix = format!("{prefix}{n}.{values}.{infix}");
                let values = self.indexed(&value_prefix, |rest| rest.parse::<u32>().ok());
                Some((filter_name, values))
            })
            .collect()
    }

    fn indexed(&self, prefix: &str, index: impl Fn(&str) -> Option<u32>) -> Vec<String> {
        let mut items: Vec<(u32, String)> = self
            .params
            .iter()
            .filter_map(|(key, value)| key.strip_prefix(prefix).and_then(&index).map(|n| (n, value.clone())))
            .collect();
        items.sort_by_key(|(n, _)| *n);
        items.into_iter().map(|(_, value)| value).collect()
    }
}

/// `AutoScalingGroupName` → `autoScalingGroupName`, the member name the services' validation
/// messages use.
pub fn camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> Form {
        Form::parse(&[], body.as_bytes())
    }

    #[test]
    fn member_lists_come_in_index_order_and_an_empty_list_is_a_bare_name() {
        let f = form("Action=X&Names.member.2=b&Names.member.10=c&Names.member.1=a&Empty=");
        assert_eq!(f.member_list("Names"), Some(vec!["a".into(), "b".into(), "c".into()]));
        assert_eq!(f.member_list("Empty"), Some(vec![]));
        assert_eq!(f.member_list("Absent"), None);
    }

    #[test]
    fn ec2_flat_lists_and_filters() {
        let f = form(
            "InstanceId.1=i-1&InstanceId.2=i-2&Filter.1.Name=tag%3AName&Filter.1.Value.1=web-1&Filter.1.Value.2=web-2&Filter.2.Name=instance-state-name&Filter.2.Value.1=running",
        );
        assert_eq!(f.flat_list("InstanceId"), Some(vec!["i-1".into(), "i-2".into()]));
        assert_eq!(
            f.filters("Filter", "Value", ""),
            vec![
                ("tag:Name".to_string(), vec!["web-1".to_string(), "web-2".to_string()]),
                ("instance-state-name".to_string(), vec!["running".to_string()]),
            ]
        );
    }

    #[test]
    fn autoscaling_filters_use_member_lists() {
        let f = form("Filters.member.1.Name=tag-key&Filters.member.1.Values.member.1=team");
        assert_eq!(
            f.filters("Filters", "Values", "member."),
            vec![("tag-key".to_string(), vec!["team".to_string()])]
        );
    }

    #[test]
    fn numbers_and_booleans_are_checked() {
        let f = form("MaxRecords=abc&HonorCooldown=true&Bad=yes");
        assert!(f.int("MaxRecords").unwrap_err().message.contains("'maxRecords'"));
        assert_eq!(f.bool("HonorCooldown"), Ok(Some(true)));
        assert!(f.bool("Bad").is_err());
        assert!(f
            .required("AutoScalingGroupName")
            .unwrap_err()
            .message
            .contains("Value null at 'autoScalingGroupName'"));
    }
}
