//! `smartqueue flows …`: the tenant's tools for flow templates — validate them, run their
//! transcript tests on every channel, and preview each step as a channel would show it.

use anyhow::{Context, Result, bail};
use clap::{Subcommand, ValueEnum};
use sq_domain::Channel;
use sq_flow::library::Library;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum FlowsCommand {
    /// Check flows for errors (exit 1) and per-channel warnings, with file:line:column.
    #[command(
        after_help = "Examples:\n  smartqueue flows validate            # the built-in starter flows\n  smartqueue flows validate ./flows    # a flows/ directory (one folder per flow)"
    )]
    Validate {
        /// A `flows/`-shaped directory; the embedded starter flows when omitted
        path: Option<PathBuf>,
    },
    /// Run every transcript test (flows/<flow>/tests/*.yaml) on each channel it lists.
    #[command(after_help = "Examples:\n  smartqueue flows test\n  smartqueue flows test ./flows")]
    Test {
        /// A `flows/`-shaped directory; the embedded starter flows when omitted
        path: Option<PathBuf>,
    },
    /// Print every step of a flow as it looks on one channel in one language.
    #[command(
        after_help = "Examples:\n  smartqueue flows render join-queue --channel ussd --locale ar\n  smartqueue flows render feedback --channel whatsapp --locale fr --path ./flows"
    )]
    Render {
        /// The flow id, e.g. join-queue
        flow: String,
        /// The channel to preview
        #[arg(long, value_enum, default_value = "ussd")]
        channel: PreviewChannel,
        /// The language (en, fr, ar, sw, pt)
        #[arg(long, default_value = "en")]
        locale: String,
        /// A `flows/`-shaped directory; the embedded starter flows when omitted
        #[arg(long)]
        path: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PreviewChannel {
    Ussd,
    Sms,
    Whatsapp,
    Telegram,
    Web,
}

impl From<PreviewChannel> for Channel {
    fn from(c: PreviewChannel) -> Channel {
        match c {
            PreviewChannel::Ussd => Channel::Ussd,
            PreviewChannel::Sms => Channel::Sms,
            PreviewChannel::Whatsapp => Channel::Whatsapp,
            PreviewChannel::Telegram => Channel::Telegram,
            PreviewChannel::Web => Channel::Web,
        }
    }
}

fn load(path: Option<&Path>) -> Result<Library> {
    let loaded = match path {
        None => Library::starter(),
        Some(p) => Library::read_dir(p).with_context(|| format!("reading {}", p.display()))?,
    };
    // Load errors are the flows' own mistakes: print them like validation errors.
    loaded.map_err(|d| anyhow::anyhow!("{d}\n{} error(s) while loading", d.0.len()))
}

/// Runs a `flows` command; `Ok(false)` means it ran and found problems (exit code 1).
pub fn run(cmd: FlowsCommand) -> Result<bool> {
    match cmd {
        FlowsCommand::Validate { path } => {
            let lib = load(path.as_deref())?;
            let diags = lib.validate(&[]);
            for d in &diags {
                println!("{d}");
            }
            let errors = diags.iter().filter(|d| d.is_error()).count();
            println!(
                "{} flow(s): {errors} error(s), {} warning(s)",
                lib.flows.len(),
                diags.len() - errors
            );
            Ok(errors == 0)
        }
        FlowsCommand::Test { path } => {
            let lib = load(path.as_deref())?;
            let transcripts: usize = lib.flows.iter().map(|f| f.source.tests.len()).sum();
            let failures = sq_flow::transcript::run_all(&lib, &[]);
            for f in &failures {
                println!("FAIL {f}");
            }
            println!(
                "{transcripts} transcript(s) in {} flow(s): {} failure(s)",
                lib.flows.len(),
                failures.len()
            );
            Ok(failures.is_empty())
        }
        FlowsCommand::Render {
            flow,
            channel,
            locale,
            path,
        } => {
            let lib = load(path.as_deref())?;
            let Some(f) = lib.get(&flow) else {
                bail!("no flow `{flow}`; known: {}", lib.ids().join(", "));
            };
            print!(
                "{}",
                sq_flow::preview::preview(f, &[&lib.common], channel.into(), &locale)
            );
            Ok(true)
        }
    }
}
