//! Counting the AWS calls a function makes, per service and operation, with an SDK
//! interceptor on every client (each attempt that goes on the wire counts, as AWS bills
//! it). The call-count tests assert budgets with it (`tests/it/calls.rs`), and
//! docs/cost.md prices those counts.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Calls made so far, by `(service, operation)`.
#[derive(Clone, Debug, Default)]
pub struct CallCounter {
    calls: Arc<Mutex<BTreeMap<(String, String), u64>>>,
}

impl CallCounter {
    /// Every count, and zero from now on.
    pub fn take(&self) -> BTreeMap<(String, String), u64> {
        std::mem::take(&mut *self.calls.lock().expect("calls"))
    }

    /// Calls to one service whose operation name passes `which`.
    pub fn count(counts: &BTreeMap<(String, String), u64>, service: &str, which: impl Fn(&str) -> bool) -> u64 {
        counts.iter().filter(|((s, op), _)| s.eq_ignore_ascii_case(service) && which(op)).map(|(_, n)| n).sum()
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "hookbridge.CallCounter"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(m) = cfg.load::<Metadata>() {
            *self.calls.lock().expect("calls").entry((m.service().to_owned(), m.name().to_owned())).or_default() += 1;
        }
        Ok(())
    }
}
