//! A latency histogram with power-of-two buckets: cheap to record into (one
//! `leading_zeros`), fixed in size, and wide enough for a DRAM request from tens of
//! nanoseconds (a row hit) to milliseconds (a request queued behind a long stream).

/// Buckets: `[0, 1)`, `[1, 2)`, `[2, 4)`, … ns up to `[2^62, 2^63)` ns.
const BUCKETS: usize = 64;

/// Counts of latencies in power-of-two nanosecond buckets, with exact sum and maximum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LatencyHistogram {
    counts: [u64; BUCKETS],
    total: u64,
    sum_ps: u128,
    max_ps: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            counts: [0; BUCKETS],
            total: 0,
            sum_ps: 0,
            max_ps: 0,
        }
    }
}

/// One non-empty bucket: latencies in `[from_ns, to_ns)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bucket {
    /// Inclusive lower bound [ns].
    pub from_ns: u64,
    /// Exclusive upper bound [ns].
    pub to_ns: u64,
    /// Latencies that fell in it.
    pub count: u64,
}

impl LatencyHistogram {
    /// Records one latency of `ps` picoseconds.
    pub fn record_ps(&mut self, ps: u64) {
        self.record_ps_n(ps, 1);
    }

    /// Records `n` latencies of `ps` picoseconds each (as `n` calls of
    /// [`LatencyHistogram::record_ps`] would).
    pub fn record_ps_n(&mut self, ps: u64, n: u64) {
        if n == 0 {
            return;
        }
        let ns = ps / 1000;
        let bucket = if ns == 0 {
            0
        } else {
            (u64::BITS - ns.leading_zeros()) as usize
        };
        self.counts[bucket.min(BUCKETS - 1)] += n;
        self.total += n;
        self.sum_ps += u128::from(ps) * u128::from(n);
        self.max_ps = self.max_ps.max(ps);
    }

    /// Adds every latency of `other`.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.total += other.total;
        self.sum_ps += other.sum_ps;
        self.max_ps = self.max_ps.max(other.max_ps);
    }

    /// Latencies recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The mean [ns], exact to the picosecond; zero when nothing was recorded.
    pub fn mean_ns(&self) -> f64 {
        match self.total {
            0 => 0.0,
            n => (self.sum_ps / u128::from(n)) as f64 / 1000.0,
        }
    }

    /// The largest latency recorded [ns].
    pub fn max_ns(&self) -> f64 {
        self.max_ps as f64 / 1000.0
    }

    /// The non-empty buckets, lowest first.
    pub fn buckets(&self) -> Vec<Bucket> {
        self.counts
            .iter()
            .enumerate()
            .filter(|&(_, &count)| count > 0)
            .map(|(i, &count)| Bucket {
                from_ns: if i == 0 { 0 } else { 1 << (i - 1) },
                to_ns: 1 << i,
                count,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_land_in_power_of_two_buckets() {
        let mut h = LatencyHistogram::default();
        for ps in [500, 1_000, 1_999, 31_000, 32_000, 63_999] {
            h.record_ps(ps);
        }
        let b: Vec<(u64, u64, u64)> = h
            .buckets()
            .iter()
            .map(|b| (b.from_ns, b.to_ns, b.count))
            .collect();
        assert_eq!(b, vec![(0, 1, 1), (1, 2, 2), (16, 32, 1), (32, 64, 2)]);
        assert_eq!(h.count(), 6);
        assert_eq!(h.max_ns(), 63.999);
        // (500 + 1000 + 1999 + 31000 + 32000 + 63999) / 6 = 21749.67 ps, truncated.
        assert_eq!(h.mean_ns(), 21.749);
    }

    #[test]
    fn recording_n_at_once_equals_recording_them_one_by_one() {
        let (mut at_once, mut one_by_one) =
            (LatencyHistogram::default(), LatencyHistogram::default());
        for (ps, n) in [(700, 3), (45_000, 5), (45_000, 0), (2_000_000, 2)] {
            at_once.record_ps_n(ps, n);
            (0..n).for_each(|_| one_by_one.record_ps(ps));
        }
        assert_eq!(at_once, one_by_one);
        assert_eq!(at_once.count(), 10);
    }

    #[test]
    fn merge_adds_counts_and_keeps_the_maximum() {
        let mut a = LatencyHistogram::default();
        a.record_ps(10_000);
        let mut b = LatencyHistogram::default();
        b.record_ps(100_000);
        a.merge(&b);
        assert_eq!(a.count(), 2);
        assert_eq!(a.max_ns(), 100.0);
        assert_eq!(a.mean_ns(), 55.0);
    }
}
