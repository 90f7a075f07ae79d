//! `cargo run -p sq-flow --example preview -- join-queue ussd ar`: a starter flow's steps as
//! one channel shows them (what `smartqueue flows render` will print).

use sq_domain::Channel;
use sq_flow::library::Library;

fn main() {
    let mut args = std::env::args().skip(1);
    let flow = args.next().unwrap_or_else(|| "join-queue".into());
    let channel: Channel = args
        .next()
        .unwrap_or_else(|| "ussd".into())
        .parse()
        .expect("channel");
    let lang = args.next().unwrap_or_else(|| "en".into());
    let lib = Library::starter().expect("starter flows load");
    let Some(f) = lib.get(&flow) else {
        eprintln!("unknown flow {flow}; known: {}", lib.ids().join(", "));
        std::process::exit(2);
    };
    print!(
        "{}",
        sq_flow::preview::preview(f, &[&lib.common], channel, &lang)
    );
}
