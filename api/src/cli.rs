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
    /// Manage the console's administrators (needs database access).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
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
    /// Import and export a tenant's identities (needs database access; works beside a running
    /// server).
    Identities {
        #[command(subcommand)]
        command: IdentitiesCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum IdentitiesCommand {
    /// Import identities from a file: every record is checked first (a report of what is
    /// wrong, nothing written), then written in batches with progress. Identities are matched
    /// by external id, then address, so running it again changes nothing; --resume continues
    /// an interrupted import of the same file.
    Import {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The file to import.
        #[arg(long)]
        file: PathBuf,
        /// latchkey (an export), auth0, keycloak, firebase or csv.
        #[arg(long, value_parser = parse_format)]
        format: latchkey_transfer::Format,
        /// Check the file and count what would be created and updated; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Continue the unfinished import of this file after its last written batch.
        #[arg(long)]
        resume: bool,
        /// Import the valid records of a file that has invalid ones (they are reported).
        #[arg(long)]
        skip_invalid: bool,
        /// Firebase: the project's `base64_signer_key` (password hash parameters).
        #[arg(long, requires_all = ["firebase_salt_separator", "firebase_rounds", "firebase_mem_cost"])]
        firebase_signer_key: Option<String>,
        /// Firebase: `base64_salt_separator`.
        #[arg(long)]
        firebase_salt_separator: Option<String>,
        /// Firebase: `rounds`.
        #[arg(long)]
        firebase_rounds: Option<u32>,
        /// Firebase: `mem_cost`.
        #[arg(long)]
        firebase_mem_cost: Option<u32>,
    },
    /// Export the tenant's identities: roles, organizations and identities with their
    /// passkeys (public keys), memberships, federated links and CRM records.
    Export {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// latchkey (JSON lines, what an import reads back) or csv (identities only).
        #[arg(long, default_value = "latchkey", value_parser = parse_export_format)]
        format: latchkey_transfer::ExportFormat,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Include password hashes (audited).
        #[arg(long)]
        password_hashes: bool,
    },
}

fn parse_format(value: &str) -> Result<latchkey_transfer::Format, String> {
    latchkey_transfer::Format::parse(value)
        .ok_or_else(|| "expected latchkey, auth0, keycloak, firebase or csv".to_owned())
}

fn parse_export_format(value: &str) -> Result<latchkey_transfer::ExportFormat, String> {
    latchkey_transfer::ExportFormat::parse(value)
        .ok_or_else(|| "expected latchkey or csv".to_owned())
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
pub enum AdminCommand {
    /// Invite an administrator: prints a one-time link (7 days) into the console where they
    /// enrol a passkey. Give --tenant, --platform, or both.
    Invite {
        /// Their email address.
        #[arg(long)]
        email: String,
        /// The tenant they administer (its slug).
        #[arg(long)]
        tenant: Option<String>,
        /// Their role in that tenant: owner, admin, viewer or support.
        #[arg(long, default_value = "owner", value_parser = parse_role, requires = "tenant")]
        role: latchkey_core::AdminRole,
        /// Make them a platform operator (tenants, custom domains).
        #[arg(long)]
        platform: bool,
    },
}

fn parse_role(value: &str) -> Result<latchkey_core::AdminRole, String> {
    latchkey_core::AdminRole::parse(value)
        .ok_or_else(|| "expected owner, admin, viewer or support".to_owned())
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
        Command::Identities {
            command:
                IdentitiesCommand::Import {
                    tenant,
                    file,
                    format,
                    dry_run,
                    resume,
                    skip_invalid,
                    firebase_signer_key,
                    firebase_salt_separator,
                    firebase_rounds,
                    firebase_mem_cost,
                },
        } => {
            let firebase =
                firebase_signer_key.map(|signer_key| latchkey_password_hashes::FirebaseConfig {
                    signer_key,
                    salt_separator: firebase_salt_separator.unwrap_or_default(),
                    rounds: firebase_rounds.unwrap_or_default(),
                    mem_cost: firebase_mem_cost.unwrap_or_default(),
                });
            crate::transfer::import(
                config,
                crate::transfer::ImportArgs {
                    tenant,
                    file,
                    format,
                    dry_run,
                    resume,
                    skip_invalid,
                    firebase,
                },
            )
            .await
        }
        Command::Identities {
            command:
                IdentitiesCommand::Export {
                    tenant,
                    format,
                    output,
                    password_hashes,
                },
        } => {
            crate::transfer::export(
                config,
                crate::transfer::ExportArgs {
                    tenant,
                    format,
                    output,
                    password_hashes,
                },
            )
            .await
        }
        Command::Admin {
            command:
                AdminCommand::Invite {
                    email,
                    tenant,
                    role,
                    platform,
                },
        } => {
            let db = server::open_database(&config).await?;
            let token = latchkey_core::administrators::invite_from_command_line(
                &db,
                &email,
                tenant.as_deref(),
                role,
                platform,
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot invite the administrator: {e}"))?;
            println!(
                "Console link for {email} (one use; expires in 7 days): {}",
                latchkey_core::administrators::enrolment_link(
                    &config.public_url_for(config.bind),
                    &token
                )
            );
            Ok(())
        }
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
    if let Some(token) = &server.bootstrap.first_owner_token {
        banner += &format!(
            "  Console link for the first owner (one use; expires in 24 h): {}\n",
            latchkey_core::administrators::enrolment_link(url, token)
        );
    }
    banner += "  Use them as `Authorization: Bearer <secret>`.\n";
    // A closed stdout (a supervisor that stopped reading) must not stop the server.
    let mut stdout = std::io::stdout();
    let _ = stdout
        .write_all(banner.as_bytes())
        .and_then(|()| stdout.flush());
    server.wait().await
}
