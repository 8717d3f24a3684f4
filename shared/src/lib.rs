//! hookbridge's common crate: the domain, the ports the functions need, both backends
//! (embedded SQLite and AWS), and the handler logic of every function.
//!
//! Layout follows the architecture: `domain` (pure types, parse-don't-validate),
//! `ports` (narrow async traits), `backend::{local,aws}` (their two real implementations),
//! and one module per function (`ingress`, `fanout`, `management`), each exposing a router or
//! handler that the thin Lambda binaries and the local runner mount.

pub mod accept;
pub mod app;
pub mod backend;
pub mod cache;
pub mod config;
pub mod console;
pub mod dispatch;
pub mod domain;
pub mod error;
pub mod fanout;
pub mod ingress;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod management;
pub mod messages;
pub mod metrics;
pub mod openapi;
pub mod ports;
pub mod providers;
pub mod public_url;
pub mod registration;
pub mod runtime;
pub mod secret;
pub mod stats;

pub use error::{ApiError, StoreError};
pub use ports::Backend;

/// What the fuzz targets in `fuzz/` reach beyond the public API: the ingress handler's
/// helpers, and the management API's request bodies with the checks their handlers make.
/// Not an API: nothing else should use it.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::ingress::handler::{check_api_key, forwarded_headers, public_urls};
    pub use crate::management::connectors::{
        AuthInput, BatchInput, CreateConnector, RotateRequest, SigningInput, UpdateConnector, template_text,
        validate as validate_connector,
    };
    pub use crate::management::helpers::HelperInput;
    pub use crate::management::params::{ParamValue, valid_name};
    pub use crate::management::webhooks::{
        CreateWebhook, RotateProviderSecret, UpdateWebhook, WaitRequest, check_description, check_location,
        validate_provider_secret,
    };
    pub use crate::providers::handshake;
}
