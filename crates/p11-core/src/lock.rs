//! The session's operation lock: who may run an operation on a session now.
//!
//! PKCS#11 lets one session run one operation at a time, from its `*Init` to its end;
//! an operation value (a stream, a search) may outlive the call that began it and move
//! between threads. [`OperationLock`] is held by one operation at a time; threads that
//! wait for it sleep in `parking_lot_core`'s parking lot until a release wakes one or
//! hands the lock to it (once per [`FAIR_AFTER`], to the thread that has waited
//! longest). It refuses (rather than waits for ever for) an operation that the asking
//! thread itself used last and that no other thread takes up within [`HANDOVER_GRACE`].
//!
//! Under `cfg(loom)` the atomics are loom's and the parking lot is a queue of loom's
//! (`parking` below, with the same contract): the tests at the end are run as models
//! of every interleaving (`cargo xtask test` runs them).

#[cfg(loom)]
use loom::{
    sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    sync::Mutex,
    thread,
};
#[cfg(not(loom))]
use std::{
    sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    sync::Mutex,
    thread,
};

use std::sync::PoisonError;
use std::time::{Duration, Instant};

/// A session's operation, held by one operation value at a time. `U` is what a holder
/// that could not end its operation leaves for the next to clean up.
///
/// Uncontended, taking and releasing it is one compare-and-swap each.
pub(crate) struct OperationLock<U> {
    /// [`FREE`], [`HELD`] or [`CONTENDED`].
    state: AtomicUsize,
    /// The thread that last used the holding operation (see [`thread_token`]).
    user: AtomicU64,
    /// Where waiting threads sleep.
    parking: parking::Lot,
    /// When the lock was last handed to a waiter, in nanoseconds after `epoch` (0:
    /// never); read and written by the holder's release only.
    handed_at: AtomicU64,
    epoch: Instant,
    /// An operation a holder could not end; the next holder ends it before its own.
    unfinished: Mutex<Option<U>>,
    /// Whether `unfinished` is set, so that the common case takes no lock.
    has_unfinished: AtomicBool,
    /// How long after one hand-over the next may come ([`FAIR_AFTER`]; the models try
    /// both extremes).
    fair_after: Duration,
}

/// The state of a free lock.
const FREE: usize = 0;
/// The state of a held lock no thread (known to) sleep waiting for.
const HELD: usize = 1;
/// The state of a held lock whose release must wake a sleeper.
const CONTENDED: usize = 2;

/// What a release tells the thread it wakes: the lock is now that thread's.
const HANDED_OVER: usize = 1;

/// How long after one hand-over to a waiter the next may come. In between, a release
/// frees the lock and wakes the longest waiter to try for it, and a thread that
/// releases and takes it again keeps it (no thread switch per operation, which costs
/// more than a short operation); at a release after it, the longest waiter is handed
/// the lock. A waiter is served within about its place in the queue times
/// `FAIR_AFTER`. (`parking_lot`'s own mutex hands over every 0.5 ms on average; with 4
/// threads signing, ECDSA P-256 ~0.1 ms, on one SoftHSM session, that rhythm is a
/// thread switch every 5 operations.)
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

impl<U> Default for OperationLock<U> {
    fn default() -> Self {
        OperationLock::with_fair_after(FAIR_AFTER)
    }
}

impl<U> OperationLock<U> {
    /// A free lock that hands itself to a waiter at most once per `fair_after`.
    pub(crate) fn with_fair_after(fair_after: Duration) -> Self {
        OperationLock {
            state: AtomicUsize::new(0),
            user: AtomicU64::new(0),
            parking: parking::Lot::default(),
            handed_at: AtomicU64::new(0),
            epoch: Instant::now(),
            unfinished: Mutex::new(None),
            has_unfinished: AtomicBool::new(false),
            fair_after,
        }
    }

    /// Takes the lock, once free or handed over; `false` when the holder is an
    /// operation this thread used last and no other thread takes it up within
    /// [`HANDOVER_GRACE`].
    #[inline]
    pub(crate) fn acquire(&self) -> bool {
        let me = thread_token();
        if self.try_take() {
            self.user.store(me, Ordering::Relaxed);
            return true;
        }
        // Only this thread writes its own token: reading it means the holder is an
        // operation this thread used last (release clears it before letting go, and the
        // acquire in `try_take` orders that clearing before this read).
        if self.user.load(Ordering::Relaxed) == me {
            return self.wait_for_handover(me);
        }
        self.wait();
        self.user.store(me, Ordering::Relaxed);
        true
    }

    /// The holder is an operation this thread used last: waits while it may have been
    /// handed to another thread that has not used it yet — until it is free, or used
    /// elsewhere (then waits in turn), or the grace is over (`false`).
    #[cold]
    fn wait_for_handover(&self, me: u64) -> bool {
        let deadline = Instant::now() + HANDOVER_GRACE;
        loop {
            if self.try_take() {
                self.user.store(me, Ordering::Relaxed);
                return true;
            }
            if self.user.load(Ordering::Relaxed) != me {
                self.wait();
                self.user.store(me, Ordering::Relaxed);
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            sleep(HANDOVER_POLL);
        }
    }

    /// Takes the lock if it is free; one compare-and-swap when uncontended.
    #[inline]
    fn try_take(&self) -> bool {
        self.state
            .compare_exchange(FREE, HELD, Ordering::Acquire, Ordering::Acquire)
            .is_ok()
    }

    /// Waits until the lock is taken or handed over: a short spin while it is held
    /// with no one asleep, then sleeps until a release wakes this thread (no timed
    /// wake-ups). The protocol is `std`'s futex mutex: a thread that takes the lock
    /// after sleeping, or goes to sleep, marks it [`CONTENDED`], so that its release
    /// wakes the next sleeper; the releaser frees it before waking one.
    #[cold]
    fn wait(&self) {
        let mut state = self.spin();
        if state == FREE && self.try_take() {
            return;
        }
        loop {
            if state != CONTENDED && self.state.swap(CONTENDED, Ordering::Acquire) == FREE {
                return;
            }
            // Sleeps unless a release came in between (then it is no longer
            // contended, and this thread tries again).
            let told = self
                .parking
                .park(|| self.state.load(Ordering::Relaxed) == CONTENDED);
            if told == Some(HANDED_OVER) {
                // The releaser left it held (and contended) for us: ours now, ordered
                // after its operation by the parking lot's queue lock.
                return;
            }
            state = self.spin();
        }
    }

    /// Spins a little while the lock is held with no one asleep; the state then.
    fn spin(&self) -> usize {
        let mut spin = parking::Spin::default();
        loop {
            let state = self.state.load(Ordering::Relaxed);
            if state != HELD || !spin.spin() {
                return state;
            }
        }
    }

    /// Lets go of the lock, from whichever thread holds it now.
    #[inline]
    pub(crate) fn release(&self) {
        // Nobody uses the operation any more: cleared before the lock is, so that a
        // thread that finds the lock taken never reads a user of an earlier holder.
        self.user.store(0, Ordering::Relaxed);
        if self
            .state
            .compare_exchange(HELD, FREE, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.release_contended();
        }
    }

    /// Threads may sleep waiting: when the last hand-over is [`FAIR_AFTER`] ago, hands
    /// the lock to the longest sleeper; otherwise frees it and wakes one sleeper to try
    /// for it with whoever comes first.
    #[cold]
    fn release_contended(&self) {
        if self.hand_over_due() {
            let mut handed = false;
            self.parking.unpark_one(|woken| {
                // Inside the parking lot's queue lock: no panics here.
                if woken {
                    handed = true;
                    return HANDED_OVER;
                }
                self.state.store(FREE, Ordering::Release);
                0
            });
            if handed {
                self.record_hand_over();
            }
            return;
        }
        self.state.store(FREE, Ordering::Release);
        self.parking.unpark_one(|_| 0);
    }

    /// Nanoseconds since the lock was made, never 0.
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// Whether the last hand-over is `fair_after` ago (or there was none). Only the
    /// holder asks, in its release.
    fn hand_over_due(&self) -> bool {
        let last = self.handed_at.load(Ordering::Relaxed);
        let after = u64::try_from(self.fair_after.as_nanos()).unwrap_or(u64::MAX);
        last == 0 || self.now().saturating_sub(last) >= after
    }

    fn record_hand_over(&self) {
        self.handed_at.store(self.now(), Ordering::Relaxed);
    }

    /// Records that the current thread uses the holding operation (so that it gets a
    /// refusal, not a wait, should it ask for the lock again meanwhile).
    pub(crate) fn touch(&self) {
        self.user.store(thread_token(), Ordering::Relaxed);
    }

    /// Leaves `unfinished` for the next holder to end.
    pub(crate) fn leave(&self, unfinished: U) {
        *self
            .unfinished
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(unfinished);
        self.has_unfinished.store(true, Ordering::SeqCst);
    }

    /// What an earlier holder left unfinished, taken: for the new holder to end.
    #[inline]
    pub(crate) fn take_left(&self) -> Option<U> {
        if self.has_unfinished.load(Ordering::SeqCst)
            && self.has_unfinished.swap(false, Ordering::SeqCst)
        {
            // A poisoned mutex still holds a whole value: it is only ever replaced.
            return self
                .unfinished
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
        }
        None
    }
}

/// Sleeps for `time` (a model's yield, where time does not pass).
fn sleep(time: Duration) {
    #[cfg(loom)]
    {
        let _ = time;
        thread::yield_now();
    }
    #[cfg(not(loom))]
    thread::sleep(time);
}

/// Where threads sleep: `parking_lot_core`'s parking lot keyed by the lock's address,
/// or, in a model, a queue of loom's with the same contract.
mod parking {
    /// The sleepers of one lock.
    #[cfg(not(loom))]
    #[derive(Default)]
    pub(super) struct Lot {
        /// Gives the lock a non-zero size, so that its address is its own key.
        _key: u8,
    }

    #[cfg(not(loom))]
    impl Lot {
        fn key(&self) -> usize {
            std::ptr::from_ref(self) as usize
        }

        /// Sleeps, unless `validate` (called under the queue lock) says not to
        /// (`None`), until an `unpark_one` wakes this thread: what it said.
        pub(super) fn park(&self, validate: impl FnOnce() -> bool) -> Option<usize> {
            // SAFETY: the key is this `Lot`'s own address, which nothing else parks on
            // and which outlives every sleeper (each borrows the lock); `validate` only
            // reads an atomic: it neither panics nor calls into the parking lot; no
            // timeout, so `timed_out` is never called.
            let result = unsafe {
                parking_lot_core::park(
                    self.key(),
                    validate,
                    || {},
                    |_, _| {},
                    parking_lot_core::DEFAULT_PARK_TOKEN,
                    None,
                )
            };
            match result {
                parking_lot_core::ParkResult::Unparked(token) => Some(token.0),
                _ => None,
            }
        }

        /// Wakes the longest sleeper, if any: `decide(woken)` runs under the queue lock
        /// and says what the woken thread is told.
        pub(super) fn unpark_one(&self, decide: impl FnOnce(bool) -> usize) {
            // SAFETY: the key is this `Lot`'s own (see `park`); `decide` only touches
            // atomics and reads the clock: it neither panics nor calls into the parking
            // lot.
            unsafe {
                parking_lot_core::unpark_one(self.key(), |result| {
                    parking_lot_core::UnparkToken(decide(result.unparked_threads != 0))
                });
            }
        }
    }

    /// A short spin before sleeping: 100 rounds of the processor's spin hint, no
    /// yields, as `std`'s mutex (`parking_lot_core`'s `SpinWait` yields the processor,
    /// a thread switch on a busy machine).
    #[cfg(not(loom))]
    #[derive(Default)]
    pub(super) struct Spin {
        rounds: u32,
    }

    #[cfg(not(loom))]
    impl Spin {
        /// Spins once more; `false` once spun enough.
        pub(super) fn spin(&mut self) -> bool {
            if self.rounds >= 100 {
                return false;
            }
            self.rounds += 1;
            std::hint::spin_loop();
            true
        }
    }

    /// The sleepers of one lock, in a model: a queue under loom's mutex, each sleeper
    /// yielding until told.
    #[cfg(loom)]
    #[derive(Default)]
    pub(super) struct Lot {
        queue: loom::sync::Mutex<std::collections::VecDeque<loom::sync::Arc<Told>>>,
    }

    /// What a woken sleeper is told (0: not yet).
    #[cfg(loom)]
    type Told = loom::sync::atomic::AtomicUsize;

    /// What a sleeper is told when woken without a word.
    #[cfg(loom)]
    const WOKEN: usize = usize::MAX;

    #[cfg(loom)]
    impl Lot {
        pub(super) fn park(&self, validate: impl FnOnce() -> bool) -> Option<usize> {
            use loom::sync::atomic::Ordering;
            let told = {
                let mut queue = self.queue.lock().unwrap();
                if !validate() {
                    return None;
                }
                let told = loom::sync::Arc::new(Told::new(0));
                queue.push_back(told.clone());
                told
            };
            loop {
                match told.load(Ordering::Acquire) {
                    0 => loom::thread::yield_now(),
                    WOKEN => return Some(0),
                    word => return Some(word),
                }
            }
        }

        pub(super) fn unpark_one(&self, decide: impl FnOnce(bool) -> usize) {
            use loom::sync::atomic::Ordering;
            let mut queue = self.queue.lock().unwrap();
            let woken = queue.pop_front();
            let word = decide(woken.is_some());
            if let Some(told) = woken {
                told.store(if word == 0 { WOKEN } else { word }, Ordering::Release);
            }
        }
    }

    /// No spin in a model (a spin is a yield there).
    #[cfg(loom)]
    #[derive(Default)]
    pub(super) struct Spin;

    #[cfg(loom)]
    impl Spin {
        pub(super) fn spin(&mut self) -> bool {
            false
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    /// Waits until a thread sleeps waiting for `lock`.
    fn until_parked<U>(lock: &OperationLock<U>) {
        while lock.state.load(Ordering::SeqCst) != CONTENDED {
            thread::yield_now();
        }
        // Marked before it sleeps: give it the time to fall asleep.
        thread::sleep(Duration::from_millis(20));
    }

    #[test]
    fn uncontended_it_is_taken_and_given_back_in_one_step_each() {
        let lock = OperationLock::<()>::default();
        assert!(lock.acquire());
        assert_eq!(lock.state.load(Ordering::SeqCst), HELD);
        lock.release();
        assert_eq!(lock.state.load(Ordering::SeqCst), 0);
        assert!(lock.acquire());
    }

    #[test]
    fn the_thread_that_used_the_holder_last_is_refused_not_made_to_wait() {
        let lock = Arc::new(OperationLock::<()>::default());
        assert!(lock.acquire());
        let asked = Instant::now();
        assert!(!lock.acquire(), "waiting here would wait forever");
        assert!(asked.elapsed() >= HANDOVER_GRACE, "after the grace");
        // Another thread is not refused: it waits for the release.
        let other = {
            let lock = lock.clone();
            thread::spawn(move || {
                assert!(lock.acquire(), "waits, then holds");
                lock.release();
            })
        };
        thread::sleep(Duration::from_millis(20));
        assert!(!other.is_finished(), "waiting while held");
        lock.release();
        other.join().unwrap();
    }

    #[test]
    fn a_hold_moved_to_another_thread_is_that_threads_once_it_uses_it() {
        let lock = Arc::new(OperationLock::<()>::default());
        assert!(lock.acquire());
        let (touched, used) = std::sync::mpsc::channel();
        let moved = {
            let lock = lock.clone();
            thread::spawn(move || {
                lock.touch();
                // Now this thread used it last: it is refused, the first thread waits.
                assert!(!lock.acquire());
                touched.send(()).unwrap();
                thread::sleep(Duration::from_millis(20));
                lock.release();
            })
        };
        used.recv().unwrap();
        assert!(lock.acquire(), "a wait, not a refusal, after the hand-over");
        moved.join().unwrap();
        lock.release();
    }

    #[test]
    fn a_hold_sent_to_another_thread_is_waited_for_before_that_thread_uses_it() {
        let lock = Arc::new(OperationLock::<()>::default());
        assert!(lock.acquire());
        // Sent away, not yet used there: this thread is still its last user...
        let receiver = {
            let lock = lock.clone();
            thread::spawn(move || {
                thread::sleep(HANDOVER_GRACE / 5);
                lock.touch();
                thread::sleep(HANDOVER_GRACE * 2);
                lock.release();
            })
        };
        // ...and waits, past the grace, for the receiver to use it and let it go.
        let asked = Instant::now();
        assert!(lock.acquire(), "a wait, not a refusal");
        assert!(asked.elapsed() >= HANDOVER_GRACE * 2, "held until released");
        receiver.join().unwrap();
        lock.release();
    }

    #[test]
    fn a_sleeping_waiter_is_handed_the_lock_once_per_fair_after() {
        let fair_after = Duration::from_millis(300);
        let lock = Arc::new(OperationLock::<()>::with_fair_after(fair_after));
        let handed_at = || lock.handed_at.load(Ordering::SeqCst);
        // A waiter that holds the lock a while once it has it.
        let waiter = || {
            let lock = lock.clone();
            thread::spawn(move || {
                assert!(lock.acquire());
                thread::sleep(Duration::from_millis(50));
                lock.release();
            })
        };
        // The first release with a sleeper hands the lock over: still held when the
        // release returns (freed, the waiter could not have woken and taken it yet).
        assert!(lock.acquire());
        let first = waiter();
        until_parked(&lock);
        lock.release();
        assert_eq!(lock.state.load(Ordering::SeqCst), CONTENDED, "handed over");
        assert_ne!(handed_at(), 0);
        first.join().unwrap();
        // The next, within `fair_after`, frees it for whoever comes first.
        let last = handed_at();
        assert!(lock.acquire());
        let second = waiter();
        until_parked(&lock);
        lock.release();
        assert_eq!(handed_at(), last, "freed, not handed over");
        second.join().unwrap();
        // After `fair_after` a sleeper is handed it again.
        assert!(lock.acquire());
        let third = waiter();
        until_parked(&lock);
        thread::sleep(fair_after);
        lock.release();
        assert_eq!(lock.state.load(Ordering::SeqCst), CONTENDED, "handed over");
        assert_ne!(handed_at(), last);
        third.join().unwrap();
        assert_eq!(lock.state.load(Ordering::SeqCst), 0);
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
                        assert!(lock.acquire());
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                        inside.fetch_sub(1, Ordering::SeqCst);
                        lock.release();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(lock.state.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn what_a_holder_left_unfinished_goes_to_the_next_once() {
        let lock = OperationLock::<&str>::default();
        assert_eq!(lock.take_left(), None);
        assert!(lock.acquire());
        lock.leave("digest");
        lock.release();
        assert!(lock.acquire());
        assert_eq!(lock.take_left(), Some("digest"));
        assert_eq!(lock.take_left(), None);
        lock.release();
    }
}

/// Models of every interleaving: `RUSTFLAGS="--cfg loom" cargo test -p p11-core --lib
/// lock::models` (as `cargo xtask test` runs them).
#[cfg(all(test, loom))]
mod models {
    use super::*;
    use loom::sync::Arc;

    /// The two ways a release to a sleeper goes: handed over at once (`ZERO`), or
    /// freed for anyone to take, barging included (`MAX`: the first release hands over,
    /// none after).
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
        assert!(lock.acquire(), "another thread holds it: a wait");
        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders");
        inside.fetch_sub(1, Ordering::SeqCst);
        lock.release();
    }

    /// Another thread takes the lock once while this one takes it `here` times in a row
    /// (more than once: releasing and taking it again while the other may sleep).
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
                assert_eq!(lock.state.load(Ordering::SeqCst), 0, "free at the end");
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
                assert!(lock.acquire());
                // Dropped unfinished on the other thread: the operation is left for the
                // next holder to cancel, then the hold let go.
                let moved = {
                    let lock = lock.clone();
                    thread::spawn(move || {
                        lock.touch();
                        lock.leave("cancel me");
                        lock.release();
                    })
                };
                // Once the other thread used it, this one waits rather than being
                // refused; after the release it holds it and finds what was left, once.
                while !lock.acquire() {
                    // Refused only while this thread was still the last user.
                    thread::yield_now();
                }
                assert_eq!(lock.take_left(), Some("cancel me"));
                assert_eq!(lock.take_left(), None);
                lock.release();
                moved.join().unwrap();
                assert_eq!(lock.state.load(Ordering::SeqCst), 0);
            });
        }
    }
}
