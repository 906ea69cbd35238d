//! Closed sets of values that are stored and shown by a fixed lowercase name (industries,
//! statuses, kinds). The store reads and writes them as text through this trait (`store::codes`),
//! so rows carry the enum, never a string to re-parse.

pub trait Code: Copy + Sized + Send + Sync + 'static {
    /// Every value, in a stable order.
    const ALL: &'static [Self];
    /// What the value is called in the set, for messages ("industry", "claim status").
    const WHAT: &'static str;

    /// The stored name.
    fn code(self) -> &'static str;

    fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|value| value.code() == code)
    }
}

/// Implements `Code` from an existing `as_str`.
#[macro_export]
macro_rules! code_from_as_str {
    ($type:ty, $what:literal) => {
        impl $crate::domain::code::Code for $type {
            const ALL: &'static [Self] = &<$type>::ALL;
            const WHAT: &'static str = $what;
            fn code(self) -> &'static str {
                self.as_str()
            }
        }
    };
}

crate::code_from_as_str!(super::industry::Industry, "industry");
crate::code_from_as_str!(super::enrolment::EnrolmentStatus, "enrolment status");
