//! One room type's calendar, and the packed form it is stored in.
//!
//! A calendar document is `{_id: "hotel|roomType", hotelId, roomType, from, nights}` where
//! `from` is the first stored night (`2027-05-01`) and `nights` is one string with a token per
//! night from `from` on, separated by spaces: `available:priceCents` (`5:10000`), or `-` for a
//! night that is not on sale. So `from: "2027-05-01", nights: "5:10000 - 2:12000"` holds the
//! nights of May 1st and 3rd.
//!
//! Why a string: FerretDB v1 decodes every stored value of every document a query scans (it
//! pushes down only `{_id: …}`), so a calendar kept as a map of night documents cost ~1.8 ms
//! per room type to read (30 hotels: 56 ms), and as arrays of numbers ~1.2 ms; one string per
//! calendar costs ~0.13 ms. MongoDB reads it as a plain string too.
//!
//! Calendars written by earlier versions (`nights` as a map of `YYYY-MM-DD` →
//! `{available, priceCents}`) are still read, and rewritten packed on their next change.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One night in a calendar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NightCell {
    /// Rooms left (0 when closed).
    pub available: i32,
    /// Price of one room that night, minor units.
    pub price_cents: i64,
}

/// The nights of one room type, by date.
pub type Nights = BTreeMap<NaiveDate, NightCell>;

/// One room type's calendar.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "StoredCalendar", into = "StoredCalendar")]
pub struct CalendarDoc {
    /// `hotel|roomType`.
    pub id: String,
    /// Hotel the room type belongs to.
    pub hotel_id: String,
    /// Room type.
    pub room_type: String,
    /// The nights on sale.
    pub nights: Nights,
}

/// The document as MongoDB holds it.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct StoredCalendar {
    #[serde(rename = "_id")]
    id: String,
    hotel_id: String,
    room_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    nights: StoredNights,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum StoredNights {
    Packed(String),
    Legacy(BTreeMap<String, NightCell>),
}

impl Default for StoredNights {
    fn default() -> Self {
        Self::Packed(String::new())
    }
}

impl From<StoredCalendar> for CalendarDoc {
    fn from(s: StoredCalendar) -> Self {
        let nights = match s.nights {
            StoredNights::Packed(text) => s.from.and_then(|f| f.parse().ok()).map(|from| unpack(from, &text)).unwrap_or_default(),
            StoredNights::Legacy(map) => map.into_iter().filter_map(|(k, cell)| Some((k.parse().ok()?, cell))).collect(),
        };
        Self { id: s.id, hotel_id: s.hotel_id, room_type: s.room_type, nights }
    }
}

impl From<CalendarDoc> for StoredCalendar {
    fn from(c: CalendarDoc) -> Self {
        let (from, nights) = pack(&c.nights);
        Self {
            id: c.id,
            hotel_id: c.hotel_id,
            room_type: c.room_type,
            from: from.map(|d| d.to_string()),
            nights: StoredNights::Packed(nights),
        }
    }
}

/// The packed form of `nights`: the first night and the token string (see the module docs).
pub fn pack(nights: &Nights) -> (Option<NaiveDate>, String) {
    let Some((&first, _)) = nights.first_key_value() else { return (None, String::new()) };
    let mut out = String::with_capacity(nights.len() * 9);
    let mut day = first;
    for (&night, cell) in nights {
        while day < night {
            out.push_str("- ");
            day = day.succ_opt().unwrap_or(night);
        }
        out.push_str(&format!("{}:{} ", cell.available, cell.price_cents));
        day = night.succ_opt().unwrap_or(night);
    }
    out.pop();
    (Some(first), out)
}

/// The nights packed in `text` from `from` on; a token that does not parse is skipped.
pub fn unpack(from: NaiveDate, text: &str) -> Nights {
    text.split(' ')
        .filter(|t| !t.is_empty())
        .enumerate()
        .filter_map(|(i, token)| {
            let (available, price) = token.split_once(':')?;
            let night = from.checked_add_days(Days::new(i as u64))?;
            Some((night, NightCell { available: available.parse().ok()?, price_cents: price.parse().ok()? }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::{doc, from_document, to_document};

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn packing_keeps_gaps_and_round_trips() {
        let mut nights = Nights::new();
        nights.insert(d("2027-05-01"), NightCell { available: 5, price_cents: 10_000 });
        nights.insert(d("2027-05-03"), NightCell { available: 0, price_cents: 12_000 });
        nights.insert(d("2027-05-04"), NightCell { available: 2, price_cents: 9_500 });
        let (from, text) = pack(&nights);
        assert_eq!((from, text.as_str()), (Some(d("2027-05-01")), "5:10000 - 0:12000 2:9500"));
        assert_eq!(unpack(d("2027-05-01"), &text), nights);
        assert_eq!(pack(&Nights::new()), (None, String::new()));
    }

    #[test]
    fn documents_are_stored_packed_and_legacy_maps_still_read() {
        let mut cal = CalendarDoc { id: "h|double".into(), hotel_id: "h".into(), room_type: "double".into(), nights: Nights::new() };
        cal.nights.insert(d("2027-05-02"), NightCell { available: 3, price_cents: 100 });
        let stored = to_document(&cal).expect("bson");
        assert_eq!(stored, doc! { "_id": "h|double", "hotelId": "h", "roomType": "double", "from": "2027-05-02", "nights": "3:100" });
        assert_eq!(from_document::<CalendarDoc>(stored).expect("read"), cal);

        let legacy = doc! { "_id": "h|double", "hotelId": "h", "roomType": "double",
        "nights": { "2027-05-02": { "available": 3, "priceCents": 100_i64 } } };
        assert_eq!(from_document::<CalendarDoc>(legacy).expect("legacy"), cal);
    }
}
