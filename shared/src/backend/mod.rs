//! The two real implementations of every port.

pub mod local;

#[cfg(feature = "aws")]
pub mod aws;
