//! The starter flows of `flows/`: they load, validate clean in all five languages, and every
//! transcript passes on every channel it lists.

use std::path::Path;

use sq_flow::library::{Library, STARTER_FLOWS};
use sq_flow::transcript;

fn flows_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../flows"))
}

#[test]
fn starter_flows_validate_without_errors_or_warnings() {
    let lib = Library::starter().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(lib.ids(), STARTER_FLOWS);
    let found: Vec<String> = lib.validate(&[]).iter().map(ToString::to_string).collect();
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn every_transcript_passes_on_every_channel() {
    let lib = Library::starter().unwrap();
    let failures: Vec<String> = transcript::run_all(&lib, &[])
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_embedded_flows_are_the_flows_directory() {
    let from_disk = Library::read_dir(flows_dir()).unwrap().unwrap();
    let embedded = Library::starter().unwrap();
    let mut disk_ids = from_disk.ids();
    disk_ids.sort();
    let mut ids = embedded.ids();
    ids.sort();
    assert_eq!(disk_ids, ids);
    for f in &embedded.flows {
        let d = from_disk.get(f.id()).unwrap();
        assert_eq!(
            d.source,
            f.source,
            "{}: embed! in library.rs lists other files",
            f.id()
        );
    }
    assert_eq!(from_disk.fixtures, embedded.fixtures);
}

#[test]
fn messages_start_flows_by_trigger_keyword_in_any_language() {
    let lib = Library::starter().unwrap();
    let started = |t: &str| lib.triggered_by(t).map(|f| f.id().to_string());
    assert_eq!(started("Join").as_deref(), Some("join-queue"));
    assert_eq!(started("FOLENI").as_deref(), Some("join-queue"));
    assert_eq!(started("طابور").as_deref(), Some("join-queue"));
    assert_eq!(started("annuler").as_deref(), Some("cancel-ticket"));
    assert_eq!(started("Posição").as_deref(), Some("ticket-status"));
    // Anything else opens the default flow.
    assert_eq!(started("what?").as_deref(), Some("main-menu"));
}

#[test]
fn previews_show_every_step_on_every_channel() {
    let lib = Library::starter().unwrap();
    let join = lib.get("join-queue").unwrap();
    let ussd = sq_flow::preview::preview(join, &[&lib.common], sq_domain::Channel::Ussd, "ar");
    assert!(ussd.contains("── pick_service (choose) ──"), "{ussd}");
    assert!(
        ussd.contains("المزيد"),
        "the Arabic USSD menu pages with \"More\":\n{ussd}"
    );
    assert!(!ussd.contains(['\u{2068}', '\u{2069}']));
    let wa = sq_flow::preview::preview(join, &[&lib.common], sq_domain::Channel::Whatsapp, "en");
    assert!(wa.contains("WhatsAppList"), "{wa}");
    assert!(!wa.contains("cannot be shown"), "{wa}");
}
