//! Keeping the `calendars` collection true to booking's calendar.
//!
//! `availability.changed` carries the nights a change set, with their values right after it
//! (booking reads them back from the statement that changed them), and the consumer stores
//! them in one read and one write of the calendar document: no call to booking per event.
//! Events are applied in topic order per hotel, which is the order booking changed each night
//! in (see `saga::AvailabilityChanged`), so the calendar ends with booking's latest values;
//! a redelivered event re-applies values that a later event of the same nights overwrites again.
//!
//! Events written before booking carried the nights name only the range. For those the consumer
//! asks booking's public `GET /hotels/{id}/availability` (with `guests=1&rooms=1`, so every
//! room type is listed) for the nights, in windows of at most [`MAX_NIGHTS`] from today on (a
//! few at a time), and makes the range exactly the answer: what is true *now*, so duplicates
//! and reordering cannot corrupt it.

use crate::store::{Applied, Store};
use chrono::{Days, NaiveDate};
use futures::{StreamExt, TryStreamExt, stream};
use serde::Deserialize;
use std::time::Duration;
use tripnest_common::{
    kafka::HandlerError,
    saga::{AvailabilityChanged, NightAvailability},
};

/// Longest window booking answers in one request.
pub const MAX_NIGHTS: u64 = 30;

/// Booking's public availability API.
#[derive(Debug, Clone)]
pub struct BookingClient {
    http: reqwest::Client,
    base: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AvailabilityAnswer {
    room_types: Vec<RoomTypeAnswer>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoomTypeAnswer {
    room_type: String,
    /// Booking's `NightPrice`s, which hold a night's fields under the same names.
    nightly_prices: Vec<NightAvailability>,
}

impl BookingClient {
    /// A client for the booking service at `base` (e.g. `http://booking:8080`).
    pub fn new(base: &str, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(Self { http, base: base.trim_end_matches('/').to_owned() })
    }

    /// The nights `[from, to)` of one room type as booking has them now; `None` when booking
    /// does not sell the hotel (removed), an empty list when the room type is not on sale.
    pub async fn nights(
        &self,
        hotel: &str,
        room_type: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> anyhow::Result<Option<Vec<NightAvailability>>> {
        let url = format!("{}/hotels/{hotel}/availability", self.base);
        let query = [("checkIn", from.to_string()), ("checkOut", to.to_string()), ("guests", "1".into()), ("rooms", "1".into())];
        let response = self.http.get(url).query(&query).send().await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let answer: AvailabilityAnswer = response.error_for_status()?.json().await?;
        let nights = answer.room_types.into_iter().filter(|r| r.room_type == room_type).flat_map(|r| r.nightly_prices).collect();
        Ok(Some(nights))
    }
}

/// The windows of at most [`MAX_NIGHTS`] covering `[from, to)`, starting no earlier than `today`.
pub fn windows(from: NaiveDate, to: NaiveDate, today: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut start = from.max(today);
    while start < to {
        let end = start.checked_add_days(Days::new(MAX_NIGHTS)).map_or(to, |e| e.min(to));
        out.push((start, end));
        start = end;
    }
    out
}

/// Windows of the range read from booking at once.
const CONCURRENT_WINDOWS: usize = 4;

/// Apply an `availability.changed` written before booking carried its nights: re-read its range
/// from booking, a few windows at a time, and make the range exactly the answer, with one write
/// of the calendar document whatever the range's length. (Events that carry their nights never
/// come here: the consumer gathers them per batch and stores them with
/// [`Store::replace_nights`].)
pub async fn reread(
    store: &Store,
    booking: &BookingClient,
    change: &AvailabilityChanged,
    today: NaiveDate,
) -> Result<Applied, HandlerError> {
    let windows = windows(change.from, change.to, today);
    let (Some(&(from, _)), Some(&(_, to))) = (windows.first(), windows.last()) else { return Ok(Applied::default()) };
    let answers: Vec<Option<Vec<NightAvailability>>> = stream::iter(windows)
        .map(|(from, to)| booking.nights(&change.hotel_id, &change.room_type, from, to))
        .buffered(CONCURRENT_WINDOWS)
        .try_collect()
        .await
        .map_err(|e| HandlerError::Transient(e.context("reading availability from booking")))?;
    // A hotel that booking no longer sells (any window answering 404) has no nights at all.
    let nights: Vec<NightAvailability> =
        if answers.iter().any(Option::is_none) { Vec::new() } else { answers.into_iter().flatten().flatten().collect() };
    let mut applied = store
        .replace_nights(&change.hotel_id, &change.room_type, Some((from, to)), &nights, today)
        .await
        .map_err(|e| HandlerError::Transient(e.into()))?;
    applied.cities.sort();
    applied.cities.dedup();
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn windows_start_today_and_hold_at_most_thirty_nights() {
        assert_eq!(windows(d("2027-05-01"), d("2027-05-03"), d("2027-04-01")), [(d("2027-05-01"), d("2027-05-03"))]);
        assert_eq!(windows(d("2027-04-01"), d("2027-05-03"), d("2027-05-01")), [(d("2027-05-01"), d("2027-05-03"))]);
        assert!(windows(d("2027-04-01"), d("2027-04-10"), d("2027-05-01")).is_empty(), "all in the past");
        let long = windows(d("2027-05-01"), d("2027-07-10"), d("2027-05-01"));
        assert_eq!(long, [(d("2027-05-01"), d("2027-05-31")), (d("2027-05-31"), d("2027-06-30")), (d("2027-06-30"), d("2027-07-10"))]);
    }
}
