//! One integration-test binary (faster to link than one per file).

mod contract;
mod e2e;
mod fanout;
