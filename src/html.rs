//! How every askama template escapes what it prints into HTML (set for
//! `.html` templates in `askama.toml`): pulldown-cmark's escaper instead
//! of askama's own. Both replace the same five characters, `&`, `<`, `>`,
//! `"` and `'`, which is what text and double-quoted attributes need (no
//! template writes a value into an unquoted attribute, a script or a
//! style). askama's reads one byte after another; pulldown-cmark-escape
//! looks at sixteen at a time (SSSE3, detected when it runs), and an Audit
//! page spent 14 % of this process's instructions escaping its rows
//! (callgrind, issue 20). The entities differ (`&lt;` where askama wrote
//! `&#60;`); a browser reads them alike.
//!
//! Two things askama does only for its own escaper: it skips escaping the
//! values it knows are safe (numbers), which this escaper escapes anyway
//! (correct, a little slower), and its filters that write markup
//! (`linebreaks`, `linebreaksbr`, `paragraphbreaks`) would have that markup
//! escaped again here. No template uses them; one that does needs `|safe`
//! after them, or another way.

use std::fmt;

/// The HTML escaper of every `.html` template.
#[derive(Debug, Clone, Copy)]
pub struct Html;

impl askama::filters::Escaper for Html {
    fn write_escaped_str<W: fmt::Write>(&self, dest: W, text: &str) -> fmt::Result {
        pulldown_cmark_escape::escape_html(pulldown_cmark_escape::FmtWriter(dest), text)
    }
}

#[cfg(test)]
mod tests {
    use askama::filters::Escaper;

    use super::Html;

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        Html.write_escaped_str(&mut out, text).expect("escaped");
        out
    }

    /// The five characters are replaced wherever they fall: in a text
    /// shorter than sixteen bytes (read byte by byte), in a longer one
    /// (sixteen bytes at a time, across the boundary of two blocks and in
    /// the last, partial one), and next to multi-byte characters.
    #[test]
    fn escapes_the_five_characters_in_short_and_long_text() {
        assert_eq!(
            escaped(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escaped("plain"), "plain");
        assert_eq!(escaped(""), "");
        assert_eq!(escaped("a<b"), "a&lt;b");
        assert_eq!(escaped("'é&\""), "&#39;é&amp;&quot;");
        let long = format!("{}<script>é'\"{}&>", "a".repeat(13), "ü".repeat(9));
        assert_eq!(
            escaped(&long),
            format!(
                "{}&lt;script&gt;é&#39;&quot;{}&amp;&gt;",
                "a".repeat(13),
                "ü".repeat(9)
            )
        );
        for at in 0..40 {
            for c in ['&', '<', '>', '"', '\''] {
                let text = format!("{}{c}{}", "x".repeat(at), "y".repeat(40 - at));
                let out = escaped(&text);
                assert!(
                    !out.contains(c) || c == '&' && out.matches('&').count() == 1,
                    "{out}"
                );
                let decoded = out
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&#39;", "'")
                    .replace("&amp;", "&");
                assert_eq!(decoded, text);
            }
        }
    }

    /// Templates escape through it: a value with markup comes out inert.
    #[test]
    fn templates_escape_through_it() {
        use askama::Template;
        #[derive(Template)]
        #[template(source = "<p title=\"{{ v }}\">{{ v }}</p>", ext = "html")]
        struct Page<'a> {
            v: &'a str,
        }
        let html = Page {
            v: "\"><script>alert('x')</script>",
        }
        .render()
        .expect("render");
        assert_eq!(
            html,
            "<p title=\"&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;\">\
             &quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</p>"
        );
    }
}
