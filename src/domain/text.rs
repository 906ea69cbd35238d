//! Canonical text: what the service accepts as identifiers and free text. Nothing is trimmed or
//! rewritten here; what is not canonical is refused (the README lists the one normalisation, a
//! lowercase x as an ID number's check character).
use super::Invalid;
use uuid::Uuid;

/// Characters that reorder or hide text when displayed (Unicode bidirectional controls, zero-width
/// and other invisible format characters): refused everywhere, since they make a stored value read
/// differently from what it is.
pub fn is_invisible_control(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' // zero-width space, joiners, LRM, RLM
        | '\u{202A}'..='\u{202E}' // embeddings and overrides
        | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
        | '\u{2066}'..='\u{2069}' // isolates
        | '\u{FEFF}' // byte-order mark
        | '\u{061C}' // Arabic letter mark
    )
}

/// A single line of 1 to `max_chars` characters, without surrounding whitespace, control or
/// invisible formatting characters (labels, holiday names, platform names).
pub fn check_line(raw: &str, max_chars: usize) -> Result<(), Invalid> {
    check_text(raw, max_chars, false)
}

/// Free text of 1 to `max_chars` characters that may span lines (descriptions, reasons): no
/// surrounding whitespace, no control characters other than line breaks and tabs, nothing
/// invisible.
pub fn check_free_text(raw: &str, max_chars: usize) -> Result<(), Invalid> {
    check_text(raw, max_chars, true)
}

fn check_text(raw: &str, max_chars: usize, multiline: bool) -> Result<(), Invalid> {
    let length = raw.chars().count();
    if length == 0 {
        return Err(Invalid::new("required"));
    }
    if length > max_chars {
        return Err(Invalid::new(format!(
            "must be at most {max_chars} characters"
        )));
    }
    if raw.trim() != raw {
        return Err(Invalid::new("must not begin or end with whitespace"));
    }
    let allowed_control = |c: char| multiline && (c == '\n' || c == '\t');
    if raw
        .chars()
        .any(|c| (c.is_control() && !allowed_control(c)) || is_invisible_control(c))
    {
        return Err(Invalid::new(if multiline {
            "must not contain control or invisible formatting characters (line breaks and tabs are fine)"
        } else {
            "must not contain control or invisible formatting characters"
        }));
    }
    Ok(())
}

/// An optional free text: empty means unset; anything else must be canonical.
pub fn optional_free_text(raw: &str, max_chars: usize) -> Result<Option<String>, Invalid> {
    if raw.is_empty() {
        return Ok(None);
    }
    check_free_text(raw, max_chars).map(|()| Some(raw.to_owned()))
}

/// `request_id` (AIP-155): 1 to 128 printable ASCII characters.
pub fn check_request_id(raw: &str) -> Result<(), Invalid> {
    let well_formed = (1..=128).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
    if well_formed {
        Ok(())
    } else {
        Err(Invalid::new(
            "required: 1 to 128 printable ASCII characters, unique per request (a UUID is a good choice)",
        ))
    }
}

/// An id the service issued: a UUID written as it writes them, lowercase with hyphens
/// (`0190f2a4-…`). Braces, `urn:uuid:`, uppercase or surrounding spaces are refused.
pub fn parse_id(raw: &str) -> Result<Uuid, Invalid> {
    let invalid = || {
        Invalid::new("must be a UUID as the service writes it: 36 lowercase hex digits and hyphens")
    };
    if raw.len() != 36 || raw.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(invalid());
    }
    Uuid::parse_str(raw)
        .ok()
        .filter(|id| id.hyphenated().to_string() == raw)
        .ok_or_else(invalid)
}

/// An optional id: empty means unset.
pub fn parse_optional_id(raw: &str) -> Result<Option<Uuid>, Invalid> {
    if raw.is_empty() {
        Ok(None)
    } else {
        parse_id(raw).map(Some)
    }
}

/// An external reference (an order id): 1 to 64 printable ASCII characters.
pub fn check_reference(raw: &str) -> Result<(), Invalid> {
    if (1..=64).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(Invalid::new("required: 1 to 64 printable ASCII characters"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_taken_as_they_are_or_refused() {
        assert!(check_line("美团外卖", 100).is_ok());
        for bad in [
            "",
            " x",
            "x ",
            "a\nb",
            "a\u{202E}b",
            "a\u{200B}b",
            "a\u{7}b",
        ] {
            assert!(check_line(bad, 100).is_err(), "{bad:?}");
        }
        assert!(check_line(&"长".repeat(101), 100).is_err());
    }

    #[test]
    fn free_text_may_span_lines() {
        assert!(check_free_text("fell off\nthe bike", 2000).is_ok());
        assert!(check_free_text("fell\u{202E}off", 2000).is_err());
        assert!(check_free_text("fell off\n", 2000).is_err());
        assert_eq!(optional_free_text("", 10), Ok(None));
    }

    #[test]
    fn request_ids() {
        assert!(check_request_id("enrol-0001").is_ok());
        for bad in ["", " a", "a b", "é", &"a".repeat(129)] {
            assert!(check_request_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ids_are_canonical_uuids() {
        let id = Uuid::now_v7();
        let text = id.to_string();
        assert_eq!(parse_id(&text), Ok(id));
        for bad in [
            text.to_uppercase(),
            format!(" {text}"),
            format!("{{{text}}}"),
            id.simple().to_string(),
            format!("urn:uuid:{text}"),
        ] {
            assert!(parse_id(&bad).is_err(), "{bad}");
        }
    }
}
