//! `vidpipe demo`: the main job, headless, against a running stack's HTTP API. It makes (or takes) a screen and a
//! camera recording of one stream, uploads both through the API's presigned URLs as a browser does, follows the
//! stream until the composite is ready, downloads it, and says what it got and how long each step took.

use clap::Args;
use serde_json::{Value, json};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use vidpipe_engine::Tools;

/// The presign function's URL under `cargo lambda watch` (scripts/dev.sh).
const LOCAL_API_URL: &str = "http://127.0.0.1:9000/lambda-url/vidpipe-presign";

/// `vidpipe demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The HTTP API's base URL (locally, the presign function's URL; deployed, the API Gateway stage's URL).
    #[arg(long, env = "VIDPIPE_API_URL", default_value = LOCAL_API_URL)]
    api_url: String,
    /// A bearer token for the API. Without one, a development token for `demo` is signed with `JWT_SECRET`.
    #[arg(long, env = "VIDPIPE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The secret of `AUTH_MODE=hs256` (the local stack's), to sign a development token.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// Where the secret is read from without a token or `JWT_SECRET` (scripts/dev.sh writes it there).
    #[arg(long, default_value = ".local/jwt-secret")]
    jwt_secret_file: PathBuf,
    /// The screen recording (an MP4) to upload; by default one is generated with ffmpeg.
    #[arg(long, requires = "camera")]
    screen: Option<PathBuf>,
    /// The camera recording (a WebM) to upload; by default one is generated with ffmpeg.
    #[arg(long, requires = "screen")]
    camera: Option<PathBuf>,
    /// Length of the generated recordings, in seconds.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=60))]
    seconds: u32,
    /// Folder for the generated recordings and the downloaded composite.
    #[arg(long, default_value = "target/demo")]
    out: PathBuf,
    /// How long to wait for the composite, in seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// No token and no secret to sign one with.
    #[error(
        "no token: pass --token (or VIDPIPE_TOKEN), or JWT_SECRET to sign a development token \
         ({0} is not readable: is scripts/dev.sh running from this folder?)"
    )]
    NoToken(String),
    /// The API answered with an error.
    #[error("{what}: the API answered {status} {code}: {message}")]
    Api {
        /// The request.
        what: String,
        /// HTTP status.
        status: u16,
        /// The API's error code.
        code: String,
        /// The API's message.
        message: String,
    },
    /// A request could not be made or read.
    #[error("{what}: {source}")]
    Http {
        /// The request.
        what: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// ffmpeg or ffprobe failed.
    #[error("{0}")]
    Tool(String),
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The stream failed.
    #[error("the stream failed: {0}")]
    Failed(String),
    /// The composite was not ready in time.
    #[error("no composite after {0} s (last status: {1})")]
    Timeout(u64, String),
}

/// The steps' durations, printed at the end.
struct Timings(Vec<(&'static str, Duration)>);

impl Timings {
    fn time(&mut self, step: &'static str, since: Instant) {
        self.0.push((step, since.elapsed()));
    }
}

/// Runs the demo; prints progress to stderr and the summary, ending with the composite's path, to stdout.
pub async fn run(args: DemoArgs) -> Result<(), DemoError> {
    let token = match &args.token {
        Some(token) => token.clone(),
        None => {
            let secret = match &args.jwt_secret {
                Some(secret) => secret.clone(),
                None => std::fs::read_to_string(&args.jwt_secret_file)
                    .map(|s| s.trim().to_owned())
                    .map_err(|_| DemoError::NoToken(args.jwt_secret_file.display().to_string()))?,
            };
            crate::local_cmd::token("demo", 900, &secret, None, None)
                .map_err(|e| DemoError::Tool(format!("signing a development token: {e}")))?
        }
    };
    let api = Api {
        http: reqwest::Client::new(),
        base: args.api_url.trim_end_matches('/').to_owned(),
        token,
    };
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| DemoError::Io { path, source }
    };
    std::fs::create_dir_all(&args.out).map_err(io(&args.out))?;
    let mut timings = Timings(Vec::new());
    let stream = format!("demo-{:x}", epoch_ms());

    let started = Instant::now();
    let tools = Tools::from_env(|k| std::env::var(k).ok());
    let (screen, camera) = match (&args.screen, &args.camera) {
        (Some(screen), Some(camera)) => (screen.clone(), camera.clone()),
        _ => {
            eprintln!("demo: generating {} s of screen and camera", args.seconds);
            let made = generate(&tools, &args.out, args.seconds).await?;
            timings.time("generate the recordings", started);
            made
        }
    };

    let started_at = epoch_ms();
    for (kind, path, content_type, step) in [
        ("screen", &screen, "video/mp4", "upload the screen"),
        ("camera", &camera, "video/webm", "upload the camera"),
    ] {
        let started = Instant::now();
        let bytes = std::fs::read(path).map_err(io(path))?;
        let request = json!({"kind": kind, "content_type": content_type, "size": bytes.len(),
                             "stream_name": stream, "started_at": started_at});
        upload(&api, &request, bytes).await?;
        eprintln!("demo: {kind} uploaded ({})", path.display());
        timings.time(step, started);
    }

    let started = Instant::now();
    let output_url = wait_for_composite(&api, &stream, args.timeout).await?;
    timings.time("composite (upload to ready)", started);

    let started = Instant::now();
    let target = args.out.join(format!("{stream}_composited.mp4"));
    let bytes = api
        .http
        .get(&output_url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(api.failed("download the composite"))?
        .bytes()
        .await
        .map_err(api.failed("download the composite"))?;
    std::fs::write(&target, &bytes).map_err(io(&target))?;
    timings.time("download", started);

    let duration = duration_seconds(&tools, &target).await?;
    println!("stream:   {stream}");
    println!("size:     {} bytes", bytes.len());
    println!("duration: {duration:.2} s");
    for (step, took) in &timings.0 {
        println!("time:     {step}: {:.1} s", took.as_secs_f64());
    }
    println!("composite: {}", target.display());
    Ok(())
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A screen (1280x720 H.264 MP4, ffmpeg's test pattern with a 440 Hz tone) and a camera (640x360 VP8 WebM, solid
/// red, so the corner it lands in is plain to see).
async fn generate(
    tools: &Tools,
    out: &Path,
    seconds: u32,
) -> Result<(PathBuf, PathBuf), DemoError> {
    let screen = out.join("screen.mp4");
    let camera = out.join("camera.webm");
    let runs = [
        (
            format!(
                "-f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
                 -t {seconds} -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -movflags +faststart"
            ),
            &screen,
        ),
        (
            format!(
                "-f lavfi -i color=c=red:size=640x360:rate=30 -t {seconds} -c:v libvpx -deadline realtime -b:v 500k"
            ),
            &camera,
        ),
    ];
    for (spec, path) in runs {
        let args: Vec<String> = spec
            .split_whitespace()
            .map(str::to_owned)
            .chain([path.display().to_string()])
            .collect();
        tools
            .ffmpeg(&args, &mut |_| {})
            .await
            .map_err(|e| DemoError::Tool(format!("generating a recording: {e}")))?;
    }
    Ok((screen, camera))
}

async fn duration_seconds(tools: &Tools, path: &Path) -> Result<f64, DemoError> {
    let args = ["-show_entries", "format=duration", "-of", "csv=p=0"]
        .iter()
        .map(|s| s.to_string())
        .chain([path.display().to_string()])
        .collect::<Vec<_>>();
    let out = tools
        .ffprobe(&args)
        .await
        .map_err(|e| DemoError::Tool(format!("probing the composite: {e}")))?;
    out.trim()
        .parse()
        .map_err(|_| DemoError::Tool(format!("ffprobe gave no duration for {}", path.display())))
}

/// The HTTP API, with the caller's token.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn failed(&self, what: &str) -> impl Fn(reqwest::Error) -> DemoError {
        let what = what.to_owned();
        move |source| DemoError::Http {
            what: what.clone(),
            source,
        }
    }

    /// `method path` with a JSON body; the answer's JSON, or the API's error.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, DemoError> {
        let what = format!("{method} {path}");
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(self.failed(&what))?;
        let status = response.status();
        let answer: Value = response.json().await.map_err(self.failed(&what))?;
        if status.is_success() {
            return Ok(answer);
        }
        let field = |name: &str| {
            answer["error"][name]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        Err(DemoError::Api {
            what,
            status: status.as_u16(),
            code: field("code"),
            message: field("message"),
        })
    }
}

/// `POST /uploads`, then the PUT it signs, or each part of its multipart plan and `POST /uploads/{id}/complete`.
async fn upload(api: &Api, request: &Value, bytes: Vec<u8>) -> Result<(), DemoError> {
    let created = api
        .call(reqwest::Method::POST, "/uploads", Some(request))
        .await?;
    let plan = &created["upload"];
    if plan["method"] != "MULTIPART" {
        let mut put = api.http.put(plan["url"].as_str().unwrap_or_default());
        for (name, value) in plan["headers"].as_object().into_iter().flatten() {
            put = put.header(name, value.as_str().unwrap_or_default());
        }
        put.body(bytes)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(api.failed("PUT to the presigned URL"))?;
        return Ok(());
    }
    let part_size = plan["part_size"].as_u64().unwrap_or(1) as usize;
    let mut parts = Vec::new();
    for part in plan["parts"].as_array().into_iter().flatten() {
        let number = part["number"].as_u64().unwrap_or_default() as usize;
        let start = (number.saturating_sub(1) * part_size).min(bytes.len());
        let end = (start + part_size).min(bytes.len());
        let response = api
            .http
            .put(part["url"].as_str().unwrap_or_default())
            .body(bytes[start..end].to_vec())
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(api.failed("PUT of a part"))?;
        let etag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        parts.push(json!({"number": number, "etag": etag}));
    }
    let id = created["recording_id"].as_str().unwrap_or_default();
    api.call(
        reqwest::Method::POST,
        &format!("/uploads/{id}/complete"),
        Some(&json!({ "parts": parts })),
    )
    .await?;
    Ok(())
}

/// Follows `GET /streams/{stream}` until ready (its `output_url`) or failed, drawing a progress bar on a terminal
/// and a line per change otherwise.
async fn wait_for_composite(api: &Api, stream: &str, timeout: u64) -> Result<String, DemoError> {
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let terminal = std::io::stderr().is_terminal();
    let mut last = String::new();
    loop {
        let s = api
            .call(reqwest::Method::GET, &format!("/streams/{stream}"), None)
            .await?;
        let status = s["status"].as_str().unwrap_or_default();
        let progress = s["progress"].as_u64().unwrap_or(0).min(100);
        let shown = match status {
            "processing" => format!("processing {progress:>3} %"),
            "ready" => "ready".to_owned(),
            other => other.to_owned(),
        };
        if terminal {
            let filled = if status == "ready" {
                30
            } else {
                progress as usize * 30 / 100
            };
            eprint!(
                "\rdemo: [{}{}] {shown:<16}",
                "#".repeat(filled),
                "-".repeat(30 - filled)
            );
            std::io::stderr().flush().ok();
        } else if shown != last {
            eprintln!("demo: stream {stream}: {shown}");
        }
        last = shown;
        match status {
            "ready" => {
                if terminal {
                    eprintln!();
                }
                return Ok(s["output_url"].as_str().unwrap_or_default().to_owned());
            }
            "failed" => {
                let e = &s["error"];
                return Err(DemoError::Failed(format!(
                    "{} ({})",
                    e["message"], e["code"]
                )));
            }
            _ if Instant::now() > deadline => return Err(DemoError::Timeout(timeout, last)),
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}
