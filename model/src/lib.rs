//! AtlHyper's shared types and wire protocol v1.
//!
//! Every other crate speaks through these types: agents push [`Envelope`]s of typed
//! [`Payload`]s to master, nodemetrics pushes [`NodeMetricsSnapshot`]s to the agent, master
//! queues [`Command`]s that agents receive as a [`CommandSet`] and settle with an [`Ack`], and
//! master's API answers with the [`api`] shapes that `atlctl --json` prints.
//!
//! The crate does no I/O. [`codec`] turns bytes into validated envelopes (gzip and JSON, with
//! hard size caps) and back; receivers (master, agent) bring the HTTP. Start with [`Envelope`]
//! and [`codec::decode_envelopes`]; `tests/fixtures/` holds one readable example of every
//! message.

#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod codec;
mod command;
pub mod delta;
mod duration;
mod envelope;
mod metrics;
pub mod quantity;
pub mod resources;
pub mod selector;
mod source;
pub mod validate;

pub use command::{
    Ack, AckBatch, AckStatus, Command, CommandKind, CommandSet, CommandStatus, DescribeFormat,
    ObjectKind, WatchRequest, cap_output,
};
pub use delta::{Delta, Sequence};
pub use duration::human_duration;
pub use envelope::{Envelope, Payload, PreEncodedEnvelope, ProtocolVersion};
pub use metrics::{
    CpuMetrics, DiskIoMetrics, FilesystemMetrics, MemoryMetrics, NetworkMetrics,
    NodeMetricsSnapshot, PodUsage, ProcessMetrics, TemperatureMetrics,
};
pub use source::{Source, StoreMode, UnknownSource};

pub(crate) fn is_false(value: &bool) -> bool {
    !*value
}
