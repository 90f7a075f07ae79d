//! `serve --demo`'s phones: the provider simulators (`sq-sim`) run in-process on their own
//! listener, and the demo tenant's six channels are (re)wired to them on every start —
//! `demo-whatsapp`, `demo-twilio-sms`, `demo-at-sms`, `demo-at-ussd`, `demo-hubtel-ussd`,
//! `demo-telegram` — with `--demo-secret` as app secret, auth token and secret token. One
//! command, and a newcomer joins a queue from the phones page.

use anyhow::Context;
use serde_json::json;
use sq_app::{Messaging, NewChannelRequest, Principal, RequestMeta};
use sq_domain::model::Tenant;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// The WhatsApp phone number id of the demo business (the simulator's default).
pub const DEMO_WHATSAPP_NUMBER_ID: &str = "106540352242922";
/// The Telegram bot token of the demo bot.
pub const DEMO_TELEGRAM_TOKEN: &str = "123456:demo-bot-token";

/// The simulators, bound and ready to serve.
#[derive(Debug)]
pub struct Simulators {
    pub sim: sq_sim::Sim,
    listener: TcpListener,
    pub addr: SocketAddr,
}

impl Simulators {
    /// Binds `listen` and sets the simulators up to deliver webhooks to `server_base`.
    pub async fn bind(listen: SocketAddr, server_base: &str, secret: &str) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding the simulators on {listen}"))?;
        let addr = listener.local_addr()?;
        // Africa's Talking posts the end of a USSD session to a separate notification URL.
        let webhooks = [(
            "at-ussd-notify".to_owned(),
            format!(
                "{}/hooks/demo-at-ussd/end",
                server_base.trim_end_matches('/')
            ),
        )]
        .into();
        let sim = sq_sim::Sim::new(sq_sim::SimConfig {
            webhook_base: Some(server_base.to_owned()),
            webhooks,
            secret: secret.to_owned(),
            whatsapp_phone_number_id: DEMO_WHATSAPP_NUMBER_ID.to_owned(),
            telegram_token: Some(DEMO_TELEGRAM_TOKEN.to_owned()),
            auto_statuses: true,
            ..Default::default()
        });
        Ok(Simulators {
            sim,
            listener,
            addr,
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves until `shutdown` resolves.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) {
        if let Err(e) = sq_sim::serve(self.listener, self.sim, shutdown).await {
            tracing::error!(error = %e, "simulators stopped");
        }
    }
}

/// The demo tenant's channels, pointed at simulators at `sim_base`.
pub fn demo_channels(sim_base: &str, secret: &str) -> Vec<NewChannelRequest> {
    let ch = |id: &str, name: &str, config: serde_json::Value| NewChannelRequest {
        id: Some(id.to_owned()),
        name: name.to_owned(),
        config,
    };
    vec![
        ch(
            "demo-whatsapp",
            "WhatsApp (simulated)",
            json!({"provider": "whatsapp_cloud", "phone_number_id": DEMO_WHATSAPP_NUMBER_ID,
                   "access_token": "demo-access-token", "app_secret": secret,
                   "verify_token": secret, "graph_url": sim_base,
                   "display_phone_number": "+1 555 010 0100",
                   // The simulated number has Meta's higher throughput tier.
                   "messages_per_second": 1000,
                   // Approved templates for calls outside the 24-hour window.
                   "templates": {"notify-called": {"name": "ticket_called", "language": "en"}}}),
        ),
        ch(
            "demo-twilio-sms",
            "SMS via Twilio (simulated)",
            json!({"provider": "twilio", "account_sid": "AC00000000000000000000000000000000",
                   "auth_token": secret, "from": "+15005550006", "status_callback": null,
                   "channel": "sms", "api_url": sim_base}),
        ),
        ch(
            "demo-at-sms",
            "SMS via Africa's Talking (simulated)",
            json!({"provider": "africastalking_sms", "username": "sandbox", "api_key": secret,
                   "from": null, "api_url": sim_base}),
        ),
        ch(
            "demo-at-ussd",
            "USSD *384*1# via Africa's Talking (simulated)",
            json!({"provider": "africastalking_ussd"}),
        ),
        ch(
            "demo-hubtel-ussd",
            "USSD via Hubtel (simulated)",
            json!({"provider": "hubtel_ussd"}),
        ),
        ch(
            "demo-telegram",
            "Telegram bot (simulated)",
            json!({"provider": "telegram", "bot_token": DEMO_TELEGRAM_TOKEN,
                   "secret_token": secret, "api_url": sim_base}),
        ),
    ]
}

/// Creates or rewires the demo tenant's channels.
pub async fn wire_demo_channels(
    messaging: &Messaging,
    tenant: &Tenant,
    sim_base: &str,
    secret: &str,
) -> anyhow::Result<()> {
    let system = Principal::system();
    for req in demo_channels(sim_base, secret) {
        let id = req.id.clone().unwrap_or_default();
        messaging
            .put_channel(&system, tenant, req, &RequestMeta::default())
            .await
            .with_context(|| format!("wiring channel {id}"))?;
    }
    Ok(())
}
