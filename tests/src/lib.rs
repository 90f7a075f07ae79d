//! Black-box tests for SmartQueue.
