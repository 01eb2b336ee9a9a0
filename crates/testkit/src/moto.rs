//! A moto server (local S3, DynamoDB, SQS, EventBridge, Step Functions) started once per test binary on a free loopback port.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running moto server. It lives as long as the test process and dies with it.
#[derive(Debug)]
pub struct MotoServer {
    endpoint: String,
}

impl MotoServer {
    /// The server shared by every test of this binary, started on first use.
    ///
    /// Panics with a setup message when `moto_server` cannot be found or does not start.
    pub fn shared() -> &'static MotoServer {
        static SERVER: OnceLock<MotoServer> = OnceLock::new();
        SERVER.get_or_init(start)
    }

    /// A second server, for a test whose load must not share a server with the rest of its binary (the
    /// compositor's pressure test: its hundreds of concurrent requests, next to the other tests' requests on one
    /// server, have run into the SDK's connect timeout). Started on first use.
    pub fn dedicated() -> &'static MotoServer {
        static SERVER: OnceLock<MotoServer> = OnceLock::new();
        SERVER.get_or_init(start)
    }

    /// The endpoint URL, for example `http://127.0.0.1:41234`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// An SDK configuration pointed at this server: region `us-east-1` and moto's test credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        sdk_config_at(&self.endpoint, "testing", "testing").await
    }
}

/// An SDK configuration pointed at a local `endpoint` (moto, or a test's own server) with region `us-east-1` and
/// the given static credentials: the one way every test builds its clients.
pub async fn sdk_config_at(
    endpoint: &str,
    access_key: &str,
    secret_key: &str,
) -> aws_config::SdkConfig {
    // A connect to loopback only times out when the machine is saturated (the compositor's pressure test hit the
    // SDK's 3.1 s default while other builds ran): waiting longer keeps such a run a test of the code, not of the load.
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(30))
        .build();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            access_key, secret_key, None, None, "test",
        ))
        .load()
        .await
}

/// Where `moto_server` lives: `$MOTO_SERVER`, else the workspace's `.venv/bin/moto_server`.
fn moto_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        return PathBuf::from(path);
    }
    crate::workspace_root().join(".venv/bin/moto_server")
}

/// A free loopback port.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a loopback port")
}

fn start() -> MotoServer {
    let binary = moto_binary();
    assert!(
        binary.exists(),
        "setup: moto_server not found at {} (set MOTO_SERVER, or run scripts/test.sh, which installs moto[server] \
         into .venv)",
        binary.display()
    );
    for _attempt in 0..3 {
        let port = free_port();
        if let Some(server) = spawn_and_wait(&binary, port) {
            return server;
        }
    }
    panic!(
        "setup: moto_server at {} did not start on a loopback port",
        binary.display()
    );
}

/// Spawns moto behind a `sh` that waits for its stdin to close and then kills it. The write end of that pipe is
/// held for the life of the test process, so the kernel closes it (and moto goes) however the process ends,
/// without `unsafe` code.
fn spawn_and_wait(binary: &Path, port: u16) -> Option<MotoServer> {
    // A background job of a non-interactive shell reads /dev/null, so only `cat` sees the pipe.
    const WATCHDOG: &str =
        r#""$0" -H 127.0.0.1 -p "$1" >/dev/null 2>&1 & cat >/dev/null; kill "$!""#;
    let mut command = Command::new("sh");
    command
        .args(["-c", WATCHDOG])
        .arg(binary)
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    guard(&mut command).ok()?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if answers_http(addr) {
            return Some(MotoServer {
                endpoint: format!("http://{addr}"),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// Spawns `command`, a `sh` watchdog script that waits for its stdin to close and then kills what it started, and
/// holds the write end of that pipe for the life of the test process: the kernel closes it (and the watchdog kills)
/// however the process ends, without `unsafe` code.
pub(crate) fn guard(command: &mut Command) -> std::io::Result<()> {
    static WATCHDOG_PIPES: std::sync::Mutex<Vec<std::process::ChildStdin>> =
        std::sync::Mutex::new(Vec::new());
    let mut child = command.stdin(Stdio::piped()).spawn()?;
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("the watchdog has no stdin"))?;
    WATCHDOG_PIPES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(stdin);
    Ok(())
}

fn answers_http(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok();
    let request = "GET /moto-api/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}

/// A fresh EventBridge bus with a rule sending every event with `source` to a fresh SQS queue, on moto: what a
/// test reads to see what was published.
#[derive(Debug, Clone)]
pub struct BusCapture {
    /// The bus name.
    pub bus_name: String,
    /// The queue behind the rule.
    pub queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

impl BusCapture {
    /// Creates the bus, the queue and the rule for events of `source`.
    pub async fn create(sdk: &aws_config::SdkConfig, source: &str) -> Self {
        let events = aws_sdk_eventbridge::Client::new(sdk);
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let bus_name = crate::unique_name("bus");
        events
            .create_event_bus()
            .name(&bus_name)
            .send()
            .await
            .expect("create bus on moto");
        let queue_url = create_queue(&sqs).await;
        let queue_arn = format!(
            "arn:aws:sqs:us-east-1:123456789012:{}",
            queue_url.rsplit('/').next().unwrap_or_default()
        );
        events
            .put_rule()
            .name("capture")
            .event_bus_name(&bus_name)
            .event_pattern(serde_json::json!({ "source": [source] }).to_string())
            .send()
            .await
            .expect("put rule on moto");
        events
            .put_targets()
            .rule("capture")
            .event_bus_name(&bus_name)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(queue_arn)
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("put targets on moto");
        Self {
            bus_name,
            queue_url,
            sqs,
        }
    }

    /// Every event delivered so far (the EventBridge envelopes), removing them from the queue.
    pub async fn drain(&self) -> Vec<serde_json::Value> {
        drain_queue(&self.sqs, &self.queue_url).await
    }
}

/// A fresh state machine on moto, named `name` and a unique suffix, of `definition`; its ARN. moto records its
/// executions (started, described, stopped) but does not run them.
pub async fn create_state_machine(
    sfn: &aws_sdk_sfn::Client,
    name: &str,
    definition: &str,
) -> String {
    sfn.create_state_machine()
        .name(crate::unique_name(name))
        .definition(definition)
        .role_arn("arn:aws:iam::123456789012:role/vidpipe-test")
        .send()
        .await
        .expect("state machine on moto")
        .state_machine_arn()
        .to_owned()
}

/// A fresh SQS queue on moto; its URL.
pub async fn create_queue(sqs: &aws_sdk_sqs::Client) -> String {
    sqs.create_queue()
        .queue_name(crate::unique_name("queue"))
        .send()
        .await
        .expect("create queue on moto")
        .queue_url
        .expect("queue url")
}

/// Every message on a queue (bodies parsed as JSON), removing them.
pub async fn drain_queue(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<serde_json::Value> {
    let mut all = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .expect("receive from moto");
        let messages = out.messages();
        if messages.is_empty() {
            return all;
        }
        for m in messages {
            all.push(
                serde_json::from_str(m.body().unwrap_or_default()).expect("message body is JSON"),
            );
            sqs.delete_message()
                .queue_url(queue_url)
                .set_receipt_handle(m.receipt_handle().map(str::to_owned))
                .send()
                .await
                .expect("delete from moto");
        }
    }
}
