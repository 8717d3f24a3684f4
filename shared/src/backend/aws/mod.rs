//! The AWS backend (filled in by the AWS issue).
