//! Limits on what a tenant may upload. They keep a hostile or careless upload from costing
//! memory or time (the loader is fuzzed), and keep flows within what phones can show.

/// Every limit the loader and the validator enforce. [`Limits::default`] is what publishing
/// uses; tests may tighten them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `flow.yaml`, each `.ftl` and each transcript, in bytes.
    pub max_file_bytes: usize,
    pub max_steps: usize,
    /// Static choices of one `choose` step (dynamic sources are paged by the ladder).
    pub max_choices: usize,
    /// Characters of one message pattern in a `.ftl` file.
    pub max_message_chars: usize,
    /// Nesting depth of the YAML document (mappings and sequences).
    pub max_depth: usize,
    pub max_branch_arms: usize,
    /// Characters of one `when:` condition.
    pub max_condition_chars: usize,
    pub max_messages: usize,
    pub max_tests: usize,
    pub max_transcript_steps: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 128 * 1024,
            max_steps: 200,
            max_choices: 50,
            max_message_chars: 1_000,
            max_depth: 10,
            max_branch_arms: 20,
            max_condition_chars: 200,
            max_messages: 500,
            max_tests: 50,
            max_transcript_steps: 100,
        }
    }
}
