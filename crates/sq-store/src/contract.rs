//! The contract suite every backend runs (being written).
