//! One integration-test binary (faster to link than one per file).

mod aws_pipeline;
mod calls;
mod console;
mod contract;
mod crash;
mod dispatch;
mod dispatch_sources;
mod e2e;
mod fanout;
mod fault_matrix;
mod iam;
mod logs;
mod management;
mod openapi;
mod outbound;
mod providers;
mod reliability;
mod resume;
mod rules;
mod secret_storage;
