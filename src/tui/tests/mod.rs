//! Rendering tests: TestBackend + insta snapshots.
