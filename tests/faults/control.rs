//! Steering the fault module, and the fixture every case starts from.

use p11_core::{Access, Module, Session, TokenFilter, UserType};
use p11_tests::env;
use std::ffi::{c_char, c_int, CString};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

/// The fault module's path: `P11_FAULT_MODULE` (set by `cargo xtask test`), else where
/// `cargo build -p p11-fault-module` leaves it.
pub fn path() -> PathBuf {
    if let Some(path) = std::env::var_os("P11_FAULT_MODULE") {
        return PathBuf::from(path);
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/debug")
        .join(format!(
            "{}p11_fault_module{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ));
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask test`, or `cargo build -p p11-fault-module` first",
        path.display()
    );
    path
}

type Set = unsafe extern "C" fn(*const c_char, *const c_char, u64, u64, u64) -> c_int;
type Calls = unsafe extern "C" fn(*const c_char) -> u64;
type Sessions = unsafe extern "C" fn(*mut u64, *mut u64, *mut u64);
type LastMechanism = unsafe extern "C" fn(*mut u64, *mut u8, usize) -> i64;

/// The fault module's control functions (the same loaded instance p11 calls).
pub struct Control {
    set: Set,
    clear: unsafe extern "C" fn(),
    calls: Calls,
    sessions: Sessions,
    last_mechanism: LastMechanism,
    offer_interface_3_0: unsafe extern "C" fn(c_int),
    _library: libloading::Library,
}

pub fn control() -> &'static Control {
    static CONTROL: OnceLock<Control> = OnceLock::new();
    CONTROL.get_or_init(|| {
        // SAFETY: our own test module; its initialisers have no preconditions.
        let library =
            unsafe { libloading::Library::new(path()) }.expect("loading the fault module");
        // SAFETY: the symbols have these types (tests/fault-module/src/lib.rs).
        unsafe {
            Control {
                set: *library.get::<Set>(b"p11fault_set\0").unwrap(),
                clear: *library
                    .get::<unsafe extern "C" fn()>(b"p11fault_clear\0")
                    .unwrap(),
                calls: *library.get::<Calls>(b"p11fault_calls\0").unwrap(),
                sessions: *library.get::<Sessions>(b"p11fault_sessions\0").unwrap(),
                last_mechanism: *library
                    .get::<LastMechanism>(b"p11fault_last_mechanism\0")
                    .unwrap(),
                offer_interface_3_0: *library
                    .get::<unsafe extern "C" fn(c_int)>(b"p11fault_offer_interface_3_0\0")
                    .unwrap(),
                _library: library,
            }
        }
    })
}

/// `times` for a fault that never stops.
pub const FOREVER: u64 = u64::MAX;

impl Control {
    /// `function` misbehaves as `fault` says, after `skip` good calls, `times` times.
    pub fn set(&self, function: &str, fault: &str, arg: u64, skip: u64, times: u64) {
        let (f, k) = (
            CString::new(function).unwrap(),
            CString::new(fault).unwrap(),
        );
        // SAFETY: NUL-terminated strings that outlive the call.
        let rc = unsafe { (self.set)(f.as_ptr(), k.as_ptr(), arg, skip, times) };
        assert_eq!(rc, 0, "unknown fault {fault}");
    }

    /// No faults, call counts reset.
    pub fn clear(&self) {
        // SAFETY: no arguments.
        unsafe { (self.clear)() }
    }

    /// Calls of `function` since the last clear.
    pub fn calls(&self, function: &str) -> u64 {
        let f = CString::new(function).unwrap();
        // SAFETY: a NUL-terminated string that outlives the call.
        unsafe { (self.calls)(f.as_ptr()) }
    }

    /// The last mechanism given to `C_EncryptInit`, `C_SignInit` or `C_DeriveKey`: its
    /// type and parameter bytes.
    pub fn last_mechanism(&self) -> (u64, Vec<u8>) {
        let (mut ty, mut bytes) = (0u64, vec![0u8; 256]);
        // SAFETY: `ty` is writable, `bytes` holds 256 writable bytes.
        let len = unsafe { (self.last_mechanism)(&mut ty, bytes.as_mut_ptr(), bytes.len()) };
        bytes.truncate(usize::try_from(len).expect("a mechanism was recorded"));
        (ty, bytes)
    }

    /// Sessions the module has open now.
    pub fn open_sessions(&self) -> u64 {
        let (mut opened, mut closed, mut open) = (0, 0, 0);
        // SAFETY: three writable numbers.
        unsafe { (self.sessions)(&mut opened, &mut closed, &mut open) };
        open
    }
}

/// One case at a time: the faults are the module's, for the whole process.
pub struct Fixture {
    pub module: Module,
    pub session: Session,
    pub pin: String,
    _serial: MutexGuard<'static, ()>,
}

pub fn fixture() -> Fixture {
    fixture_offering(false)
}

/// The fixture over a module that offers a PKCS#11 3.0 interface with message signing
/// (the fault module's, made from the real module's 2.40 functions).
pub fn fixture_3_0() -> Fixture {
    fixture_offering(true)
}

fn fixture_offering(interface_3_0: bool) -> Fixture {
    static SERIAL: Mutex<()> = Mutex::new(());
    let serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let env = env();
    control().clear();
    // SAFETY: a plain flag, read when the module is loaded below.
    unsafe { (control().offer_interface_3_0)(c_int::from(interface_3_0)) };
    let module = Module::load(path()).expect("loading p11 over the fault module");
    let token = module
        .get_token(&TokenFilter::new().label(env.label.as_str()))
        .expect("the test token, through the fault module");
    let session = token.open(Access::ReadWrite).unwrap();
    session.login(UserType::USER, env.pin.as_str()).unwrap();
    Fixture {
        module,
        session,
        pin: env.pin,
        _serial: serial,
    }
}

impl Fixture {
    /// The test token through the facade, over the same fault module.
    pub fn facade_token(&self) -> p11::Token {
        p11::Library::load(path())
            .unwrap()
            .get_token(&p11::TokenFilter::new().label(p11_tests::env().label.as_str()))
            .unwrap()
    }

    /// A read/write facade session on the test token, logged in, over the same module.
    pub fn facade_session(&self) -> p11::Session {
        self.facade_token()
            .open(&p11::OpenOptions::new().rw().user_pin(self.pin.as_str()))
            .unwrap()
    }

    /// The objects the fixture's session sees now.
    pub fn object_count(&self) -> usize {
        self.session
            .find_objects(&p11_core::Template::new())
            .unwrap()
            .count()
    }

    /// Waits (up to 30 s, for valgrind on a loaded machine) until the module has `open`
    /// sessions: r2d2's worker threads may hold the last reference to a pool for a
    /// moment after it is dropped, and close what they opened then.
    pub fn wait_for_open_sessions(&self, open: u64) {
        for _ in 0..3000 {
            if control().open_sessions() == open {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Drops the session and `made` (objects and operations made through it), and checks
    /// that p11 closed every session it opened; keeps the module loaded meanwhile, so the
    /// count is the module's.
    pub fn finish<T>(self, made: T) {
        let Fixture {
            module, session, ..
        } = self;
        drop(made);
        drop(session);
        control().clear();
        assert_eq!(
            control().open_sessions(),
            0,
            "a session p11 opened was left open"
        );
        drop(module);
    }
}
