//! The bytes of packages in flight at once. `--jobs` is set for I/O (many small
//! packages keep many writes and syncs going), not for memory: a worker holds its whole
//! package, and re-protecting it takes about 1.2 times its size (a single huge
//! sensitive value more), so many workers on large packages would multiply that. A
//! worker therefore starts a package only when it fits beside those in flight within
//! `--in-flight-bytes`, or when none is in flight (a package larger than the budget
//! goes alone, so it is never refused for its size).

use serde::Serialize;
use std::sync::{Condvar, Mutex, MutexGuard};

/// What was in flight at most during the run (the `--json` summary line shows it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Peak {
    pub limit_bytes: u64,
    pub peak_packages: usize,
    pub peak_bytes: u64,
}

#[derive(Default)]
struct InFlight {
    packages: usize,
    bytes: u64,
    peak: Peak,
}

pub struct Budget {
    limit: u64,
    state: Mutex<InFlight>,
    freed: Condvar,
}

/// A package's share of the budget, given back when dropped.
pub struct Ticket<'a> {
    budget: &'a Budget,
    bytes: u64,
}

impl Budget {
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            state: Mutex::new(InFlight::default()),
            freed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, InFlight> {
        // A worker that panicked holds no count worth keeping from the others.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until a package of `bytes` fits beside those in flight, or none is in
    /// flight, and counts it in. Never waits for ever: every package in flight ends.
    pub fn admit(&self, bytes: u64) -> Ticket<'_> {
        let mut state = self.lock();
        while state.packages > 0 && state.bytes.saturating_add(bytes) > self.limit {
            state = self
                .freed
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        state.packages += 1;
        state.bytes += bytes;
        let (packages, bytes_now) = (state.packages, state.bytes);
        let peak = &mut state.peak;
        peak.peak_packages = peak.peak_packages.max(packages);
        peak.peak_bytes = peak.peak_bytes.max(bytes_now);
        Ticket {
            budget: self,
            bytes,
        }
    }

    pub fn peak(&self) -> Peak {
        Peak {
            limit_bytes: self.limit,
            ..self.lock().peak
        }
    }

    fn release(&self, bytes: u64) {
        let mut state = self.lock();
        state.packages -= 1;
        state.bytes -= bytes;
        drop(state);
        self.freed.notify_all();
    }
}

impl Ticket<'_> {
    /// The package's real size, once read (its listed size may be unknown, a store's
    /// listing has none, or out of date). A larger package is admitted again as a new
    /// one: waiting while holding a share could leave two workers each waiting for
    /// the other's.
    pub fn resize(&mut self, bytes: u64) {
        if bytes <= self.bytes {
            let mut state = self.budget.lock();
            state.bytes -= self.bytes - bytes;
            self.bytes = bytes;
            drop(state);
            self.budget.freed.notify_all();
            return;
        }
        self.budget.release(self.bytes);
        self.bytes = 0;
        let again = self.budget.admit(bytes);
        self.bytes = again.bytes;
        std::mem::forget(again);
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.budget.release(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two packages that do not fit together never are in flight together; one
    /// larger than the budget goes alone; small ones share it.
    #[test]
    fn packages_that_do_not_fit_wait_for_each_other() {
        let budget = Budget::new(100);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for size in [60, 250, 10, 60] {
                        let _t = budget.admit(size);
                        let state = budget.lock();
                        assert!(
                            state.packages == 1 || state.bytes <= 100,
                            "{} package(s), {} bytes",
                            state.packages,
                            state.bytes
                        );
                        drop(state);
                        std::thread::yield_now();
                    }
                });
            }
        });
        let peak = budget.peak();
        assert!(peak.peak_bytes <= 250, "{peak:?}");
        let state = budget.lock();
        assert_eq!((state.packages, state.bytes), (0, 0));
    }

    #[test]
    fn a_ticket_grows_by_admission_again() {
        let budget = Budget::new(100);
        let mut a = budget.admit(0);
        a.resize(80);
        assert_eq!(budget.peak().peak_bytes, 80);
        a.resize(30);
        let b = budget.admit(70);
        assert_eq!(budget.peak().peak_packages, 2);
        drop((a, b));
        let state = budget.lock();
        assert_eq!((state.packages, state.bytes), (0, 0));
    }
}
