//! The session's operation lock: who may run an operation on a session now.
//!
//! PKCS#11 lets one session run one operation at a time, from its `*Init` to its end;
//! an operation value (a stream, a search) may outlive the call that began it and move
//! between threads. [`OperationLock`] is held by one operation at a time through a
//! ticket, handed to waiters in the order they came once the first has waited
//! [`FAIR_AFTER`], and refuses (rather than waits for ever for) an operation that the
//! asking thread itself used last and that no other thread takes up within
//! [`HANDOVER_GRACE`].
//!
//! Built on `std`'s primitives, or on `loom`'s under `cfg(loom)`, where the tests at the
//! end are run as models of every interleaving (`cargo xtask test` runs them).

#[cfg(loom)]
use loom::{
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    sync::{Mutex, MutexGuard},
    thread::{self, Thread},
};
#[cfg(not(loom))]
use std::{
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    sync::{Mutex, MutexGuard},
    thread::{self, Thread},
};

use std::collections::VecDeque;
use std::sync::PoisonError;
use std::time::{Duration, Instant};

/// A session's operation, held by one operation value at a time and handed to waiters
/// in the order they came (a ticket per holder, a queue of parked threads). `U` is what
/// a holder that could not end its operation leaves for the next to clean up.
///
/// Uncontended, taking and releasing it is one compare-and-swap each.
pub(crate) struct OperationLock<U> {
    /// The holder's ticket, 0 when free; [`WAITERS`] set while threads queue.
    holder: AtomicU64,
    /// The thread that last used the holding operation (see [`thread_token`]).
    user: AtomicU64,
    queue: Mutex<VecDeque<Waiter>>,
    /// An operation a holder could not end; the next holder ends it before its own.
    unfinished: Mutex<Option<U>>,
    /// Whether `unfinished` is set, so that the common case takes no lock.
    has_unfinished: AtomicBool,
    /// How long the first waiter waits before the lock is handed to it ([`FAIR_AFTER`];
    /// the models try both extremes).
    fair_after: Duration,
}

/// A thread waiting for the lock.
struct Waiter {
    ticket: u64,
    thread: Thread,
    since: Instant,
}

/// The holder word's flag for queued waiters.
const WAITERS: u64 = 1 << 63;

/// How often a waiter looks for a free lock before it sleeps (none in a model, where a
/// spin is a yield).
const SPIN_ROUNDS: u32 = if cfg!(loom) { 0 } else { 64 };

/// How long the first waiter may wait before the lock is handed to it directly. Until
/// then a thread that releases and takes the lock again keeps it (no switch per
/// operation, which would cost more than a short operation itself); after it, the
/// waiters are served in the order they came. 5 ms: with 4 threads signing (ECDSA
/// P-256, ~0.1 ms) on one SoftHSM session, 0.5 ms cost 1.2–1.3× the CPU of a plain
/// `Mutex` around the raw calls, 5 ms 1.09–1.18×, 50 ms 0.99× (the operations bench);
/// a waiter is still served within a few operations of its turn.
pub(crate) const FAIR_AFTER: Duration = Duration::from_millis(5);

/// How long a thread that used the holding operation last waits for another thread to
/// take it up before it is refused. An operation value moves between threads without a
/// word (a stream sent to a worker): until the receiver first uses it, the sender is its
/// last user, and waiting is right; an operation the asking thread still holds itself
/// would be waited for for ever. (None in a model, where time does not pass.)
pub(crate) const HANDOVER_GRACE: Duration = if cfg!(loom) {
    Duration::ZERO
} else {
    Duration::from_millis(250)
};

/// How often a thread within [`HANDOVER_GRACE`] looks again.
const HANDOVER_POLL: Duration = Duration::from_millis(1);

/// The holder's ticket when it took the lock without queueing.
pub(crate) const UNQUEUED: u64 = 1;

/// A number for the current thread, unique in the process, never 0. (`ThreadId` has no
/// stable number, and `thread::current()` costs a reference count.)
pub(crate) fn thread_token() -> u64 {
    // Only unique numbers: no ordering with anything else is needed.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    #[cfg(loom)]
    loom::thread_local!(static TOKEN: u64 = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    #[cfg(not(loom))]
    thread_local!(static TOKEN: u64 = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    TOKEN.with(|token| *token)
}

/// A ticket for a queued waiter: unique, never 0 or [`UNQUEUED`].
fn next_ticket() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(UNQUEUED + 1);
    loop {
        let ticket = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) & !WAITERS;
        if ticket > UNQUEUED {
            return ticket;
        }
    }
}

/// A poisoned mutex still guards consistent data here: every critical section only
/// pushes, pops or replaces whole values.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<U> Default for OperationLock<U> {
    fn default() -> Self {
        OperationLock::with_fair_after(FAIR_AFTER)
    }
}

impl<U> OperationLock<U> {
    /// A free lock that hands itself to a waiter after `fair_after`.
    pub(crate) fn with_fair_after(fair_after: Duration) -> Self {
        OperationLock {
            holder: AtomicU64::new(0),
            user: AtomicU64::new(0),
            queue: Mutex::new(VecDeque::new()),
            unfinished: Mutex::new(None),
            has_unfinished: AtomicBool::new(false),
            fair_after,
        }
    }

    /// Takes the lock: its ticket, once free or handed over; `None` when the holder is
    /// an operation this thread used last and no other thread takes it up within
    /// [`HANDOVER_GRACE`].
    #[inline]
    pub(crate) fn acquire(&self) -> Option<u64> {
        let me = thread_token();
        if self.try_take(UNQUEUED) {
            self.user.store(me, Ordering::Relaxed);
            return Some(UNQUEUED);
        }
        // Only this thread writes its own token: reading it means the holder is an
        // operation this thread used last (release clears it before letting go, and the
        // acquire in `try_take` orders that clearing before this read).
        if self.user.load(Ordering::Relaxed) == me {
            return self.wait_for_handover(me);
        }
        Some(self.wait(me))
    }

    /// The holder is an operation this thread used last: waits while it may have been
    /// handed to another thread that has not used it yet — until it is free, or used
    /// elsewhere (then waits in turn), or the grace is over (`None`).
    #[cold]
    fn wait_for_handover(&self, me: u64) -> Option<u64> {
        let deadline = Instant::now() + HANDOVER_GRACE;
        loop {
            if self.try_take(UNQUEUED) {
                self.user.store(me, Ordering::Relaxed);
                return Some(UNQUEUED);
            }
            if self.user.load(Ordering::Relaxed) != me {
                return Some(self.wait(me));
            }
            if Instant::now() >= deadline {
                return None;
            }
            park_timeout(HANDOVER_POLL);
        }
    }

    /// Takes the lock with `ticket` if it is free (waiters or not); one
    /// compare-and-swap when uncontended.
    #[inline]
    fn try_take(&self, ticket: u64) -> bool {
        let mut current = self.holder.load(Ordering::Acquire);
        while current & !WAITERS == 0 {
            match self.holder.compare_exchange_weak(
                current,
                ticket | (current & WAITERS),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(now) => current = now,
            }
        }
        false
    }

    /// Queues for the lock and waits until it is free or handed over.
    #[cold]
    fn wait(&self, me: u64) -> u64 {
        let ticket = next_ticket();
        {
            let mut queue = lock(&self.queue);
            if self.try_take(ticket) {
                self.user.store(me, Ordering::Relaxed);
                return ticket;
            }
            self.holder.fetch_or(WAITERS, Ordering::AcqRel);
            queue.push_back(Waiter {
                ticket,
                thread: thread::current(),
                since: Instant::now(),
            });
        }
        let mut round = 0;
        loop {
            let current = self.holder.load(Ordering::Acquire);
            if current & !WAITERS == ticket {
                break; // handed over (and taken off the queue) by the releaser
            }
            if current & !WAITERS == 0 && self.take_queued(ticket) {
                break;
            }
            if round < SPIN_ROUNDS {
                round += 1;
                std::hint::spin_loop();
            } else {
                // Until a release wakes us: handing the lock over, or freeing it for us
                // to try (see `release_to_waiters`). No timed wake-ups.
                park();
            }
        }
        self.user.store(me, Ordering::Relaxed);
        ticket
    }

    /// A queued waiter takes the free lock and leaves the queue.
    fn take_queued(&self, ticket: u64) -> bool {
        let mut queue = lock(&self.queue);
        if !self.try_take(ticket) {
            // Taken by another, or handed to us meanwhile (then we are off the queue).
            return self.holder.load(Ordering::Acquire) & !WAITERS == ticket;
        }
        queue.retain(|w| w.ticket != ticket);
        if queue.is_empty() {
            // Ours now: no one else changes the word while we hold the queue.
            self.holder.store(ticket, Ordering::Release);
        }
        true
    }

    /// Lets go of the lock taken with `ticket`, from whichever thread holds it now.
    #[inline]
    pub(crate) fn release(&self, ticket: u64) {
        // Nobody uses the operation any more: cleared before the lock is, so that a
        // thread that finds the lock taken never reads a user of an earlier holder.
        self.user.store(0, Ordering::Relaxed);
        if self
            .holder
            .compare_exchange(ticket, 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.release_to_waiters();
        }
    }

    /// Threads are queued: hands the lock to the first when it has waited long enough,
    /// otherwise frees it for whoever comes first.
    #[cold]
    fn release_to_waiters(&self) {
        let mut queue = lock(&self.queue);
        let due = queue
            .front()
            .is_some_and(|w| w.since.elapsed() >= self.fair_after);
        if due {
            if let Some(next) = queue.pop_front() {
                let waiters = if queue.is_empty() { 0 } else { WAITERS };
                self.holder.store(next.ticket | waiters, Ordering::Release);
                next.thread.unpark();
                return;
            }
        }
        let waiters = if queue.is_empty() { 0 } else { WAITERS };
        self.holder.store(waiters, Ordering::Release);
        // Free for whoever comes first: the first waiter is woken to try, and, once it
        // has waited long enough, a later release hands the lock to it.
        if let Some(first) = queue.front() {
            first.thread.unpark();
        }
    }

    /// Records that the current thread uses the holding operation (so that it gets a
    /// refusal, not a wait, should it ask for the lock again meanwhile).
    pub(crate) fn touch(&self) {
        self.user.store(thread_token(), Ordering::Relaxed);
    }

    /// Leaves `unfinished` for the next holder to end.
    pub(crate) fn leave(&self, unfinished: U) {
        *lock(&self.unfinished) = Some(unfinished);
        self.has_unfinished.store(true, Ordering::SeqCst);
    }

    /// What an earlier holder left unfinished, taken: for the new holder to end.
    #[inline]
    pub(crate) fn take_left(&self) -> Option<U> {
        if self.has_unfinished.load(Ordering::SeqCst)
            && self.has_unfinished.swap(false, Ordering::SeqCst)
        {
            return lock(&self.unfinished).take();
        }
        None
    }
}

/// Sleeps until unparked (a model's yield: a spurious wake, which `park` allows anyway).
fn park() {
    #[cfg(loom)]
    thread::yield_now();
    #[cfg(not(loom))]
    thread::park();
}

/// Sleeps until unparked or `timeout` passes (a model's yield).
fn park_timeout(timeout: Duration) {
    #[cfg(loom)]
    {
        let _ = timeout;
        thread::yield_now();
    }
    #[cfg(not(loom))]
    thread::park_timeout(timeout);
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::{Arc, Barrier};

    #[test]
    fn uncontended_it_is_taken_and_given_back_unqueued() {
        let lock = OperationLock::<()>::default();
        let ticket = lock.acquire();
        assert_eq!(ticket, Some(UNQUEUED));
        assert_eq!(lock.holder.load(Ordering::SeqCst), UNQUEUED);
        lock.release(UNQUEUED);
        assert_eq!(lock.holder.load(Ordering::SeqCst), 0);
        assert_eq!(lock.acquire(), Some(UNQUEUED));
    }

    #[test]
    fn the_thread_that_used_the_holder_last_is_refused_not_made_to_wait() {
        let lock = Arc::new(OperationLock::<()>::default());
        let ticket = lock.acquire().unwrap();
        let asked = Instant::now();
        assert_eq!(lock.acquire(), None, "waiting here would wait forever");
        assert!(asked.elapsed() >= HANDOVER_GRACE, "after the grace");
        // Another thread is not refused: it waits for the release.
        let other = {
            let lock = lock.clone();
            thread::spawn(move || {
                let ticket = lock.acquire().expect("waits, then holds");
                lock.release(ticket);
            })
        };
        thread::sleep(Duration::from_millis(20));
        assert!(!other.is_finished(), "waiting while held");
        lock.release(ticket);
        other.join().unwrap();
    }

    #[test]
    fn a_hold_moved_to_another_thread_is_that_threads_once_it_uses_it() {
        let lock = Arc::new(OperationLock::<()>::default());
        let ticket = lock.acquire().unwrap();
        let (touched, used) = std::sync::mpsc::channel();
        let moved = {
            let lock = lock.clone();
            thread::spawn(move || {
                lock.touch();
                // Now this thread used it last: it is refused, the first thread waits.
                assert_eq!(lock.acquire(), None);
                touched.send(()).unwrap();
                thread::sleep(Duration::from_millis(20));
                lock.release(ticket);
            })
        };
        used.recv().unwrap();
        let again = lock
            .acquire()
            .expect("a wait, not a refusal, after the hand-over");
        moved.join().unwrap();
        lock.release(again);
    }

    #[test]
    fn a_hold_sent_to_another_thread_is_waited_for_before_that_thread_uses_it() {
        let lock = Arc::new(OperationLock::<()>::default());
        let ticket = lock.acquire().unwrap();
        // Sent away, not yet used there: this thread is still its last user...
        let receiver = {
            let lock = lock.clone();
            thread::spawn(move || {
                thread::sleep(HANDOVER_GRACE / 5);
                lock.touch();
                thread::sleep(HANDOVER_GRACE * 2);
                lock.release(ticket);
            })
        };
        // ...and waits, past the grace, for the receiver to use it and let it go.
        let asked = Instant::now();
        let again = lock.acquire().expect("a wait, not a refusal");
        assert!(asked.elapsed() >= HANDOVER_GRACE * 2, "held until released");
        receiver.join().unwrap();
        lock.release(again);
    }

    #[test]
    fn a_waiter_that_has_waited_long_enough_is_handed_the_lock() {
        let lock = Arc::new(OperationLock::<()>::with_fair_after(Duration::ZERO));
        let ticket = lock.acquire().unwrap();
        let waiter = {
            let lock = lock.clone();
            thread::spawn(move || {
                let ticket = lock.acquire().unwrap();
                assert_ne!(ticket, UNQUEUED, "queued");
                ticket
            })
        };
        // Until the waiter is queued, the holder word has no waiter flag.
        while lock.holder.load(Ordering::SeqCst) & WAITERS == 0 {
            thread::yield_now();
        }
        lock.release(ticket);
        let handed = lock.holder.load(Ordering::SeqCst);
        assert_ne!(handed, 0, "handed over, not freed");
        // The releaser cannot take it back while it is the waiter's.
        assert!(!lock.try_take(UNQUEUED));
        let ticket = waiter.join().unwrap();
        assert_eq!(handed, ticket);
        lock.release(ticket);
    }

    #[test]
    fn before_it_is_due_a_releaser_may_take_the_lock_again() {
        // A queued waiter that came just now (built here, so that no thread races the
        // release): the release frees the lock rather than handing it over...
        let lock = OperationLock::<()>::with_fair_after(Duration::from_secs(3600));
        assert_eq!(lock.acquire(), Some(UNQUEUED));
        lock.holder.fetch_or(WAITERS, Ordering::SeqCst);
        super::lock(&lock.queue).push_back(Waiter {
            ticket: 77,
            thread: thread::current(),
            since: Instant::now(),
        });
        lock.release(UNQUEUED);
        assert_eq!(
            lock.holder.load(Ordering::SeqCst),
            WAITERS,
            "free, waiter queued"
        );
        // ...so the releaser takes it again at once, and the waiter still waits.
        assert_eq!(lock.acquire(), Some(UNQUEUED));
        assert_eq!(super::lock(&lock.queue).len(), 1);
        // Once due, the next release hands it to the waiter.
        let lock = OperationLock {
            fair_after: Duration::ZERO,
            ..lock
        };
        lock.release(UNQUEUED);
        assert_eq!(lock.holder.load(Ordering::SeqCst), 77, "handed over");
        assert!(super::lock(&lock.queue).is_empty());
    }

    #[test]
    fn many_threads_never_hold_it_at_once() {
        let lock = Arc::new(OperationLock::<()>::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let start = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (lock, inside, start) = (lock.clone(), inside.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    for _ in 0..2000 {
                        let ticket = lock.acquire().unwrap();
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                        inside.fetch_sub(1, Ordering::SeqCst);
                        lock.release(ticket);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(lock.holder.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn what_a_holder_left_unfinished_goes_to_the_next_once() {
        let lock = OperationLock::<&str>::default();
        assert_eq!(lock.take_left(), None);
        let ticket = lock.acquire().unwrap();
        lock.leave("digest");
        lock.release(ticket);
        let ticket = lock.acquire().unwrap();
        assert_eq!(lock.take_left(), Some("digest"));
        assert_eq!(lock.take_left(), None);
        lock.release(ticket);
    }
}

/// Models of every interleaving: `RUSTFLAGS="--cfg loom" cargo test -p p11-core --lib
/// lock::models` (as `cargo xtask test` runs them).
#[cfg(all(test, loom))]
mod models {
    use super::*;
    use loom::sync::atomic::AtomicUsize;
    use loom::sync::Arc;

    /// The two ways a release goes: handed to the first waiter at once (`ZERO`), or
    /// freed for anyone to take, barging included (`MAX`).
    const FAIRNESS: [Duration; 2] = [Duration::ZERO, Duration::MAX];

    /// Explores every interleaving with up to three preemptions: loom's advice, and what
    /// keeps the barging model within seconds (unbounded it runs for hours).
    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(f);
    }

    /// Holds the lock inside, checking no one else does.
    fn critical(lock: &OperationLock<()>, inside: &AtomicUsize) {
        let ticket = lock.acquire().expect("another thread holds it: a wait");
        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders");
        inside.fetch_sub(1, Ordering::SeqCst);
        lock.release(ticket);
    }

    /// Another thread takes the lock once while this one takes it `here` times in a row
    /// (more than once: releasing and taking it again while the other may be queued).
    fn contend(here: usize) {
        for fair_after in FAIRNESS {
            model(move || {
                let lock = Arc::new(OperationLock::<()>::with_fair_after(fair_after));
                let inside = Arc::new(AtomicUsize::new(0));
                let other = {
                    let (lock, inside) = (lock.clone(), inside.clone());
                    thread::spawn(move || critical(&lock, &inside))
                };
                for _ in 0..here {
                    critical(&lock, &inside);
                }
                other.join().unwrap();
                assert_eq!(lock.holder.load(Ordering::SeqCst), 0, "free at the end");
            });
        }
    }

    #[test]
    fn two_threads_hold_it_one_at_a_time_and_both_get_it() {
        contend(1);
    }

    #[test]
    fn a_releaser_that_takes_it_again_does_not_shut_a_waiter_out() {
        contend(2);
    }

    #[test]
    fn a_hold_moved_to_another_thread_is_released_there() {
        for fair_after in FAIRNESS {
            model(move || {
                let lock = Arc::new(OperationLock::<&str>::with_fair_after(fair_after));
                let ticket = lock.acquire().unwrap();
                // Dropped unfinished on the other thread: the operation is left for the
                // next holder to cancel, then the hold let go.
                let moved = {
                    let lock = lock.clone();
                    thread::spawn(move || {
                        lock.touch();
                        lock.leave("cancel me");
                        lock.release(ticket);
                    })
                };
                // Once the other thread used it, this one waits rather than being
                // refused; after the release it holds it and finds what was left, once.
                let again = loop {
                    if let Some(again) = lock.acquire() {
                        break again;
                    }
                    // Refused only while this thread was still the last user.
                    thread::yield_now();
                };
                assert_eq!(lock.take_left(), Some("cancel me"));
                assert_eq!(lock.take_left(), None);
                lock.release(again);
                moved.join().unwrap();
                assert_eq!(lock.holder.load(Ordering::SeqCst), 0);
            });
        }
    }
}
