use clap::{Parser, Subcommand};
use safecampus::app::AppState;
use safecampus::clock::{Clock, SystemClock};
use safecampus::config::Settings;
use safecampus::db::Db;
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
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

fn main() -> ExitCode {
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
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let db = Db::open(&settings.database, settings.db_pool_size);
    if let Err(e) = db.migrate() {
        return fail(format!("database migration failed: {e}"));
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
                }
                Err(e) => return fail(format!("{} (demo needs an empty database)", e.detail)),
            }
            serve(settings, db, clock)
        }
        Command::Serve => serve(settings, db, clock),
        Command::Openapi => unreachable!("handled above"),
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
