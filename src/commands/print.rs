//! Printing shared by the commands: standard output that tolerates a closed
//! pipe, the outputs summary at the end of `up`, and shell quoting for the
//! commands the tool suggests.

use std::collections::BTreeMap;
use std::io::Write;

use super::{Failure, Result};
use crate::resource;
use crate::stack::Address;

/// Writes to standard output; a closed pipe (`| head`) is not an error.
pub(super) fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure(format!("cannot write to standard output: {e}"))),
    }
}

/// The values `up` ends with: what the tutorials tell you to copy.
pub(super) fn summary(outputs: &BTreeMap<Address, resource::Outputs>) -> String {
    let text = crate::outputs::summary(outputs);
    if text.is_empty() {
        return text;
    }
    format!("\n{text}")
}

/// A word as a POSIX shell reads it: quoted only when it has to be.
pub(super) fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-+:@%".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_word_is_left_unquoted() {
        assert_eq!(shell_word("stacks/my-app_1.toml"), "stacks/my-app_1.toml");
        assert_eq!(shell_word("../a+b:c@d%e"), "../a+b:c@d%e");
    }

    #[test]
    fn a_word_the_shell_would_split_or_expand_is_single_quoted() {
        assert_eq!(shell_word("my app"), "'my app'");
        assert_eq!(shell_word("$HOME"), "'$HOME'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn a_single_quote_inside_survives_the_quoting() {
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }

    #[test]
    fn no_outputs_print_nothing_and_some_start_on_a_fresh_line() {
        assert_eq!(summary(&BTreeMap::new()), "");
        let mut outputs = BTreeMap::new();
        outputs.insert(
            "table.notes".parse().unwrap(),
            BTreeMap::from([("name".to_string(), "demo-notes".to_string())]),
        );
        let text = summary(&outputs);
        assert!(text.starts_with("\nOutputs:\n"), "{text:?}");
        assert!(text.contains("name=demo-notes"), "{text:?}");
    }
}
