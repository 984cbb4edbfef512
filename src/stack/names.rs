//! Physical names: the default `<stack>-<key>` adapted to each service's rules,
//! and the rules themselves, checked offline.

use super::Kind;

/// The default physical name of `kind.key` in stack `stack`.
pub fn default_name(kind: Kind, stack: &str, key: &str) -> String {
    let joined = format!("{stack}-{key}");
    match kind {
        // Identity pool names allow only word characters and spaces.
        Kind::IdentityPool => joined.replace('-', "_"),
        // Bucket and search-domain names allow no `_`.
        Kind::Bucket | Kind::Search => joined.replace('_', "-"),
        _ => joined,
    }
}

/// Why `name` can never be a valid physical name for `kind`, if it cannot.
pub fn check(kind: Kind, name: &str) -> Result<(), String> {
    let len = name.chars().count();
    let within = |min: usize, max: usize| -> Result<(), String> {
        if len < min || len > max {
            Err(format!(
                "is {len} characters long; {} names must be {min} to {max}",
                kind.service_noun()
            ))
        } else {
            Ok(())
        }
    };
    let only = |allowed: &dyn Fn(char) -> bool, what: &str| -> Result<(), String> {
        match name.chars().find(|c| !allowed(*c)) {
            Some(c) => Err(format!(
                "contains `{c}`; {} names may contain only {what}",
                kind.service_noun()
            )),
            None => Ok(()),
        }
    };
    match kind {
        Kind::Table => {
            within(3, 255)?;
            only(
                &|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'),
                "letters, digits, `_`, `-` and `.`",
            )
        }
        Kind::Bucket => {
            within(3, 63)?;
            only(
                &|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'),
                "lowercase letters, digits, `-` and `.`",
            )?;
            let first_last_ok =
                |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
            if !first_last_ok(name.chars().next()) || !first_last_ok(name.chars().last()) {
                return Err("must begin and end with a lowercase letter or digit".into());
            }
            if name.contains("..") {
                return Err("must not contain two adjacent periods".into());
            }
            if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
                return Err("must not be formatted as an IP address".into());
            }
            for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
                if name.starts_with(prefix) {
                    return Err(format!("must not start with `{prefix}` (reserved by S3)"));
                }
            }
            for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
                if name.ends_with(suffix) {
                    return Err(format!("must not end with `{suffix}` (reserved by S3)"));
                }
            }
            Ok(())
        }
        Kind::IdentityPool => {
            within(1, 128)?;
            only(
                &|c| c.is_alphanumeric() || c == '_' || c == ' ',
                "letters, digits, `_` and spaces",
            )
        }
        Kind::UserPool => {
            within(1, 128)?;
            only(
                &|c| c.is_alphanumeric() || c.is_whitespace() || "_+=,.@-".contains(c),
                "letters, digits, spaces and `_+=,.@-`",
            )
        }
        Kind::Role => {
            within(1, 64)?;
            only(
                &|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c),
                "letters, digits and `_+=,.@-`",
            )
        }
        Kind::Search => {
            within(3, 28)?;
            only(
                &|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
                "lowercase letters, digits and `-`",
            )?;
            if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
                return Err("must start with a lowercase letter".into());
            }
            Ok(())
        }
        Kind::Api => within(1, 1024),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_each_service_rules() {
        assert_eq!(
            default_name(Kind::IdentityPool, "photo-notes", "app"),
            "photo_notes_app"
        );
        assert_eq!(
            default_name(Kind::Bucket, "photo-notes", "my_files"),
            "photo-notes-my-files"
        );
        assert_eq!(
            default_name(Kind::Table, "photo-notes", "notes"),
            "photo-notes-notes"
        );
        for kind in Kind::ALL {
            let name = default_name(*kind, "photo-notes", "a_key");
            assert_eq!(check(*kind, &name), Ok(()), "{kind}: {name}");
        }
    }

    #[test]
    fn impossible_names_are_rejected() {
        assert!(check(Kind::Bucket, "Has_Upper").is_err());
        assert!(check(Kind::Bucket, "192.168.1.1").is_err());
        assert!(check(Kind::Bucket, "ab").is_err());
        assert!(check(Kind::Bucket, "a..b").is_err());
        assert!(check(Kind::Table, "no spaces").is_err());
        assert!(check(Kind::Search, "9lives").is_err());
        assert!(check(Kind::Role, &"r".repeat(65)).is_err());
    }
}
