//! The `latchkey` command line.

use crate::config::Config;
use crate::server;
use clap::{Parser, Subcommand};
use latchkey_tenants::operators;
use std::io::Write;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "latchkey",
    version,
    about = "Latchkey: multi-tenant customer identity and access management",
    long_about = "Latchkey: multi-tenant customer identity and access management.\n\n\
        With no command, runs the server (the same as `latchkey serve`). Settings come from \
        latchkey.toml and LATCHKEY_* environment variables (the environment wins); see README.md."
)]
pub struct Cli {
    /// Configuration file (default: ./latchkey.toml if it exists).
    #[arg(long, env = "LATCHKEY_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP server (GraphQL APIs, health checks). On the embedded default it also
    /// applies migrations and creates the demo tenant on first start.
    Serve,
    /// Apply pending database migrations and exit (run this before starting a new version in
    /// production; uses LATCHKEY_MIGRATION_DATABASE_URL if set).
    Migrate,
    /// Manage tenants from the command line (needs database access).
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Work with a tenant's CRM connectors (needs database access).
    Connectors {
        #[command(subcommand)]
        command: ConnectorsCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConnectorsCommand {
    /// Backfill: send every identity, organization and membership of the tenant to one
    /// connector, with progress, and wait until every delivery is done. This process delivers
    /// too (alongside any running servers), so it also works with no server up.
    Sync {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The connector's id (see `crmConnectors` in the tenant API).
        #[arg(long)]
        connector: uuid::Uuid,
        /// Resume an interrupted backfill by its run id instead of starting a new one.
        #[arg(long)]
        resume: Option<uuid::Uuid>,
    },
}

#[derive(Subcommand, Debug)]
pub enum TenantCommand {
    /// Create a tenant and print its first owner API key (shown once).
    Create {
        /// URL name of the tenant: 3 to 63 characters of a-z, 0-9 and -.
        #[arg(long)]
        slug: String,
        /// Display name of the tenant.
        #[arg(long)]
        name: String,
    },
}

/// Runs the command; errors are printed by `main`.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let applied = server::migrate(&config).await?;
            println!("migrations applied: {applied}; the database is up to date");
            Ok(())
        }
        Command::Connectors {
            command:
                ConnectorsCommand::Sync {
                    tenant,
                    connector,
                    resume,
                },
        } => crate::sync::run(config, &tenant, connector, resume).await,
        Command::Tenant {
            command: TenantCommand::Create { slug, name },
        } => {
            let master_key = config.load_master_key()?;
            let db = server::open_database(&config).await?;
            let created = latchkey_tenants::create_tenant(
                &db,
                &master_key,
                &operators::local_operator(&db),
                &slug,
                &name,
                None,
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot create the tenant: {e}"))?;
            println!(
                "Created tenant {:?} ({})",
                created.tenant.slug, created.tenant.id
            );
            println!(
                "Owner API key (shown once; store it now): {}",
                created.owner_api_key
            );
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let server = server::start(config).await?;
    let url = &server.public_url;
    let mut banner = format!(
        "\nLatchkey is listening on {} ({url})\n\
         \x20 Platform GraphQL API:     {url}/platform/graphql\n",
        server.addr,
    );
    if server.bootstrap.demo_tenant {
        banner += &format!(
            "  Demo tenant GraphQL API:  {url}/t/{}/graphql\n",
            crate::bootstrap::DEMO_TENANT
        );
    }
    if let Some(token) = &server.bootstrap.platform_token {
        banner += &format!("  Platform token (shown once; store it now):        {token}\n");
    }
    if let Some(key) = &server.bootstrap.demo_api_key {
        banner += &format!("  Demo tenant owner API key (shown once; store it now): {key}\n");
    }
    banner += "  Use them as `Authorization: Bearer <secret>`.\n";
    // A closed stdout (a supervisor that stopped reading) must not stop the server.
    let mut stdout = std::io::stdout();
    let _ = stdout
        .write_all(banner.as_bytes())
        .and_then(|()| stdout.flush());
    server.wait().await
}
