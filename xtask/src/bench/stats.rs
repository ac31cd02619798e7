//! Summaries of repeated measurements: median, p90, p99 and max (nearest-rank percentiles, so
//! every number printed is one that was measured).

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub median: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// `None` for no values.
pub fn summarize(values: &[f64]) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let k = (p * sorted.len() as f64).ceil() as usize;
        sorted[k.clamp(1, sorted.len()) - 1]
    };
    Some(Summary {
        n: sorted.len(),
        median: rank(0.5),
        p90: rank(0.9),
        p99: rank(0.99),
        max: sorted[sorted.len() - 1],
    })
}

/// A number of milliseconds for a table: three decimals below 10, fewer above.
pub fn ms(v: f64) -> String {
    if v.abs() < 10.0 {
        format!("{v:.3}")
    } else if v.abs() < 1000.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).rev().collect();
        let s = summarize(&v).unwrap();
        assert_eq!(
            (s.n, s.median, s.p90, s.p99, s.max),
            (100, 50.0, 90.0, 99.0, 100.0)
        );
        let one = summarize(&[3.0]).unwrap();
        assert_eq!((one.median, one.p99, one.max), (3.0, 3.0, 3.0));
        assert!(summarize(&[]).is_none());
    }
}
