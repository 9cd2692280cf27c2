//! Symbols: the one user-supplied name that becomes a store key (a directory name in the
//! embedded store, a partition key in CQL), so it is validated once, here.

use crate::error::OptionError;

/// Longest accepted symbol, in bytes.
pub const MAX_LEN: usize = 32;

/// Checks that `symbol` is safe as a path component and a CQL value: 1 to 32 ASCII
/// letters, digits, `.`, `-` or `_`, starting with a letter or digit. This rules out
/// `..`, `/`, `\`, `=` (which would break Hive partition names) and control characters.
pub fn validate(symbol: &str) -> Result<(), OptionError> {
    let fail = |reason: &str| Err(OptionError::new("symbol", symbol, reason));
    if symbol.is_empty() {
        return fail("it is empty");
    }
    if symbol.len() > MAX_LEN {
        return fail("it is longer than 32 characters");
    }
    if !symbol.as_bytes()[0].is_ascii_alphanumeric() {
        return fail("it must start with a letter or digit");
    }
    if let Some(c) = symbol
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
    {
        return fail(&format!(
            "character {c:?} is not allowed (letters, digits, '.', '-', '_' only)"
        ));
    }
    Ok(())
}

/// Derives the symbol from a file name: with a pattern such as
/// `{symbol}_full_1min_adjsplit.txt` the text matching `{symbol}`; without one, the
/// text before the first `_`, or before the first `.` when there is no `_`.
pub fn from_file_name(name: &str, pattern: Option<&str>) -> Option<String> {
    let symbol = match pattern {
        Some(p) => {
            let (prefix, suffix) = p.split_once("{symbol}")?;
            name.strip_prefix(prefix)?.strip_suffix(suffix)?
        }
        None => {
            let end = name
                .find('_')
                .or_else(|| name.find('.'))
                .unwrap_or(name.len());
            &name[..end]
        }
    };
    (!symbol.is_empty()).then(|| symbol.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_tickers() {
        for s in ["AAPL", "BRK.B", "ES-F", "spy", "X_1", "7203"] {
            validate(s).unwrap();
        }
    }

    #[test]
    fn rejects_traversal_and_separators() {
        for (s, why) in [
            ("", "empty"),
            ("..", "start with"),
            ("../etc", "start with"),
            ("A/B", "'/'"),
            ("A\\B", "'\\\\'"),
            ("A=B", "'='"),
            ("A B", "' '"),
            ("A'; DROP TABLE x", "'\\''"),
            (".hidden", "start with"),
        ] {
            let err = validate(s).unwrap_err().to_string();
            assert!(err.contains(why), "{s:?}: {err}");
        }
        assert!(validate(&"A".repeat(33)).is_err());
    }

    #[test]
    fn symbol_from_file_names() {
        assert_eq!(
            from_file_name("AAPL_full_1min_adjsplit.txt", None).as_deref(),
            Some("AAPL")
        );
        assert_eq!(from_file_name("MSFT.csv", None).as_deref(), Some("MSFT"));
        assert_eq!(from_file_name("SPY", None).as_deref(), Some("SPY"));
        assert_eq!(
            from_file_name(
                "BRK_B_full_1min_adjsplit.txt",
                Some("{symbol}_full_1min_adjsplit.txt")
            )
            .as_deref(),
            Some("BRK_B")
        );
        assert_eq!(
            from_file_name("AAPL.csv", Some("{symbol}_full_1min_adjsplit.txt")),
            None
        );
        assert_eq!(from_file_name("_x.csv", None), None);
    }
}
