//! Identifier newtypes and `{"id": …}` references.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        ///
        #[doc = concat!("Parsing and printing a ", $what, ":")]
        ///
        /// ```
        #[doc = concat!("use mfa_devices::device::", stringify!($name), ";")]
        #[doc = concat!("let id: ", stringify!($name), " = \"e112c96d-d165-45c5-8061-87ff268fd520\".parse().unwrap();")]
        /// assert_eq!(id.to_string(), "e112c96d-d165-45c5-8061-87ff268fd520");
        #[doc = concat!("assert!(\"not-a-uuid\".parse::<", stringify!($name), ">().is_err());")]
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }

            /// The id from 16 bytes (the caller's randomness; this crate draws none).
            pub const fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(Uuid::from_bytes(bytes))
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            /// The lower-case hyphenated form PingOne writes.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl AsRef<Uuid> for $name {
            fn as_ref(&self) -> &Uuid {
                &self.0
            }
        }

    };
}

uuid_id!(
    /// A device resource's `id`.
    DeviceId,
    "device id"
);
uuid_id!(
    /// An environment's `id`.
    EnvironmentId,
    "environment id"
);
uuid_id!(
    /// A user's `id`.
    UserId,
    "user id"
);

/// A reference to another resource as PingOne writes it: `{"id": "…"}`.
///
/// ```
/// use mfa_devices::device::{IdRef, UserId};
/// let r: IdRef<UserId> = serde_json::from_str(r#"{"id":"b30ac647-e33e-464f-a6ea-0275082d4c26"}"#).unwrap();
/// assert_eq!(r.id.to_string(), "b30ac647-e33e-464f-a6ea-0275082d4c26");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IdRef<T> {
    /// The referenced resource's id.
    pub id: T,
}

impl<T> IdRef<T> {
    /// A reference to `id`.
    pub const fn new(id: T) -> Self {
        Self { id }
    }
}
