//! The one layout of every notification mail: a heading, paragraphs, a
//! table of facts and closing paragraphs, as text and as HTML. The words
//! come from the caller (already translated, see `requests::mails`); the
//! layout knows no domain.

use askama::Template;

/// One notification, in the recipient's language.
pub struct Notice {
    /// `lang` of the HTML part.
    pub lang: &'static str,
    pub heading: String,
    pub before: Vec<String>,
    /// Label and value.
    pub facts: Vec<(String, String)>,
    /// The fact (by index) shown as a warning, in red.
    pub warning: Option<usize>,
    pub after: Vec<String>,
}

#[derive(Template)]
#[template(path = "email/lifecycle.txt")]
struct Text<'a> {
    n: &'a Notice,
    /// The labels padded to one width, so the values line up.
    facts: Vec<(String, &'a str)>,
}

#[derive(Template)]
#[template(path = "email/lifecycle.html")]
struct Html<'a> {
    n: &'a Notice,
}

impl Notice {
    /// Whether the fact at `index` is the warning (askama may pass a
    /// reference).
    pub fn is_warning(&self, index: impl std::borrow::Borrow<usize>) -> bool {
        self.warning == Some(*index.borrow())
    }

    /// The text and HTML parts.
    pub fn render(&self) -> diesel::QueryResult<(String, String)> {
        let width = self
            .facts
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(0)
            .max(22)
            + 2;
        let facts = self
            .facts
            .iter()
            .map(|(l, v)| (format!("{:<width$}", format!("{l}:")), v.as_str()))
            .collect();
        Ok((
            super::render(&Text { n: self, facts })?,
            super::render(&Html { n: self })?,
        ))
    }
}
