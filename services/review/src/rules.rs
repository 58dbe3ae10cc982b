//! The rules of a review, as pure functions: what a valid review body is, and who may review
//! which stay when.

use chrono::NaiveDate;
use serde::Deserialize;
use tripnest_common::{ApiError, error::FieldError};
use utoipa::openapi::{ObjectBuilder, Type, schema::SchemaType};
use uuid::Uuid;

/// Longest review text, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 120;

/// The body of `POST /hotels/{id}/reviews` as sent; checked by `ReviewBody::validate` so
/// every bad field is named.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = NewReview)]
pub struct ReviewBody {
    /// Your confirmed booking at this hotel whose check-in has come.
    #[schema(value_type = Uuid, required = true)]
    booking_id: Option<serde_json::Value>,
    /// Rating from 1 to 5 stars.
    #[schema(schema_with = rating_schema, required = true)]
    rating: Option<serde_json::Value>,
    /// Optional title.
    #[schema(schema_with = title_schema)]
    title: Option<String>,
    /// The review (may be empty).
    #[schema(schema_with = text_schema)]
    text: Option<String>,
}

/// Lowest and highest rating.
pub const RATINGS: std::ops::RangeInclusive<u8> = 1..=5;

fn rating_schema() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(*RATINGS.start())).maximum(Some(*RATINGS.end()))
}

/// Text of at most `max` characters without control characters other than `allowed`,
/// except in the blank ends that are trimmed.
fn text_without_controls(max: usize, allowed: &str) -> ObjectBuilder {
    let forbidden: Vec<u32> = ('\0'..='\u{9f}').filter(|c| c.is_control() && !allowed.contains(*c)).map(u32::from).collect();
    // Consecutive code points as one `\uXXXX-\uYYYY` range.
    let mut ranges = String::new();
    for (i, &c) in forbidden.iter().enumerate() {
        let starts = i == 0 || forbidden[i - 1] + 1 != c;
        let ends = forbidden.get(i + 1) != Some(&(c + 1));
        if starts {
            ranges.push_str(&format!("\\u{c:04x}"));
        }
        if ends && !starts {
            ranges.push_str(&format!("-\\u{c:04x}"));
        }
    }
    let forbidden = ranges;
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .max_length(Some(max))
        .pattern(Some(format!("^\\s*[^{forbidden}]*\\s*$")))
}

fn title_schema() -> ObjectBuilder {
    text_without_controls(MAX_TITLE_CHARS, "")
}

fn text_schema() -> ObjectBuilder {
    text_without_controls(MAX_TEXT_CHARS, "\n\r\t")
}

/// A valid review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReview {
    /// The stay reviewed.
    pub booking_id: Uuid,
    /// 1–5.
    pub rating: u8,
    /// Optional title, trimmed.
    pub title: Option<String>,
    /// Text, trimmed (may be empty).
    pub text: String,
}

impl ReviewBody {
    /// Check every field; a 422 names each bad one.
    pub fn validate(self) -> Result<NewReview, ApiError> {
        let mut errors = Vec::new();
        let booking_id = match self.booking_id.as_ref().and_then(|v| v.as_str()).map(str::parse::<Uuid>) {
            Some(Ok(id)) => Some(id),
            _ => {
                errors.push(FieldError::new("bookingId", "must be the id of your booking"));
                None
            }
        };
        // `4.0` is a whole number too (JSON Schema's `integer` admits it).
        let whole = |v: &serde_json::Value| {
            v.as_u64().or_else(|| v.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= 255.0).map(|f| f as u64))
        };
        let rating = match self.rating.as_ref().and_then(whole) {
            Some(r) if u8::try_from(r).is_ok_and(|r| RATINGS.contains(&r)) => Some(r as u8),
            _ => {
                errors.push(FieldError::new("rating", "must be a whole number from 1 to 5"));
                None
            }
        };
        let title = self.title.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        if let Some(t) = &title {
            if t.chars().count() > MAX_TITLE_CHARS {
                errors.push(FieldError::new("title", format!("must be at most {MAX_TITLE_CHARS} characters")));
            } else if t.chars().any(char::is_control) {
                errors.push(FieldError::new("title", "must not contain control characters"));
            }
        }
        let text = self.text.map(|t| t.trim().to_owned()).unwrap_or_default();
        if text.chars().count() > MAX_TEXT_CHARS {
            errors.push(FieldError::new("text", format!("must be at most {MAX_TEXT_CHARS} characters")));
        } else if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            errors.push(FieldError::new("text", "must not contain control characters other than line breaks and tabs"));
        }
        match (booking_id, rating) {
            (Some(booking_id), Some(rating)) if errors.is_empty() => Ok(NewReview { booking_id, rating, title, text }),
            _ => Err(ApiError::Validation(errors)),
        }
    }
}

/// A stay as the review service knows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Stay {
    /// The booking.
    pub booking_id: Uuid,
    /// The guest.
    pub user_id: Uuid,
    /// The hotel.
    pub hotel_id: String,
    /// First night.
    pub check_in: NaiveDate,
    /// `CONFIRMED` or `CANCELLED`.
    pub status: String,
}

/// Whether `user` may review `stay` (if known) of `hotel` on `today`. Someone else's booking
/// is "not found", as if it did not exist.
pub fn may_review(stay: Option<&Stay>, user: Uuid, hotel: &str, today: NaiveDate) -> Result<(), ApiError> {
    let stay = stay.filter(|s| s.user_id == user).ok_or_else(|| ApiError::not_found("booking"))?;
    if stay.hotel_id != hotel {
        return Err(ApiError::unprocessable("wrong_hotel", "this booking is for another hotel"));
    }
    if stay.status != "CONFIRMED" {
        return Err(ApiError::conflict("booking_not_confirmed", "only a confirmed booking can be reviewed"));
    }
    if stay.check_in > today {
        return Err(ApiError::unprocessable(
            "stay_not_started",
            format!("you can review this stay from its check-in day, {}", stay.check_in),
        ));
    }
    Ok(())
}

/// A mean rating rounded to two decimals.
pub fn average(sum: i64, count: i64) -> f64 {
    if count == 0 { 0.0 } else { (sum as f64 / count as f64 * 100.0).round() / 100.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: serde_json::Value) -> ReviewBody {
        serde_json::from_value(v).expect("body")
    }

    fn fields(e: ApiError) -> Vec<String> {
        match e {
            ApiError::Validation(f) => f.into_iter().map(|f| f.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_valid_body_is_trimmed_and_kept_verbatim() {
        let id = Uuid::now_v7();
        let r = body(json!({ "bookingId": id, "rating": 5, "title": "  Lovely ", "text": " <b>Great</b> & \"quiet\"\nwould return\t! " }))
            .validate()
            .expect("valid");
        assert_eq!(
            r,
            NewReview { booking_id: id, rating: 5, title: Some("Lovely".into()), text: "<b>Great</b> & \"quiet\"\nwould return\t!".into() }
        );
    }

    #[test]
    fn a_whole_rating_written_as_a_float_counts() {
        let r = body(json!({ "bookingId": Uuid::now_v7(), "rating": 4.0 })).validate().expect("4.0 is a whole number");
        assert_eq!(r.rating, 4);
    }

    #[test]
    fn every_bad_field_is_named() {
        assert_eq!(fields(body(json!({})).validate().expect_err("empty")), ["bookingId", "rating"]);
        for bad in [json!(0), json!(6), json!(4.5), json!("5"), json!(-1)] {
            let e = body(json!({ "bookingId": Uuid::nil(), "rating": bad })).validate().expect_err("rating");
            assert_eq!(fields(e), ["rating"]);
        }
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        let e = body(json!({ "bookingId": "nope", "rating": 3, "text": long, "title": "a\u{7}b" })).validate().expect_err("many");
        assert_eq!(fields(e), ["bookingId", "title", "text"]);
        let e = body(json!({ "bookingId": Uuid::nil(), "rating": 3, "text": "nul\u{0}byte" })).validate().expect_err("nul");
        assert_eq!(fields(e), ["text"]);
        let exact = "é".repeat(MAX_TEXT_CHARS);
        assert!(body(json!({ "bookingId": Uuid::nil(), "rating": 3, "text": exact })).validate().is_ok(), "characters, not bytes");
    }

    fn stay(status: &str, check_in: &str) -> Stay {
        Stay {
            booking_id: Uuid::nil(),
            user_id: Uuid::nil(),
            hotel_id: "h".into(),
            check_in: check_in.parse().expect("date"),
            status: status.into(),
        }
    }

    #[test]
    fn only_the_guest_of_a_confirmed_stay_after_check_in() {
        let today: NaiveDate = "2027-05-10".parse().expect("date");
        let me = Uuid::nil();
        let code = |r: Result<(), ApiError>| r.map_or_else(|e| format!("{} {}", e.status().as_u16(), e.code()), |()| "ok".into());
        assert_eq!(code(may_review(Some(&stay("CONFIRMED", "2027-05-10")), me, "h", today)), "ok");
        assert_eq!(code(may_review(Some(&stay("CONFIRMED", "2027-05-01")), me, "h", today)), "ok");
        assert_eq!(code(may_review(None, me, "h", today)), "404 not_found");
        assert_eq!(code(may_review(Some(&stay("CONFIRMED", "2027-05-01")), Uuid::now_v7(), "h", today)), "404 not_found");
        assert_eq!(code(may_review(Some(&stay("CONFIRMED", "2027-05-01")), me, "other", today)), "422 wrong_hotel");
        assert_eq!(code(may_review(Some(&stay("CANCELLED", "2027-05-01")), me, "h", today)), "409 booking_not_confirmed");
        assert_eq!(code(may_review(Some(&stay("CONFIRMED", "2027-05-11")), me, "h", today)), "422 stay_not_started");
    }

    #[test]
    fn averages_round_to_two_decimals() {
        assert_eq!(average(0, 0), 0.0);
        assert_eq!(average(14, 3), 4.67);
        assert_eq!(average(7, 2), 3.5);
    }
}
