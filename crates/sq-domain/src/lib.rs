//! SmartQueue's pure domain: identifiers, parsed values, the queue model, the ticket state
//! machine, calling policies, ticket numbering, the ETA estimator and the audit hash chain.
//!
//! Nothing here does IO or reads a clock: time comes in as arguments, so every rule can be
//! tested with exact instants (DST edges included) and reused by both store backends.

pub mod audit;
pub mod auth;
pub mod eta;
pub mod ids;
pub mod model;
pub mod numbering;
pub mod policy;
pub mod ticket;
pub mod values;

pub use ids::*;
pub use values::*;
