//! One pagination contract for every list endpoint: the query `?page` (from 1, at most
//! [`MAX_PAGE`]) and `?pageSize` (1 to [`MAX_PAGE_SIZE`], default [`DEFAULT_PAGE_SIZE`]), and the
//! answer [`Paged`] (`items`, `page`, `pageSize`, `total`).
//!
//! The bounds are the ones the OpenAPI document states (its schema is built from these
//! constants), and they keep `(page - 1) * pageSize` far inside `i64`, so no page number can
//! overflow an offset: a page past the end is simply empty.

use crate::{ApiError, error::FieldError};
use serde::{Deserialize, Serialize};
use utoipa::{
    IntoParams, ToSchema,
    openapi::{ObjectBuilder, RefOr, Schema, Type},
};

/// Page size when none is given.
pub const DEFAULT_PAGE_SIZE: u32 = 20;
/// Largest page size.
pub const MAX_PAGE_SIZE: u32 = 100;
/// Largest page number (the largest 32-bit integer, so every client can send it).
pub const MAX_PAGE: u32 = i32::MAX as u32;

/// `?page&pageSize` as sent. Values are parsed by hand so that a bad one is a 422 naming its
/// field, like every other invalid input.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1.
    #[param(schema_with = page_schema)]
    pub page: Option<String>,
    /// Items per page.
    #[param(schema_with = page_size_schema)]
    pub page_size: Option<String>,
}

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Page number, from 1.
    pub page: u32,
    /// Items per page.
    pub page_size: u32,
}

impl Default for Page {
    fn default() -> Self {
        Self { page: 1, page_size: DEFAULT_PAGE_SIZE }
    }
}

impl Page {
    /// Rows to skip.
    pub fn offset(self) -> i64 {
        (i64::from(self.page) - 1) * i64::from(self.page_size)
    }
    /// Rows to take.
    pub fn limit(self) -> i64 {
        i64::from(self.page_size)
    }
    /// The answer for this page.
    pub fn of<T>(self, items: Vec<T>, total: i64) -> Paged<T> {
        Paged { items, page: self.page, page_size: self.page_size, total }
    }
}

impl PageQuery {
    /// The page asked for, or a 422 naming each bad parameter.
    pub fn validate(&self) -> Result<Page, ApiError> {
        let mut errors = Vec::new();
        let page = self.validate_into(&mut errors);
        if errors.is_empty() { Ok(page) } else { Err(ApiError::Validation(errors)) }
    }

    /// The page asked for, adding a [`FieldError`] for each bad parameter to `errors` (for
    /// endpoints that report all their query's errors at once).
    pub fn validate_into(&self, errors: &mut Vec<FieldError>) -> Page {
        let mut number = |raw: &Option<String>, field: &str, default: u32, max: u32| match raw.as_deref().map(|r| r.trim().parse::<u32>()) {
            None => default,
            Some(Ok(n)) if (1..=max).contains(&n) => n,
            Some(_) => {
                errors.push(FieldError::new(field, format!("must be a whole number from 1 to {max}")));
                default
            }
        };
        let page = number(&self.page, "page", 1, MAX_PAGE);
        let page_size = number(&self.page_size, "pageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
        Page { page, page_size }
    }
}

fn bounded_integer(max: u32, default: u32) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(max)).default(Some(default.into()))
}

fn page_schema() -> impl Into<RefOr<Schema>> {
    bounded_integer(MAX_PAGE, 1)
}

fn page_size_schema() -> impl Into<RefOr<Schema>> {
    bounded_integer(MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)
}

/// One page of a list, newest first unless the endpoint says otherwise.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Paged<T> {
    /// The items on this page (empty past the last page).
    pub items: Vec<T>,
    /// This page, from 1.
    pub page: u32,
    /// The page size used.
    pub page_size: u32,
    /// Items in all pages.
    pub total: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(page: Option<&str>, page_size: Option<&str>) -> PageQuery {
        PageQuery { page: page.map(Into::into), page_size: page_size.map(Into::into) }
    }

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(q(None, None).validate().expect("defaults"), Page { page: 1, page_size: DEFAULT_PAGE_SIZE });
        assert_eq!(q(Some("3"), Some("100")).validate().expect("max size"), Page { page: 3, page_size: 100 });
        let Err(ApiError::Validation(fields)) = q(Some("0"), Some("abc")).validate() else { panic!("both invalid") };
        let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["page", "pageSize"]);
        for bad in [q(None, Some("101")), q(Some("-1"), None), q(Some("2147483648"), None)] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_last_page_has_an_offset_that_fits() {
        let last = q(Some(&MAX_PAGE.to_string()), Some(&MAX_PAGE_SIZE.to_string())).validate().expect("the largest documented page");
        assert_eq!(last.offset(), (i64::from(MAX_PAGE) - 1) * i64::from(MAX_PAGE_SIZE));
    }
}
