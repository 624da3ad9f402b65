//! Names that become file and directory names: stages (`reports/<stage>/`,
//! `.secbench/stages/<stage>.toml`) and scenarios (`<stage>__<scenario>__<phase>.hlog`). One rule
//! for both, so no name can reach outside the folder it is meant for.

/// The longest name.
pub const MAX_NAME_LEN: usize = 64;

/// A name that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} name `{given}` {why}: use 1 to {MAX_NAME_LEN} letters, digits, '-', '_' or '.', not starting with '.'")]
pub struct NameError {
    /// `stage` or `scenario`.
    pub kind: &'static str,
    /// What was given (cut to 80 characters).
    pub given: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// Checks a `kind` (`stage`, `scenario`) name.
pub fn check(kind: &'static str, name: &str) -> Result<(), NameError> {
    let why = if name.is_empty() {
        Some("is empty")
    } else if name.chars().count() > MAX_NAME_LEN {
        Some("is too long")
    } else if name.starts_with('.') {
        Some("starts with '.'")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        Some("has a character other than letters, digits, '-', '_' and '.'")
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(why) => Err(NameError {
            kind,
            given: name.chars().take(80).collect(),
            why,
        }),
    }
}

/// A stage name, checked: a value parser for `--stage`.
pub fn stage(name: &str) -> Result<String, NameError> {
    check("stage", name).map(|()| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_leave_their_folder_are_refused() {
        for ok in [
            "dev",
            "prod-eu",
            "local",
            "a.b_c-1",
            &"x".repeat(MAX_NAME_LEN),
        ] {
            assert_eq!(check("stage", ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("", "is empty"),
            ("..", "starts with '.'"),
            (".hidden", "starts with '.'"),
            ("../../../x", "starts with '.'"),
            ("a/b", "has a character"),
            ("/etc", "has a character"),
            ("a\\b", "has a character"),
            ("dév", "has a character"),
            (&"x".repeat(MAX_NAME_LEN + 1), "is too long"),
        ] {
            let e = check("stage", bad).expect_err(bad);
            assert!(e.to_string().contains(why), "{bad}: {e}");
            assert!(e.to_string().starts_with("stage name"), "{e}");
        }
    }
}
