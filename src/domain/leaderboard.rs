//! Leaderboard positions: 1 = best, ties share a position ("1, 2, 2, 4").

/// Positions of a page of consecutive entries with `scores` (best first), given how many users
/// score strictly more than the first entry (`above`) and how many come before it in the
/// order (`before`; more than `above` when the page starts inside a tie).
pub fn page_positions(above: i64, before: i64, scores: &[i32]) -> Vec<i64> {
    let mut out: Vec<i64> = Vec::with_capacity(scores.len());
    for (i, score) in scores.iter().enumerate() {
        let position = match i {
            0 => above + 1,
            _ if scores[i - 1] == *score => out[i - 1],
            _ => before + i as i64 + 1,
        };
        out.push(position);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_a_position_and_the_next_one_skips() {
        assert_eq!(page_positions(0, 0, &[50, 40, 40, 30]), vec![1, 2, 2, 4]);
    }

    #[test]
    fn a_page_that_starts_inside_a_tie_keeps_the_tie_position() {
        // Global order: 50, 40, 40, 40, 30. The page starts at the third entry.
        assert_eq!(page_positions(1, 2, &[40, 40, 30]), vec![2, 2, 5]);
    }

    #[test]
    fn empty_page() {
        assert!(page_positions(0, 0, &[]).is_empty());
    }
}
