//! Physical names: the pieces each kind's name rule is made of (each kind
//! states its rule and its default name in its own file), checked offline.

/// The length rule of a service's names: `min` to `max` characters.
pub fn within(noun: &str, name: &str, min: usize, max: usize) -> Result<(), String> {
    let len = name.chars().count();
    if len < min || len > max {
        Err(format!(
            "is {len} characters long; {noun} names must be {min} to {max}"
        ))
    } else {
        Ok(())
    }
}

/// The character rule of a service's names: every character `allowed`
/// (`what` says which, for the message).
pub fn only(
    noun: &str,
    name: &str,
    allowed: impl Fn(char) -> bool,
    what: &str,
) -> Result<(), String> {
    match name.chars().find(|c| !allowed(*c)) {
        Some(c) => Err(format!(
            "contains `{c}`; {noun} names may contain only {what}"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use crate::stack::Kind;

    #[test]
    fn every_kind_accepts_its_own_default_names() {
        for kind in Kind::ALL {
            let name = kind.default_name("photo-notes", "a_key");
            assert_eq!(kind.check_name(&name), Ok(()), "{kind}: {name}");
        }
    }
}
