//! Capped exponential backoff with jitter for reconnects and retries.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            current: initial,
        }
    }

    /// The next delay: doubles up to `max`, with up to 25 % jitter so replicas do not retry in
    /// lockstep.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.current;
        self.current = (self.current * 2).min(self.max);
        let jitter_range = base.as_millis() as u64 / 4;
        let jitter = if jitter_range == 0 {
            0
        } else {
            // Cheap jitter from the clock: no RNG dependency needed for spreading retries.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos() as u64)
                .unwrap_or(0);
            nanos % jitter_range
        };
        base + Duration::from_millis(jitter)
    }

    pub fn reset(&mut self) {
        self.current = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_and_caps() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(500));
        let d1 = b.next_delay();
        assert!(d1 >= Duration::from_millis(100) && d1 < Duration::from_millis(126));
        b.next_delay();
        b.next_delay();
        let d4 = b.next_delay();
        assert!(d4 >= Duration::from_millis(500) && d4 < Duration::from_millis(626));
        b.reset();
        assert!(b.next_delay() < Duration::from_millis(126));
    }
}
