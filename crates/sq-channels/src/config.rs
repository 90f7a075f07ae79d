//! Building an adapter from a channel's (decrypted) configuration.

use std::sync::Arc;

use serde::Deserialize;

use crate::africastalking::{AfricasTalkingCredentials, AfricasTalkingSms, AfricasTalkingUssd};
use crate::hubtel::HubtelUssd;
use crate::telegram::{Telegram, TelegramCredentials};
use crate::twilio::{Twilio, TwilioCredentials};
use crate::whatsapp::{WhatsApp, WhatsAppCredentials};
use crate::{Adapter, UssdAdapter};

/// One configured channel, as stored (encrypted) per tenant: `{"provider": "telegram", …}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "provider", rename_all = "snake_case")]
pub enum AdapterConfig {
    WhatsappCloud(WhatsAppCredentials),
    Twilio(TwilioCredentials),
    AfricastalkingSms(AfricasTalkingCredentials),
    AfricastalkingUssd,
    HubtelUssd(HubtelUssd),
    Telegram(TelegramCredentials),
}

/// A built adapter: USSD ones also answer inline.
#[derive(Clone, Debug)]
pub enum ChannelAdapter {
    Messaging(Arc<dyn Adapter>),
    Ussd(Arc<dyn UssdAdapter>),
}

impl ChannelAdapter {
    pub fn adapter(&self) -> Arc<dyn Adapter> {
        match self {
            ChannelAdapter::Messaging(a) => a.clone(),
            ChannelAdapter::Ussd(u) => u.clone(),
        }
    }
    pub fn ussd(&self) -> Option<Arc<dyn UssdAdapter>> {
        match self {
            ChannelAdapter::Ussd(u) => Some(u.clone()),
            ChannelAdapter::Messaging(_) => None,
        }
    }
}

impl AdapterConfig {
    pub fn build(self) -> ChannelAdapter {
        match self {
            AdapterConfig::WhatsappCloud(c) => {
                ChannelAdapter::Messaging(Arc::new(WhatsApp::new(c)))
            }
            AdapterConfig::Twilio(c) => ChannelAdapter::Messaging(Arc::new(Twilio::new(c))),
            AdapterConfig::AfricastalkingSms(c) => {
                ChannelAdapter::Messaging(Arc::new(AfricasTalkingSms::new(c)))
            }
            AdapterConfig::AfricastalkingUssd => ChannelAdapter::Ussd(Arc::new(AfricasTalkingUssd)),
            AdapterConfig::HubtelUssd(h) => ChannelAdapter::Ussd(Arc::new(h)),
            AdapterConfig::Telegram(c) => ChannelAdapter::Messaging(Arc::new(Telegram::new(c))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Provider;

    #[test]
    fn builds_from_json_with_default_urls_and_hides_secrets() {
        let cfg: AdapterConfig = serde_json::from_str(
            r#"{"provider":"telegram","bot_token":"123:tok","secret_token":"sec_ret"}"#,
        )
        .unwrap();
        let dbg = format!("{cfg:?}");
        assert!(
            !dbg.contains("123:tok") && !dbg.contains("sec_ret"),
            "{dbg}"
        );
        assert!(dbg.contains("https://api.telegram.org"));
        let built = cfg.build();
        assert_eq!(built.adapter().provider(), Provider::Telegram);
        assert!(built.ussd().is_none());

        let cfg: AdapterConfig = serde_json::from_str(
            r#"{"provider":"whatsapp_cloud","phone_number_id":"1","access_token":"a","app_secret":"b","verify_token":"c"}"#,
        )
        .unwrap();
        assert!(format!("{cfg:?}").contains("v25.0"));
        let cfg: AdapterConfig = serde_json::from_str(
            r#"{"provider":"twilio","account_sid":"AC1","auth_token":"t","from":"+15005550006","status_callback":null,"channel":"whatsapp"}"#,
        )
        .unwrap();
        assert_eq!(cfg.build().adapter().provider(), Provider::Twilio);
        let cfg: AdapterConfig =
            serde_json::from_str(r#"{"provider":"africastalking_ussd"}"#).unwrap();
        assert!(cfg.build().ussd().is_some());
        let cfg: AdapterConfig = serde_json::from_str(r#"{"provider":"hubtel_ussd"}"#).unwrap();
        assert_eq!(cfg.build().adapter().provider(), Provider::HubtelUssd);
        let cfg: AdapterConfig = serde_json::from_str(
            r#"{"provider":"africastalking_sms","username":"sandbox","api_key":"k","from":null}"#,
        )
        .unwrap();
        assert_eq!(
            cfg.build().adapter().provider(),
            Provider::AfricasTalkingSms
        );
    }
}
