//! Email addresses as TripNest stores and compares them: one normal form and one plausibility
//! check, shared by registration (user) and hotel managers (booking).

/// The longest address SMTP allows.
pub const MAX_EMAIL_CHARS: usize = 254;

/// The form an email is stored and looked up in: trimmed and lower-cased.
pub fn normalize(email: &str) -> String {
    email.trim().to_lowercase()
}

/// One `@`, a non-empty local part, a dotted domain, no spaces. Deliverability is not our
/// business here; catching typos is.
pub fn is_plausible(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else { return false };
    email.chars().count() <= MAX_EMAIL_CHARS
        && !local.is_empty()
        && !domain.contains('@')
        && !email.chars().any(char::is_whitespace)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|label| !label.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausible_addresses_pass_and_typos_do_not() {
        assert_eq!(normalize("  Ada.Lovelace@Example.COM "), "ada.lovelace@example.com");
        for ok in ["a@b.co", "first.last+tag@mail.example.org"] {
            assert!(is_plausible(ok), "{ok}");
        }
        for bad in ["", "a", "@b.co", "a@b", "a@b.", "a@@b.co", "a b@c.de", "a@.co", &format!("{}@b.co", "x".repeat(260))] {
            assert!(!is_plausible(bad), "{bad}");
        }
    }
}
