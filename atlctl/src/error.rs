//! What can go wrong, and the exit code each maps to (documented in `atlctl(1)`).

/// One line for stderr, and the process's exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Exit 1: the operation was attempted and failed (a server error, a garbled answer).
    #[error("{0}")]
    Failed(String),
    /// Exit 2: the command line is wrong (unknown resource, bad selector, conflicting flags).
    #[error("{0}")]
    Usage(String),
    /// Exit 3: what was asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Exit 4: no token, a token master refuses, or a role too low.
    #[error("{0}")]
    Auth(String),
    /// Exit 5: master cannot be reached or does not answer in time.
    #[error("{0}")]
    Unreachable(String),
    /// Exit 6: the request conflicts with what master holds (an Idempotency-Key already used
    /// for another request, the last admin token, a name taken).
    #[error("{0}")]
    Conflict(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Failed(_) => 1,
            CliError::Usage(_) => 2,
            CliError::NotFound(_) => 3,
            CliError::Auth(_) => 4,
            CliError::Unreachable(_) => 5,
            CliError::Conflict(_) => 6,
        }
    }
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;
