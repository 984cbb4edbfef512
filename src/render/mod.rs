//! Human, JSON and Markdown rendering of a plan, and of what an apply did.

pub(crate) mod human;
pub(crate) mod json;
pub(crate) mod markdown;

use std::io::IsTerminal;

/// Colour only on a terminal, never with `--no-color` or `NO_COLOR`.
pub(crate) fn use_color(no_color_flag: bool, stream_is_terminal: bool) -> bool {
    let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color_flag && !no_color_env && stream_is_terminal
}

pub(crate) fn stdout_color(no_color_flag: bool) -> bool {
    use_color(no_color_flag, std::io::stdout().is_terminal())
}

pub(crate) fn stderr_color(no_color_flag: bool) -> bool {
    use_color(no_color_flag, std::io::stderr().is_terminal())
}
