use p11_core::{Access, Error, InitArgs, InitFlags, Module};
use p11_tests::{exclusive, init_args, shared};

#[test]
fn loading_the_same_module_twice_shares_one_initialisation() {
    let f = shared();
    let again = Module::load_with(&f.env.module, init_args(&f.env)).unwrap();
    assert_eq!(again, f.module);
    // Another spelling of the same file is the same module too.
    let dotted = format!("{}/./{}", parent(&f.env.module), file_name(&f.env.module));
    assert_eq!(
        Module::load_with(&dotted, init_args(&f.env)).unwrap(),
        f.module
    );
    drop(again);
    // The first handle still works: dropping a shared handle did not finalise.
    assert!(f.module.info().unwrap().cryptoki_version.major >= 2);
}

#[test]
fn loading_a_loaded_module_with_other_arguments_is_refused() {
    let f = shared();
    let other = InitArgs::new().flags(InitFlags::empty());
    match Module::load_with(&f.env.module, other) {
        Err(Error::InitArgsConflict { path }) => assert_eq!(path.to_str(), Some(&*f.env.module)),
        other => panic!("expected InitArgsConflict, got {other:?}"),
    }
    // Who has no say in the arguments (a URI's loader) shares the module as it is.
    let joined = Module::join_or_load(&f.env.module).unwrap();
    assert!(joined == f.module);
}

#[test]
fn a_missing_file_is_a_load_error() {
    let err = Module::load("/nonexistent/libnothing.so").unwrap_err();
    assert!(matches!(err, Error::Load { .. }), "{err:?}");
    assert!(
        err.to_string().contains("/nonexistent/libnothing.so"),
        "{err}"
    );
    // The OS's reason is in the message itself, not only in a source.
    assert!(
        err.to_string().contains("No such file or directory"),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_a_library_is_a_load_error() {
    let path = std::env::temp_dir().join(format!("p11-not-a-module-{}.so", std::process::id()));
    std::fs::write(&path, b"this is text, not ELF").unwrap();
    let err = Module::load(&path).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(err, Error::Load { .. }), "{err:?}");
}

#[test]
fn a_library_without_pkcs11_entry_points_is_not_a_module() {
    // libz is a shared library on every machine that has SoftHSM (which links it).
    let candidates = [
        "/lib/x86_64-linux-gnu/libz.so.1",
        "/lib/aarch64-linux-gnu/libz.so.1",
        "/usr/lib/x86_64-linux-gnu/libz.so.1",
        "/usr/lib/aarch64-linux-gnu/libz.so.1",
        "/usr/lib64/libz.so.1",
        "/usr/lib/libz.so.1",
    ];
    let libz = candidates
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("no libz.so.1 in the usual places");
    let err = Module::load(libz).unwrap_err();
    assert!(matches!(err, Error::NotAModule { .. }), "{err:?}");
    assert!(err
        .to_string()
        .contains("neither C_GetInterface nor C_GetFunctionList"));
}

#[test]
fn library_info_is_read_and_trimmed() {
    let f = shared();
    let info = f.module.info().unwrap();
    assert!(info.cryptoki_version.major >= 2, "{info:?}");
    assert!(!info.manufacturer_id.is_empty());
    assert!(!info.manufacturer_id.ends_with(' '));
    assert!(!info.library_description.ends_with(' '));
    assert_eq!(
        f.module.interface_version().major,
        info.cryptoki_version.major,
        "the function list and C_GetInfo disagree"
    );
}

#[test]
fn reinitialize_invalidates_old_sessions_and_their_drop_closes_nothing_new() {
    let f = exclusive();
    if !f.has_rng() {
        return;
    }
    let old = f.token.open(Access::ReadOnly).unwrap();
    f.module.reinitialize().unwrap();
    let err = old.info().unwrap_err();
    assert!(matches!(err, Error::SessionClosed), "{err:?}");
    assert!(old.is_closed());
    // The module reuses handle numbers; dropping the stale session must not close the
    // new one that may carry the same number.
    let token = f
        .module
        .get_token(&p11_core::TokenFilter::new().label(&*f.env.label))
        .unwrap();
    let fresh = token.open(Access::ReadOnly).unwrap();
    drop(old);
    assert!(fresh.info().is_ok());
    assert_eq!(fresh.generate_random(8).unwrap().len(), 8);
}

#[test]
fn a_module_without_os_locking_is_serialised_and_still_shared_by_threads() {
    let f = exclusive();
    if !f.has_rng() {
        return;
    }
    let env = f.env.clone();
    // Ours was the only handle: the module is finalised and can load with other flags.
    let _guard = f.into_guard();
    let module = match Module::load_with(&env.module, init_args(&env).flags(InitFlags::empty())) {
        Err(e) if e.return_value() == Some(p11_core::ReturnValue::CantLock) => {
            // PKCS #11 lets a module insist on OS locking (p11-kit's client does).
            println!("skipped: the module needs OS locking (CKR_CANT_LOCK): {e}");
            return;
        }
        loaded => loaded.unwrap(),
    };
    let token = module
        .get_token(&p11_core::TokenFilter::new().label(&*env.label))
        .unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let session = token.open(Access::ReadOnly).unwrap();
                for _ in 0..50 {
                    assert_eq!(session.generate_random(32).unwrap().len(), 32);
                }
            });
        }
    });
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or(".", |(dir, _)| dir)
}

fn file_name(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, name)| name)
}

#[test]
fn loading_while_the_last_handle_finalises_waits_for_it() {
    let f = exclusive();
    if !f.has_rng() {
        return;
    }
    let env = f.env.clone();
    let _guard = f.into_guard();
    // Two threads load, use and drop the module over and over: each drop of the last
    // handle finalises it while the other thread may be loading it again.
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..400 {
                    let module = Module::load_with(&env.module, init_args(&env)).unwrap();
                    let token = module
                        .get_token(&p11_core::TokenFilter::new().label(&*env.label))
                        .unwrap();
                    let session = token.open(Access::ReadOnly).unwrap();
                    assert_eq!(session.generate_random(8).unwrap().len(), 8);
                    assert!(session.info().is_ok());
                }
            });
        }
    });
}

#[test]
fn finalize_reports_and_leaves_other_handles_inert_until_loaded_again() {
    let f = exclusive();
    let session = f.token.open(Access::ReadOnly).unwrap();
    let handle = Module::load_with(&f.env.module, init_args(&f.env)).unwrap();
    assert_eq!(handle, f.module, "one initialisation, shared");
    handle.finalize().unwrap();
    assert!(!f.module.is_initialized());
    assert!(matches!(f.module.info(), Err(Error::Finalized)));
    assert!(session.is_closed());
    assert!(matches!(session.generate_random(4), Err(Error::Finalized)));
    drop(session); // closes nothing: the module closed it
                   // Loading the path again initialises it afresh; the old handles stay inert.
    let fresh = Module::load_with(&f.env.module, init_args(&f.env)).unwrap();
    assert_ne!(fresh, f.module);
    assert!(fresh.is_initialized() && fresh.info().is_ok());
    assert!(matches!(f.module.info(), Err(Error::Finalized)));
}

#[test]
fn a_module_says_which_functions_and_interfaces_it_has() {
    use p11_core::{Function, Version};
    let f = p11_tests::shared();
    let version = f.module.interface_version();
    assert!(f.module.is_supported(Function::Initialize));
    assert!(f.module.is_supported(Function::GenerateRandom));
    assert_eq!(
        f.module.is_supported(Function::SessionCancel),
        version.major >= 3,
        "a 3.0 function, on a {version} list"
    );
    assert_eq!(
        f.module.is_supported(Function::EncapsulateKey),
        version >= Version { major: 3, minor: 2 },
        "a 3.2 function, on a {version} list"
    );
    assert_eq!(Function::EncapsulateKey.name(), "C_EncapsulateKey");
    assert_eq!(Function::ALL.len(), 104, "every function of the 3.2 list");
    match f.module.interfaces() {
        Ok(interfaces) => {
            let standard: Vec<_> = interfaces.iter().filter(|i| i.name == "PKCS 11").collect();
            assert!(
                standard.iter().any(|i| i.version == Some(version)),
                "the interface p11 uses is listed: {interfaces:?}"
            );
        }
        Err(e) => {
            assert!(version.major < 3, "{e}");
            assert!(
                matches!(
                    e,
                    p11_core::Error::NotSupported(p11_core::Function::GetInterfaceList)
                ),
                "{e:?}"
            );
        }
    }
}

/// OpenSC's pkcs11-spy in front of the test module, as a user debugging p11 runs it:
/// p11 chooses its interface from one `C_GetInterfaceList` call with room for the
/// answer (OpenSC 0.23's spy crashes on a count query, and on `C_GetInterface` for a
/// version it lacks), and the spy logs the calls p11 makes through its 2.x list.
#[test]
fn the_module_can_be_watched_through_opensc_s_spy() {
    let spy = [
        "/usr/lib/x86_64-linux-gnu/pkcs11-spy.so",
        "/usr/lib/pkcs11-spy.so",
    ]
    .into_iter()
    .map(std::path::PathBuf::from)
    .find(|p| p.exists());
    let Some(spy) = spy else {
        println!("skipped: no pkcs11-spy.so (OpenSC's opensc-pkcs11 package)");
        return;
    };
    let f = exclusive();
    let log = std::env::temp_dir().join(format!("p11-spy-{}.log", std::process::id()));
    // The spy reads these when loaded; no other test loads it.
    std::env::set_var("PKCS11SPY", &f.env.module);
    std::env::set_var("PKCS11SPY_OUTPUT", &log);
    let module = Module::load_with(&spy, init_args(&f.env)).unwrap();
    let version = module.interface_version();
    let slot = module
        .get_token(&p11_core::TokenFilter::new().label(f.env.label.as_str()))
        .unwrap();
    let session = slot.open(Access::ReadOnly).unwrap();
    assert!(session.info().is_ok());
    drop(session);
    drop(slot);
    module.finalize().unwrap();
    let watched = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    assert!(watched.contains("C_GetInterfaceList"), "{watched}");
    if version.major >= 3 {
        // OpenSC 0.23's spy lists the module's own 3.x interfaces beside its 2.x one:
        // p11 takes the newest, which the spy does not see through.
        println!(
            "the spy hands out the module's own {version} interface: it sees the listing only"
        );
        return;
    }
    for call in [
        "C_Initialize",
        "C_GetTokenInfo",
        "C_OpenSession",
        "C_GetSessionInfo",
        "C_Finalize",
    ] {
        assert!(watched.contains(call), "the spy saw {call}");
    }
}

/// The coverage table in p11-core's crate docs is true: every function of the 3.2 list
/// is either called in p11-core's source or named in the table, never both.
#[test]
fn every_function_is_called_or_listed_as_left_out() {
    use p11_core::Function;
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/p11-core/src");
    let mut source = String::new();
    for entry in std::fs::read_dir(&src).unwrap().flatten() {
        if entry.path().extension().is_some_and(|e| e == "rs") {
            source.push_str(&std::fs::read_to_string(entry.path()).unwrap());
        }
    }
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let table: String = lib
        .lines()
        .skip_while(|l| !l.contains("# Coverage of PKCS#11 3.2"))
        .take_while(|l| !l.contains("# Features"))
        .collect();
    let mut called = 0;
    for function in Function::ALL {
        let name = function.name();
        // Called through call!, or (C_GetFunctionList, C_GetInterface) found by symbol.
        let used =
            source.contains(&format!(" {name}(")) || source.contains(&format!("b\"{name}\\0\""));
        let listed = table.contains(&format!("`{name}`"));
        assert!(
            used != listed,
            "{name}: called {used}, listed as left out {listed}"
        );
        called += usize::from(used);
    }
    assert!(
        table.contains(&format!("calls {called} of the {}", Function::ALL.len())),
        "the count in the docs"
    );
}
