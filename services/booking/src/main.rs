//! `tripnest-booking`: serves the booking service, or with `roll-inventory` re-applies the
//! stored inventory specs from today (what the operator's CronJob runs).

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(version, about = "TripNest booking service")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API and run the saga consumers (the default).
    Serve,
    /// Roll the availability window forward for stored inventory specs.
    RollInventory {
        /// Only this hotel.
        #[arg(long)]
        hotel: Option<String>,
        /// Only this room type (with --hotel).
        #[arg(long, requires = "hotel")]
        room_type: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cfg: tripnest_booking::Config = tripnest_common::config::load()?;
    match Cli::parse().command.unwrap_or(Command::Serve) {
        Command::Serve => {
            tripnest_common::service::run(tripnest_booking::NAME, &cfg.common.log.clone(), cfg, tripnest_booking::start).await
        }
        Command::RollInventory { hotel, room_type } => {
            tripnest_common::telemetry::init(tripnest_booking::NAME, &cfg.common.log);
            // No relay runs here: each roll's commit wakes the service's relay by `NOTIFY`.
            let outbox = tripnest_common::outbox::Outbox::new(tripnest_booking::connect(&cfg).await?);
            let today = chrono::Utc::now().date_naive();
            let reports = tripnest_booking::inventory::roll_stored(&outbox, hotel.as_deref(), room_type.as_deref(), today).await?;
            for (hotel, room_type, r) in &reports {
                tracing::info!(hotel, room_type, changed = r.changed_nights, generated_through = ?r.generated_through, overbooked = r.overbooked_nights.len(), "rolled");
            }
            anyhow::ensure!(!reports.is_empty() || hotel.is_none(), "no inventory spec stored for {hotel:?}/{room_type:?}");
            Ok(())
        }
    }
}
