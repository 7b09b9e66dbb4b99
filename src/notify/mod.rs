//! Mail infrastructure, knowing no domain: a rendered [`Mail`], [`defang`]
//! for text that must not become a link, the outbox a change writes its
//! mails to in its own transaction ([`outbox::enqueue`]), and the worker
//! that delivers them ([`outbox::deliver_due`]). Which mails a change
//! causes is decided by the domain (e.g. `requests::mails`).
//!
//! Customer mail carries no links of any kind (phishing protection, as the
//! seed asks): no URLs, and free text typed by provider staff is
//! [`defang`]ed so that no mail client turns it into a link.

pub mod checkpoint_digest;
pub mod language;
pub mod mailer;
pub mod notice;
pub mod outbox;
pub mod time_zone;

/// Text that cannot become a link: no scheme, no dotted host names, no
/// addresses ("www.x.example" becomes "w-w-w[.]x[.]example").
pub fn defang(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let wordy = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    let starts_with = |i: usize, word: &str| {
        let w: Vec<char> = word.chars().collect();
        chars.len() >= i + w.len()
            && chars[i..i + w.len()]
                .iter()
                .zip(&w)
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
    };
    let mut out = String::with_capacity(text.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let word_start = i == 0 || !chars[i - 1].is_alphanumeric();
        if word_start && starts_with(i, "http") {
            out.push_str("hxxp");
            i += 4;
            continue;
        }
        if word_start && starts_with(i, "www") {
            out.push_str("w-w-w");
            i += 3;
            continue;
        }
        match c {
            '.' if i > 0 && i + 1 < chars.len() && wordy(chars[i - 1]) && wordy(chars[i + 1]) => {
                out.push_str("[.]");
            }
            '@' => out.push_str("[at]"),
            ':' if chars.get(i + 1) == Some(&'/') => out.push_str("[:]"),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// The translator of a mail to the account `account` of `realm`: in its
/// mail language ([`language`]) with times in its zone ([`time_zone`]),
/// both read in one statement.
pub fn reader(
    conn: &mut diesel::PgConnection,
    realm: &str,
    account: uuid::Uuid,
) -> diesel::QueryResult<crate::i18n::Tr> {
    let (zone, code) = time_zone::with_language(conn, realm, account)?;
    Ok(translator(code.as_deref(), zone))
}

/// The address of the account `account` of `realm` and the translator of
/// a mail to it ([`reader`]), read in one statement; `None`: no such
/// account.
pub fn recipient(
    conn: &mut diesel::PgConnection,
    realm: &str,
    account: uuid::Uuid,
) -> diesel::QueryResult<Option<(String, crate::i18n::Tr)>> {
    let (zone, code, email) = time_zone::addressed(conn, realm, account)?;
    Ok(email.map(|email| (email, translator(code.as_deref(), zone))))
}

/// The translator of a stored mail language code and zone.
fn translator(code: Option<&str>, zone: crate::i18n::Tz) -> crate::i18n::Tr {
    crate::i18n::Tr::new(language::from_stored(code)).in_zone(zone)
}

/// Renders a mail template; a failure aborts the change's transaction
/// (a change never commits without the mails it owes).
pub fn render<T: askama::Template>(t: &T) -> diesel::QueryResult<String> {
    t.render()
        .map_err(|e| diesel::result::Error::QueryBuilderError(format!("mail template: {e}").into()))
}

/// One e-mail, rendered.
pub struct Mail {
    pub kind: &'static str,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defanged_text_holds_no_links() {
        assert_eq!(
            defang("see www.evil.example/x"),
            "see w-w-w[.]evil[.]example/x"
        );
        assert_eq!(defang("HTTPS://phish.example"), "hxxpS[:]//phish[.]example");
        assert_eq!(
            defang("İstanbul www"),
            "İstanbul w-w-w",
            "no panic on case-changing letters"
        );
        assert_eq!(defang("mail me@evil.example"), "mail me[at]evil[.]example");
        assert_eq!(
            defang("SR-4711. Done."),
            "SR-4711. Done.",
            "ordinary sentences stay"
        );
        assert_eq!(defang("Ünïcode naïve"), "Ünïcode naïve");
    }
}
