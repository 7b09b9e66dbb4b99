//! The layers of the crate, top to bottom, and the test that holds every
//! module to them: a module may import from its own layer's leaves and
//! from any layer below it, never from one above.
//!
//! | layer | modules |
//! |---|---|
//! | 0 | `cli` |
//! | 1 | `startup` |
//! | 2 | `web` |
//! | 3 | `content` |
//! | 4 | `requests` |
//! | 5 | `auth`, `staff`, `notify`, `webhooks` |
//! | 6 | `tenants` |
//! | 7 | `audit` |
//! | 8 | `db` |
//! | 9 | leaves: `clock`, `config`, `digest`, `html`, `i18n`, `identity`, `schema`, `signing`, `tls`, `layers` |

/// Each top-level module with its layer (0 is the top).
pub const LAYERS: &[(&str, u8)] = &[
    ("cli", 0),
    ("startup", 1),
    ("web", 2),
    ("content", 3),
    ("requests", 4),
    ("auth", 5),
    ("staff", 5),
    ("notify", 5),
    ("webhooks", 5),
    ("tenants", 6),
    ("audit", 7),
    ("db", 8),
    ("clock", 9),
    ("config", 9),
    ("digest", 9),
    ("html", 9),
    ("i18n", 9),
    ("identity", 9),
    ("schema", 9),
    ("signing", 9),
    ("tls", 9),
    ("layers", 9),
];

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::LAYERS;

    fn layer(module: &str) -> Option<u8> {
        LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
    }

    /// Every `crate::x` path in the file, including those inside
    /// `use crate::{x, y::{…}}` groups (the top-level names of the group).
    fn imports(text: &str) -> Vec<String> {
        let mut found = Vec::new();
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 0;
                let mut name = String::new();
                for c in group.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            found.push(std::mem::take(&mut name));
                            continue;
                        }
                        _ => {}
                    }
                    if depth == 0 && (c.is_alphanumeric() || c == '_') && !name.contains(':') {
                        name.push(c);
                    } else if depth == 0 && c == ':' {
                        name.push(':');
                    }
                }
                found.push(name);
            } else {
                found.push(
                    rest.chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect(),
                );
            }
        }
        found
            .into_iter()
            .map(|n| n.trim_end_matches(':').to_owned())
            .filter(|n| !n.is_empty())
            .collect()
    }

    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("readable").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn no_module_imports_from_a_layer_above_it() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        walk(&src, &mut files);
        let mut upward = Vec::new();
        for file in files {
            let rel = file.strip_prefix(&src).expect("under src");
            let top = rel
                .components()
                .next()
                .and_then(|c| c.as_os_str().to_str())
                .map(|s| s.trim_end_matches(".rs").to_owned())
                .unwrap_or_default();
            let Some(own) = layer(&top) else {
                assert!(
                    matches!(top.as_str(), "lib" | "main"),
                    "{top} is in no layer: add it to LAYERS"
                );
                continue;
            };
            if top == "layers" {
                continue; // its test strings are not imports
            }
            // Code only: doc links may point anywhere.
            let text: String = std::fs::read_to_string(&file)
                .expect("readable")
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            for imported in imports(&text) {
                let theirs = layer(&imported).unwrap_or_else(|| {
                    panic!("{}: crate::{imported} is in no layer", rel.display())
                });
                if theirs < own {
                    upward.push(format!("{} imports crate::{imported}", rel.display()));
                }
            }
        }
        assert!(upward.is_empty(), "upward imports: {upward:#?}");
    }

    /// Files stay small (issue 12): every source file under 450 lines but
    /// the pure state machine, whose table of every state and event is
    /// better read in one place.
    #[test]
    fn every_source_file_stays_under_450_lines() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        walk(&src, &mut files);
        let long: Vec<String> = files
            .iter()
            .filter(|f| !f.ends_with("requests/machine.rs"))
            // Generated by diesel from the migrations: one table a block,
            // nothing to split.
            .filter(|f| !f.ends_with("src/schema.rs"))
            .filter_map(|f| {
                let lines = std::fs::read_to_string(f).ok()?.lines().count();
                (lines >= 450).then(|| format!("{} ({lines} lines)", f.display()))
            })
            .collect();
        assert!(long.is_empty(), "split these: {long:#?}");
    }

    #[test]
    fn the_import_scan_reads_groups() {
        let text =
            "use crate::{\n    audit::{self, Actor},\n    db,\n};\nlet x = crate::web::view::x;";
        assert_eq!(imports(text), vec!["audit", "db", "web"]);
    }
}
