//! How a message is laid out: the event's values in human form ([`Facts`]), and the text and
//! HTML renderings of an email ([`Body`]). The HTML layout adds only fixed markup; everything it
//! places comes from [`Facts::escaped`] or from our own wording.

use chrono::NaiveDate;
use tripnest_common::saga::Stay;

/// The event's values in human form; the only source of user text in a message.
#[derive(Debug, Clone)]
pub(super) struct Facts {
    pub(super) name: Option<String>,
    pub(super) hotel: String,
    pub(super) booking: String,
    pub(super) room: String,
    pub(super) check_in: String,
    pub(super) check_out: String,
    pub(super) total: String,
    pub(super) short_dates: String,
}

impl Facts {
    /// The facts of `stay`, unescaped.
    pub(super) fn of(stay: &Stay) -> Self {
        let nights = (stay.check_out - stay.check_in).num_days();
        Self {
            name: stay.contact.name.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned),
            hotel: stay.hotel_name.clone(),
            booking: stay.booking_id.to_string(),
            room: format!("{} × {}, {}", stay.rooms, stay.room_type, plural(stay.guests.into(), "guest", "guests")),
            check_in: long_date(stay.check_in),
            check_out: format!("{} ({})", long_date(stay.check_out), plural(nights, "night", "nights")),
            total: money(stay.amount_cents, &stay.currency),
            short_dates: format!("{} to {}", stay.check_in.format("%-d %b"), stay.check_out.format("%-d %b %Y")),
        }
    }

    /// The same facts, safe to place in HTML text and attribute values.
    pub(super) fn escaped(&self) -> Self {
        Self {
            name: self.name.as_deref().map(escape_html),
            hotel: escape_html(&self.hotel),
            booking: escape_html(&self.booking),
            room: escape_html(&self.room),
            check_in: escape_html(&self.check_in),
            check_out: escape_html(&self.check_out),
            total: escape_html(&self.total),
            short_dates: escape_html(&self.short_dates),
        }
    }

    /// `Hello Ada,` or `Hello,`.
    pub(super) fn greeting(&self) -> String {
        self.name.as_ref().map_or_else(|| "Hello,".to_owned(), |n| format!("Hello {n},"))
    }

    /// The booking summary, label by label.
    pub(super) fn rows(&self) -> Vec<(&'static str, String)> {
        vec![
            ("Booking", self.booking.clone()),
            ("Hotel", self.hotel.clone()),
            ("Room", self.room.clone()),
            ("Check-in", self.check_in.clone()),
            ("Check-out", self.check_out.clone()),
            ("Total", self.total.clone()),
        ]
    }
}

/// One email's content, laid out as text or HTML. Built from raw facts for text and from
/// escaped facts for HTML; the layout adds only fixed markup.
pub(super) struct Body {
    pub(super) greeting: String,
    pub(super) lead: String,
    pub(super) paragraphs: Vec<String>,
    pub(super) rows: Vec<(&'static str, String)>,
    pub(super) closing: &'static str,
}

impl Body {
    /// The plain-text alternative.
    pub(super) fn text(&self) -> String {
        let mut out = format!("{}\n\n{}\n\n", self.greeting, self.lead);
        for p in &self.paragraphs {
            out.push_str(p);
            out.push_str("\n\n");
        }
        for (label, value) in &self.rows {
            out.push_str(&format!("  {:<11}{value}\n", format!("{label}:")));
        }
        out.push_str(&format!("\n{}\n\nTripNest\n", self.closing));
        out
    }

    /// The HTML alternative; `title` must already be escaped.
    pub(super) fn html(&self, title: &str) -> String {
        let paragraphs: String = self.paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
        let rows: String = self
            .rows
            .iter()
            .map(|(label, value)| format!("<tr><th align=\"left\" style=\"padding:2px 16px 2px 0\">{label}</th><td>{value}</td></tr>\n"))
            .collect();
        format!(
            "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
             <body style=\"font-family:Helvetica,Arial,sans-serif;color:#1f2933;line-height:1.5\">\n\
             <p>{greeting}</p>\n<h1 style=\"font-size:20px\">{lead}</h1>\n{paragraphs}\
             <table style=\"border-collapse:collapse;margin:16px 0\">\n{rows}</table>\n\
             <p>{closing}</p>\n<p>TripNest</p>\n</body>\n</html>\n",
            greeting = self.greeting,
            lead = self.lead,
            closing = self.closing,
        )
    }
}

/// Escape text for HTML element content and quoted attribute values.
pub fn escape_html(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn long_date(d: NaiveDate) -> String {
    d.format("%a %-d %b %Y").to_string()
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Minor units as a human amount: `EUR 240.00`, `JPY 24000`.
fn money(minor: i64, currency: &str) -> String {
    const NO_MINOR_UNIT: &[&str] = &["BIF", "CLP", "ISK", "JPY", "KRW", "PYG", "UGX", "VND", "XAF", "XOF"];
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    if NO_MINOR_UNIT.contains(&currency) {
        format!("{currency} {sign}{abs}")
    } else {
        format!("{currency} {sign}{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_uses_the_currency_minor_unit() {
        assert_eq!(money(24_000, "EUR"), "EUR 240.00");
        assert_eq!(money(5, "USD"), "USD 0.05");
        assert_eq!(money(24_000, "JPY"), "JPY 24000");
        assert_eq!(money(-150, "GBP"), "GBP -1.50");
    }
}
