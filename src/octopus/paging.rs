//! The bookkeeping of one skip/take listing (pure): when to ask for the next page, and when the
//! answers prove the listing cannot be complete.
//!
//! A listing is complete only when its pages add up: every page states `TotalResults` (every
//! Octopus collection does; without it nothing shows where the listing ends), every page brings
//! items not seen before (a page that only repeats items means the server ignores `skip` or
//! loops), a page before the end is never empty, `TotalResults` stays the same from the first page
//! to the last, there are no more pages than the totals imply, and the distinct ids read equal
//! `TotalResults`. Whatever the totals say, no listing is read past [`MAX_ITEMS`] items or
//! [`MAX_PAGES`] pages.

use std::collections::HashSet;

/// The most items one listing may hold (10 times the largest estates scaleguard is load-tested
/// on): a total above it is refused on the first page.
pub(super) const MAX_ITEMS: u64 = 100_000;

/// The most pages one listing may take, whatever its total and page size.
pub(super) const MAX_PAGES: u32 = 1_000;

/// Why the pages read so far cannot make a complete listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PagingError {
    /// Page `page` states no `TotalResults`.
    NoTotal { page: u32 },
    /// `TotalResults` above [`MAX_ITEMS`].
    TooLarge { total: u64 },
    /// Page `page` (1-based) held no item that earlier pages did not already hold.
    Repeated { page: u32 },
    /// Page `page` was empty although the totals or `Page.Next` said more was to come.
    EmptyBeforeEnd { page: u32, total: Option<u64> },
    /// More pages than `TotalResults` at that page size can fill.
    TooManyPages { pages: u32, total: u64 },
    /// `TotalResults` changed between pages: items were added or removed while reading.
    Changed { from: u64, to: u64 },
    /// The last page said `TotalResults` but fewer or more distinct ids were read.
    CountMismatch { distinct: u64, total: u64 },
}

impl PagingError {
    /// The listing may simply have changed under the reader: reading it again may succeed.
    pub(super) fn worth_rereading(&self) -> bool {
        matches!(self, Self::Changed { .. } | Self::CountMismatch { .. })
    }
}

impl std::fmt::Display for PagingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoTotal { page } => write!(
                f,
                "page {page} has no TotalResults, so nothing shows where the listing ends: the listing is incomplete"
            ),
            Self::TooLarge { total } => write!(
                f,
                "TotalResults {total} is more than the {MAX_ITEMS} items scaleguard reads from one listing: not read"
            ),
            Self::Repeated { page } => write!(
                f,
                "page {page} repeats items already listed (the server ignores skip or loops): the listing is incomplete"
            ),
            Self::EmptyBeforeEnd { page, total } => write!(
                f,
                "page {page} is empty before the end of the listing (TotalResults {}): the listing is incomplete",
                total.map_or_else(|| "absent".to_string(), |t| t.to_string())
            ),
            Self::TooManyPages { pages, total } => write!(
                f,
                "{pages} pages is more than TotalResults {total} can fill: the listing is incomplete"
            ),
            Self::Changed { from, to } => write!(
                f,
                "TotalResults changed from {from} to {to} while the pages were read: the listing is incomplete"
            ),
            Self::CountMismatch { distinct, total } => write!(
                f,
                "{distinct} distinct item(s) listed but TotalResults says {total}: the listing is incomplete"
            ),
        }
    }
}

/// What to do after a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    /// Ask for the page starting at this `skip`.
    Page(u64),
    /// Every item has been read.
    Done,
}

/// One listing's progress.
#[derive(Debug, Default)]
pub(super) struct Pager {
    seen: HashSet<String>,
    skip: u64,
    pages: u32,
    first_total: Option<u64>,
    /// Items on the first page: the server's real page size.
    first_page_len: u64,
}

impl Pager {
    pub(super) fn skip(&self) -> u64 {
        self.skip
    }

    /// Account for one page: its item ids and the `TotalResults` it stated.
    pub(super) fn record<'a>(
        &mut self,
        ids: impl IntoIterator<Item = &'a str>,
        total: Option<u64>,
    ) -> Result<Next, PagingError> {
        self.pages += 1;
        let page = self.pages;
        let total = total.ok_or(PagingError::NoTotal { page })?;
        if total > MAX_ITEMS {
            return Err(PagingError::TooLarge { total });
        }
        if page > MAX_PAGES {
            return Err(PagingError::TooManyPages { pages: page, total });
        }
        let mut got = 0u64;
        let mut new = 0u64;
        for id in ids {
            got += 1;
            if self.seen.insert(id.to_string()) {
                new += 1;
            }
        }
        if got > 0 && new == 0 {
            return Err(PagingError::Repeated { page });
        }
        if page == 1 {
            self.first_total = Some(total);
            self.first_page_len = got;
        }
        if let Some(from) = self.first_total.filter(|from| *from != total) {
            return Err(PagingError::Changed { from, to: total });
        }
        self.skip += got;
        let more = self.skip < total;
        if more && got == 0 {
            return Err(PagingError::EmptyBeforeEnd { page, total: Some(total) });
        }
        // One page of slack: the last page may be split by a server that pages unevenly.
        let implied = total.div_ceil(self.first_page_len.max(1)) + 1;
        if u64::from(page) > implied {
            return Err(PagingError::TooManyPages { pages: page, total });
        }
        if more {
            return Ok(Next::Page(self.skip));
        }
        let distinct = self.seen.len() as u64;
        if total != distinct {
            return Err(PagingError::CountMismatch { distinct, total });
        }
        Ok(Next::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(range: std::ops::Range<u32>) -> Vec<String> {
        range.map(|i| format!("Machines-{i}")).collect()
    }

    fn record(
        pager: &mut Pager,
        page: &[String],
        total: Option<u64>,
        _next: bool,
    ) -> Result<Next, PagingError> {
        pager.record(page.iter().map(String::as_str), total)
    }

    #[test]
    fn honest_pages_shorter_than_take_are_read_to_the_total() {
        let mut pager = Pager::default();
        assert_eq!(record(&mut pager, &ids(0..2), Some(5), true), Ok(Next::Page(2)));
        assert_eq!(record(&mut pager, &ids(2..4), Some(5), false), Ok(Next::Page(4)), "links lost");
        assert_eq!(record(&mut pager, &ids(4..5), Some(5), false), Ok(Next::Done));
        let mut empty = Pager::default();
        assert_eq!(record(&mut empty, &[], Some(0), false), Ok(Next::Done));
    }

    #[test]
    fn a_listing_without_total_results_is_incomplete() {
        // Issue 13 review, break 11: fresh ids and a Page.Next on every page, no TotalResults:
        // 1,661 requests in 60 s. Every Octopus collection states its total.
        let mut pager = Pager::default();
        let err = record(&mut pager, &ids(0..2), None, true).expect_err("no total, no proof");
        assert!(err.to_string().contains("TotalResults"), "{err}");
        let mut last = Pager::default();
        assert!(record(&mut last, &ids(0..2), None, false).is_err(), "not even on a last page");
    }

    #[test]
    fn no_listing_runs_past_the_hard_ceiling_whatever_its_total_says() {
        // A total the size of a billion items is refused at once, naming the ceiling.
        let mut huge = Pager::default();
        let err = record(&mut huge, &ids(0..1), Some(1_000_000_000), true).expect_err("too many to read");
        assert!(err.to_string().contains("100000"), "{err}");
        // A total under the item ceiling, one new item per page: stopped at the page ceiling.
        let mut slow = Pager::default();
        let mut pages = 0u32;
        let err = loop {
            pages += 1;
            match record(&mut slow, &ids(pages - 1..pages), Some(100_000), true) {
                Ok(_) => assert!(pages < 5_000, "still paging after {pages} pages"),
                Err(err) => break err,
            }
        };
        assert!(pages <= 1_001, "{pages} pages: {err}");
    }

    #[test]
    fn a_page_of_items_already_seen_is_a_loop() {
        let mut pager = Pager::default();
        record(&mut pager, &ids(0..2), Some(6), true).unwrap();
        assert_eq!(record(&mut pager, &ids(0..2), Some(6), true), Err(PagingError::Repeated { page: 2 }));
    }

    #[test]
    fn a_lying_total_ends_at_the_first_repeated_or_empty_page() {
        let mut clamping = Pager::default();
        record(&mut clamping, &ids(0..2), Some(1300), true).unwrap();
        record(&mut clamping, &ids(2..3), Some(1300), true).unwrap();
        assert_eq!(
            record(&mut clamping, &ids(2..3), Some(1300), true),
            Err(PagingError::Repeated { page: 3 })
        );
        let mut honest_skip = Pager::default();
        record(&mut honest_skip, &ids(0..3), Some(1300), true).unwrap();
        assert!(matches!(
            record(&mut honest_skip, &[], Some(1300), true),
            Err(PagingError::EmptyBeforeEnd { page: 2, total: Some(1300) })
        ));
    }

    #[test]
    fn pages_are_bounded_by_what_the_total_implies() {
        // Ten items on the first page, then one new item per page: 20 items would take 11 more
        // pages, but at ten a page the total implies two (plus one of slack).
        let mut pager = Pager::default();
        assert_eq!(record(&mut pager, &ids(0..10), Some(20), true), Ok(Next::Page(10)));
        assert_eq!(record(&mut pager, &ids(10..11), Some(20), true), Ok(Next::Page(11)));
        assert_eq!(record(&mut pager, &ids(11..12), Some(20), true), Ok(Next::Page(12)));
        assert_eq!(
            record(&mut pager, &ids(12..13), Some(20), true),
            Err(PagingError::TooManyPages { pages: 4, total: 20 })
        );
    }

    #[test]
    fn a_total_that_changes_between_pages_or_disagrees_with_the_ids_is_incomplete() {
        let mut pager = Pager::default();
        record(&mut pager, &ids(0..2), Some(4), true).unwrap();
        let changed = record(&mut pager, &ids(2..4), Some(5), true).unwrap_err();
        assert_eq!(changed, PagingError::Changed { from: 4, to: 5 });
        assert!(changed.worth_rereading());
        // A page that overlaps the previous one by an item: the distinct count falls short.
        let mut shifted = Pager::default();
        record(&mut shifted, &ids(0..2), Some(4), true).unwrap();
        assert_eq!(
            record(&mut shifted, &ids(1..3), Some(4), false),
            Err(PagingError::CountMismatch { distinct: 3, total: 4 })
        );
        assert!(!PagingError::Repeated { page: 2 }.worth_rereading());
    }
}
