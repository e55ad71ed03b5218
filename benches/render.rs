//! Rendering cost of the console: one frame of a 10,000-row pane into a TestBackend, and the same
//! pane with 100 rows. Only the visible window of rows is built, so both should cost about the same.

use criterion::{criterion_group, criterion_main, Criterion};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use scaleguard::tui::{fixtures, view};

fn frame(c: &mut Criterion) {
    for rows in [100u32, 10_000] {
        let model = fixtures::model_with_instances(rows);
        assert_eq!(model.instances.rows.len(), rows as usize);
        let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("test terminal");
        c.bench_function(&format!("render instances pane, {rows} rows, 200x50"), |b| {
            b.iter(|| {
                terminal.draw(|frame| view::view(frame, &model)).expect("draw");
            });
        });
    }
    let mut model = fixtures::model_with_instances(10_000);
    c.bench_function("rebuild a 10,000-row view (filter + sort)", |b| {
        b.iter(|| {
            model.table_mut(scaleguard::tui::app::PaneId::Instances).sort = Some(1);
            model.rebuild_view(scaleguard::tui::app::PaneId::Instances);
        });
    });
}

criterion_group!(benches, frame);
criterion_main!(benches);
