//! kubesim: a simulated Kubernetes cluster serving the real Kubernetes HTTP API.
//!
//! Its issue builds the API server and the controllers; this crate currently holds the
//! [`Config`].

mod config;

pub use config::Config;
