//! Masking of personal data for display: enough to recognise, not enough to identify.

/// Keeps the first `head` and last `tail` characters and replaces the rest with `*`.
pub fn mask_middle(value: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len().max(1));
    }
    let mut masked: String = chars[..head].iter().collect();
    masked.extend(std::iter::repeat_n('*', chars.len() - head - tail));
    masked.extend(&chars[chars.len() - tail..]);
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_the_middle() {
        assert_eq!(
            mask_middle("11010519491231002X", 6, 4),
            "110105********002X"
        );
        assert_eq!(mask_middle("13812345678", 3, 4), "138****5678");
    }

    #[test]
    fn short_values_are_fully_masked() {
        assert_eq!(mask_middle("abc", 2, 2), "***");
        assert_eq!(mask_middle("", 1, 1), "*");
    }
}
