//! Secrets never reach the terminal: the frame is scrubbed after every draw.

/// The last edge before the terminal: a remembered secret drawn anywhere on a row (a server's
/// error quoting the key, say) is overwritten with `*`, cell for cell, so the layout stays.
pub fn scrub_frame(buffer: &mut ratatui::buffer::Buffer) {
    let width = usize::from(buffer.area.width);
    if width == 0 {
        return;
    }
    for row in buffer.content.chunks_mut(width) {
        let mut text = String::new();
        let mut cell_at = Vec::new();
        for (index, cell) in row.iter().enumerate() {
            for _ in 0..cell.symbol().len() {
                cell_at.push(index);
            }
            text.push_str(cell.symbol());
        }
        for found in crate::secret::occurrences(&text) {
            let (first, last) = (cell_at[found.start], cell_at[found.end - 1]);
            for cell in &mut row[first..=last] {
                cell.set_symbol("*");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;

    #[test]
    fn a_drawn_secret_becomes_stars_cell_for_cell() {
        crate::secret::remember("API-FRAMESCRUB0123456789");
        let mut buffer = Buffer::empty(Rect::new(0, 0, 60, 2));
        buffer.set_string(
            0,
            0,
            "refresh FAILED: key 'API-FRAMESCRUB0123456789' invalid",
            ratatui::style::Style::default(),
        );
        buffer.set_string(0, 1, "ok", ratatui::style::Style::default());
        scrub_frame(&mut buffer);
        let row: String = (0..60).map(|x| buffer[(x, 0)].symbol().to_string()).collect();
        assert_eq!(row.trim_end(), format!("refresh FAILED: key '{}' invalid", "*".repeat(24)));
        assert_eq!(buffer[(0, 1)].symbol(), "o");
    }
}
