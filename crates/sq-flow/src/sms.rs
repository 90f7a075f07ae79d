//! SMS encoding and segment counting. Being written.
