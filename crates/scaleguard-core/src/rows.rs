//! Which element of a slice a reference is, from its address: a position found without reading
//! the element or comparing anything (at 50,000 VMs or targets their text is mostly out of the
//! cache), for the indexes kept by position beside a listing's rows.

/// The position in `rows` of `element`; None when it is not one of them (another copy, another
/// slice).
pub fn position_in<T>(rows: &[T], element: &T) -> Option<usize> {
    let size = std::mem::size_of::<T>().max(1);
    let offset = (element as *const T as usize).checked_sub(rows.as_ptr() as usize)?;
    (offset % size == 0 && offset / size < rows.len()).then_some(offset / size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_element_is_placed_only_in_the_rows_it_belongs_to() {
        let rows = [String::from("a"), String::from("b"), String::from("c")];
        let elsewhere = String::from("b");
        assert_eq!((position_in(&rows, &rows[0]), position_in(&rows, &rows[2])), (Some(0), Some(2)));
        assert_eq!(position_in(&rows, &elsewhere), None, "an equal copy is not a row");
        assert_eq!(position_in(&rows[..1], &rows[1]), None, "past the end");
        assert_eq!(position_in(&rows[1..], &rows[0]), None, "before the start");
    }
}
