//! Price computation: one night, and a whole 365-night inventory plan (what the roll computes
//! per room type before its single upsert).

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use tripnest_booking::{
    domain::{Pricing, Season, nightly_price},
    inventory::{CatalogInventory, DateOverride, planned_nights},
};

fn pricing() -> Pricing {
    let d = |s: &str| s.parse::<NaiveDate>().expect("date");
    Pricing {
        weekend_multiplier: Some(1.25),
        seasons: vec![
            Season { name: "summer".into(), from: d("2027-06-15"), to: d("2027-09-15"), multiplier: 1.4 },
            Season { name: "christmas".into(), from: d("2027-12-20"), to: d("2028-01-02"), multiplier: 1.8 },
        ],
    }
}

fn bench(c: &mut Criterion) {
    let p = pricing();
    let night: NaiveDate = "2027-07-09".parse().expect("date");
    c.bench_function("nightly_price", |b| b.iter(|| nightly_price(black_box(12_000), black_box(night), black_box(&p))));
    let spec = CatalogInventory {
        rooms: 20,
        horizon_days: 365,
        pricing: p.clone(),
        closed_dates: vec!["2027-03-01".parse().expect("date")],
        overrides: (0..20)
            .map(|i| DateOverride { date: night + chrono::Days::new(i), rooms: Some(10), price_cents: None, closed: None })
            .collect(),
    };
    let today: NaiveDate = "2027-01-01".parse().expect("date");
    c.bench_function("inventory_plan_365_nights", |b| b.iter(|| planned_nights(black_box(&spec), black_box(12_000), black_box(today))));
}

criterion_group!(benches, bench);
criterion_main!(benches);
