//! `vidpipe local init` against a moto server, twice (the second run must be harmless).

use std::process::Command;
use vidpipe_testkit::{moto::MotoServer, unique_name};

#[test]
fn local_init_creates_the_stack_and_can_run_again() {
    let bucket = unique_name("cli-init");
    for _ in 0..2 {
        let output = Command::new(env!("CARGO_BIN_EXE_vidpipe"))
            .args(["local", "init"])
            .env("AWS_ENDPOINT_URL", MotoServer::shared().endpoint())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("S3_FORCE_PATH_STYLE", "true")
            .env("BUCKET", &bucket)
            .env("TABLE_NAME", &bucket)
            .env("EVENTS_QUEUE", &bucket)
            .output()
            .expect("run vidpipe");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let printed: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("JSON on stdout");
        assert_eq!(printed["bucket"], bucket.as_str());
        assert!(printed["queue_url"].as_str().unwrap().ends_with(&bucket));
    }
}
