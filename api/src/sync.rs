//! `latchkey connectors sync`: a CRM backfill from the command line, with a progress bar.

use crate::config::Config;
use crate::metrics::Metrics;
use crate::progress::bar;
use crate::retry::patiently;
use crate::server;
use anyhow::Context;
use latchkey_core::Actor;
use latchkey_tenants::crm::clients::Clients;
use latchkey_tenants::crm::dispatch::Dispatcher;
use latchkey_tenants::crm::sync::{self, SyncRun};
use latchkey_tenants::operators;
use latchkey_tenants::resolution;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

pub async fn run(
    config: Config,
    tenant: &str,
    connector: Uuid,
    resume: Option<Uuid>,
) -> anyhow::Result<()> {
    let master_key = Arc::new(config.load_master_key()?);
    let db = server::open_database(&config).await?;
    let (scope, _) = resolution::resolve_slug(&db, tenant)
        .await
        .with_context(|| format!("tenant {tenant:?}: not found or suspended"))?;
    let actor = Actor::platform(&operators::local_operator(&db), None);
    let run = match resume {
        Some(id) => sync::get_sync_run(&db, &scope, &actor, id)
            .await
            .with_context(|| format!("backfill {id}: not found in tenant {tenant:?}"))?,
        // A busy SQLite file shared with a running server: tried again shortly.
        None => patiently(|| sync::start_sync(&db, &scope, &actor, connector))
            .await
            .map_err(|error| {
                anyhow::anyhow!(
                    "cannot start the backfill of connector {connector}: {:#}",
                    anyhow::Error::from(error)
                )
            })?,
    };
    let connector_now = latchkey_tenants::crm::get_connector(&db, &scope, &actor, connector)
        .await
        .with_context(|| format!("connector {connector}: not found in tenant {tenant:?}"))?;
    if !connector_now.enabled {
        anyhow::bail!(
            "connector {connector} is disabled: its deliveries wait until it is enabled (enableCrmConnector); enable it, then run again with --resume {}",
            run.id
        );
    }
    if run.connector_id != connector {
        anyhow::bail!(
            "backfill {} belongs to connector {}, not {connector}",
            run.id,
            run.connector_id
        );
    }
    eprintln!(
        "backfill {} of connector {connector}: {} records",
        run.id, run.total
    );
    // Queuing resumes where it stopped, so a failed batch (a busy SQLite file shared with a
    // running server, a dropped connection) is tried again a few times before giving up.
    let mut failures = 0;
    let queued = loop {
        let progress = |done, total| bar(done, total, "queued");
        match sync::queue_sync(&db, &scope, &actor, run.id, progress).await {
            Ok(queued) => break queued,
            Err(error) if failures < 5 => {
                failures += 1;
                eprintln!(
                    "\nqueuing paused ({:#}); trying again",
                    anyhow::Error::from(error)
                );
                tokio::time::sleep(Duration::from_millis(200 * failures)).await;
            }
            Err(error) => anyhow::bail!(
                "queuing stopped: {:#}; run again with --resume {} to continue",
                anyhow::Error::from(error),
                run.id
            ),
        }
    };
    eprintln!();

    // Deliver alongside any running servers until every delivery of the run is done.
    let (stop, stopped) = watch::channel(false);
    let dispatcher = tokio::spawn(
        Dispatcher::new(
            db.clone(),
            master_key,
            Arc::new(Clients::new(
                config.crm_timeout,
                config.allow_private_networks,
            )),
            config.dispatch.clone(),
            Arc::new(Metrics::default()),
        )
        .run(stopped),
    );
    let mut last: SyncRun = queued;
    while !last.finished() {
        bar(last.delivered + last.dead, last.total, "delivered");
        tokio::time::sleep(Duration::from_millis(500)).await;
        // A busy SQLite file shared with a running server may refuse a read now and then.
        let mut failures = 0;
        last = loop {
            match sync::get_sync_run(&db, &scope, &actor, run.id).await {
                Ok(run) => break run,
                Err(error) if failures >= 10 => return Err(anyhow::Error::from(error)),
                Err(_) => {
                    failures += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
    }
    bar(last.delivered + last.dead, last.total, "delivered");
    eprintln!();
    let _ = stop.send(true);
    let _ = dispatcher.await;
    if last.dead > 0 {
        anyhow::bail!(
            "{} of {} deliveries are dead; see crmSyncEvents(filter: {{ status: DEAD, connectorId: \"{connector}\" }}) for why, fix the connector, then replayCrmSyncEvent",
            last.dead,
            last.total
        );
    }
    println!("backfill {}: {} records delivered", run.id, last.delivered);
    Ok(())
}
