//! Enums whose values travel as fixed strings (`standard`, `action_required`, `v4`...): one
//! macro gives each its serde spelling, `as_str`, `Display`, `FromStr` and `ALL`, so a
//! spelling is written once.

use std::fmt;

/// A name that is not one of a type's spellings; displays the ones it expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    /// Every accepted spelling, in order.
    pub expected: &'static [&'static str],
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("expected ")?;
        for (i, name) in self.expected.iter().enumerate() {
            match i {
                0 => {}
                _ if i + 1 == self.expected.len() => f.write_str(" or ")?,
                _ => f.write_str(", ")?,
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownName {}

/// `names! { /// doc  pub enum Name { /// doc  Variant = "spelling", ... } }`, optionally
/// followed by `other Variant = "spelling"`: a catch-all that unknown spellings deserialize
/// to (never parsed by `FromStr`, not in `ALL`).
macro_rules! names {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $wire:tt,)*
        }
        $($(#[$ometa:meta])* other $other:ident = $other_wire:tt)?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant,)*
            $($(#[$ometa])* #[serde(other, rename = $other_wire)] $other,)?
        }

        impl $name {
            /// Every value, in the order declared.
            pub const ALL: [$name; <[&str]>::len(&[$($wire),*])] = [$($name::$variant),*];
            /// Every spelling, in the order declared.
            pub const NAMES: &'static [&'static str] = &[$($wire),*];

            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)*
                    $($name::$other => $other_wire,)?
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::names::UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)*
                    _ => Err($crate::names::UnknownName { expected: Self::NAMES }),
                }
            }
        }
    };
}
