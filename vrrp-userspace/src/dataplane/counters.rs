//! A snapshot of the program's per-CPU counters, summed over CPUs.
use std::ops::Index;

use vrrp_common::{COUNTER_SLOTS, Counter};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    values: [u64; COUNTER_SLOTS as usize],
}

impl Counters {
    pub(crate) fn from_values(values: [u64; COUNTER_SLOTS as usize]) -> Counters {
        Counters { values }
    }

    pub fn get(&self, counter: Counter) -> u64 {
        self.values[counter as usize]
    }

    /// Every counter with its value, in `Counter` order.
    pub fn iter(&self) -> impl Iterator<Item = (Counter, u64)> + '_ {
        Counter::ALL.iter().map(|&c| (c, self.get(c)))
    }

    /// `self - earlier` per counter (saturating), for "what did this run count".
    pub fn since(&self, earlier: &Counters) -> Counters {
        let mut values = [0; COUNTER_SLOTS as usize];
        for (i, v) in values.iter_mut().enumerate() {
            *v = self.values[i].saturating_sub(earlier.values[i]);
        }
        Counters { values }
    }
}

impl Index<Counter> for Counters {
    type Output = u64;
    fn index(&self, counter: Counter) -> &u64 {
        &self.values[counter as usize]
    }
}
