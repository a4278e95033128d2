//! A signing service: eight client threads ask for signatures with one token key at
//! once, and each request runs in a pooled session of its own (one PKCS #11 session runs
//! one operation at a time). The key is found once; every signature is checked with the
//! public key at the end. Run with `--features pool` (`cargo xtask demo` does).
use p11::pool::Pool;
use p11::Verify;
use p11::{KeyQuery, KeyType, Library, ObjectOptions, OpenOptions, PrivateKey, Sign, TokenFilter};
use std::time::Instant;

const CLIENTS: usize = 8;
const REQUESTS: usize = 25;
const SESSIONS: u32 = 4;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(std::env::var("PKCS11_MODULE")?)?;
    let token = lib.get_token(&TokenFilter::new().label(std::env::var("PKCS11_TOKEN_LABEL")?))?;
    let pin = std::env::var("PKCS11_TOKEN_PIN")?;

    // The service key: a session object of `setup`, seen by every session of this
    // process while `setup` stays open.
    let setup = token.open(&OpenOptions::new().user_pin(pin.as_str()))?;
    let label = format!("signing-service-{}", std::process::id());
    let (public, _) =
        setup.generate_keypair(KeyType::EC, 256, &ObjectOptions::new().label(&label))?;

    // `setup` has logged the token in, so the pool's PIN goes unchecked: say so.
    let pool = Pool::builder()
        .max_size(SESSIONS)
        .token(&token, OpenOptions::new().user_pin(pin.as_str()))
        .trust_existing_login()
        .build()?;
    let key = pool.key::<PrivateKey>(KeyQuery::new().label(&label).key_type(KeyType::EC));

    let start = Instant::now();
    let signed = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let key = &key;
                scope.spawn(move || {
                    (0..REQUESTS)
                        .map(|request| {
                            let message = format!("request {request} from client {client}");
                            let signature = key.run(|key| key.sign(message.as_bytes()))?;
                            Ok((message, signature))
                        })
                        .collect::<p11::Result<Vec<_>>>()
                })
            })
            .collect();
        clients
            .into_iter()
            .map(|client| client.join().map_err(|_| "a client thread panicked"))
            .collect::<Result<Vec<_>, _>>()
    })?;
    let elapsed = start.elapsed();

    let mut count = 0;
    for client in signed {
        for (message, signature) in client? {
            if !public.verify(message.as_bytes(), &signature)? {
                return Err(format!("the signature of {message:?} does not verify").into());
            }
            count += 1;
        }
    }
    println!(
        "{count} requests from {CLIENTS} clients signed through {SESSIONS} pooled sessions in {:.1} ms; every signature verifies",
        elapsed.as_secs_f64() * 1000.0
    );
    Ok(())
}
