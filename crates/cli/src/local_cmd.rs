//! `vidpipe local ...`: set up the local stack's resources, feed its queues to the functions, and mint development
//! tokens.

use crate::pump::{Delivery, Pump, Route};
use clap::{Args, Subcommand};
use std::time::{SystemTime, UNIX_EPOCH};
use vidpipe_aws::provision::{
    Resources, provision, provision_input_failure_events, provision_job_events,
    provision_render_execution_events,
};

/// `vidpipe local`.
#[derive(Debug, Args)]
pub struct LocalArgs {
    #[command(subcommand)]
    command: LocalCommand,
}

#[derive(Debug, Subcommand)]
enum LocalCommand {
    /// Create the bucket (retention lifecycle, CORS), the table (owner index, TTL), the event queue with the
    /// bucket's ObjectCreated notification, the job-events queue behind a rule for MediaConvert job events on the
    /// bus (and for render executions that ended without reporting: stopped or timed out), and the input-failures
    /// queue behind a rule for the ERROR events of jobs that name a fallback recording, on the endpoint
    /// `AWS_ENDPOINT_URL` points to. Running it twice is harmless.
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
        /// SQS queue for MediaConvert job events (a rule on the bus routes them there).
        #[arg(long, env = "JOB_EVENTS_QUEUE", default_value = "vidpipe-job-events")]
        job_events_queue: String,
        /// SQS queue for the ERROR events of jobs that failed on an input and name a fallback recording.
        #[arg(
            long,
            env = "INPUT_FAILURES_QUEUE",
            default_value = "vidpipe-input-failures"
        )]
        input_failures_queue: String,
        /// The EventBridge bus the engine puts job events on.
        #[arg(long, env = "EVENT_BUS_NAME", default_value = "default")]
        event_bus: String,
        /// The render state machine whose stopped or timed-out executions go to the notifier (default
        /// `arn:aws:states:REGION:ACCOUNT:stateMachine:vidpipe-render`, as `vidpipe local stepfunctions` serves it).
        #[arg(long, env = "RENDER_STATE_MACHINE_ARN")]
        render_state_machine_arn: Option<String>,
        /// Use path-style S3 addressing (needed by moto).
        #[arg(long, env = "S3_FORCE_PATH_STYLE", default_value_t = false)]
        force_path_style: bool,
    },
    /// Feed the local queues to the functions `cargo lambda watch` serves, as Lambda's event sources do on AWS:
    /// ObjectCreated events to `vidpipe-compositor` (SQS batches), MediaConvert job events to `vidpipe-notifier`, and
    /// the input failures that name a fallback recording to `vidpipe-compositor`.
    Pump {
        /// SQS queue of the bucket's ObjectCreated events.
        #[arg(long, env = "EVENTS_QUEUE", default_value = "vidpipe-object-created")]
        queue: String,
        /// SQS queue of MediaConvert job events.
        #[arg(long, env = "JOB_EVENTS_QUEUE", default_value = "vidpipe-job-events")]
        job_events_queue: String,
        /// SQS queue of the ERROR events of jobs that name a fallback recording.
        #[arg(
            long,
            env = "INPUT_FAILURES_QUEUE",
            default_value = "vidpipe-input-failures"
        )]
        input_failures_queue: String,
        /// Where the Lambda Invoke API is served (`cargo lambda watch`).
        #[arg(
            long,
            env = "LAMBDA_INVOKE_URL",
            default_value = "http://127.0.0.1:9000"
        )]
        invoke_url: String,
        /// Deliver what is queued now, then stop (instead of running until interrupted).
        #[arg(long)]
        once: bool,
    },
    /// Serve the Step Functions API (StartExecution, DescribeExecution, StopExecution, ListExecutions,
    /// GetExecutionHistory) for the render flow and the partner timer, running them with vidpipe-stepfn: Lambda
    /// tasks call the functions `cargo lambda watch` serves, `createJob.sync` runs on the engine. Executions are
    /// kept in memory only (a restart forgets them). Point `AWS_ENDPOINT_URL_SFN` at it.
    Stepfunctions(crate::local_sfn::StepFunctionsArgs),
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
            job_events_queue,
            input_failures_queue,
            event_bus,
            render_state_machine_arn,
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
            let queues = EventQueues {
                job_events: job_events_queue,
                input_failures: input_failures_queue,
            };
            let render_arn = render_state_machine_arn
                .clone()
                .unwrap_or_else(|| crate::flow::local_state_machine_arn("vidpipe-render"));
            init(
                &resources,
                event_bus,
                &queues,
                &render_arn,
                *force_path_style,
            )
            .await
        }
        LocalCommand::Pump {
            queue,
            job_events_queue,
            input_failures_queue,
            invoke_url,
            once,
        } => {
            let queues = EventQueues {
                job_events: job_events_queue,
                input_failures: input_failures_queue,
            };
            pump(queue, &queues, invoke_url, *once).await
        }
        LocalCommand::Stepfunctions(args) => Ok(crate::local_sfn::serve(args).await?),
        LocalCommand::Token {
            sub,
            ttl,
            secret,
            audience,
            issuer,
        } => token(sub, *ttl, secret, audience.as_deref(), issuer.as_deref()),
    }
}

/// The queues MediaConvert job events are routed to.
struct EventQueues<'a> {
    /// Every job event, for the notifier.
    job_events: &'a str,
    /// The input failures that name a fallback recording, for the compositor.
    input_failures: &'a str,
}

/// `vidpipe local init`: creates the bucket, table and queues and routes MediaConvert job events and the render
/// executions that ended without reporting to the notifier's queue and input failures to the compositor's; prints
/// what it made.
async fn init(
    resources: &Resources,
    event_bus: &str,
    queues: &EventQueues<'_>,
    render_arn: &str,
    force_path_style: bool,
) -> Result<String, Box<dyn std::error::Error>> {
    let sdk = aws_config::load_from_env().await;
    let s3 = vidpipe_aws::s3::client(&sdk, force_path_style);
    let provisioned = provision(&sdk, &s3, resources).await?;
    let job_events_queue_url = provision_job_events(&sdk, event_bus, queues.job_events).await?;
    provision_render_execution_events(&sdk, event_bus, queues.job_events, render_arn).await?;
    let input_failures_queue_url =
        provision_input_failure_events(&sdk, event_bus, queues.input_failures).await?;
    Ok(
        serde_json::json!({"bucket": resources.bucket, "table": resources.table,
                          "queue_url": provisioned.queue_url,
                          "job_events_queue_url": job_events_queue_url,
                          "input_failures_queue_url": input_failures_queue_url})
        .to_string(),
    )
}

/// `vidpipe local pump`: delivers the compositor's and the notifier's queues to the functions at `invoke_url`,
/// until interrupted or, with `once`, until the queues are empty.
async fn pump(
    queue: &str,
    queues: &EventQueues<'_>,
    invoke_url: &str,
    once: bool,
) -> Result<String, Box<dyn std::error::Error>> {
    let sdk = aws_config::load_from_env().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let mut routes = Vec::new();
    for (queue, function, delivery) in [
        (queue, "vidpipe-compositor", Delivery::SqsBatch),
        (queues.job_events, "vidpipe-notifier", Delivery::EventBridge),
        (
            queues.input_failures,
            "vidpipe-compositor",
            Delivery::EventBridge,
        ),
    ] {
        let queue_url = sqs
            .get_queue_url()
            .queue_name(queue)
            .send()
            .await
            .map_err(|e| format!("queue {queue}: {}", vidpipe_aws::error_message(&e)))?
            .queue_url
            .unwrap_or_default();
        let queue_arn = vidpipe_aws::provision::queue_arn(&sqs, &queue_url)
            .await
            .map_err(|e| format!("queue {queue}: {}", vidpipe_aws::error_message(&e)))?;
        routes.push(Route {
            queue_url,
            queue_arn,
            function: function.to_owned(),
            delivery,
        });
    }
    let pump = Pump::new(&sdk, invoke_url);
    if !once {
        eprintln!(
            "pump: feeding {} queue(s) to {invoke_url} (Ctrl-C stops)",
            routes.len()
        );
        let mut tasks = tokio::task::JoinSet::new();
        for route in routes {
            let pump = pump.clone();
            tasks.spawn(async move {
                loop {
                    if let Err(e) = pump.pump_once(&route, 10).await {
                        return e;
                    }
                }
            });
        }
        return match tasks.join_next().await {
            Some(Ok(stopped)) => Err(stopped.into()),
            Some(Err(panicked)) => Err(panicked.into()),
            None => Ok(String::new()),
        };
    }
    let mut delivered = 0;
    loop {
        let mut received = 0;
        for route in &routes {
            received += pump.pump_once(route, 1).await?;
        }
        delivered += received;
        if received == 0 {
            break;
        }
    }
    Ok(serde_json::json!({"received": delivered}).to_string())
}

/// `vidpipe local token`: an HS256 token for `sub`, valid for `ttl` seconds (`vidpipe demo` signs its own).
pub(crate) fn token(
    sub: &str,
    ttl: u64,
    secret: &str,
    audience: Option<&str>,
    issuer: Option<&str>,
) -> Result<String, Box<dyn std::error::Error>> {
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
