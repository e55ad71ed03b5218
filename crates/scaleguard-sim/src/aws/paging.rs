//! `NextToken` paging: an opaque token holding the key of the last item served (a cursor, so an
//! item added or removed between pages moves nothing else), bound to the listing it came from.

use base64::Engine;

/// A token this listing did not hand out: `InvalidNextToken`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadToken;

const SEPARATOR: char = '\u{1f}';

pub fn encode(listing: &str, last_key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("v1{SEPARATOR}{listing}{SEPARATOR}{last_key}"))
}

fn decode(listing: &str, token: &str) -> Result<String, BadToken> {
    let bytes =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| BadToken)?;
    let text = String::from_utf8(bytes).map_err(|_| BadToken)?;
    let mut parts = text.splitn(3, SEPARATOR);
    match (parts.next(), parts.next(), parts.next()) {
        (Some("v1"), Some(kind), Some(key)) if kind == listing => Ok(key.to_string()),
        _ => Err(BadToken),
    }
}

pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

/// One page of `items` (sorted by `key`, strictly increasing) after the token's cursor. With
/// `lose_token` (the `truncated_page` fault) a page that has more after it ends early and carries
/// no token: a client that trusts it has silently missed the rest.
pub fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    listing: &str,
    token: Option<&str>,
    size: usize,
    lose_token: bool,
) -> Result<Page<T>, BadToken> {
    let after = token.filter(|t| !t.is_empty()).map(|t| decode(listing, t)).transpose()?;
    let mut rest: Vec<T> =
        items.into_iter().filter(|item| after.as_ref().is_none_or(|a| key(item) > *a)).collect();
    let more = rest.len() > size;
    rest.truncate(size.max(1));
    if lose_token && more {
        rest.truncate(rest.len() / 2);
        return Ok(Page { items: rest, next_token: None });
    }
    let next_token = if more { rest.last().map(|last| encode(listing, &key(last))) } else { None };
    Ok(Page { items: rest, next_token })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("k{i:03}")).collect()
    }

    #[test]
    fn pages_follow_the_cursor_to_the_end() {
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let page = page(keys(7), |k| k.clone(), "groups", token.as_deref(), 3, false).unwrap();
            seen.extend(page.items);
            match page.next_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, keys(7));
    }

    #[test]
    fn an_exact_last_page_has_no_token_and_foreign_tokens_are_refused() {
        let page1 = page(keys(6), |k| k.clone(), "groups", None, 3, false).unwrap();
        let token = page1.next_token.unwrap();
        let page2 = page(keys(6), |k| k.clone(), "groups", Some(&token), 3, false).unwrap();
        assert_eq!(page2.next_token, None);
        assert!(page(keys(6), |k| k.clone(), "activities", Some(&token), 3, false).is_err());
        assert!(page(keys(6), |k| k.clone(), "groups", Some("not a token"), 3, false).is_err());
    }

    #[test]
    fn a_lost_token_ends_the_page_early() {
        let page = page(keys(10), |k| k.clone(), "groups", None, 4, true).unwrap();
        assert_eq!((page.items.len(), page.next_token), (2, None));
    }
}
