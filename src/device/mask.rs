//! Masking of email addresses and phone numbers for end-user views.
//!
//! PingOne masks the values it shows to end users (in device authentication flows), never in the
//! admin device API. The published examples keep the domain and hide the length with a fixed run
//! of `*` (`j****@pingidentity.com`). The crate's decision: keep the first character of the local
//! part then `****`; phones keep `+`, the first digit and the last two digits around a fixed
//! `*******`.

const EMAIL_STARS: &str = "****";
const PHONE_STARS: &str = "*******";

/// Masks an email address for display to its owner: the first character of the local part, a
/// fixed `****`, then `@` and the domain. Total: any input gives an output that reveals at most
/// one character before the last `@`.
///
/// ```
/// use mfa_devices::device::mask_email;
/// assert_eq!(mask_email("john@pingidentity.com"), "j****@pingidentity.com");
/// assert_eq!(mask_email("a@b.c"), "a****@b.c");
/// assert_eq!(mask_email("no-at-sign"), "n****");
/// assert_eq!(mask_email(""), "****");
/// ```
pub fn mask_email(email: &str) -> String {
    let (local, domain) = match email.rsplit_once('@') {
        Some((local, domain)) => (local, Some(domain)),
        None => (email, None),
    };
    let mut out = String::with_capacity(email.len() + EMAIL_STARS.len());
    if let Some(first) = local.chars().next() {
        out.push(first);
    }
    out.push_str(EMAIL_STARS);
    if let Some(domain) = domain {
        out.push('@');
        out.push_str(domain);
    }
    out
}

/// Masks a phone number for display to its owner: `+`, the first digit, a fixed `*******`, and
/// the last two digits; separators are dropped. With fewer than four digits nothing is revealed.
///
/// ```
/// use mfa_devices::device::mask_phone;
/// assert_eq!(mask_phone("+1 (512) 555-1200"), "+1*******00");
/// assert_eq!(mask_phone("+972.547339044"), "+9*******44");
/// assert_eq!(mask_phone("12"), "+*******");
/// ```
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::with_capacity(12);
    out.push('+');
    match digits.as_slice() {
        [first, .., a, b] if digits.len() >= 4 => {
            out.push(*first);
            out.push_str(PHONE_STARS);
            out.push(*a);
            out.push(*b);
        }
        _ => out.push_str(PHONE_STARS),
    }
    out
}
