//! The choice ladder (FLOWS.md §4). Being written.
