//! The reqwest `send` helper against a one-shot local HTTP server.

use std::time::Duration;

use sq_channels::telegram::{Telegram, TelegramCredentials};
use sq_channels::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const TOKEN: &str = "123456:ABC-bot-token";

fn telegram(base: &str) -> Telegram {
    Telegram::new(TelegramCredentials {
        bot_token: Secret::new(TOKEN),
        secret_token: Secret::new("s"),
        api_url: base.to_owned(),
    })
}

/// Serves one request with `response`; returns the raw request it received.
async fn one_shot(response: &'static str) -> (String, tokio::task::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = sock.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        sock.write_all(response.as_bytes()).await.unwrap();
        sock.shutdown().await.ok();
        String::from_utf8_lossy(&buf).to_string()
    });
    (base, task)
}

fn out() -> OutboundMessage {
    OutboundMessage::text(Address::TelegramChat(218485655), "Hello")
}

#[tokio::test]
async fn success_and_request_shape() {
    let body = r#"{"ok":true,"result":{"message_id":77,"chat":{"id":218485655,"type":"private"},"date":1}}"#;
    let resp: &'static str = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    );
    let (base, task) = one_shot(resp).await;
    let client = client();
    let outcome = send(&client, &telegram(&base), &out()).await.unwrap();
    assert_eq!(outcome.provider_message_id, "77");
    let req = task.await.unwrap();
    assert!(
        req.starts_with(&format!("POST /bot{TOKEN}/sendMessage HTTP/1.1")),
        "{req}"
    );
    assert!(
        req.ends_with(r#"{"chat_id":218485655,"text":"Hello"}"#),
        "{req}"
    );
}

#[tokio::test]
async fn retry_after_header_fills_in() {
    let body = r#"{"ok":false,"error_code":429,"description":"Too Many Requests"}"#;
    let resp: &'static str = Box::leak(
        format!(
            "HTTP/1.1 429 Too Many Requests\r\nretry-after: 7\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    );
    let (base, _task) = one_shot(resp).await;
    let e = send(&client(), &telegram(&base), &out()).await.unwrap_err();
    assert_eq!(
        e,
        SendError::Retryable {
            retry_after: Some(Duration::from_secs(7)),
            code: "429".into(),
            detail: "Too Many Requests".into()
        }
    );
}

#[tokio::test]
async fn network_errors_are_retryable_and_hide_the_token() {
    // Bind and drop to get a port nobody listens on.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let e = send(
        &client(),
        &telegram(&format!("http://127.0.0.1:{port}")),
        &out(),
    )
    .await
    .unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert!(!format!("{e:?} {e}").contains("ABC-bot-token"));
}

#[tokio::test]
async fn unrenderable_messages_are_permanent() {
    let e = send(
        &client(),
        &telegram("http://127.0.0.1:9"),
        &OutboundMessage::text(Address::Other("x".into()), "hi"),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, SendError::Permanent { ref code, .. } if code == "bad_address"));
}

/// No proxy from the environment: these requests must reach the local server.
fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}
