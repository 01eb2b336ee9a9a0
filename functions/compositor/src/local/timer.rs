//! [`LocalTimer`]: the partner timer in this process (local runs only). Each start runs the partner-timeout state
//! machine (`statemachines/partner-timeout.asl.json`, the same file Step Functions runs on AWS) with vidpipe-stepfn
//! in a background task; its Task invokes the compositor in-process.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use serde_json::Value;
use vidpipe_core::error::Chain;
use vidpipe_core::ports::{
    CallPreviews, EventPublisher, ObjectStore, PartnerTimer, PlaybackStore, RecordingStore,
    StreamStatusStore, StreamStore, TimerError, Transcoder, execution_input, execution_name,
};
use vidpipe_stepfn::{
    DefinitionError, Interpreter, Outcome, StateMachine, TaskError, TaskInvoker, substitute,
};

use crate::handler::{Compositor, TransientError};

/// The partner-timeout state machine definition, with `${CompositorFunctionArn}` to substitute.
pub const DEFINITION: &str = include_str!("../../../../statemachines/partner-timeout.asl.json");

/// The function name the local timer's definition invokes.
const LOCAL_FUNCTION: &str = "vidpipe-compositor";

/// A boxed, sendable future: what a type-erased [`TimeoutTarget`] answers with.
type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the local timer's Task invokes: a compositor, whatever its ports, behind one object-safe method.
pub trait TimeoutTarget: Send + Sync {
    /// Handles one invocation (the timer's `{"partner_timeout": {"stream"}}`).
    fn invoke(&self, input: Value) -> BoxFuture<'_, Result<Value, TransientError>>;
}

impl<S, R, O, M, E, T, P, C> TimeoutTarget for Compositor<S, R, O, M, E, T, P, C>
where
    S: StreamStore + StreamStatusStore,
    R: RecordingStore,
    O: ObjectStore,
    M: Transcoder,
    E: EventPublisher,
    T: PartnerTimer,
    P: PlaybackStore,
    C: CallPreviews,
{
    fn invoke(&self, input: Value) -> BoxFuture<'_, Result<Value, TransientError>> {
        Box::pin(self.handle(input))
    }
}

/// The compositor the timer invokes, set once it exists (held weakly: the timer never keeps it alive).
type Target = Arc<OnceLock<Weak<dyn TimeoutTarget>>>;

/// Invokes the compositor in this process: the local timer's Task.
#[derive(Clone)]
struct InProcess(Target);

impl TaskInvoker for InProcess {
    async fn invoke(&self, resource: &str, input: Value) -> Result<Value, TaskError> {
        if resource != LOCAL_FUNCTION {
            return Err(TaskError::new(
                "Lambda.ResourceNotFoundException",
                format!("no function {resource}"),
            ));
        }
        let compositor =
            self.0.get().and_then(Weak::upgrade).ok_or_else(|| {
                TaskError::new("Lambda.ServiceException", "the compositor is gone")
            })?;
        compositor
            .invoke(input)
            .await
            .map_err(|e| TaskError::new("Compositor.Transient", Chain(&e).to_string()))
    }
}

/// The timer in this process: each start runs the definition once (a second start for a stream whose execution is
/// still running is ignored, as Step Functions ignores it).
#[derive(Clone)]
pub struct LocalTimer {
    definition: Arc<String>,
    target: Target,
    running: Arc<Mutex<HashSet<String>>>,
}

/// The local timer's definition did not load.
#[derive(Debug, thiserror::Error)]
#[error("the partner-timeout definition does not load: {0}")]
pub struct LocalTimerError(#[from] DefinitionError);

impl LocalTimer {
    /// Loads the definition. Call [`LocalTimer::bind`] with the compositor it invokes before it fires.
    pub fn new() -> Result<Self, LocalTimerError> {
        let values = HashMap::from([(
            "CompositorFunctionArn".to_owned(),
            LOCAL_FUNCTION.to_owned(),
        )]);
        let text = substitute(DEFINITION, &values)?;
        StateMachine::from_json(&text)?;
        Ok(Self {
            definition: Arc::new(text),
            target: Arc::default(),
            running: Arc::default(),
        })
    }

    /// Sets the compositor the timer's Task invokes.
    pub fn bind<C: TimeoutTarget + 'static>(&self, compositor: &Arc<C>) {
        let weak: Weak<C> = Arc::downgrade(compositor);
        let _ = self.target.set(weak);
    }
}

impl PartnerTimer for LocalTimer {
    async fn start(&self, stream: &str, instance: &str, wait: Duration) -> Result<(), TimerError> {
        let name = execution_name(stream, instance);
        let fresh = self
            .running
            .lock()
            .map_err(|_| TimerError("timer lock poisoned".into()))?
            .insert(name.clone());
        if !fresh {
            return Ok(());
        }
        // The definition loaded in `new`, so it loads again here.
        let machine =
            StateMachine::from_json(&self.definition).map_err(|e| TimerError(Box::new(e)))?;
        let interpreter = Interpreter::new(
            "partner-timeout",
            machine,
            InProcess(Arc::clone(&self.target)),
        );
        let input = execution_input(stream, wait);
        let running = Arc::clone(&self.running);
        tokio::spawn(async move {
            let execution = interpreter.execute(&name, input).await;
            match execution.outcome {
                Outcome::Succeeded { output } => {
                    tracing::info!(execution = %name, %output, "partner timer done");
                }
                Outcome::Failed { error } => {
                    tracing::error!(execution = %name, %error, "partner timer failed");
                }
            }
            if let Ok(mut running) = running.lock() {
                running.remove(&name);
            }
        });
        Ok(())
    }
}
