//! The rank ladder: tiers, ranks, and which rank an amount of XP reaches.

use async_graphql::{Enum, SimpleObject};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Tier {
    F,
    E,
    D,
    C,
    B,
    A,
    S,
}

impl Tier {
    pub fn parse(s: &str) -> Option<Tier> {
        Some(match s {
            "F" => Tier::F,
            "E" => Tier::E,
            "D" => Tier::D,
            "C" => Tier::C,
            "B" => Tier::B,
            "A" => Tier::A,
            "S" => Tier::S,
            _ => return None,
        })
    }
}

/// One rank of the ladder (data from the `ranks` table).
#[derive(SimpleObject, Clone, Debug, PartialEq)]
pub struct Rank {
    /// 1..20, ascending with requiredXp.
    pub id: i32,
    pub name: String,
    pub tier: Tier,
    pub stars: i32,
    /// "#rrggbb"
    pub color: String,
    pub required_xp: i32,
    /// Coins paid once, the first time the rank is reached.
    pub reward_coins: i32,
    pub emoji: Option<String>,
}

/// How many ranks there are (the database's `ranks` table checks ids 1 to 20).
pub const RANKS: usize = 20;

/// The whole ladder, ordered by required XP. Loaded once at start: ranks change only by migration.
#[derive(Clone, Debug)]
pub struct RankTable {
    ranks: Vec<Rank>,
}

impl RankTable {
    /// Checks the invariants the rules rely on: ids 1..n in order, thresholds strictly rising
    /// from 0.
    pub fn new(mut ranks: Vec<Rank>) -> Result<RankTable, String> {
        ranks.sort_by_key(|r| r.id);
        if ranks.is_empty() {
            return Err("the ranks table is empty".into());
        }
        if ranks[0].required_xp != 0 {
            return Err("the first rank must require 0 xp".into());
        }
        for (i, r) in ranks.iter().enumerate() {
            if r.id != i as i32 + 1 {
                return Err(format!("rank ids must be 1..{} without gaps", ranks.len()));
            }
        }
        if ranks.windows(2).any(|w| w[1].required_xp <= w[0].required_xp) {
            return Err("rank thresholds must rise strictly with the id".into());
        }
        Ok(RankTable { ranks })
    }

    pub fn all(&self) -> &[Rank] {
        &self.ranks
    }

    pub fn get(&self, id: i32) -> Option<&Rank> {
        usize::try_from(id - 1).ok().and_then(|i| self.ranks.get(i))
    }

    /// The highest rank whose threshold `xp` reaches.
    pub fn for_xp(&self, xp: i32) -> &Rank {
        let reached = self.ranks.partition_point(|r| r.required_xp <= xp);
        &self.ranks[reached.max(1) - 1]
    }

    pub fn next(&self, rank_id: i32) -> Option<&Rank> {
        self.get(rank_id + 1)
    }

    /// Ranks with ids in `(from, to]`, lowest first.
    pub fn between(&self, from: i32, to: i32) -> &[Rank] {
        let lo = from.clamp(0, self.ranks.len() as i32) as usize;
        let hi = to.clamp(0, self.ranks.len() as i32) as usize;
        if hi <= lo { &[] } else { &self.ranks[lo..hi] }
    }
}

#[cfg(test)]
pub(crate) fn sample_table() -> RankTable {
    // The shape of the real ladder, with round numbers.
    let ranks = (1..=20)
        .map(|id| Rank {
            id,
            name: format!("Rank {id}"),
            tier: Tier::F,
            stars: 1,
            color: "#000000".into(),
            required_xp: (id - 1) * 100,
            reward_coins: (id - 1) * 10,
            emoji: None,
        })
        .collect();
    RankTable::new(ranks).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_for_xp_is_the_highest_threshold_reached() {
        let t = sample_table();
        assert_eq!(t.for_xp(0).id, 1);
        assert_eq!(t.for_xp(99).id, 1);
        assert_eq!(t.for_xp(100).id, 2);
        assert_eq!(t.for_xp(1899).id, 19);
        assert_eq!(t.for_xp(1900).id, 20);
        assert_eq!(t.for_xp(i32::MAX).id, 20);
    }

    #[test]
    fn next_rank_is_none_at_the_top() {
        let t = sample_table();
        assert_eq!(t.next(1).map(|r| r.id), Some(2));
        assert_eq!(t.next(20), None);
    }

    #[test]
    fn between_is_half_open() {
        let t = sample_table();
        let ids: Vec<i32> = t.between(1, 4).iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![2, 3, 4]);
        assert!(t.between(4, 4).is_empty());
        assert!(t.between(5, 2).is_empty());
    }

    #[test]
    fn invalid_ladders_are_refused() {
        let mut ranks = sample_table().all().to_vec();
        ranks[3].required_xp = ranks[2].required_xp;
        assert!(RankTable::new(ranks).is_err());
        let mut ranks = sample_table().all().to_vec();
        ranks[0].required_xp = 5;
        assert!(RankTable::new(ranks).is_err());
        assert!(RankTable::new(vec![]).is_err());
    }
}
