//! One leaderboard's entries in its order (score descending, then id ascending) with rank
//! queries: where an entry stands, how many score more than a score, and the entries from a
//! rank on.
//!
//! Written here because the standard library's `BTreeMap` has no ranks and no well-kept crate
//! offers an order-statistic list at this size and price: 20 bytes an entry, blocks of at most
//! `BLOCK` entries kept in order, so an insert moves at most one block's entries and a rank
//! adds up the lengths of the blocks before (a few thousand additions at a million entries).

use std::cmp::Ordering;

use uuid::Uuid;

/// The most entries one block holds; a full block splits in two.
const BLOCK: usize = 1024;
/// How full a block is when loaded in bulk, leaving room to grow before a split.
const LOAD: usize = BLOCK * 3 / 4;

/// A user on a board.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Entry {
    pub score: i32,
    pub id: Uuid,
}

impl Ord for Entry {
    /// The board's order: higher scores first, ties by id (as the SQL path orders them; a
    /// PostgreSQL uuid compares as its 16 bytes, as `Uuid` does).
    fn cmp(&self, other: &Self) -> Ordering {
        other.score.cmp(&self.score).then(self.id.cmp(&other.id))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Entries of any ordered type, in order (used for boards, and for the users by id).
#[derive(Debug)]
pub struct OrderList<T = Entry> {
    /// Non-empty blocks, each in order, each wholly before the next.
    blocks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for OrderList<T> {
    fn default() -> Self {
        OrderList {
            blocks: Vec::new(),
            len: 0,
        }
    }
}

impl<T: Ord + Copy> OrderList<T> {
    /// A list of `entries` (any order; no two equal).
    pub fn from_entries(mut entries: Vec<T>) -> OrderList<T> {
        entries.sort_unstable();
        let len = entries.len();
        let blocks = entries
            .chunks(LOAD)
            .map(|c| {
                let mut block = Vec::with_capacity(BLOCK);
                block.extend_from_slice(c);
                block
            })
            .collect();
        OrderList { blocks, len }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The block `e` belongs in: the first whose last entry is not before it (the last block
    /// when `e` comes after everything).
    fn block_of(&self, e: &T) -> usize {
        let i = self
            .blocks
            .partition_point(|b| b.last().is_some_and(|last| last < e));
        i.min(self.blocks.len().saturating_sub(1))
    }

    pub fn insert(&mut self, e: T) {
        if self.blocks.is_empty() {
            self.blocks.push(Vec::with_capacity(BLOCK));
        }
        let b = self.block_of(&e);
        let block = &mut self.blocks[b];
        let at = block.partition_point(|x| x < &e);
        if block.get(at) == Some(&e) {
            return;
        }
        block.insert(at, e);
        self.len += 1;
        if block.len() >= BLOCK {
            let upper = block.split_off(BLOCK / 2);
            self.blocks.insert(b + 1, upper);
        }
    }

    /// Removes `e`; false when it was not there.
    pub fn remove(&mut self, e: &T) -> bool {
        if self.blocks.is_empty() {
            return false;
        }
        let b = self.block_of(e);
        let block = &mut self.blocks[b];
        let Ok(at) = block.binary_search(e) else {
            return false;
        };
        block.remove(at);
        self.len -= 1;
        if block.is_empty() {
            self.blocks.remove(b);
        }
        true
    }

    /// How many entries come before `e` in the order (whether or not `e` is on the board).
    pub fn rank(&self, e: &T) -> usize {
        let b = self
            .blocks
            .partition_point(|b| b.last().is_some_and(|last| last < e));
        let before: usize = self.blocks[..b].iter().map(Vec::len).sum();
        before
            + self
                .blocks
                .get(b)
                .map_or(0, |block| block.partition_point(|x| x < e))
    }

    /// The entry equal to `probe` (for types whose order looks at a key only).
    pub fn find(&self, probe: &T) -> Option<T> {
        let b = self.block_of(probe);
        let block = self.blocks.get(b)?;
        block.binary_search(probe).ok().map(|at| block[at])
    }

    /// Up to `n` entries from rank `from` (0: the first) on.
    pub fn range(&self, from: usize, n: usize) -> Vec<T> {
        let mut out = Vec::with_capacity(n.min(self.len.saturating_sub(from)));
        let mut skip = from;
        for block in &self.blocks {
            if out.len() == n {
                break;
            }
            if skip >= block.len() {
                skip -= block.len();
                continue;
            }
            let take = (n - out.len()).min(block.len() - skip);
            out.extend_from_slice(&block[skip..skip + take]);
            skip = 0;
        }
        out
    }

    /// Changes every entry in place; `change` must keep each entry where the order puts it
    /// (fields the order does not look at only).
    pub fn for_each_mut(&mut self, change: impl FnMut(&mut T)) {
        self.blocks.iter_mut().flatten().for_each(change);
    }

    /// Bytes held, for the memory figure in the metrics.
    pub fn bytes(&self) -> usize {
        self.blocks
            .iter()
            .map(|b| b.capacity() * size_of::<T>())
            .sum::<usize>()
            + self.blocks.capacity() * size_of::<Vec<T>>()
    }
}

impl OrderList<Entry> {
    /// How many entries score strictly more than `score`.
    pub fn above(&self, score: i32) -> usize {
        self.rank(&Entry {
            score,
            id: Uuid::nil(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// The same operations on the list and on a plain sorted vector agree, across splits and
    /// emptied blocks.
    #[test]
    fn agrees_with_a_sorted_vector() {
        let mut list = OrderList::from_entries(
            (0..3000)
                .map(|n| Entry {
                    score: (n * 7 % 50) as i32,
                    id: id(n),
                })
                .collect(),
        );
        let mut plain: Vec<Entry> = (0..3000)
            .map(|n| Entry {
                score: (n * 7 % 50) as i32,
                id: id(n),
            })
            .collect();
        plain.sort();
        // A deterministic mix of moves: out at one score, in at another.
        let mut x: u64 = 42;
        for step in 0..20_000u128 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let n = u128::from(x >> 33) % 4000;
            let score = ((x >> 13) % 60) as i32;
            if let Some(at) = plain.iter().position(|e| e.id == id(n)) {
                let old = plain.remove(at);
                assert!(list.remove(&old), "step {step}");
            }
            let e = Entry { score, id: id(n) };
            list.insert(e);
            let at = plain.partition_point(|x| x < &e);
            plain.insert(at, e);
        }
        assert_eq!(list.len(), plain.len());
        assert_eq!(list.range(0, plain.len()), plain);
        for score in [-1, 0, 1, 17, 59, 60, i32::MAX] {
            let above = plain.iter().filter(|e| e.score > score).count();
            assert_eq!(list.above(score), above, "score {score}");
        }
        for (i, e) in plain.iter().enumerate().step_by(97) {
            assert_eq!(list.rank(e), i);
            assert_eq!(list.range(i, 3), plain[i..(i + 3).min(plain.len())]);
        }
        assert!(!list.remove(&Entry {
            score: 1,
            id: id(99_999)
        }));
        assert_eq!(list.range(plain.len() - 1, 10).len(), 1);
        assert!(list.range(plain.len(), 10).is_empty());
    }

    #[test]
    fn ties_go_by_id_and_share_what_is_above() {
        let list = OrderList::from_entries(vec![
            Entry { score: 5, id: id(2) },
            Entry { score: 5, id: id(1) },
            Entry { score: 9, id: id(3) },
        ]);
        let ids: Vec<_> = list.range(0, 3).iter().map(|e| e.id).collect();
        assert_eq!(ids, [id(3), id(1), id(2)]);
        assert_eq!((list.above(9), list.above(5), list.above(4)), (0, 1, 3));
    }
}
