//! Fake Hubtel Programmable Services USSD gateway (providers/README.md §3.3): JSON pushes
//! (`Initiation` with the dialled string, then `Response` with only the latest input) and JSON
//! replies whose `Type` is `response` (continue) or `release` (end), case-insensitively.

use serde_json::{Value, json};

use crate::at::{NETWORK_ERROR, Screen, end_session, save_session, session_for};
use crate::{Delivery, InboundRequest, Sim, SimError};

const CHANNEL: &str = "hubtel-ussd";

/// Parse a Hubtel reply into (continue?, message, client_state).
pub fn parse_reply(status: u16, body: &str) -> Result<(bool, String, String), String> {
    if status != 200 {
        return Err(format!("HTTP {status} from the application"));
    }
    let v: Value = serde_json::from_str(body).map_err(|_| "reply is not JSON".to_owned())?;
    let ty = v["Type"]
        .as_str()
        .ok_or("reply has no Type")?
        .to_ascii_lowercase();
    let message = v["Message"]
        .as_str()
        .ok_or("reply has no Message")?
        .to_owned();
    let state = v["ClientState"].as_str().unwrap_or_default().to_owned();
    match ty.as_str() {
        "response" => Ok((true, message, state)),
        "release" => Ok((false, message, state)),
        other => Err(format!("unknown reply Type {other:?}")),
    }
}

/// Hubtel's `Mobile`: 233…, no `+`.
fn mobile(phone: &str) -> String {
    phone.trim_start_matches('+').to_owned()
}

async fn push(sim: &Sim, body: &Value, copies: u32) -> Result<Vec<Delivery>, SimError> {
    let url = sim
        .webhook_url(CHANNEL)
        .ok_or_else(|| SimError::NoWebhook(CHANNEL.into()))?;
    let raw = serde_json::to_vec(body).unwrap_or_default();
    Ok(sim.post(&url, "application/json", &[], &raw, copies).await)
}

/// One Hubtel USSD hop.
pub async fn ussd_hop(sim: &Sim, req: InboundRequest) -> Result<Value, SimError> {
    let (mut session, new) = session_for(sim, CHANNEL, &req)?;
    session.hops += 1;
    let service_code = session
        .service_code
        .trim_start_matches('*')
        .trim_end_matches('#')
        .split('*')
        .next()
        .unwrap_or_default()
        .to_owned();
    let request = json!({
        "Type": if new { "Initiation" } else { "Response" },
        "Mobile": mobile(&session.phone),
        "SessionId": session.id,
        "ServiceCode": service_code,
        "Message": if new { session.service_code.clone() } else { session.inputs.last().cloned().unwrap_or_default() },
        "Operator": "vodafone",
        "Sequence": session.sequence,
        "ClientState": session.client_state,
        "Platform": "USSD",
    });
    let deliveries = match push(sim, &request, sim.copies(CHANNEL)).await {
        Ok(d) => d,
        Err(e) => {
            end_session(sim, &session.id);
            return Err(e);
        }
    };
    let last = deliveries.last().cloned().unwrap_or(Delivery {
        url: String::new(),
        status: 0,
        body: String::new(),
    });
    let mut screen = match parse_reply(last.status, &last.body) {
        Ok((cont, text, state)) => {
            session.client_state = state;
            Screen {
                session_id: session.id.clone(),
                screen: text,
                ended: !cont,
                dropped: false,
                warning: None,
                error: None,
                deliveries,
            }
        }
        Err(e) => Screen {
            session_id: session.id.clone(),
            screen: NETWORK_ERROR.into(),
            ended: true,
            dropped: false,
            warning: None,
            error: Some(e),
            deliveries,
        },
    };
    save_session(sim, &session);
    if screen.error.is_none() {
        screen.warning = crate::ussd_screen_warning(&screen.screen);
    }
    if !screen.ended && sim.take_ussd_drop(CHANNEL) {
        screen.dropped = true;
        screen.ended = true;
        screen.screen = NETWORK_ERROR.into();
    }
    sim.record(
        CHANNEL,
        &session.phone,
        json!({"request": request, "reply": last.body}),
        Some(screen.screen.clone()),
        Some(session.id.clone()),
        screen.error.clone(),
    );
    if screen.ended {
        end_session(sim, &session.id);
        if screen.dropped {
            // The gateway tells the app the user is gone.
            let timeout = json!({
                "Type": "Timeout",
                "Mobile": mobile(&session.phone),
                "SessionId": session.id,
                "ServiceCode": service_code,
                "Message": "",
                "Operator": "vodafone",
                "Sequence": session.sequence + 1,
                "ClientState": session.client_state,
                "Platform": "USSD",
            });
            let _ = push(sim, &timeout, 1).await;
        }
    }
    Ok(serde_json::to_value(screen).unwrap_or_default())
}
