//! `vidpipe local stepfunctions`: the local Step Functions endpoint (vidpipe-stepfn's `Endpoint`) with the render
//! flow, the partner timer and the ffmpeg backend's transcode flow registered. Lambda tasks call the functions `cargo lambda watch` serves (Lambda
//! Invoke API), `mediaconvert:createJob.sync` runs the job on the engine and puts its job events on the bus as
//! MediaConvert does. Executions live in this process's memory: a restart forgets them.

use std::net::SocketAddr;

use clap::Args;
use serde_json::Value;
use vidpipe_aws::eventbridge::EventBus;
use vidpipe_core::config::{ConfigError, Vars};
use vidpipe_engine::{BusEvents, Engine, Identity, Storage};
use vidpipe_stepfn::{Endpoint, StateMachine, TaskError, TaskInvoker};

use crate::flow::{self, CREATE_JOB_SYNC, FunctionArns};
use crate::lambda_api::{self, InvokeError};

/// `vidpipe local stepfunctions` arguments.
#[derive(Debug, Args)]
pub struct StepFunctionsArgs {
    /// Where to serve the Step Functions API (what `AWS_ENDPOINT_URL_SFN` points to); loopback only.
    #[arg(long, env = "SFN_LISTEN", default_value = "127.0.0.1:8083")]
    listen: SocketAddr,
    /// Where the Lambda Invoke API is served (`cargo lambda watch`).
    #[arg(
        long,
        env = "LAMBDA_INVOKE_URL",
        default_value = "http://127.0.0.1:9000"
    )]
    invoke_url: String,
    /// The render state machine's ARN (default `arn:aws:states:REGION:ACCOUNT:stateMachine:vidpipe-render`).
    #[arg(long, env = "RENDER_STATE_MACHINE_ARN")]
    render_arn: Option<String>,
    /// The partner timer's ARN (default `arn:aws:states:REGION:ACCOUNT:stateMachine:vidpipe-partner-timeout`).
    #[arg(long, env = "PARTNER_TIMER_STATE_MACHINE_ARN")]
    partner_timer_arn: Option<String>,
    /// The transcode state machine's ARN (default `arn:aws:states:REGION:ACCOUNT:stateMachine:vidpipe-transcode`).
    #[arg(long, env = "TRANSCODE_STATE_MACHINE_ARN")]
    transcode_arn: Option<String>,
    /// Another definition to serve: `ARN=FILE` (its `${...}` placeholders replaced as in the built-in ones).
    #[arg(long = "state-machine", value_name = "ARN=FILE")]
    state_machines: Vec<String>,
    /// The EventBridge bus the engine's job events go to.
    #[arg(long, env = "EVENT_BUS_NAME", default_value = "default")]
    event_bus: String,
}

/// Why the endpoint did not start.
#[derive(Debug, thiserror::Error)]
pub enum StepFunctionsError {
    /// A `--state-machine` is not `ARN=FILE`, or its file could not be read.
    #[error("--state-machine {0}")]
    StateMachine(String),
    /// A definition did not load.
    #[error("{0}: {1}")]
    Definition(String, vidpipe_stepfn::DefinitionError),
    /// An ARN is not a state machine ARN.
    #[error(transparent)]
    Arn(#[from] vidpipe_stepfn::InvalidStateMachineArn),
    /// A variable is wrong.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The address could not be bound.
    #[error("{0}: {1}")]
    Listen(SocketAddr, std::io::Error),
}

/// The services the state machines' tasks reach on this machine.
#[derive(Clone)]
struct LocalServices {
    http: reqwest::Client,
    invoke_url: String,
    engine: Engine,
    bus: EventBus,
}

/// The function a Lambda task names: `arn:aws:lambda:...:function:NAME[:QUALIFIER]`, or a bare name.
fn function_name(resource: &str) -> Option<&str> {
    match resource.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", "aws", "lambda", _, _, "function", name, ..] => Some(name),
        [name] if !name.is_empty() => Some(name),
        _ => None,
    }
}

impl TaskInvoker for LocalServices {
    async fn invoke(&self, resource: &str, input: Value) -> Result<Value, TaskError> {
        if resource == CREATE_JOB_SYNC {
            let result = flow::create_job_sync(
                &self.engine,
                &input,
                &mut BusEvents::start(self.bus.clone()).0,
            )
            .await;
            if let Err(e) = &result {
                eprintln!("stepfunctions: createJob.sync failed: {}", e.cause);
            }
            return result;
        }
        let Some(function) = function_name(resource) else {
            return Err(TaskError::new(
                "States.Runtime",
                format!("the local endpoint has no integration for {resource}"),
            ));
        };
        lambda_api::invoke(&self.http, &self.invoke_url, function, &input)
            .await
            .map_err(|e| match e {
                InvokeError::Function {
                    error_type,
                    message,
                    ..
                } => TaskError::new(error_type, message),
                InvokeError::Status { status: 404, .. } => {
                    TaskError::new("Lambda.ResourceNotFoundException", e.to_string())
                }
                other => TaskError::new("Lambda.ServiceException", other.to_string()),
            })
    }
}

/// Serves the endpoint until the process ends.
pub async fn serve(args: &StepFunctionsArgs) -> Result<String, StepFunctionsError> {
    let identity = Identity::from_env(|name| std::env::var(name).ok());
    let machine_arn = flow::local_state_machine_arn;
    let arns = FunctionArns::local(&identity.region, &identity.account_id);
    let load = |what: &str, text: &str| {
        arns.machine(text)
            .map_err(|e| StepFunctionsError::Definition(what.to_owned(), e))
    };
    let mut machines: Vec<(String, StateMachine)> = vec![
        (
            args.render_arn
                .clone()
                .unwrap_or_else(|| machine_arn("vidpipe-render")),
            load("statemachines/render.asl.json", flow::RENDER_DEFINITION)?,
        ),
        (
            args.partner_timer_arn
                .clone()
                .unwrap_or_else(|| machine_arn("vidpipe-partner-timeout")),
            load(
                "statemachines/partner-timeout.asl.json",
                flow::PARTNER_TIMEOUT_DEFINITION,
            )?,
        ),
        (
            args.transcode_arn
                .clone()
                .unwrap_or_else(|| machine_arn("vidpipe-transcode")),
            load(
                "statemachines/transcode.asl.json",
                flow::TRANSCODE_DEFINITION,
            )?,
        ),
    ];
    for pair in &args.state_machines {
        let (arn, file) = pair
            .split_once('=')
            .ok_or_else(|| StepFunctionsError::StateMachine(format!("{pair:?} is not ARN=FILE")))?;
        let text = std::fs::read_to_string(file)
            .map_err(|e| StepFunctionsError::StateMachine(format!("{file}: {e}")))?;
        machines.push((arn.to_owned(), load(file, &text)?));
    }

    let sdk = aws_config::load_from_env().await;
    let force_path_style =
        Vars::new(|name| std::env::var(name).ok()).flag("S3_FORCE_PATH_STYLE")?;
    let s3 = vidpipe_aws::s3::client(&sdk, force_path_style);
    let services = LocalServices {
        http: reqwest::Client::new(),
        invoke_url: args.invoke_url.clone(),
        engine: Engine::from_env(Storage::with_s3(s3), |name| std::env::var(name).ok()),
        bus: EventBus::new(aws_sdk_eventbridge::Client::new(&sdk), &args.event_bus),
    };
    // Executions' status changes go on the bus as Step Functions puts them (the notifier hears of a stopped render).
    let status_changes = BusEvents::start(services.bus.clone()).0.into_queue();
    let mut endpoint = Endpoint::new().with_status_changes(status_changes);
    let mut names = Vec::new();
    for (arn, machine) in machines {
        endpoint = endpoint.register(&arn, machine, services.clone())?;
        names.push(arn);
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| StepFunctionsError::Listen(args.listen, e))?;
    let address = listener
        .local_addr()
        .map_err(|e| StepFunctionsError::Listen(args.listen, e))?;
    eprintln!("stepfunctions: serving http://{address} (AWS_ENDPOINT_URL_SFN) for {names:?}");
    endpoint
        .serve(listener)
        .await
        .map_err(|e| StepFunctionsError::Listen(address, e))?;
    Ok(String::new())
}

#[cfg(test)]
mod tests {
    use super::function_name;

    #[test]
    fn functions_are_named_by_arn_or_name() {
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:000000000000:function:vidpipe-chunker"),
            Some("vidpipe-chunker")
        );
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:000000000000:function:vidpipe-chunker:live"),
            Some("vidpipe-chunker")
        );
        assert_eq!(function_name("vidpipe-chunker"), Some("vidpipe-chunker"));
        assert_eq!(function_name("arn:aws:states:::sqs:sendMessage"), None);
    }
}
