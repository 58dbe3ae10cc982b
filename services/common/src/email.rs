//! Email addresses as TripNest stores and compares them: one normal form and one check, shared
//! by registration and login (user) and hotel managers (booking).
//!
//! - **Normal form** ([`normalize`]): Unicode NFKC, trimmed, lower-cased (and NFKC again, as
//!   lower-casing can leave a non-normal string). NFKC folds compatibility look-alikes, so
//!   `ａｄａ@ｅｘａｍｐｌｅ.ｃｏｍ` (fullwidth) *is* `ada@example.com` and meets its account.
//! - **Refused** ([`problem`]): besides typos, any character a reader cannot see or tell apart.
//!   Every non-ASCII character must be allowed in identifiers by the UTS #39 general security
//!   profile (this refuses format and control characters such as a zero-width space, bidi
//!   controls and default-ignorables), and the whole address must be single-script (UTS #39
//!   resolved script set; `@`, `.` and digits are common to all scripts), so a Cyrillic `а` in
//!   a Latin address is refused. The price: an address whose local part and domain are in
//!   different scripts (a Cyrillic name at a Latin domain) cannot be used; such addresses are
//!   rare and are exactly the ones a look-alike attack is built from.

use unicode_normalization::UnicodeNormalization;
use unicode_security::{GeneralSecurityProfile, MixedScript};

/// The longest address SMTP allows.
pub const MAX_EMAIL_CHARS: usize = 254;

/// The form an email is stored and looked up in: NFKC, trimmed, lower-cased.
pub fn normalize(email: &str) -> String {
    let folded: String = email.nfkc().collect();
    folded.trim().to_lowercase().nfkc().collect()
}

/// Why a normalised address is refused, or `None` when it is acceptable: one `@`, a non-empty
/// local part, a dotted domain, no spaces, no invisible or disallowed characters, one script.
/// Deliverability is not our business here; typos and look-alikes are.
pub fn problem(email: &str) -> Option<&'static str> {
    let Some((local, domain)) = email.split_once('@') else { return Some("must be an email address like ada@example.com") };
    let plausible = email.chars().count() <= MAX_EMAIL_CHARS
        && !local.is_empty()
        && !domain.contains('@')
        && !email.chars().any(char::is_whitespace)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|label| !label.is_empty());
    if !plausible {
        return Some("must be an email address like ada@example.com");
    }
    if email.chars().any(|c| if c.is_ascii() { c.is_ascii_control() } else { !c.identifier_allowed() }) {
        return Some("must not contain invisible, control or symbol characters");
    }
    if !email.is_single_script() {
        return Some("must be written in one script (look-alike letters from another alphabet are refused)");
    }
    None
}

/// Whether a normalised address passes [`problem`].
pub fn is_plausible(email: &str) -> bool {
    problem(email).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausible_addresses_pass_and_typos_do_not() {
        assert_eq!(normalize("  Ada.Lovelace@Example.COM "), "ada.lovelace@example.com");
        for ok in ["a@b.co", "first.last+tag@mail.example.org", "zoë@example.com", "иван@почта.рф"] {
            assert!(is_plausible(&normalize(ok)), "{ok}");
        }
        for bad in ["", "a", "@b.co", "a@b", "a@b.", "a@@b.co", "a b@c.de", "a@.co", &format!("{}@b.co", "x".repeat(260))] {
            assert!(!is_plausible(bad), "{bad}");
        }
    }

    #[test]
    fn compatibility_look_alikes_fold_into_the_plain_address() {
        assert_eq!(normalize("ＡＤＡ@ｅｘａｍｐｌｅ．ｃｏｍ"), "ada@example.com", "fullwidth");
        assert_eq!(normalize("\u{3000}ada@example.com\u{3000}"), "ada@example.com", "ideographic spaces trim");
        assert_eq!(normalize("ﬁona@example.com"), "fiona@example.com", "ligature");
        assert_eq!(normalize("Zoe\u{308}@example.com"), "zoë@example.com", "composed");
    }

    #[test]
    fn invisible_characters_and_mixed_scripts_are_refused() {
        for invisible in [
            "ada@example.com\u{200b}",
            "a\u{200d}da@example.com",
            "ada\u{202e}@example.com",
            "ada\u{ad}@example.com",
            "ada\u{7}@example.com",
        ] {
            let e = normalize(invisible);
            assert!(problem(&e).is_some_and(|p| p.contains("invisible")), "{invisible:?} → {e:?}: {:?}", problem(&e));
        }
        for mixed in ["\u{430}da@example.com", "ada@ex\u{430}mple.com", "ада@example.com", "paypal@\u{3b1}pple.com"] {
            assert!(problem(&normalize(mixed)).is_some_and(|p| p.contains("one script")), "{mixed}");
        }
    }
}
