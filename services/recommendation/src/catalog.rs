//! The hotel catalog in memory: every hotel by id, and those on sale ranked most popular first
//! (then best rated, then by id), overall and per city.
//!
//! A request must not scan `hotels` (FerretDB v1 decodes the whole collection for any filter
//! but `_id`), so a background task loads the whole catalog with its popularity every
//! `catalog_refresh_ms` and swaps the new snapshot in. Requests read the current snapshot and
//! never wait for MongoDB; only [`start`] waits for the first load. A failed load keeps the
//! previous snapshot (stale while revalidating). Catalog, rating and popularity changes
//! therefore show within one refresh interval; a traveller's own stays and reviews are read
//! fresh from their profile on each request.

use crate::store::{HotelDoc, Store};
use std::{collections::HashMap, sync::Arc, time::Duration};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// One snapshot of the catalog.
#[derive(Debug, Default)]
pub struct Catalog {
    by_id: HashMap<String, Arc<HotelDoc>>,
    ranked: Vec<Arc<HotelDoc>>,
    by_city: HashMap<String, Vec<Arc<HotelDoc>>>,
}

impl Catalog {
    /// Index `hotels`.
    pub fn new(hotels: Vec<HotelDoc>) -> Self {
        let hotels: Vec<Arc<HotelDoc>> = hotels.into_iter().map(Arc::new).collect();
        let mut ranked: Vec<Arc<HotelDoc>> = hotels.iter().filter(|h| h.on_sale).cloned().collect();
        ranked.sort_by(|a, b| b.popularity.cmp(&a.popularity).then_with(|| b.rating.total_cmp(&a.rating)).then_with(|| a.id.cmp(&b.id)));
        let mut by_city: HashMap<String, Vec<Arc<HotelDoc>>> = HashMap::new();
        for h in &ranked {
            by_city.entry(h.city_key.clone()).or_default().push(h.clone());
        }
        Self { by_id: hotels.into_iter().map(|h| (h.id.clone(), h)).collect(), ranked, by_city }
    }

    /// A hotel by id, on sale or not.
    pub fn hotel(&self, id: &str) -> Option<&HotelDoc> {
        self.by_id.get(id).map(Arc::as_ref)
    }

    /// Hotels on sale (in `city`, a match key, when given), most popular first.
    pub fn on_sale(&self, city: Option<&str>) -> impl Iterator<Item = &HotelDoc> {
        let list = match city {
            Some(city) => self.by_city.get(city).map_or(&[][..], Vec::as_slice),
            None => &self.ranked[..],
        };
        list.iter().map(Arc::as_ref)
    }
}

/// The current snapshot, replaced in the background.
#[derive(Debug, Clone)]
pub struct CatalogCache(watch::Receiver<Arc<Catalog>>);

impl CatalogCache {
    /// The snapshot now.
    pub fn current(&self) -> Arc<Catalog> {
        self.0.borrow().clone()
    }
}

/// Load the catalog once, then keep reloading it every `every` until `shutdown`.
pub async fn start(store: Store, every: Duration, shutdown: CancellationToken) -> mongodb::error::Result<CatalogCache> {
    let (tx, rx) = watch::channel(Arc::new(Catalog::new(store.load_catalog().await?)));
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            let started = std::time::Instant::now();
            match store.load_catalog().await {
                Ok(hotels) => {
                    metrics::histogram!("recommendation_catalog_load_seconds").record(started.elapsed().as_secs_f64());
                    tx.send_replace(Arc::new(Catalog::new(hotels)));
                }
                Err(e) => tracing::warn!(error = %e, "catalog reload failed; serving the previous snapshot"),
            }
        }
    });
    Ok(CatalogCache(rx))
}
