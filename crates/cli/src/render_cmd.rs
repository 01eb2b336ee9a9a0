//! `vidpipe render request.json`: runs `statemachines/render.asl.json` on this machine with the local Step Functions
//! interpreter. Lambda tasks call the functions' handlers in-process (chunker, job-builder, assembler, notifier),
//! the chunker probes videos with the engine (ffprobe), `mediaconvert:createJob.sync` runs the job on the ffmpeg engine, and a custom renderer's ARN maps to a local
//! command (`--renderer ARN=COMMAND`, a program and its arguments separated by spaces: the task input as JSON on
//! stdin, `{"output_uri": ...}` on stdout).
//!
//! S3, DynamoDB and EventBridge are reached through the standard AWS configuration (`AWS_ENDPOINT_URL` for moto);
//! the notifier reads its own variables (`TABLE_NAME`, `EVENT_BUS_NAME`, ...). A request whose output is a local
//! path renders local files with none of them (`local_files`): the notifier's steps only print.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Instant;
use vidpipe_core::render::scope::RenderScope;

use clap::Args;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use vidpipe_assembler::AssemblerResponse;
use vidpipe_aws::requests::S3RequestStore;
use vidpipe_core::config::{ConfigError, Vars};
use vidpipe_core::job::JobContext;
use vidpipe_core::render::ports::{HeaderReader, RequestReader, RequestWriter};
use vidpipe_engine::{Assembler, Engine, Storage};
use vidpipe_notifier::wiring::LambdaNotifier;
use vidpipe_stepfn::{Interpreter, Outcome, TaskError, TaskInvoker};

use crate::flow::{self, CREATE_JOB_SYNC, FunctionArns, json_value};
use crate::local_files::{LocalFiles, LocalFilesError};
use crate::progress::{ChunkObserver, Progress};

/// `vidpipe render` arguments.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The render request (v1): a JSON file, or the `s3://` URI of one (for requests over Step Functions' 256 KiB).
    pub request: String,
    /// A state machine definition to run instead of the render flow this binary carries
    /// (`statemachines/render.asl.json` when it was built).
    #[arg(long)]
    pub definition: Option<PathBuf>,
    /// The execution's name (stands for the render id when a request cannot be read).
    #[arg(long)]
    pub name: Option<String>,
    /// The MediaConvert role the job-builder puts in jobs.
    #[arg(
        long,
        env = "MEDIACONVERT_ROLE_ARN",
        default_value = "arn:aws:iam::000000000000:role/vidpipe-mediaconvert"
    )]
    pub role: String,
    /// A custom renderer: `ARN=COMMAND`, the command run for each chunk the function at ARN would render.
    #[arg(long = "renderer", value_name = "ARN=COMMAND")]
    pub renderers: Vec<String>,
}

/// Why the command could not run the state machine (a failed execution is not an error: it is printed).
#[derive(Debug, thiserror::Error)]
pub enum RenderCommandError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The request file is not JSON.
    #[error("{0} is not JSON: {1}")]
    Json(String, serde_json::Error),
    /// The definition did not load.
    #[error("the state machine definition: {0}")]
    Definition(#[from] vidpipe_stepfn::DefinitionError),
    /// A `--renderer` is not `ARN=COMMAND`.
    #[error("--renderer {0:?} is not ARN=COMMAND")]
    Renderer(String),
    /// A variable of the command's or the notifier's configuration is wrong.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The notifier could not be set up (its webhook secret, its clients).
    #[error("notifier: {0}")]
    Notifier(#[from] vidpipe_notifier::wiring::WiringError),
    /// A request of local files names a file that cannot be used.
    #[error(transparent)]
    LocalFiles(#[from] LocalFilesError),
}

/// Runs every Task of the render flow on this machine, with the stored requests in `D`.
struct LocalFunctions<D> {
    arns: FunctionArns,
    requests: D,
    prober: vidpipe_chunker::ProbeBackend,
    job_context: JobContext,
    engine: Engine,
    assembler: Assembler,
    /// None for a render of local files: there is no table or bus to tell.
    notifier: Option<LambdaNotifier>,
    renderers: HashMap<String, String>,
    /// An operator's run: any bucket the credentials reach, and the `--renderer` functions only.
    scope: RenderScope,
    progress: Arc<Progress>,
}

/// A function's error as the task's named error.
fn task_error(error: lambda_runtime::Diagnostic) -> TaskError {
    TaskError::new(error.error_type, error.error_message)
}

impl<D> LocalFunctions<D> {
    /// `createJob.sync` on the engine, its percent on the progress bar.
    async fn create_job_sync(&self, parameters: Value) -> Result<Value, TaskError> {
        let started = Instant::now();
        let label = parameters["UserMetadata"]["chunk_index"]
            .as_str()
            .map_or_else(|| "job".to_owned(), |i| format!("chunk {i}"));
        let mut observer = ChunkObserver {
            progress: Arc::clone(&self.progress),
            label: label.clone(),
        };
        let result = flow::create_job_sync(&self.engine, &parameters, &mut observer).await;
        self.report(&label, &result, started);
        result
    }

    /// A chunk's end on the progress bar.
    fn report(&self, label: &str, result: &Result<Value, TaskError>, started: Instant) {
        match result {
            Ok(_) => self.progress.finished(
                label,
                true,
                &format!("{label}: done in {:.1} s", started.elapsed().as_secs_f64()),
            ),
            Err(e) => self
                .progress
                .finished(label, false, &format!("{label}: {}", e.cause)),
        }
    }

    /// A custom renderer's command: the input on stdin, the JSON answer on stdout.
    async fn custom_renderer(&self, command: &str, input: Value) -> Result<Value, TaskError> {
        let failed = |message: String| TaskError::new("RendererFailed", message);
        let mut words = command.split_whitespace();
        let program = words.next().unwrap_or_default();
        let mut child = tokio::process::Command::new(program)
            .args(words)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| failed(format!("{command} could not start: {e}")))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(input.to_string().as_bytes())
                .await
                .map_err(|e| failed(format!("writing to {command}: {e}")))?;
        }
        let output = child
            .wait_with_output()
            .await
            .map_err(|e| failed(format!("{command}: {e}")))?;
        if !output.status.success() {
            return Err(failed(format!(
                "{command} exited with {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        serde_json::from_slice(&output.stdout)
            .map_err(|e| failed(format!("{command} did not print JSON: {e}")))
    }
}

impl<D: RequestReader + RequestWriter + HeaderReader + 'static> TaskInvoker for LocalFunctions<D> {
    async fn invoke(&self, resource: &str, input: Value) -> Result<Value, TaskError> {
        let arns = &self.arns;
        if resource == arns.chunker {
            let plan = vidpipe_chunker::plan(
                input,
                &self.requests,
                &self.prober,
                &vidpipe_chunker::RenderLimits::default(),
                &self.scope,
            )
            .await
            .map_err(|e| task_error(vidpipe_lambda::diagnostic(&e)))?;
            self.progress.planned(plan.chunks.len());
            self.progress.line(&format!(
                "planned {}: {} frames in {} chunks",
                plan.render_id,
                plan.total_frames,
                plan.chunks.len()
            ));
            json_value(plan)
        } else if resource == arns.job_builder {
            let output = vidpipe_job_builder::build(input, &self.job_context, &self.requests)
                .await
                .map_err(|e| task_error(vidpipe_lambda::diagnostic(&e)))?;
            json_value(output)
        } else if resource == arns.assembler {
            let started = Instant::now();
            let output = Box::pin(vidpipe_assembler::run(input, &self.assembler))
                .await
                .map_err(|e| task_error(vidpipe_lambda::diagnostic(&e)))?;
            let action = match output {
                AssemblerResponse::Mix(_) => "mix",
                AssemblerResponse::Assemble(_) => "assemble",
            };
            self.progress.line(&format!(
                "assembler {action} done in {:.1} s",
                started.elapsed().as_secs_f64()
            ));
            json_value(output)
        } else if resource == arns.notifier {
            let Some(notifier) = &self.notifier else {
                // Every notifier step's result is discarded (ResultPath null): a local render only says it.
                if let Some(result) = input.get("render_result") {
                    self.progress.line(&format!("render {}", result["status"]));
                }
                return Ok(Value::Null);
            };
            let output = notifier
                .handle(input)
                .await
                .map_err(|e| task_error(vidpipe_lambda::diagnostic(&e)))?;
            self.progress.line(&format!("notified {output}"));
            Ok(output)
        } else if resource == CREATE_JOB_SYNC {
            self.create_job_sync(input).await
        } else if let Some(command) = self.renderers.get(resource) {
            let started = Instant::now();
            let label = format!("chunk {}", input["chunk"]["index"]);
            let result = self.custom_renderer(command, input).await;
            self.report(&label, &result, started);
            result
        } else {
            Err(TaskError::new(
                "Lambda.ResourceNotFoundException",
                format!("no local function for {resource}: pass --renderer {resource}=COMMAND"),
            ))
        }
    }
}

impl<D> LocalFunctions<D> {
    /// The flow's functions on `storage`, with the stored requests in `requests`.
    fn new(
        arns: FunctionArns,
        requests: D,
        storage: Storage,
        notifier: Option<LambdaNotifier>,
        args: &RenderArgs,
        renderers: HashMap<String, String>,
        progress: &Arc<Progress>,
    ) -> Self {
        let env = |name: &str| std::env::var(name).ok();
        let engine = Engine::from_env(storage.clone(), env);
        Self {
            arns,
            requests,
            prober: vidpipe_chunker::ProbeBackend::Engine(engine.clone()),
            job_context: JobContext {
                role: args.role.clone(),
                queue: None,
            },
            engine,
            assembler: Assembler::from_env(storage, env),
            notifier,
            scope: RenderScope {
                renderer_arns: renderers.keys().cloned().collect(),
                export_renderer: None,
                ..RenderScope::default()
            },
            renderers,
            progress: Arc::clone(progress),
        }
    }
}

/// The execution's input and, for a request of local files, those files.
fn read_input(
    args: &RenderArgs,
    read: impl Fn(&Path) -> Result<String, RenderCommandError>,
) -> Result<(Value, Option<LocalFiles>), RenderCommandError> {
    if args.request.starts_with("s3://") {
        return Ok((json!({"request_uri": args.request}), None));
    }
    let path = Path::new(&args.request);
    let mut request: Value = serde_json::from_str(&read(path)?)
        .map_err(|e| RenderCommandError::Json(args.request.clone(), e))?;
    let local = LocalFiles::localize(&mut request, path.parent().unwrap_or(Path::new("")))?;
    Ok((json!({"request": request}), local))
}

/// Runs `machine` to its end with `functions`.
async fn execute<D: RequestReader + RequestWriter + HeaderReader + 'static>(
    functions: LocalFunctions<D>,
    machine: vidpipe_stepfn::StateMachine,
    name: &str,
    input: Value,
) -> Outcome {
    let progress = Arc::clone(&functions.progress);
    let started = Instant::now();
    let execution = Interpreter::new("vidpipe-render", machine, functions)
        .execute(name, input)
        .await;
    progress.close();
    eprintln!(
        "execution {name} ended in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    execution.outcome
}

/// Runs the render; returns the process exit code (0 when the execution succeeded).
pub async fn run(args: RenderArgs) -> Result<i32, RenderCommandError> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|source| RenderCommandError::Read {
            path: path.display().to_string(),
            source,
        })
    };
    let (input, local) = read_input(&args, read)?;
    let renderers = args
        .renderers
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(arn, command)| (arn.to_owned(), command.to_owned()))
                .ok_or_else(|| RenderCommandError::Renderer(pair.clone()))
        })
        .collect::<Result<HashMap<_, _>, _>>()?;
    let identity = vidpipe_engine::Identity::from_env(|name| std::env::var(name).ok());
    let arns = FunctionArns::local(&identity.region, &identity.account_id);
    let definition = match &args.definition {
        Some(path) => read(path)?,
        None => flow::RENDER_DEFINITION.to_owned(),
    };
    let machine = arns.machine(&definition)?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("render-{}", vidpipe_core::clock::now_ms()));
    let progress = Progress::on_stderr();
    let mut outcome = if let Some(files) = &local {
        let storage = Storage::local().with_folder_bucket(files.bucket().clone());
        let functions = LocalFunctions::new(
            arns,
            files.bucket().clone(),
            storage,
            None,
            &args,
            renderers,
            &progress,
        );
        execute(functions, machine, &name, input).await
    } else {
        let sdk = aws_config::load_from_env().await;
        let force_path_style =
            Vars::new(|name| std::env::var(name).ok()).flag("S3_FORCE_PATH_STYLE")?;
        let s3 = vidpipe_aws::s3::client(&sdk, force_path_style);
        let config = vidpipe_notifier::config::Config::from_env(|name| std::env::var(name).ok())?;
        let notifier = vidpipe_notifier::wiring::notifier(config, &sdk).await?;
        let functions = LocalFunctions::new(
            arns,
            S3RequestStore(s3.clone()),
            Storage::with_s3(s3),
            Some(notifier),
            &args,
            renderers,
            &progress,
        );
        execute(functions, machine, &name, input).await
    };
    if let (Some(files), Outcome::Succeeded { output }) = (&local, &mut outcome) {
        files.remove_work_folder(&name);
        output["output_uri"] = json!(files.output.display().to_string());
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&outcome).unwrap_or_default()
    );
    Ok(match outcome {
        Outcome::Succeeded { .. } => 0,
        Outcome::Failed { .. } => 1,
    })
}
