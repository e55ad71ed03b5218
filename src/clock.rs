//! The one clock seam: every component that does IO and needs "now" (the inventory collector's
//! snapshot time, the executor's journal, node jobs' deadlines, scaling's cooldown, the console
//! worker's plans, the CLI's plans) asks a [`Clock`] it was given instead of the wall clock, so a
//! test drives time with the simulator's manual clock instead of sleeping. The pure core never
//! reads a clock: it takes `now` as a parameter.
//!
//! The simulator keeps its own clock for its world (`sim::RunningSim::clock`); a `Clock` made
//! from it makes a client see the simulator's time.

use std::fmt;
use std::sync::Arc;
use time::OffsetDateTime;

/// "Now", as the component's owner decides. Cheap to clone.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> OffsetDateTime + Send + Sync>);

impl Clock {
    /// The wall clock (UTC): what every component uses unless told otherwise.
    pub fn system() -> Self {
        Self(Arc::new(OffsetDateTime::now_utc))
    }

    /// Time from `now` (a simulator's clock, a test's counter).
    pub fn new(now: impl Fn() -> OffsetDateTime + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    /// Always `at`.
    pub fn fixed(at: OffsetDateTime) -> Self {
        Self::new(move || at)
    }

    pub fn now(&self) -> OffsetDateTime {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}

/// The simulator hands out its clock as a plain shared function (it knows nothing of this type).
impl From<Arc<dyn Fn() -> OffsetDateTime + Send + Sync>> for Clock {
    fn from(now: Arc<dyn Fn() -> OffsetDateTime + Send + Sync>) -> Self {
        Self(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};
    use time::macros::datetime;

    #[test]
    fn a_clock_reads_its_source_at_each_call() {
        let seconds = Arc::new(AtomicI64::new(0));
        let source = seconds.clone();
        let start = datetime!(2026-01-05 09:00 UTC);
        let clock = Clock::new(move || start + time::Duration::seconds(source.load(Ordering::SeqCst)));
        assert_eq!(clock.now(), start);
        seconds.store(90, Ordering::SeqCst);
        assert_eq!(clock.clone().now(), start + time::Duration::seconds(90));
        assert_eq!(Clock::fixed(start).now(), start);
    }
}
