//! Accounts: the `users` table, the rules a new account must pass, and the JSON a user is
//! shown as. Emails are normalised ([`tripnest_common::email`]: NFKC, trimmed, lower-cased)
//! before they are stored or looked up, and invisible or mixed-script addresses are refused.
//!
//! A password must be hard to guess, not just long: zxcvbn estimates the guesses an attacker
//! needs, knowing common passwords, keyboard walks, repeats, dates and the account's own email
//! and name, and anything it scores below [`MIN_PASSWORD_SCORE`] (about 10^8 guesses) is
//! refused with zxcvbn's reason. zxcvbn charges every extra piece of a password a flat 10^4
//! guesses, so two words of the email joined by a dash still reach that score; a password at
//! least half made of the account's own words is therefore refused as well. (zxcvbn itself
//! looks at the first 100 characters only, which bounds its work per request.)

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
pub use tripnest_common::email::normalize as normalize_email;
use tripnest_common::{ApiError, auth::Role, db, email, email::MAX_EMAIL_CHARS, error::FieldError};
use utoipa::openapi::{ObjectBuilder, Type, schema::SchemaType};
use uuid::Uuid;
use zxcvbn::Score;

/// Shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted, in characters (bounds the work one request can cause).
pub const MAX_PASSWORD_CHARS: usize = 256;
const MAX_NAME_CHARS: usize = 100;
/// Digits in an E.164 phone number, after the `+`.
const PHONE_DIGITS: std::ops::RangeInclusive<usize> = 8..=15;
/// The weakest zxcvbn score accepted: `Three` needs about 10^8 guesses or more.
pub const MIN_PASSWORD_SCORE: Score = Score::Three;

/// A user as the API shows it (never with the password hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// User id (the `sub` of its tokens).
    pub id: Uuid,
    /// Login email, lowercased.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// Phone in E.164.
    pub phone: Option<String>,
    /// Roles (one today: traveller, manager or admin).
    pub roles: Vec<Role>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

/// A stored account with its password hash, for login.
#[derive(Debug)]
pub struct Account {
    /// The public part.
    pub user: User,
    /// argon2id PHC string.
    pub password_hash: String,
}

/// The body of `POST /auth/register` (and, with a role, `POST /internal/users`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Registration {
    /// Login email (stored trimmed and lower-cased).
    #[schema(schema_with = email_schema)]
    pub email: String,
    /// Plain password; kept secret so it never reaches a log line.
    #[schema(schema_with = password_schema)]
    pub password: SecretString,
    /// Optional display name.
    #[serde(default)]
    #[schema(schema_with = name_schema)]
    pub name: Option<String>,
    /// Optional phone in E.164 (blank means none).
    #[serde(default)]
    #[schema(schema_with = phone_schema)]
    pub phone: Option<String>,
}

fn text() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn optional_text() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]))
}

/// What [`is_plausible_email`] accepts: one `@`, no spaces, a dot in the domain.
fn email_schema() -> ObjectBuilder {
    text().max_length(Some(MAX_EMAIL_CHARS)).pattern(Some(r"^\s*[^@\s]+@[^@\s]*\.[^@\s]*\s*$"))
}

fn password_schema() -> ObjectBuilder {
    text().min_length(Some(MIN_PASSWORD_CHARS)).max_length(Some(MAX_PASSWORD_CHARS))
}

fn name_schema() -> ObjectBuilder {
    optional_text().max_length(Some(MAX_NAME_CHARS))
}

/// What [`is_e164`] accepts, with the surrounding blanks that are trimmed (all blank: none).
fn phone_schema() -> ObjectBuilder {
    let (min, max) = (PHONE_DIGITS.start() - 1, PHONE_DIGITS.end() - 1);
    optional_text().pattern(Some(format!(r"^\s*(\+[1-9][0-9]{{{min},{max}}})?\s*$")))
}

/// A registration that passed validation, normalised for storage.
#[derive(Debug)]
pub struct NewUser {
    /// Lowercased email.
    pub email: String,
    /// The password to hash.
    pub password: SecretString,
    /// Trimmed name, `None` when blank.
    pub name: Option<String>,
    /// E.164 phone.
    pub phone: Option<String>,
    /// The role the account gets.
    pub role: Role,
}

impl Registration {
    /// Check every field, reporting all failing ones at once (422 `validation_failed`).
    pub fn validate(self, role: Role) -> Result<NewUser, ApiError> {
        let mut errors = Vec::new();
        let email = normalize_email(&self.email);
        if let Some(problem) = email::problem(&email) {
            errors.push(FieldError::new("email", problem));
        }
        let name = self.name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        let password_chars = self.password.expose_secret().chars().count();
        if password_chars < MIN_PASSWORD_CHARS {
            errors.push(FieldError::new("password", format!("must be at least {MIN_PASSWORD_CHARS} characters")));
        } else if password_chars > MAX_PASSWORD_CHARS {
            errors.push(FieldError::new("password", format!("must be at most {MAX_PASSWORD_CHARS} characters")));
        } else if let Some(why) = guessable(self.password.expose_secret(), &email, name.as_deref()) {
            errors.push(FieldError::new("password", why));
        }
        if name.as_ref().is_some_and(|n| n.chars().count() > MAX_NAME_CHARS) {
            errors.push(FieldError::new("name", format!("must be at most {MAX_NAME_CHARS} characters")));
        }
        let phone = self.phone.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty());
        if phone.as_deref().is_some_and(|p| !is_e164(p)) {
            errors.push(FieldError::new("phone", "must be in E.164 form: + then 8 to 15 digits, e.g. +447700900123"));
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(NewUser { email, password: self.password, name, phone, role })
    }
}

/// Why `password` is too easy to guess for the account `email` / `name`, or `None`.
fn guessable(password: &str, email: &str, name: Option<&str>) -> Option<String> {
    // The email whole, its local part, and each of their words (`ada.lovelace+trips` → `ada`,
    // `lovelace`, `trips`), plus the name's words: a password built from them is guessable.
    let local = email.split('@').next().unwrap_or_default();
    let words =
        |s: &'_ str| s.split(|c: char| !c.is_alphanumeric()).filter(|w| w.chars().count() > 1).map(str::to_owned).collect::<Vec<_>>();
    let mut inputs = vec![email.to_owned(), local.to_owned()];
    inputs.extend(words(email));
    if let Some(name) = name {
        inputs.push(name.to_lowercase());
        inputs.extend(words(&name.to_lowercase()));
    }
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    let own_chars: usize = estimate.sequence().iter().filter(|m| matches_one_of(m, &inputs)).map(|m| m.token.chars().count()).sum();
    let scored_chars = password.chars().count().min(100);
    let derived = own_chars * 2 >= scored_chars;
    if estimate.score() >= MIN_PASSWORD_SCORE && !derived {
        return None;
    }
    let mut why = "is too easy to guess".to_owned();
    let feedback = estimate.feedback();
    if derived {
        why.push_str(": it is built from your email or name");
    } else if let Some(warning) = feedback.and_then(|f| f.warning()) {
        why.push_str(&format!(": {}", warning.to_string().trim_end_matches('.').to_lowercase()));
    }
    if let Some(suggestion) = feedback.and_then(|f| f.suggestions().first()) {
        why.push_str(&format!(". {suggestion}"));
    }
    Some(why)
}

/// Whether zxcvbn matched part of the password to one of `words` (the account's own).
fn matches_one_of(m: &zxcvbn::matching::Match, words: &[&str]) -> bool {
    matches!(&m.pattern, zxcvbn::matching::patterns::MatchPattern::Dictionary(d) if words.contains(&d.matched_word.as_str()))
}

/// E.164: `+`, a country code that does not start with 0, 8–15 digits in all.
fn is_e164(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else { return false };
    PHONE_DIGITS.contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

/// The database spelling of a role.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Traveller => "traveller",
        Role::Manager => "manager",
        Role::Admin => "admin",
    }
}

fn parse_role(name: &str) -> anyhow::Result<Role> {
    match name {
        "traveller" => Ok(Role::Traveller),
        "manager" => Ok(Role::Manager),
        "admin" => Ok(Role::Admin),
        other => anyhow::bail!("unknown role {other:?} in users table"),
    }
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    email: String,
    name: Option<String>,
    phone: Option<String>,
    role: String,
    created_at: DateTime<Utc>,
    password_hash: String,
}

impl TryFrom<UserRow> for Account {
    type Error = anyhow::Error;

    fn try_from(r: UserRow) -> anyhow::Result<Self> {
        let user =
            User { id: r.id, email: r.email, name: r.name, phone: r.phone, roles: vec![parse_role(&r.role)?], created_at: r.created_at };
        Ok(Self { user, password_hash: r.password_hash })
    }
}

const SELECT_ACCOUNT: &str = "SELECT id, email, name, phone, role, created_at, password_hash FROM users";

/// Store a validated user with its password hash; 409 `email_taken` if the email is in use.
pub async fn insert(pool: &PgPool, new: &NewUser, password_hash: &str) -> Result<User, ApiError> {
    let row: UserRow = sqlx::query_as(
        "INSERT INTO users (id, email, password_hash, name, phone, role) VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id, email, name, phone, role, created_at, password_hash",
    )
    .bind(Uuid::now_v7())
    .bind(&new.email)
    .bind(password_hash)
    .bind(&new.name)
    .bind(&new.phone)
    .bind(role_name(new.role))
    .fetch_one(pool)
    .await
    .map_err(|e| match db::constraint_name(&e) {
        Some("users_email_key") => ApiError::conflict("email_taken", "an account with this email already exists"),
        _ => ApiError::Internal(e.into()),
    })?;
    Ok(Account::try_from(row)?.user)
}

/// The account with this (normalised) email, if any. (A NUL never gets here: the JSON
/// extractor refuses it, naming the field.)
pub async fn find_by_email(pool: &PgPool, email: &str) -> anyhow::Result<Option<Account>> {
    let row: Option<UserRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT_ACCOUNT} WHERE email = $1"))).bind(email).fetch_optional(pool).await?;
    row.map(Account::try_from).transpose()
}

/// The user with this id, if any.
pub async fn find_by_id<'e>(executor: impl sqlx::PgExecutor<'e>, id: Uuid) -> anyhow::Result<Option<User>> {
    let row: Option<UserRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT_ACCOUNT} WHERE id = $1"))).bind(id).fetch_optional(executor).await?;
    Ok(row.map(Account::try_from).transpose()?.map(|a| a.user))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRONG: &str = "correct horse battery staple";

    fn registration(email: &str, password: &str, phone: Option<&str>) -> Registration {
        Registration { email: email.into(), password: password.into(), name: None, phone: phone.map(Into::into) }
    }

    fn failing_fields(r: Registration) -> Vec<String> {
        match r.validate(Role::Traveller) {
            Err(ApiError::Validation(fields)) => fields.into_iter().map(|f| f.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        let ok = registration("  Ada.Lovelace@Example.COM ", STRONG, None).validate(Role::Traveller).expect("valid");
        assert_eq!(ok.email, "ada.lovelace@example.com");
        for bad in ["ada", "ada@", "@example.com", "ada@example", "ada@@example.com", "a da@example.com", "ada@example..com"] {
            assert_eq!(failing_fields(registration(bad, STRONG, None)), ["email"], "{bad}");
        }
    }

    #[test]
    fn every_failing_field_is_named() {
        assert_eq!(failing_fields(registration("nope", "short", Some("12345"))), ["email", "password", "phone"]);
        assert_eq!(failing_fields(registration("a@b.co", &"x".repeat(MAX_PASSWORD_CHARS + 1), None)), ["password"]);
    }

    #[test]
    fn password_length_counts_characters_not_bytes() {
        assert!(registration("a@b.co", "ñandú büße", None).validate(Role::Traveller).is_ok(), "10 chars, 14 bytes");
        assert!(registration("a@b.co", "ñandú büß", None).validate(Role::Traveller).is_err(), "9 chars, 12 bytes");
    }

    fn password_problem(email: &str, password: &str, name: Option<&str>) -> Option<String> {
        let r = Registration { email: email.into(), password: password.into(), name: name.map(Into::into), phone: None };
        match r.validate(Role::Traveller) {
            Ok(_) => None,
            Err(ApiError::Validation(fields)) => fields.into_iter().find(|f| f.field == "password").map(|f| f.message),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn common_and_patterned_passwords_are_refused_with_a_reason() {
        for weak in ["1234567890", "password12", "          ", "qwertyuiop", "aaaaaaaaaaaa", "abcabcabcabc", "iloveyou2024", "P@ssw0rd123"]
        {
            let why = password_problem("someone@example.com", weak, None).unwrap_or_else(|| panic!("{weak:?} accepted"));
            assert!(why.starts_with("is too easy to guess"), "{weak:?}: {why}");
        }
        assert!(password_problem("someone@example.com", "password12", None).is_some_and(|w| w.contains("common")));
        for strong in [STRONG, "plum-velvet-orbit-88", "Tq7#mZ2!vL9x"] {
            assert_eq!(password_problem("someone@example.com", strong, None), None, "{strong:?}");
        }
    }

    #[test]
    fn passwords_built_from_the_email_or_name_are_refused() {
        let email = "quokka.zephyrine@marmalade-tundra.com";
        for derived in ["zephyrine-marmalade", "quokkatundra2024", "marmalade.tundra!"] {
            assert_eq!(password_problem("other@example.com", derived, None), None, "{derived:?} is strong for someone else");
            let why = password_problem(email, derived, None).unwrap_or_else(|| panic!("{derived:?} accepted for {email}"));
            assert!(why.contains("email or name"), "{derived:?}: {why}");
        }
        assert!(password_problem("m@example.com", "grace hopper cobol", Some("Grace Hopper Cobol")).is_some(), "the name's words");
    }

    #[test]
    fn long_passwords_are_scored_quickly() {
        let started = std::time::Instant::now();
        assert_eq!(password_problem("a@b.co", &"correct horse battery staple ".repeat(9)[..MAX_PASSWORD_CHARS], None), None);
        assert!(password_problem("a@b.co", &"a".repeat(MAX_PASSWORD_CHARS), None).is_some());
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "{:?}", started.elapsed());
    }

    #[test]
    fn phones_must_be_e164() {
        assert!(is_e164("+447700900123") && is_e164("+12345678") && is_e164("+123456789012345"));
        for bad in ["447700900123", "+1234567", "+1234567890123456", "+44 7700 900123", "+0447700900", "+44-7700900"] {
            assert!(!is_e164(bad), "{bad}");
        }
        let blank = registration("a@b.co", STRONG, Some("  ")).validate(Role::Traveller).expect("blank is absent");
        assert_eq!(blank.phone, None);
    }
}
