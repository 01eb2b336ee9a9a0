//! A webhook receiver on a loopback port: checks every request's `Vidpipe-Signature` (401 when it does not
//! verify), answers a scripted status for the first signed requests (to exercise retries) and 200 after that, and
//! keeps what it received.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vidpipe_core::webhook::verify;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct ReceivedWebhook {
    /// The raw body.
    pub body: Vec<u8>,
    /// Whether its signature verified with the receiver's secret.
    pub signature_valid: bool,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The status the receiver answered.
    pub answered: u16,
}

/// A running receiver (it stops with the test's runtime).
#[derive(Debug, Clone)]
pub struct WebhookReceiver {
    url: String,
    received: Arc<Mutex<Vec<ReceivedWebhook>>>,
}

impl WebhookReceiver {
    /// Starts a receiver verifying with `secret` that answers each status of `script` in turn, then 200.
    pub async fn start(secret: &[u8], script: Vec<u16>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let url = format!(
            "http://{}/hooks/vidpipe",
            listener.local_addr().expect("local address")
        );
        let received = Arc::new(Mutex::new(Vec::new()));
        let state = (
            secret.to_vec(),
            Arc::new(Mutex::new(script)),
            received.clone(),
        );
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (secret, script, received) =
                    (state.0.clone(), state.1.clone(), state.2.clone());
                tokio::spawn(async move {
                    serve(stream, &secret, &script, &received).await;
                });
            }
        });
        Self { url, received }
    }

    /// The URL to send webhooks to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<ReceivedWebhook> {
        self.received.lock().expect("not poisoned").clone()
    }
}

async fn serve(
    mut stream: TcpStream,
    secret: &[u8],
    script: &Mutex<Vec<u16>>,
    received: &Mutex<Vec<ReceivedWebhook>>,
) {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let (head_end, headers) = loop {
        let Ok(read) = stream.read(&mut buf).await else {
            return;
        };
        if read == 0 {
            return;
        }
        data.extend_from_slice(&buf[..read]);
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_string();
            let headers: Vec<(String, String)> = head
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            break (end + 4, headers);
        }
    };
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(read) => data.extend_from_slice(&buf[..read]),
        }
    }
    let body = data[head_end..head_end + length].to_vec();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let signature_valid = header("vidpipe-signature")
        .is_some_and(|sig| verify(secret, &sig, &body, now, 300).is_ok());
    let answered = if !signature_valid {
        401
    } else {
        let mut script = script.lock().expect("not poisoned");
        if script.is_empty() {
            200
        } else {
            script.remove(0)
        }
    };
    received
        .lock()
        .expect("not poisoned")
        .push(ReceivedWebhook {
            body,
            signature_valid,
            headers,
            answered,
        });
    let response =
        format!("HTTP/1.1 {answered} Scripted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    stream.write_all(response.as_bytes()).await.ok();
    stream.shutdown().await.ok();
}
