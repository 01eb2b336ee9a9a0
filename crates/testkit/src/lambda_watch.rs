//! `cargo lambda watch` on a free loopback port with a function's process behind it: the function as on AWS, a
//! process polling the Lambda runtime API for its invocations, invoked through Lambda's `Invoke` API.
//!
//! The watch serves only the Lambda APIs (`--only-lambda-apis`) and the test starts the function's binary, the one
//! cargo built for the test (`CARGO_BIN_EXE_<name>`), pointed at it: the watch would otherwise build the function
//! again with the features of that package alone, which differ from the test build's and cost minutes.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A running `cargo lambda watch` and the function behind it. Both live as long as the test process and die with it.
#[derive(Debug)]
pub struct LambdaWatch {
    endpoint: String,
    logs: [PathBuf; 2],
}

/// Where `cargo-lambda` lives: `$CARGO_LAMBDA`, else the workspace's `.venv/bin/cargo-lambda`.
fn cargo_lambda() -> PathBuf {
    if let Some(path) = std::env::var_os("CARGO_LAMBDA") {
        return PathBuf::from(path);
    }
    crate::workspace_root().join(".venv/bin/cargo-lambda")
}

/// Starts `program` with `args` in a session of its own (`setsid`, which a background job of `sh` runs in place: it
/// leads no group), its output in `log`, killed with its process group (cargo's children too) when the test
/// process ends.
fn spawn_guarded(program: &Path, args: &[String], env: &[(&str, String)], log: &Path) {
    const WATCHDOG: &str =
        r#"log="$0"; setsid "$@" >"$log" 2>&1 </dev/null & cat >/dev/null; kill -TERM "-$!""#;
    let mut command = Command::new("sh");
    command
        .args(["-c", WATCHDOG])
        .arg(log)
        .arg(program)
        .args(args)
        .current_dir(crate::workspace_root())
        .envs(env.iter().map(|(name, value)| (name, value)));
    crate::moto::guard(&mut command).unwrap_or_else(|e| {
        panic!("setup: cannot start {}: {e}", program.display());
    });
}

impl LambdaWatch {
    /// Serves the function `name` (its binary `binary`, with the variables `env`) behind `cargo lambda watch`,
    /// their logs next to `log`; answers once the watch listens.
    ///
    /// Panics with a setup message when cargo-lambda cannot be found or the watch does not start.
    pub fn serve(name: &str, binary: &Path, env: &[(&str, String)], log: &Path) -> Self {
        let cargo_lambda = cargo_lambda();
        assert!(
            cargo_lambda.exists(),
            "setup: cargo-lambda not found at {} (set CARGO_LAMBDA, or run scripts/setup.sh, which installs it into \
             .venv)",
            cargo_lambda.display()
        );
        let port = crate::moto::free_port();
        let args = [
            "lambda",
            "watch",
            "--only-lambda-apis",
            "-A",
            "127.0.0.1",
            "-P",
            &port.to_string(),
        ]
        .map(String::from);
        let logs = [
            log.with_extension("watch.log"),
            log.with_extension("function.log"),
        ];
        spawn_guarded(&cargo_lambda, &args, &[], &logs[0]);
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "setup: cargo lambda watch did not listen on {addr} within 60 s\n{}",
                std::fs::read_to_string(&logs[0]).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        // What Lambda (and the watch, for the functions it starts itself) gives a function's process.
        let mut env = env.to_vec();
        env.extend([
            // The watch routes a function's invocations to the runtime API under its name.
            (
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://{addr}/.rt/{name}"),
            ),
            ("AWS_LAMBDA_FUNCTION_NAME", name.to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "1".to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "3008".to_owned()),
        ]);
        spawn_guarded(binary, &[], &env, &logs[1]);
        Self {
            endpoint: format!("http://{addr}"),
            logs,
        }
    }

    /// The Lambda API endpoint (`AWS_ENDPOINT_URL_LAMBDA`), for example `http://127.0.0.1:41234`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The watch's and the function's logs so far, for a failure's message.
    pub fn log(&self) -> String {
        self.logs
            .iter()
            .map(|log| {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                format!("--- {}\n{text}", log.display())
            })
            .collect()
    }
}
