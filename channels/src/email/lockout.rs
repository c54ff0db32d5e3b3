//! Pacing logins after the server rejected the credentials. IMAP servers (and the directories
//! behind them) lock an account after a run of failed logins, and a gateway retrying every few
//! seconds would lock its own mailbox, and with it every human using that account. So after a
//! rejection the channel waits 30 s before the next login, doubling up to 5 min, and says so in
//! the error (hence in /readyz). A successful login resets the pace.
//!
//! The channel enforces the wait itself, at the start of its next `receive` (which shutdown
//! interrupts), so it holds whatever backoff the caller uses; `ChannelError::retry_floor`
//! tells the caller how long, so it need not call in early.

use std::time::Duration;

use tokio::time::Instant;

/// The wait after the first rejected login.
pub const AUTH_RETRY_FIRST: Duration = Duration::from_secs(30);
/// The longest wait between logins.
pub const AUTH_RETRY_MAX: Duration = Duration::from_secs(300);

#[derive(Debug)]
pub(crate) struct LoginPace {
    first: Duration,
    max: Duration,
    /// Rejected logins in a row.
    rejections: u32,
    /// No login before this.
    not_before: Option<Instant>,
}

impl LoginPace {
    pub(crate) fn new(first: Duration, max: Duration) -> Self {
        LoginPace {
            first,
            max: max.max(first),
            rejections: 0,
            not_before: None,
        }
    }

    /// Waits until the next login is allowed (at once when none was rejected).
    pub(crate) async fn wait(&self) {
        if let Some(at) = self.not_before {
            tokio::time::sleep_until(at).await;
        }
    }

    /// Records a rejected login; returns how long until the next one.
    pub(crate) fn rejected(&mut self) -> Duration {
        self.rejections = self.rejections.saturating_add(1);
        let delay = self.delay(self.rejections);
        self.not_before = Some(Instant::now() + delay);
        delay
    }

    /// Records a successful login.
    pub(crate) fn accepted(&mut self) {
        self.rejections = 0;
        self.not_before = None;
    }

    fn delay(&self, rejections: u32) -> Duration {
        let doublings = rejections.saturating_sub(1).min(16);
        self.first.saturating_mul(1 << doublings).min(self.max)
    }
}

impl Default for LoginPace {
    fn default() -> Self {
        LoginPace::new(AUTH_RETRY_FIRST, AUTH_RETRY_MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_thirty_seconds_to_five_minutes_and_resets() {
        let mut pace = LoginPace::default();
        let delays: Vec<u64> = (0..6).map(|_| pace.rejected().as_secs()).collect();
        assert_eq!(delays, [30, 60, 120, 240, 300, 300]);
        pace.accepted();
        assert_eq!(pace.rejected(), Duration::from_secs(30));
    }

    #[tokio::test]
    async fn waits_out_the_pause() {
        let mut pace = LoginPace::new(Duration::from_millis(80), Duration::from_secs(1));
        let start = Instant::now();
        pace.wait().await;
        assert!(start.elapsed() < Duration::from_millis(80));
        pace.rejected();
        pace.wait().await;
        assert!(start.elapsed() >= Duration::from_millis(80));
    }
}
