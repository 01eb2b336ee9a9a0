//! [`SerialProxy`]: a loopback HTTP/1.1 proxy that hands its upstream one request at a time.
//!
//! DynamoDB applies the writes to one item one after the other, so of two conditional writes that race, the second
//! sees the first's result. moto checks a condition and then writes, with nothing in between to stop a concurrent
//! request doing the same (`docs/compositor.md`), so a race on moto measures moto. Behind this proxy every request
//! to moto is whole before the next begins: concurrent clients stay concurrent (each reads, decides and writes in
//! separate requests, so a read-then-write would still race), while each conditional write is atomic as
//! DynamoDB's is.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// A running proxy; it lives as long as the test process.
#[derive(Debug)]
pub struct SerialProxy {
    endpoint: String,
}

impl SerialProxy {
    /// A proxy to `upstream` (`http://127.0.0.1:port`), on a free loopback port.
    pub fn start(upstream: &str) -> Self {
        let upstream = upstream
            .strip_prefix("http://")
            .expect("an http:// upstream")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let endpoint = format!("http://{}", listener.local_addr().expect("local address"));
        let turn = Arc::new(Mutex::new(()));
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (upstream, turn) = (upstream.clone(), Arc::clone(&turn));
                std::thread::spawn(move || serve(client, &upstream, &turn));
            }
        });
        Self { endpoint }
    }

    /// The endpoint URL to point an SDK at.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

/// Passes each request of `client`'s connection to `upstream` on a connection of its own, one at a time.
fn serve(client: TcpStream, upstream: &str, turn: &Mutex<()>) {
    let mut reader = BufReader::new(client.try_clone().expect("clone the client socket"));
    let mut client = client;
    while let Some(request) = read_message(&mut reader) {
        let response = {
            let _turn = turn.lock().unwrap_or_else(|e| e.into_inner());
            let mut server = TcpStream::connect(upstream).expect("connect to the upstream");
            server
                .write_all(&request)
                .expect("send the request upstream");
            read_message(&mut BufReader::new(server)).expect("the upstream's response")
        };
        if client.write_all(&response).is_err() {
            return;
        }
    }
}

/// One HTTP/1.1 message with a `Content-Length` body (or none), as bytes; `None` at the end of the stream.
fn read_message(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut message = Vec::new();
    let mut length = 0;
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line).ok()? == 0 {
            return None;
        }
        let text = String::from_utf8_lossy(&line).to_ascii_lowercase();
        if let Some(value) = text.strip_prefix("content-length:") {
            length = value.trim().parse().ok()?;
        }
        assert!(
            !text.starts_with("transfer-encoding:"),
            "the serial proxy passes Content-Length bodies only"
        );
        message.extend_from_slice(&line);
        if line == b"\r\n" {
            break;
        }
    }
    let start = message.len();
    message.resize(start + length, 0);
    reader.read_exact(&mut message[start..]).ok()?;
    Some(message)
}
