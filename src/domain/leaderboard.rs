//! Leaderboard positions: 1 = best, ties share a position ("1, 2, 2, 4").

/// Positions of a page of consecutive entries with `scores` (best first), given how many users
/// score strictly more than the first entry (`above`) and how many come before it in the
/// order (`before`; more than `above` when the page starts inside a tie).
fn page_positions(above: i64, before: i64, scores: &[i32]) -> Vec<i64> {
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

/// Positions of a page of consecutive entries with `scores` (best first), given how many users
/// score strictly more than the first entry (`above`) and how many hold its score in all
/// (`holding_first`; some may come before the page). Every later score's tie lies wholly
/// inside the page, so the users before the page are `above + holding_first` minus the first
/// score's entries on the page.
pub fn positions_from_head(above: i64, holding_first: i64, scores: &[i32]) -> Vec<i64> {
    let first_on_page = scores.iter().take_while(|s| Some(*s) == scores.first()).count() as i64;
    page_positions(above, above + holding_first - first_on_page, scores)
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
    fn positions_from_the_first_score_alone() {
        // Global order: 50, 40, 40, 40, 30, 20. Pages of three from the top and from inside the tie.
        assert_eq!(positions_from_head(0, 1, &[50, 40, 40]), vec![1, 2, 2]);
        assert_eq!(positions_from_head(1, 3, &[40, 40, 30]), vec![2, 2, 5]);
        assert_eq!(positions_from_head(1, 3, &[40, 30, 20]), vec![2, 5, 6]);
        assert_eq!(positions_from_head(4, 1, &[30, 20]), vec![5, 6]);
        // A page inside one tie needs no count of that tie.
        assert_eq!(positions_from_head(1, 0, &[40, 40]), vec![2, 2]);
        assert!(positions_from_head(0, 0, &[]).is_empty());
    }

    #[test]
    fn empty_page() {
        assert!(page_positions(0, 0, &[]).is_empty());
    }
}
