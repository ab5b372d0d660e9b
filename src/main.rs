use clap::{Parser, Subcommand};
use safecampus::clock::{Clock, SystemClock};
use safecampus::config::Settings;
use safecampus::db::Db;
use safecampus::state::AppState;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "safecampus",
    version,
    about = "SafeCampus: keeping students safe, district-wide"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run migrations and serve the API (the default).
    Serve,
    /// Run migrations and exit.
    Migrate,
    /// Create the first district and its district admin.
    BootstrapAdmin {
        #[arg(long)]
        district: String,
        #[arg(long)]
        username: String,
    },
    /// Seed a demo district on an empty database, print its logins, and serve.
    Demo,
    /// Print the OpenAPI document.
    Openapi,
    /// Tip-line helpers for trying the flow without an app.
    Tipline {
        #[command(subcommand)]
        command: TiplineCommand,
    },
}

#[derive(Subcommand)]
enum TiplineCommand {
    /// Write a new recipient private key file and print its public key.
    Keygen {
        #[arg(long, default_value = "tipline.key")]
        out: std::path::PathBuf,
    },
    /// Read an envelope JSON (or a report holding one) on stdin and print the plaintext.
    Open {
        #[arg(long)]
        key: std::path::PathBuf,
    },
    /// Seal the text on stdin to the keys in FILE (a JSON list of {key_id, public_key})
    /// and print the envelope JSON. With --aad (the canonical JSON of protocol v2),
    /// a v2 envelope: bound to it and committed.
    Seal {
        #[arg(long)]
        keys: std::path::PathBuf,
        #[arg(long)]
        aad: Option<String>,
    },
    /// Find a proof-of-work nonce for a challenge (what an app does on the phone).
    SolvePow {
        #[arg(long)]
        challenge: String,
        #[arg(long)]
        difficulty: u32,
    },
}

fn tipline(command: TiplineCommand) -> ExitCode {
    use safecampus::tipline::cli;
    use std::io::Read;
    let mut stdin = String::new();
    let result = match command {
        TiplineCommand::Keygen { out } => cli::keygen(&out).map(|public_key| {
            format!(
                "private key written to {}
public key: {public_key}",
                out.display()
            )
        }),
        TiplineCommand::Open { key } => cli::read_private_key(&key).and_then(|sk| {
            std::io::stdin()
                .read_to_string(&mut stdin)
                .map_err(|e| e.to_string())?;
            cli::open(&sk, &stdin)
        }),
        TiplineCommand::Seal { keys, aad } => std::fs::read_to_string(&keys)
            .map_err(|e| format!("cannot read {}: {e}", keys.display()))
            .and_then(|keys| {
                std::io::stdin()
                    .read_to_string(&mut stdin)
                    .map_err(|e| e.to_string())?;
                cli::seal(&keys, &stdin, aad.as_deref())
            }),
        TiplineCommand::SolvePow {
            challenge,
            difficulty,
        } => Ok((0u64..)
            .map(|n| n.to_string())
            .find(|n| safecampus::tipline::pow::meets(&challenge, n, difficulty))
            .expect("a nonce exists")),
    };
    match result {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

/// glibc's allocator, after a large block (an argon2 hash takes 19 MiB) is
/// freed, raises its mmap threshold so later large blocks stay in the
/// thread's arena: the server's memory grew with every thread that had
/// hashed a password. A fixed threshold keeps large blocks returned to the
/// system. (Capping the arenas at two did the same for memory, but made
/// every request thread queue on the arenas' locks.)
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    // SAFETY: mallopt only sets allocator parameters; it is called once,
    // before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

fn main() -> ExitCode {
    tune_allocator();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SAFECAMPUS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Openapi = command {
        print!("{}", safecampus::app::openapi_json());
        return ExitCode::SUCCESS;
    }
    if let Command::Tipline { command } = command {
        return tipline(command);
    }
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let db = Db::open_with_writers(
        &settings.database,
        settings.db_pool_size,
        settings.db_timeout,
        settings.db_group_writers,
    )
    .with_request_timeout(settings.db_request_timeout);
    if let Err(e) = db.migrate() {
        return fail(format!("database migration failed: {e}"));
    }
    safecampus::audit::use_key(&settings.audit_key);
    match db.write_blocking(safecampus::audit::seal_with_key) {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            events = n,
            "audit chain checked and sealed with the audit key"
        ),
        Err(e) => return fail(format!("audit chain: {}", e.detail)),
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match command {
        Command::Migrate => {
            println!("migrations are up to date");
            ExitCode::SUCCESS
        }
        Command::BootstrapAdmin { district, username } => {
            let (password, generated) = match std::env::var("SAFECAMPUS_ADMIN_PASSWORD") {
                Ok(p) if !p.is_empty() => (p, false),
                _ => (safecampus::crypto::random_token()[..20].to_string(), true),
            };
            match safecampus::demo::bootstrap_admin(
                &db,
                clock.now_db(),
                &district,
                &username,
                &password,
            ) {
                Ok(id) => {
                    println!("created district admin {username} ({id}) for {district}");
                    if generated {
                        println!("password (shown once): {password}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e.detail),
            }
        }
        Command::Demo => {
            let password = format!("demo-{}", &safecampus::crypto::random_token()[..12]);
            match safecampus::demo::seed(&db, clock.now_db(), &password) {
                Ok(logins) => {
                    println!("Demo district created. Every demo account's password: {password}");
                    for (role, username) in logins {
                        println!("  {:<16} {}", role.as_str(), username);
                    }
                    let dir = std::path::Path::new("demo-keys");
                    match safecampus::tipline::cli::seed_demo_keys(&db, clock.now_db(), dir) {
                        Ok(files) => {
                            println!(
                                "Tip-line private keys of the demo recipients (principals, counsellors, bureau) are in {}/:",
                                dir.display()
                            );
                            for f in files {
                                println!("  {}", f.display());
                            }
                        }
                        Err(e) => return fail(format!("demo keys: {}", e.detail)),
                    }
                }
                Err(e) => return fail(format!("{} (demo needs an empty database)", e.detail)),
            }
            serve(settings, db, clock)
        }
        Command::Serve => serve(settings, db, clock),
        Command::Openapi | Command::Tipline { .. } => unreachable!("handled above"),
    }
}

fn serve(settings: Settings, db: Db, clock: Arc<dyn Clock>) -> ExitCode {
    let listener = match std::net::TcpListener::bind(&settings.bind) {
        Ok(l) => l,
        Err(e) => return fail(format!("cannot listen on {}: {e}", settings.bind)),
    };
    tracing::info!(address = %settings.bind, backend = ?db.backend, "SafeCampus is listening");
    let state = actix_web::web::Data::new(AppState::new(settings, db, clock));
    match actix_web::rt::System::new().block_on(safecampus::server::run(state, listener)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}
