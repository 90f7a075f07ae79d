//! The ETA estimator.
//!
//! SKELETON — bodies being written.

use serde::{Deserialize, Serialize};

/// A wait range in whole seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eta {
    pub min_seconds: u32,
    pub max_seconds: u32,
}

/// Folds an observed service time into the EWMA.
pub fn ewma_update(current: f64, observed_secs: f64) -> f64 {
    0.8 * current + 0.2 * observed_secs
}

/// The wait for someone with `ahead` people before them; `None` when nobody serves.
pub fn estimate(ewma_service_secs: f64, agents: u32, ahead: u32) -> Option<Eta> {
    if agents == 0 {
        return None;
    }
    let mean = ewma_service_secs * ahead as f64 / agents as f64;
    Some(Eta {
        min_seconds: (mean * 0.5) as u32,
        max_seconds: (mean * 1.5) as u32,
    })
}
