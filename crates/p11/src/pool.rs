//! Pooled sessions for servers: many threads working at once, each in a session of its
//! own, on one token or across several (an HSM cluster), with failover.
//!
//! One PKCS #11 session runs one operation at a time, so threads sharing a session wait
//! for each other. A [`Pool`] keeps logged-in sessions on each of its tokens and hands one
//! to each caller; keys are found once and used through whichever session a caller got
//! ([`PoolKey`]), since object handles belong to the application rather than to the
//! session that found them. With several tokens the pool takes them in turn, and when one
//! answers `CKR_DEVICE_REMOVED` or `CKR_TOKEN_NOT_PRESENT` it rests that token for a while
//! and runs the call again on the next.
//!
//! A token on another machine is reached through p11-kit's RPC (`p11-kit server` next to
//! the token, its client module in the application); `docs/remote-hsm.md` in the
//! repository shows the set-up, which `cargo xtask test` runs the pool through.
//!
//! The sessions are kept by [`r2d2`]: PKCS #11 calls block, and r2d2 is the blocking pool
//! (sizes, wait timeouts, a health check on checkout, background refills), where deadpool
//! would put an async runtime under every synchronous call. A session's health is not
//! checked on checkout (a round trip per call, a network's through an RPC) but when a
//! call through [`Pool::run`] or [`PoolKey::run`] fails: a session the module no longer
//! knows, or logged out behind the pool's back, is dropped and the call run once more in
//! a new one; while sessions keep being lost, each new one waits longer (2 ms, doubling
//! up to 0.5 s), so a sick token is not flooded with sessions.
//!
//! ```no_run
//! use p11::pool::Pool;
//! use p11::{KeyQuery, KeyType, Library, OpenOptions, PrivateKey, Sign, TokenFilter};
//!
//! let library = Library::load("/usr/lib/softhsm/libsofthsm2.so")?;
//! let token = library.get_token(&TokenFilter::new().label("TEST"))?;
//! let pool = Pool::builder()
//!     .max_size(8)
//!     .token(&token, OpenOptions::new().user_pin("1234"))
//!     .build()?;
//! let key = pool.key::<PrivateKey>(KeyQuery::new().label("signer").key_type(KeyType::EC));
//! // From any number of threads:
//! let signature = key.run(|key| key.sign(b"hello"))?;
//! # Ok::<(), p11::Error>(())
//! ```

use crate::keys::KeyKind;
use crate::library::{OpenOptions, Token};
use crate::session::{KeyQuery, Session};
use p11_core::{Error, Login, Result, SessionState};
use scheduled_thread_pool::ScheduledThreadPool;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// Opens sessions on one token as its options say, logged in when they carry a PIN: the
/// r2d2 connection manager behind a [`Pool`]'s token.
#[derive(Debug)]
struct SessionManager {
    token: Token,
    options: OpenOptions,
    /// Sessions found lost in a row (see [`Pool::run`]): while they keep being lost, each
    /// new session waits longer to be opened.
    lost: Arc<AtomicU32>,
}

impl SessionManager {
    fn new(token: Token, options: OpenOptions) -> SessionManager {
        SessionManager {
            token,
            options,
            lost: Arc::new(AtomicU32::new(0)),
        }
    }
}

/// Whether `session` is still usable: the module knows it, and it is still logged in
/// when the pool opens its sessions logged in (another part of the application, or a
/// caller, may have logged the token out).
fn health(session: &Session, logs_in: bool) -> Result<()> {
    let state = session.core().info()?.state;
    let public = matches!(
        state,
        SessionState::RO_PUBLIC_SESSION | SessionState::RW_PUBLIC_SESSION
    );
    if public && logs_in {
        return Err(Error::NoSession(None));
    }
    Ok(())
}

/// How long a new session waits after `lost` sessions in a row: 2 ms doubling, at most
/// [`MAX_BACK_OFF`].
fn back_off(lost: u32) -> Duration {
    Duration::from_millis(1 << lost.min(10)).min(MAX_BACK_OFF)
}

/// The longest wait before a new session, while sessions keep being lost.
const MAX_BACK_OFF: Duration = Duration::from_millis(500);

/// A pooled session, and whether it was found lost: r2d2 then drops it when it comes
/// back (closing it once keys made through it are gone too), rather than lend it again.
#[derive(Debug)]
struct Pooled {
    session: Session,
    lost: AtomicBool,
}

impl Pooled {
    /// Marks it lost, to be dropped when it comes back.
    fn lose(&self, member: &Member) {
        member.lost.fetch_add(1, Ordering::Relaxed);
        self.lost.store(true, Ordering::Relaxed);
    }
}

impl r2d2::ManageConnection for SessionManager {
    type Connection = Pooled;
    type Error = Error;

    fn connect(&self) -> Result<Pooled> {
        let lost = self.lost.load(Ordering::Relaxed);
        if lost > 0 {
            std::thread::sleep(back_off(lost));
        }
        Ok(Pooled {
            session: self.token.open(&self.options)?,
            lost: AtomicBool::new(false),
        })
    }

    /// Not run on checkout (a round trip per call, through an RPC a network's): a
    /// session's health is checked when a call in it fails.
    fn is_valid(&self, pooled: &mut Pooled) -> Result<()> {
        health(&pooled.session, self.options.logs_in())
    }

    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        pooled.lost.load(Ordering::Relaxed) || pooled.session.core().is_closed()
    }
}

/// Sessions on one or more tokens, handed out one per caller (see the [module
/// docs](self)). Cloning is cheap: clones share the sessions.
#[derive(Clone, Debug)]
pub struct Pool {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    members: Vec<Member>,
    /// The member the next caller starts at (round-robin).
    next: AtomicUsize,
    /// How long a token that said it was gone is passed over.
    rest: Duration,
    /// Where `Member::resting_until` counts from.
    epoch: Instant,
}

/// One token's sessions.
#[derive(Debug)]
struct Member {
    sessions: r2d2::Pool<SessionManager>,
    /// Its manager's count of sessions lost in a row.
    lost: Arc<AtomicU32>,
    /// Whether its sessions are opened logged in.
    logs_in: bool,
    /// Nanoseconds since the epoch until which the token is passed over; 0: in service.
    resting_until: AtomicU64,
}

impl Member {
    /// A session checked healthy, dropping the lost ones met on the way (at most as many
    /// as the pool keeps, then one more, new).
    fn healthy_session(&self) -> Result<r2d2::PooledConnection<SessionManager>> {
        for _ in 0..=self.sessions.max_size() {
            let session = self
                .sessions
                .get()
                .map_err(|e| Error::NoSession(Some(e.into())))?;
            if health(&session.session, self.logs_in).is_ok() {
                return Ok(session);
            }
            session.lose(self);
        }
        Err(Error::NoSession(None))
    }
}

/// Builds a [`Pool`]: its tokens and how many sessions each keeps.
#[derive(Debug)]
pub struct Builder {
    members: Vec<SessionManager>,
    max_size: u32,
    min_idle: Option<u32>,
    wait: Duration,
    rest: Duration,
    trust_existing_login: bool,
}

impl Pool {
    /// A builder with p11's defaults: up to 10 sessions per token, all opened at once,
    /// a 30 s wait for a free one, a gone token rested 5 s.
    pub fn builder() -> Builder {
        Builder {
            members: Vec::new(),
            max_size: 10,
            min_idle: None,
            wait: Duration::from_secs(30),
            rest: Duration::from_secs(5),
            trust_existing_login: false,
        }
    }

    /// A session from the next token in service, waiting up to the pool's timeout for
    /// one to come free. It goes back to the pool when dropped.
    ///
    /// # Errors
    /// [`Error::NoSession`] when none came free in time on any token (the last reason
    /// r2d2 gave is its source).
    pub fn get(&self) -> Result<PooledSession> {
        let mut last = None;
        for (_, member) in self.shared.order() {
            match member.sessions.get() {
                Ok(session) => return Ok(PooledSession { session }),
                Err(e) => last = Some(e),
            }
        }
        Err(Error::NoSession(last.map(|e| e.into())))
    }

    /// Runs `work` in a session of the next token in service; when the token turns out
    /// to be gone (`CKR_DEVICE_REMOVED`, `CKR_TOKEN_NOT_PRESENT`), rests it and runs
    /// `work` again on the next one. With every token resting, each is tried anyway.
    /// When `work` fails in a session that turns out lost (the module no longer knows
    /// it, or it was logged out behind the pool's back), the session is dropped and
    /// `work` runs once more in a new one.
    ///
    /// # Errors
    /// `work`'s error; the last token's when every one was gone;
    /// [`Error::NoSession`] when no session came free in time.
    pub fn run<T>(&self, mut work: impl FnMut(&Session) -> Result<T>) -> Result<T> {
        self.run_on(|_, session| work(session))
    }

    /// As [`run`](Self::run), telling `work` which member (token) it runs on.
    fn run_on<T>(&self, mut work: impl FnMut(usize, &Session) -> Result<T>) -> Result<T> {
        let mut last = None;
        for (index, member) in self.shared.order() {
            let session = match member.sessions.get() {
                Ok(session) => session,
                Err(e) => {
                    last = Some(Error::NoSession(Some(e.into())));
                    continue;
                }
            };
            match work(index, &session.session) {
                Err(e) if e.is_token_gone() => {
                    self.shared.rest(member);
                    last = Some(e);
                }
                Err(_) if health(&session.session, member.logs_in).is_err() => {
                    // Lost since it was last used, and likely its idle siblings with it
                    // (a logout is the token's): each goes as it is found, and `work`
                    // runs once more in the first healthy session of the same token.
                    session.lose(member);
                    drop(session);
                    let session = member.healthy_session()?;
                    return work(index, &session.session);
                }
                done => {
                    member.lost.store(0, Ordering::Relaxed);
                    return done;
                }
            }
        }
        Err(last.unwrap_or(Error::NoSession(None)))
    }

    /// A key found by `query` on each token when first needed there, and used through
    /// whichever pooled session a caller gets. Nothing is called yet.
    pub fn key<K: KeyKind>(&self, query: KeyQuery) -> PoolKey<K> {
        PoolKey {
            pool: self.clone(),
            found: self
                .shared
                .members
                .iter()
                .map(|_| RwLock::new(None))
                .collect(),
            query,
        }
    }

    /// How many tokens the pool spans.
    pub fn tokens(&self) -> usize {
        self.shared.members.len()
    }

    /// Which tokens are being passed over now, having said they were gone (by their
    /// place in the order they were added).
    pub fn resting(&self) -> Vec<usize> {
        let now = self.shared.now();
        let members = self.shared.members.iter().enumerate();
        members
            .filter(|(_, m)| m.resting_until.load(Ordering::Relaxed) > now)
            .map(|(i, _)| i)
            .collect()
    }
}

impl Shared {
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn rest(&self, member: &Member) {
        let rest = u64::try_from(self.rest.as_nanos()).unwrap_or(u64::MAX);
        let until = self.now().saturating_add(rest).max(1);
        member.resting_until.store(until, Ordering::Relaxed);
    }

    /// The members in service with their places, from the next one round; every member
    /// when none is.
    fn order(&self) -> impl Iterator<Item = (usize, &Member)> {
        let count = self.members.len();
        let start = match count {
            0 | 1 => 0,
            _ => self.next.fetch_add(1, Ordering::Relaxed) % count,
        };
        let now = self.now();
        let in_service =
            move |i: &usize| self.members[*i].resting_until.load(Ordering::Relaxed) <= now;
        let turn = (0..count).map(move |i| (start + i) % count);
        let any_in_service = turn.clone().any(|i| in_service(&i));
        turn.filter(move |i| !any_in_service || in_service(i))
            .map(move |i| (i, &self.members[i]))
    }
}

impl Builder {
    /// Adds a token, its sessions opened (and logged in) as `options` say. Adding several
    /// makes a cluster: they should hold the same keys, found by the same queries.
    #[must_use]
    pub fn token(mut self, token: &Token, options: OpenOptions) -> Self {
        self.members
            .push(SessionManager::new(token.clone(), options));
        self
    }

    /// The most sessions kept on each token (default 10).
    #[must_use]
    pub fn max_size(mut self, max_size: u32) -> Self {
        self.max_size = max_size;
        self
    }

    /// How many idle sessions each token keeps ready (default: `max_size`, all opened at
    /// once).
    #[must_use]
    pub fn min_idle(mut self, min_idle: Option<u32>) -> Self {
        self.min_idle = min_idle;
        self
    }

    /// How long a caller waits for a session to come free (default 30 s).
    #[must_use]
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// How long a token that said it was gone is passed over (default 5 s).
    #[must_use]
    pub fn rest(mut self, rest: Duration) -> Self {
        self.rest = rest;
        self
    }

    /// Accepts a token that another session of this process has logged in already,
    /// whose PIN the pool then cannot check (PKCS#11 answers such a login without
    /// looking at the PIN). Without it, [`build`](Self::build) refuses such a token: a
    /// mistyped PIN would otherwise pass, and every request fail once that other
    /// session logs out.
    #[must_use]
    pub fn trust_existing_login(mut self) -> Self {
        self.trust_existing_login = true;
        self
    }

    /// Opens one session on each token to check that it can be opened and logged in
    /// with its PIN, then the pool, which opens the rest in the background.
    ///
    /// # Errors
    /// [`Error::PoolSize`] without tokens, with a size of 0 or more idle sessions than
    /// that; [`Error::PinNotChecked`] for a token another session of this process has
    /// logged in, unless [`trust_existing_login`](Self::trust_existing_login); the
    /// module's error opening a session or logging in (`CKR_PIN_INCORRECT`, ...).
    pub fn build(self) -> Result<Pool> {
        let idle = self.min_idle.unwrap_or(0);
        if self.members.is_empty() || self.max_size == 0 || idle > self.max_size {
            return Err(Error::PoolSize {
                size: self.max_size,
                idle,
                tokens: self.members.len(),
            });
        }
        // One set of refill threads for every token, not r2d2's three per pool.
        let refill = Arc::new(
            ScheduledThreadPool::builder()
                .num_threads(2)
                .thread_name_pattern("p11-pool-{}")
                .build(),
        );
        let mut members = Vec::with_capacity(self.members.len());
        for manager in self.members {
            let first = r2d2::ManageConnection::connect(&manager)?;
            if first.session.login() == Some(Login::AlreadyLoggedIn) && !self.trust_existing_login {
                return Err(Error::PinNotChecked);
            }
            drop(first);
            let (lost, logs_in) = (manager.lost.clone(), manager.options.logs_in());
            let sessions = r2d2::Pool::builder()
                .max_size(self.max_size)
                .min_idle(self.min_idle)
                .connection_timeout(self.wait)
                .test_on_check_out(false)
                .thread_pool(refill.clone())
                // Sessions do not age like connections; the health check finds dead ones.
                .max_lifetime(None)
                .idle_timeout(None)
                .build_unchecked(manager);
            members.push(Member {
                sessions,
                lost,
                logs_in,
                resting_until: AtomicU64::new(0),
            });
        }
        Ok(Pool {
            shared: Arc::new(Shared {
                members,
                next: AtomicUsize::new(0),
                rest: self.rest,
                epoch: Instant::now(),
            }),
        })
    }
}

/// A session lent by a [`Pool`]; it goes back when dropped.
#[derive(Debug)]
pub struct PooledSession {
    session: r2d2::PooledConnection<SessionManager>,
}

impl Deref for PooledSession {
    type Target = Session;

    fn deref(&self) -> &Session {
        &self.session.session
    }
}

/// A key in a [`Pool`]: found by its query on each token when first needed there, and
/// used through whichever pooled session a caller gets.
#[derive(Debug)]
pub struct PoolKey<K> {
    pool: Pool,
    query: KeyQuery,
    /// The key as found on each member, by member.
    found: Vec<RwLock<Option<K>>>,
}

impl<K: KeyKind + Clone> PoolKey<K> {
    /// Runs `work` with the key in a pooled session, failing over as [`Pool::run`] does.
    /// A module that refuses the handle found earlier (the key was replaced, or the
    /// module scopes handles to sessions) has the key found again, once.
    ///
    /// # Errors
    /// `work`'s error; [`Error::NoSuchKey`]/[`Error::MultipleObjects`] when the query
    /// does not name one key on a token; as [`Pool::run`].
    pub fn run<T>(&self, mut work: impl FnMut(&K) -> Result<T>) -> Result<T> {
        self.pool.run_on(|member, session| {
            let key = self.in_session(member, session, false)?;
            match work(&key) {
                Err(e) if e.is_stale_handle() => work(&self.in_session(member, session, true)?),
                done => done,
            }
        })
    }

    /// The key on `member`, used through `session`: as found before, unless `refind`.
    fn in_session(&self, member: usize, session: &Session, refind: bool) -> Result<K> {
        let slot = self.found.get(member).ok_or(Error::OtherToken)?;
        if !refind {
            let known = slot.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(key) = known.as_ref() {
                return key.in_session(session);
            }
        }
        let key: K = session.get_key(&self.query)?;
        let mut known = slot.write().unwrap_or_else(PoisonError::into_inner);
        *known = Some(key.clone());
        Ok(key)
    }
}
