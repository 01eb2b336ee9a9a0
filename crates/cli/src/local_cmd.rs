//! `vidpipe local ...`: set up the local stack's resources, and mint development tokens.

use clap::{Args, Subcommand};
use std::time::{SystemTime, UNIX_EPOCH};
use vidpipe_aws::provision::{Resources, provision};

/// `vidpipe local`.
#[derive(Debug, Args)]
pub struct LocalArgs {
    #[command(subcommand)]
    command: LocalCommand,
}

#[derive(Debug, Subcommand)]
enum LocalCommand {
    /// Create the bucket (retention lifecycle, CORS), the table (owner index, TTL) and the event queue with the
    /// bucket's ObjectCreated notification, on the endpoint `AWS_ENDPOINT_URL` points to. Running it twice is harmless.
    Init {
        /// Bucket name.
        #[arg(long, env = "BUCKET")]
        bucket: String,
        /// Table name.
        #[arg(long, env = "TABLE_NAME")]
        table: String,
        /// Key prefix the retention rule covers.
        #[arg(long, env = "KEY_PREFIX", default_value = "")]
        key_prefix: String,
        /// Days before objects expire.
        #[arg(long, env = "RETENTION_DAYS", default_value_t = 30)]
        retention_days: u32,
        /// Comma-separated origins allowed to upload from browsers.
        #[arg(long, env = "ALLOWED_ORIGINS", default_value = "")]
        allowed_origins: String,
        /// SQS queue for the bucket's ObjectCreated events.
        #[arg(long, env = "EVENTS_QUEUE", default_value = "vidpipe-object-created")]
        queue: String,
        /// Use path-style S3 addressing (needed by moto).
        #[arg(long, env = "S3_FORCE_PATH_STYLE", default_value_t = false)]
        force_path_style: bool,
    },
    /// Print an HS256 token for `AUTH_MODE=hs256`, signed with `JWT_SECRET` (development only).
    Token {
        /// Subject (the caller's identity).
        #[arg(long)]
        sub: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
        /// The shared secret.
        #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
        secret: String,
        /// `aud` claim.
        #[arg(long, env = "JWT_AUDIENCE")]
        audience: Option<String>,
        /// `iss` claim.
        #[arg(long, env = "JWT_ISSUER")]
        issuer: Option<String>,
    },
}

/// Runs `vidpipe local ...` and returns what to print.
pub async fn run(args: &LocalArgs) -> Result<String, Box<dyn std::error::Error>> {
    match &args.command {
        LocalCommand::Init {
            bucket,
            table,
            key_prefix,
            retention_days,
            allowed_origins,
            queue,
            force_path_style,
        } => {
            let resources = Resources {
                bucket: bucket.clone(),
                key_prefix: key_prefix.clone(),
                retention_days: *retention_days,
                allowed_origins: allowed_origins
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                table: table.clone(),
                queue: Some(queue.clone()),
            };
            let sdk = aws_config::load_from_env().await;
            let s3 = vidpipe_aws::s3::client(&sdk, *force_path_style);
            let provisioned = provision(&sdk, &s3, &resources).await?;
            Ok(serde_json::json!({"bucket": bucket, "table": table, "queue_url": provisioned.queue_url}).to_string())
        }
        LocalCommand::Token {
            sub,
            ttl,
            secret,
            audience,
            issuer,
        } => {
            let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
            let claims = serde_json::json!({"sub": sub, "iat": now, "exp": now + ttl, "aud": audience, "iss": issuer});
            let claims: serde_json::Map<_, _> = claims
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
            Ok(jsonwebtoken::encode(
                &jsonwebtoken::Header::default(),
                &claims,
                &key,
            )?)
        }
    }
}
