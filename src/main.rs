use clap::{Parser, Subcommand};
use duizhang::config::Settings;
use duizhang::startup::{prepare_database, Application};
use std::process::ExitCode;

// See Cargo.toml: memory freed after a large request should go back to the system.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "duizhang", version, about = "Accounts-receivable reconciliation API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the HTTP server (REST under /api/v1, GraphQL at /graphql).
    Serve,
    /// Create a demo tenant with a month of data (bank statements, cash application, customer
    /// statements with differences, dunning, a webhook endpoint), print its API key and the URLs
    /// to open, then start the server.
    Demo {
        /// Create the tenant and print, without starting the server.
        #[arg(long)]
        no_serve: bool,
    },
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Lock out, restore or reset a tenant's user (audited as the operator, `system`).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Write openapi/openapi.json and schema/schema.graphql from the code.
    ExportSpecs {
        /// Repository root to write into.
        #[arg(long, default_value = ".")]
        root: std::path::PathBuf,
    },
    /// Verify every tenant's audit hash chain; exits non-zero if one is broken.
    VerifyAudit,
    /// Check the database's invariants (amounts, allocations, runs, outbox, audit chain); prints a
    /// JSON report and exits non-zero when one is violated.
    CheckIntegrity,
    /// Re-wrap every tenant's data keys with a new master key (written first in the key file;
    /// with DUIZHANG_CONNECTOR_KEY, the first key listed there) while the service runs; in
    /// batches, resumable: an interrupted rotation continues when the command runs again.
    RotateKeys {
        /// Also give every tenant a new data key and re-seal every sealed value with it.
        #[arg(long)]
        data_keys: bool,
        /// Stop after this many batches, as if interrupted (for drills and tests).
        #[arg(long, hide = true)]
        stop_after_batches: Option<u32>,
    },
    /// Write a backup (pg_dump custom format plus a manifest of row counts and audit heads) of
    /// the database, online.
    Backup {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Restore a backup into the (empty) database and check it against its manifest.
    Restore {
        file: std::path::PathBuf,
        /// Drop and re-create the database first (everything in it is lost).
        #[arg(long)]
        replace: bool,
    },
    /// Score cash application against a generated folder's ground truth (fresh database).
    EvalMatching {
        /// Folder written by `duizhang demo-data`
        dir: std::path::PathBuf,
        /// 2: a folder written with `demo-data --months 2`: month 1 run and reviewed by a person
        /// scripted from the ground truth, then month 2 run, with and without learning.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=2))]
        months: u32,
    },
    /// Score statement reconciliation (differences per kind) against a generated folder.
    EvalStatements {
        /// Folder written by `duizhang demo-data`
        dir: std::path::PathBuf,
        /// With `--habits` folders: post the files without saving their mappings first (every
        /// layout detected from the file alone).
        #[arg(long)]
        without_mappings: bool,
    },
    /// Write a generated data set with its ground truth (customers, ledger, bank lines, customers'
    /// statements; see docs/demo-data.md). Needs no database.
    DemoData(DemoDataArgs),
}

#[derive(clap::Args)]
struct DemoDataArgs {
    /// Folder to write into (created if missing).
    #[arg(long)]
    out: std::path::PathBuf,
    /// Bank lines of the cash-application part.
    #[arg(long, default_value_t = 10_000)]
    lines: usize,
    /// Customers that send a statement of their own books.
    #[arg(long, default_value_t = 40)]
    statements: usize,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Also write the bank lines as camt.053.001.08 statements (camt053/).
    #[arg(long)]
    camt: bool,
    /// Entries per camt.053 file.
    #[arg(long, default_value_t = 5000)]
    camt_entries: usize,
    /// Also write the bank lines as MT940 statements (mt940/).
    #[arg(long)]
    mt940: bool,
    /// Entries per MT940 file.
    #[arg(long, default_value_t = 5000)]
    mt940_entries: usize,
    /// Customers' statements as customers send them: each in its own layout and language, our
    /// number quoted their way or not at all, grouped payments (statements/ and
    /// statement_mappings.json instead of statements.csv).
    #[arg(long)]
    habits: bool,
    /// Consecutive months of the same customers, with payment habits, in month1/, month2/, ...
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=12))]
    months: u32,
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant and print {"tenant_id":...,"slug":...,"api_key":...} (an admin API key).
    Create {
        #[arg(long)]
        name: String,
        /// What its users give as `tenant` when they log in (default: made from the name).
        #[arg(long)]
        slug: Option<String>,
        #[arg(long, default_value = "EUR")]
        base_currency: String,
    },
    /// Print every tenant's id, slug and name.
    List,
    /// Read a tenant archive (`GET /api/v1/export`) into this database as a new tenant with the
    /// same id, in one transaction: the archive's digest, every file's SHA-256 and row count and
    /// the audit chain are checked first; a damaged or changed archive writes nothing. Refused
    /// when the tenant id exists here, or its slug (then give another with --slug).
    Import {
        file: std::path::PathBuf,
        /// Log-in slug for the imported tenant instead of the archive's.
        #[arg(long)]
        slug: Option<String>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Disable the user: no login, every token stops at once.
    Disable(UserTarget),
    /// Enable a disabled user again.
    Enable(UserTarget),
    /// End every session of the user (all their tokens).
    LogoutEverywhere(UserTarget),
    /// Print a one-time password reset token; the current password and sessions end.
    ResetPassword(UserTarget),
    /// Change the user's role (admin, accountant, viewer).
    SetRole {
        #[command(flatten)]
        target: UserTarget,
        role: String,
    },
    /// Delete the user (the audit trail keeps what they did).
    Delete(UserTarget),
}

#[derive(clap::Args)]
struct UserTarget {
    /// The tenant's slug or id (an address is unique only within a tenant).
    #[arg(long)]
    tenant: String,
    email: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let telemetry = init_logging();
    let result = run(cli);
    // After the runtime is gone: the exporter's blocking client must not be dropped inside one.
    if let Some(telemetry) = telemetry {
        telemetry.shutdown();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr, as text, or as one JSON object per line with `DUIZHANG_LOG_FORMAT=json`
/// (for log collectors; the request span's `request_id` is a field of every line it covers).
/// `RUST_LOG` filters (default `info`; `duizhang::access=warn` drops the access lines). With
/// `OTEL_EXPORTER_OTLP_ENDPOINT` set, request spans are also exported (whatever `RUST_LOG` says);
/// the returned pipeline is shut down at exit to send the last of them.
fn init_logging() -> Option<duizhang::telemetry::Telemetry> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let format = std::env::var("DUIZHANG_LOG_FORMAT").unwrap_or_default().trim().to_ascii_lowercase();
    let text = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match format.as_str() {
        "json" => text.json().with_current_span(true).with_span_list(false).boxed(),
        _ => text.boxed(),
    };
    let (telemetry, traces, failed) = match duizhang::telemetry::Telemetry::from_env() {
        Ok(Some((telemetry, tracer))) => {
            let only_requests = tracing_subscriber::filter::filter_fn(|m| m.is_span() && m.name() == "request");
            (Some(telemetry), Some(tracing_opentelemetry::layer().with_tracer(tracer).with_filter(only_requests)), None)
        }
        Ok(None) => (None, None, None),
        Err(e) => (None, None, Some(e)),
    };
    tracing_subscriber::registry().with(logs.with_filter(filter)).with(traces).init();
    if !matches!(format.as_str(), "" | "text" | "json") {
        tracing::warn!(format = %format, "DUIZHANG_LOG_FORMAT is json or text; using text");
    }
    if let Some(e) = failed {
        tracing::error!(error = %e, "trace export is off");
    }
    telemetry
}

fn run(cli: Cli) -> Result<(), String> {
    if let Command::ExportSpecs { root } = &cli.command {
        for path in duizhang::specs::write_all(root).map_err(|e| e.to_string())? {
            println!("wrote {path}");
        }
        return Ok(());
    }
    if let Command::DemoData(args) = &cli.command {
        return demo_data(args);
    }
    let settings = Settings::from_env().map_err(|e| e.to_string())?;
    if let Command::Restore { file, replace } = &cli.command {
        return restore(&settings, file, *replace);
    }
    // Keeps the embedded cluster (if any) alive until this function returns, then stops it.
    let database = prepare_database(&settings)?;
    match cli.command {
        Command::Serve => {
            let app = Application::build(settings.clone(), &database.url)?;
            tracing::info!(host = %settings.host, port = app.port(), "duizhang listening");
            actix_web::rt::System::new().block_on(app.run_until_signalled()).map_err(|e| e.to_string())
        }
        Command::Demo { no_serve } => demo(&settings, &database.url, no_serve),
        Command::Migrate => Ok(()),
        Command::Tenant { command } => run_tenant(&settings, &database.url, command),
        Command::User { command } => run_user(&database.url, settings.password_reset_ttl, command),
        Command::VerifyAudit => verify_audit(&database.url),
        Command::CheckIntegrity => check_integrity(&database.url),
        Command::RotateKeys { data_keys, stop_after_batches } => {
            rotate_keys(&settings, &database.url, data_keys, stop_after_batches)
        }
        Command::Backup { out } => {
            let manifest = duizhang::services::data_safety::backup::backup(&database.url, &out)?;
            eprintln!("wrote {}", out.display());
            println!("{}", serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?);
            Ok(())
        }
        Command::Restore { .. } => unreachable!("handled above"),
        Command::EvalMatching { dir, months } => {
            let report = with_scratch_database(&database.url, |url| {
                let pool = duizhang::db::build_pool(url, 4, std::time::Duration::from_secs(30))?;
                if months == 2 {
                    return duizhang::evaluation::two_months::evaluate(url, &dir, pool).map(|s| s.report);
                }
                duizhang::evaluation::cash_application::evaluate(url, &dir, pool).map(|s| s.report)
            })?;
            println!("{report}");
            Ok(())
        }
        Command::EvalStatements { dir, without_mappings } => {
            let report = with_scratch_database(&database.url, |url| {
                duizhang::evaluation::customer_statements::evaluate(url, &dir, !without_mappings).map(|s| s.report)
            })?;
            println!("{report}");
            Ok(())
        }
        Command::ExportSpecs { .. } | Command::DemoData(_) => unreachable!("handled above"),
    }
}

/// Seeds the demo data, prints how to try it and serves (unless `no_serve`).
fn demo(settings: &Settings, url: &str, no_serve: bool) -> Result<(), String> {
    let today = chrono::Utc::now().date_naive();
    let keys = duizhang::services::data_safety::Keyring::load(settings.connector_key.as_deref(), &settings.data_dir)?;
    let demo = duizhang::demo::seed(url, &keys, today)?;
    let base = |port: u16| {
        let host = if settings.host == "0.0.0.0" { "127.0.0.1" } else { settings.host.as_str() };
        format!("http://{host}:{port}")
    };
    if no_serve {
        println!("{}", duizhang::demo::instructions(&demo, &base(settings.port)));
        return Ok(());
    }
    let app = Application::build(settings.clone(), url)?;
    println!("{}", duizhang::demo::instructions(&demo, &base(app.port())));
    actix_web::rt::System::new().block_on(app.run_until_signalled()).map_err(|e| e.to_string())
}

fn run_tenant(settings: &Settings, url: &str, command: TenantCommand) -> Result<(), String> {
    use diesel::Connection;
    match command {
        TenantCommand::Create { name, slug, base_currency } => {
            let mut conn = diesel::PgConnection::establish(url).map_err(|e| e.to_string())?;
            let created = conn
                .transaction(|conn| {
                    duizhang::services::tenants::create_with_slug(conn, &name, slug.as_deref(), &base_currency)
                })
                .map_err(|e| e.message)?;
            println!("{}", serde_json::to_string(&created).map_err(|e| e.to_string())?);
            Ok(())
        }
        TenantCommand::List => {
            let mut conn = diesel::PgConnection::establish(url).map_err(|e| e.to_string())?;
            for t in duizhang::services::tenants::list(&mut conn).map_err(|e| e.message)? {
                println!("{}", serde_json::json!({ "tenant_id": t.id, "slug": t.slug, "name": t.name }));
            }
            Ok(())
        }
        TenantCommand::Import { file, slug } => {
            use duizhang::services::data_safety::{tenant_import, Keyring};
            let keys = Keyring::load(settings.connector_key.as_deref(), &settings.data_dir)?;
            let mut conn = diesel::PgConnection::establish(url).map_err(|e| e.to_string())?;
            let options = tenant_import::ImportOptions { slug };
            let report = tenant_import::import(&mut conn, &keys, &file, &options).map_err(|e| e.0)?;
            println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
            Ok(())
        }
    }
}

/// Seals what waits, then verifies every tenant's audit chain.
fn verify_audit(url: &str) -> Result<(), String> {
    use diesel::Connection;
    let mut conn = diesel::PgConnection::establish(url).map_err(|e| e.to_string())?;
    // Entries still waiting for a sealer are sealed first: the whole trail is verified.
    duizhang::services::audit_sealer::seal_everything(&mut conn).map_err(|e| e.message)?;
    let report = duizhang::services::audit::verify_all(&mut conn).map_err(|e| e.message)?;
    println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
    if report.iter().all(|r| r.valid) {
        Ok(())
    } else {
        Err("audit chain broken".into())
    }
}

fn check_integrity(url: &str) -> Result<(), String> {
    use diesel::Connection;
    let mut conn = diesel::PgConnection::establish(url).map_err(|e| e.to_string())?;
    let report = duizhang::services::integrity::check(&mut conn).map_err(|e| e.message)?;
    println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
    if report.ok {
        Ok(())
    } else {
        Err(format!("integrity violated: {}", report.failed_checks().join(", ")))
    }
}

fn rotate_keys(settings: &Settings, url: &str, data_keys: bool, stop_after_batches: Option<u32>) -> Result<(), String> {
    use diesel::Connection;
    use duizhang::services::data_safety::{key_rotation, Keyring};
    let keys = Keyring::load(settings.connector_key.as_deref(), &settings.data_dir)?;
    let mut conn = diesel::PgConnection::establish(url).map_err(|e| e.to_string())?;
    let options = key_rotation::RotationOptions { rotate_data_keys: data_keys, stop_after_batches };
    let report = key_rotation::rotate(&mut conn, &keys, &options).map_err(|e| e.message)?;
    println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
    Ok(())
}

/// Restores into `DATABASE_URL`, or into the embedded cluster's database (created if missing),
/// then applies the migrations this version adds.
fn restore(settings: &Settings, file: &std::path::Path, replace: bool) -> Result<(), String> {
    use diesel::Connection;
    let mut _cluster = None;
    let url = match &settings.database_url {
        Some(url) => url.clone(),
        None => {
            let cluster = duizhang::embedded_postgres::EmbeddedPostgres::start(
                duizhang::embedded_postgres::EmbeddedPostgresConfig {
                    data_dir: settings.data_dir.clone(),
                    fast_unsafe: false,
                },
            )
            .map_err(|e| e.to_string())?;
            let url = cluster.database_url(duizhang::startup::EMBEDDED_DATABASE);
            _cluster = Some(cluster);
            url
        }
    };
    let (base, name) = url.rsplit_once('/').ok_or("unexpected database URL")?;
    let name = name.split('?').next().unwrap_or(name);
    let admin = format!("{base}/postgres");
    if replace {
        duizhang::db::drop_database(&admin, name);
    }
    duizhang::db::ensure_database(&admin, name)?;
    let manifest = duizhang::services::data_safety::backup::restore(file, &url)?;
    let mut conn = diesel::PgConnection::establish(&url).map_err(|e| e.to_string())?;
    duizhang::db::run_migrations(&mut conn)?;
    println!(
        "restored {} tenants, backup of {} (version {})",
        manifest.row_counts.len(),
        manifest.created_at,
        manifest.version
    );
    Ok(())
}

fn demo_data(args: &DemoDataArgs) -> Result<(), String> {
    use duizhang::demo_data::{generate, generate_months, write_folder, write_months, FileOptions, Options};
    let options = Options {
        lines: args.lines,
        statements: args.statements,
        seed: args.seed,
        habits: args.habits,
        months: args.months,
        ..Options::default()
    };
    let files = FileOptions {
        camt_entries: args.camt.then_some(args.camt_entries),
        mt940_entries: args.mt940.then_some(args.mt940_entries),
    };
    let months = if args.months > 1 { generate_months(&options) } else { vec![generate(&options)] };
    if args.months > 1 {
        write_months(&months, &args.out, &files)
    } else {
        write_folder(&months[0], &args.out, &files)
    }
    .map_err(|e| format!("{}: {e}", args.out.display()))?;
    for (i, data) in months.iter().enumerate() {
        let folder = if args.months > 1 { format!("/month{}", i + 1) } else { String::new() };
        println!(
            "{} customers, {} ledger documents, {} bank lines, {} statement rows, {} planted differences -> {}{folder}",
            data.customers.len(),
            data.ledger.len(),
            data.bank.len(),
            data.statements.len(),
            data.truth_differences.len(),
            args.out.display()
        );
    }
    Ok(())
}

/// One lifecycle step on a user named by tenant and address, as the operator; prints the result.
fn run_user(database_url: &str, reset_ttl: std::time::Duration, command: UserCommand) -> Result<(), String> {
    use diesel::Connection;
    use duizhang::domain::auth::Role;
    use duizhang::services::users;
    let mut conn = diesel::PgConnection::establish(database_url).map_err(|e| e.to_string())?;
    let target = match &command {
        UserCommand::Disable(t)
        | UserCommand::Enable(t)
        | UserCommand::LogoutEverywhere(t)
        | UserCommand::ResetPassword(t)
        | UserCommand::Delete(t)
        | UserCommand::SetRole { target: t, .. } => t,
    };
    let output = conn
        .transaction(|conn| {
            let tenant = duizhang::services::tenants::find(conn, &target.tenant)?
                .ok_or_else(|| duizhang::error::AppError::not_found(format!("tenant {:?}", target.tenant)))?;
            let id = users::find_by_email(conn, tenant.id, &target.email)?.id;
            let operator = users::system_principal(tenant.id);
            let view = match &command {
                UserCommand::Disable(_) => users::disable(conn, &operator, id)?,
                UserCommand::Enable(_) => users::enable(conn, &operator, id)?,
                UserCommand::LogoutEverywhere(_) => users::logout_everywhere(conn, &operator, id)?,
                UserCommand::Delete(_) => users::delete(conn, &operator, id)?,
                UserCommand::SetRole { role, .. } => {
                    let role = Role::parse(role)
                        .ok_or_else(|| duizhang::error::AppError::invalid("role", "admin, accountant or viewer"))?;
                    users::set_role(conn, &operator, id, role)?
                }
                UserCommand::ResetPassword(_) => {
                    let issued = users::issue_password_reset(conn, &operator, id, reset_ttl)?;
                    return Ok(serde_json::to_value(issued).unwrap_or_default());
                }
            };
            Ok::<_, duizhang::error::AppError>(serde_json::to_value(view).unwrap_or_default())
        })
        .map_err(|e| e.message)?;
    println!("{output}");
    Ok(())
}

/// Runs an evaluation in a throw-away database on the same server, dropped afterwards unless
/// DUIZHANG_EVAL_KEEP_DB is set (to inspect it: EXPLAIN, sizes).
fn with_scratch_database<T>(server_url: &str, work: impl FnOnce(&str) -> Result<T, String>) -> Result<T, String> {
    let name = format!("dz_eval_{}", uuid::Uuid::new_v4().simple());
    let (base, _) = server_url.rsplit_once('/').ok_or("unexpected database URL")?;
    let admin = format!("{base}/postgres");
    duizhang::db::ensure_database(&admin, &name)?;
    let url = format!("{base}/{name}");
    let result = work(&url);
    if std::env::var_os("DUIZHANG_EVAL_KEEP_DB").is_some() {
        eprintln!("kept database {name}");
    } else {
        duizhang::db::drop_database(&admin, &name);
    }
    result
}
