//! `${...}` references inside stack strings and policy documents.
//!
//! `${kind.key.attr}` names another resource's attribute, `${stack.name}`,
//! `${aws.account_id}` and `${aws.region}` name the context. A `${...}` that
//! contains `:` is an IAM policy variable (`${cognito-identity.amazonaws.com:sub}`)
//! and is kept as written. `$${` writes a literal `${`.

use std::fmt;
use std::ops::Range;

use super::{Address, Kind};

/// Marks a value that is only known once `up` has created a resource. It can
/// never occur in a real AWS value, so a plan can spot it inside any string.
pub const UNKNOWN: &str = "\u{1}(known after apply)\u{1}";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reference {
    StackName,
    /// `${stack.stage}`: the stage given with `--stage`.
    StackStage,
    /// `${var.<name>}`: a value of `[vars]` (the stage's, else the default).
    Var(String),
    AwsAccountId,
    AwsRegion,
    Resource {
        address: Address,
        attribute: String,
    },
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::StackName => f.write_str("stack.name"),
            Reference::StackStage => f.write_str("stack.stage"),
            Reference::Var(name) => write!(f, "var.{name}"),
            Reference::AwsAccountId => f.write_str("aws.account_id"),
            Reference::AwsRegion => f.write_str("aws.region"),
            Reference::Resource { address, attribute } => write!(f, "{address}.{attribute}"),
        }
    }
}

/// One piece of a string with references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    Literal(&'a str),
    /// `${inner}`; `range` covers the whole `${...}` within the string.
    Reference {
        inner: &'a str,
        range: Range<usize>,
    },
    /// `${...:...}` kept as written.
    PolicyVariable(&'a str),
    /// `${` with no closing `}`, at this byte offset.
    Unterminated(usize),
}

/// Splits a string into literal text and references.
pub fn scan(s: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest_start = 0;
    let mut i = 0;
    let bytes = s.as_bytes();
    while i < bytes.len() {
        if bytes[i] == b'$' && s[i..].starts_with("$${") {
            // Escaped: keep one `$` and the `{`.
            if rest_start < i {
                pieces.push(Piece::Literal(&s[rest_start..i]));
            }
            pieces.push(Piece::Literal("${"));
            i += 3;
            rest_start = i;
            continue;
        }
        if bytes[i] == b'$' && s[i..].starts_with("${") {
            if rest_start < i {
                pieces.push(Piece::Literal(&s[rest_start..i]));
            }
            match s[i + 2..].find('}') {
                Some(close) => {
                    let inner = &s[i + 2..i + 2 + close];
                    let end = i + 2 + close + 1;
                    if inner.contains(':') {
                        pieces.push(Piece::PolicyVariable(&s[i..end]));
                    } else {
                        pieces.push(Piece::Reference {
                            inner,
                            range: i..end,
                        });
                    }
                    i = end;
                    rest_start = i;
                }
                None => {
                    pieces.push(Piece::Unterminated(i));
                    return pieces;
                }
            }
            continue;
        }
        i += 1;
    }
    if rest_start < s.len() {
        pieces.push(Piece::Literal(&s[rest_start..]));
    }
    pieces
}

/// Why a `${...}` does not name anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceError {
    pub message: String,
    pub suggestion: Option<String>,
}

/// What a stack declares, for checking references against it.
pub trait Declared {
    fn has(&self, address: &Address) -> bool;
    fn keys_of(&self, kind: Kind) -> Vec<String>;
    /// The names `[vars]` declares.
    fn var_names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Parses and checks `inner` (the text between `${` and `}`).
pub fn parse(inner: &str, declared: &dyn Declared) -> Result<Reference, ReferenceError> {
    let inner = inner.trim();
    let parts: Vec<&str> = inner.split('.').collect();
    match parts.as_slice() {
        ["stack", "name"] => return Ok(Reference::StackName),
        ["stack", "stage"] => return Ok(Reference::StackStage),
        ["var", name] => {
            let names = declared.var_names();
            if names.iter().any(|n| n == name) {
                return Ok(Reference::Var(name.to_string()));
            }
            return Err(unknown(
                format!("`var.{name}` is not declared: add it under `[vars]` with its default"),
                nearest(name, names.iter().map(String::as_str)).map(|n| format!("var.{n}")),
            ));
        }
        ["aws", "account_id"] => return Ok(Reference::AwsAccountId),
        ["aws", "region"] => return Ok(Reference::AwsRegion),
        ["stack", other] => {
            return Err(unknown(
                format!("`stack` has no attribute `{other}`"),
                nearest(other, ["name", "stage"]).map(|n| format!("stack.{n}")),
            ))
        }
        ["aws", other] => {
            return Err(unknown(
                format!("`aws` has no attribute `{other}`"),
                nearest(other, ["account_id", "region"]).map(|n| format!("aws.{n}")),
            ))
        }
        _ => {}
    }
    let [kind_name, key, attribute] = parts.as_slice() else {
        return Err(unknown(
            format!("`${{{inner}}}` is not a reference: write `${{kind.key.attribute}}`, `${{stack.name}}`, `${{aws.account_id}}` or `${{aws.region}}`"),
            None,
        ));
    };
    let Some(kind) = Kind::from_name(kind_name) else {
        let names = Kind::ALL.iter().map(|k| k.as_str()).chain(["stack", "aws"]);
        return Err(unknown(
            format!("unknown kind `{kind_name}` in `${{{inner}}}`"),
            nearest(kind_name, names).map(|n| format!("{n}.{key}.{attribute}")),
        ));
    };
    let address = Address::new(kind, *key);
    if !declared.has(&address) {
        let keys = declared.keys_of(kind);
        let suggestion = nearest(key, keys.iter().map(String::as_str))
            .map(|k| format!("{}.{k}.{attribute}", kind.as_str()));
        let message = if keys.is_empty() {
            format!("`${{{inner}}}` names `{address}`, but the stack declares no `[{kind}.*]`")
        } else {
            format!("`${{{inner}}}` names `{address}`, which the stack does not declare")
        };
        return Err(unknown(message, suggestion));
    }
    if !kind.attributes().contains(attribute) {
        return Err(unknown(
            format!(
                "`{kind}` has no attribute `{attribute}` (it has {})",
                kind.attributes()
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            nearest(attribute, kind.attributes().iter().copied()).map(|a| format!("{address}.{a}")),
        ));
    }
    Ok(Reference::Resource {
        address,
        attribute: (*attribute).to_string(),
    })
}

fn unknown(message: String, suggestion: Option<String>) -> ReferenceError {
    ReferenceError {
        message,
        suggestion,
    }
}

/// The closest candidate by edit distance, if it is close enough to be a typo.
/// Edit distance costs time and memory quadratic in the lengths, so words
/// longer than any name (a pasted blob) get no suggestion.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    const LONGEST: usize = 256;
    if word.len() > LONGEST {
        return None;
    }
    candidates
        .into_iter()
        .filter(|c| c.len() <= LONGEST)
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= (word.len().max(c.len()) / 3).max(2))
        .min()
        .map(|(_, c)| c.to_string())
}

/// Replaces every reference in `s` with its value. `lookup` returns `None` for a
/// value not known yet (the resource is still to be created); such references
/// become [`UNKNOWN`]. References must have been checked by validation.
pub fn interpolate(
    s: &str,
    declared: &dyn Declared,
    lookup: &dyn Fn(&Reference) -> Option<String>,
) -> Result<String, ReferenceError> {
    let mut out = String::with_capacity(s.len());
    for piece in scan(s) {
        match piece {
            Piece::Literal(text) | Piece::PolicyVariable(text) => out.push_str(text),
            Piece::Reference { inner, .. } => {
                let reference = parse(inner, declared)?;
                match lookup(&reference) {
                    Some(value) => out.push_str(&value),
                    None => out.push_str(UNKNOWN),
                }
            }
            Piece::Unterminated(_) => {
                return Err(unknown("`${` is not closed by `}`".to_string(), None))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Two;
    impl Declared for Two {
        fn has(&self, address: &Address) -> bool {
            address.to_string() == "table.notes" || address.to_string() == "bucket.uploads"
        }
        fn keys_of(&self, kind: Kind) -> Vec<String> {
            match kind.as_str() {
                "table" => vec!["notes".into()],
                "bucket" => vec!["uploads".into()],
                _ => vec![],
            }
        }
    }

    #[test]
    fn policy_variables_pass_through_untouched() {
        let s = "arn:aws:s3:::b/${cognito-identity.amazonaws.com:sub}/*";
        let out = interpolate(s, &Two, &|_| Some("x".into())).unwrap();
        assert_eq!(out, s);
    }

    #[test]
    fn escaped_dollar_brace_is_literal() {
        let out = interpolate("a$${b}c", &Two, &|_| None).unwrap();
        assert_eq!(out, "a${b}c");
    }

    #[test]
    fn references_are_replaced_and_unknowns_marked() {
        let out = interpolate(
            "${stack.name}-${aws.account_id}-${table.notes.arn}",
            &Two,
            &|r| match r {
                Reference::StackName => Some("s".into()),
                Reference::AwsAccountId => Some("123".into()),
                _ => None,
            },
        )
        .unwrap();
        assert_eq!(out, format!("s-123-{UNKNOWN}"));
    }

    #[test]
    fn dangling_references_name_the_nearest_valid_one() {
        let err = parse("table.note.arn", &Two).unwrap_err();
        assert_eq!(err.suggestion.as_deref(), Some("table.notes.arn"));
        let err = parse("tabel.notes.arn", &Two).unwrap_err();
        assert_eq!(err.suggestion.as_deref(), Some("table.notes.arn"));
        let err = parse("table.notes.ar", &Two).unwrap_err();
        assert_eq!(err.suggestion.as_deref(), Some("table.notes.arn"));
        let err = parse("aws.acount_id", &Two).unwrap_err();
        assert_eq!(err.suggestion.as_deref(), Some("aws.account_id"));
        assert!(parse("role.x.arn", &Two)
            .unwrap_err()
            .message
            .contains("declares no `[role.*]`"));
    }

    #[test]
    fn unterminated_reference_is_found() {
        assert_eq!(
            scan("ab${x"),
            vec![Piece::Literal("ab"), Piece::Unterminated(2)]
        );
    }
}
