//! Creates vidpipe's resources on an endpoint (moto locally): the bucket, the table and the event queue.
//! Every step tolerates what already exists, so running it twice is harmless. In AWS, SAM creates them instead.

use crate::dynamo::{OWNER_INDEX, TTL_ATTRIBUTE};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketVersioningStatus,
    CorsConfiguration, CorsRule, Event, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, NoncurrentVersionExpiration, NotificationConfiguration,
    QueueConfiguration, VersioningConfiguration,
};
use vidpipe_core::error::{Cause, Chain};
use vidpipe_core::jobevent::JOB_EVENT_SOURCES;

/// What to create.
#[derive(Debug, Clone)]
pub struct Resources {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix the lifecycle rule applies to (empty for the whole bucket).
    pub key_prefix: String,
    /// Days before objects expire.
    pub retention_days: u32,
    /// Origins allowed to PUT/GET from browsers.
    pub allowed_origins: Vec<String>,
    /// Table name.
    pub table: String,
    /// SQS queue receiving the bucket's ObjectCreated events (for the compositor), if wanted.
    pub queue: Option<String>,
}

/// What was created or found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    /// The queue's URL, if a queue was asked for.
    pub queue_url: Option<String>,
}

/// A provisioning failure, naming the step and keeping the SDK's error.
#[derive(Debug, thiserror::Error)]
#[error("{step}: {}", Chain(.source.as_ref()))]
pub struct ProvisionError {
    step: &'static str,
    #[source]
    source: Cause,
}

fn failed<E: std::error::Error + Send + Sync + 'static>(
    step: &'static str,
) -> impl FnOnce(E) -> ProvisionError {
    move |e| ProvisionError {
        step,
        source: Box::new(e),
    }
}

/// Days an overwritten object's earlier version is kept (the template's `NoncurrentVersionDays` default).
const NONCURRENT_VERSION_DAYS: i32 = 7;

/// Creates (or confirms) every resource: the bucket (versioned, with the retention rule and CORS), the table and
/// the queue of `r`.
pub async fn provision(
    sdk_config: &aws_config::SdkConfig,
    s3: &aws_sdk_s3::Client,
    r: &Resources,
) -> Result<Provisioned, ProvisionError> {
    create_bucket(s3, r).await?;
    create_table(&aws_sdk_dynamodb::Client::new(sdk_config), &r.table).await?;
    let queue_url = match &r.queue {
        Some(queue) => Some(create_queue_notification(sdk_config, s3, &r.bucket, queue).await?),
        None => None,
    };
    Ok(Provisioned { queue_url })
}

async fn create_bucket(s3: &aws_sdk_s3::Client, r: &Resources) -> Result<(), ProvisionError> {
    if let Err(e) = s3.create_bucket().bucket(&r.bucket).send().await {
        let exists = e
            .as_service_error()
            .is_some_and(|e| e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists());
        if !exists {
            return Err(failed("create bucket")(e));
        }
    }
    let expire = LifecycleRule::builder()
        .id("vidpipe-retention")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix(&r.key_prefix).build())
        .expiration(
            LifecycleExpiration::builder()
                .days(i32::try_from(r.retention_days).unwrap_or(i32::MAX))
                .build(),
        )
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(1)
                .build(),
        )
        .noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(NONCURRENT_VERSION_DAYS)
                .build(),
        )
        .build()
        .map_err(failed("lifecycle rule"))?;
    // As the template: an overwritten recording (a replayed upload URL) keeps its earlier version for a while.
    s3.put_bucket_versioning()
        .bucket(&r.bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(failed("put versioning"))?;
    s3.put_bucket_lifecycle_configuration()
        .bucket(&r.bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(expire)
                .build()
                .map_err(failed("lifecycle"))?,
        )
        .send()
        .await
        .map_err(failed("put lifecycle"))?;
    if !r.allowed_origins.is_empty() {
        let rule = CorsRule::builder()
            .set_allowed_origins(Some(r.allowed_origins.clone()))
            .allowed_methods("PUT")
            .allowed_methods("GET")
            .allowed_methods("HEAD")
            .allowed_headers("*")
            .expose_headers("ETag")
            .max_age_seconds(3000)
            .build()
            .map_err(failed("cors rule"))?;
        s3.put_bucket_cors()
            .bucket(&r.bucket)
            .cors_configuration(
                CorsConfiguration::builder()
                    .cors_rules(rule)
                    .build()
                    .map_err(failed("cors"))?,
            )
            .send()
            .await
            .map_err(failed("put cors"))?;
    }
    Ok(())
}

fn attribute(name: &str) -> Result<AttributeDefinition, ProvisionError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(failed("attribute"))
}

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, ProvisionError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(failed("key schema"))
}

/// Creates (or confirms) the recordings table: `pk`/`sk`, the owner index, and TTL on `expires_at`.
pub async fn create_table(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<(), ProvisionError> {
    let index = GlobalSecondaryIndex::builder()
        .index_name(OWNER_INDEX)
        .key_schema(key("gsi1pk", KeyType::Hash)?)
        .key_schema(key("gsi1sk", KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(failed("index"))?;
    let created = ddb
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk")?)
        .attribute_definitions(attribute("sk")?)
        .attribute_definitions(attribute("gsi1pk")?)
        .attribute_definitions(attribute("gsi1sk")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .global_secondary_indexes(index)
        .send()
        .await;
    if let Err(e) = created
        && !e
            .as_service_error()
            .is_some_and(|e| e.is_resource_in_use_exception())
    {
        return Err(failed("create table")(e));
    }
    let ttl = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(TTL_ATTRIBUTE)
        .build()
        .map_err(failed("ttl"))?;
    let updated = ddb
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(ttl)
        .send()
        .await;
    if let Err(e) = updated {
        // DynamoDB refuses to "enable" TTL that is already enabled.
        let already = e.as_service_error().is_some_and(|s| {
            aws_sdk_dynamodb::error::ProvideErrorMetadata::message(s)
                .is_some_and(|m| m.contains("already enabled"))
        });
        if !already {
            return Err(failed("enable ttl")(e));
        }
    }
    Ok(())
}

async fn create_queue_notification(
    sdk_config: &aws_config::SdkConfig,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    queue: &str,
) -> Result<String, ProvisionError> {
    let (url, arn) = create_queue(sdk_config, queue).await?;
    let config = QueueConfiguration::builder()
        .id("vidpipe-object-created")
        .queue_arn(arn)
        .events(Event::S3ObjectCreated)
        .build()
        .map_err(failed("queue configuration"))?;
    s3.put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(config)
                .build(),
        )
        .send()
        .await
        .map_err(failed("bucket notification"))?;
    Ok(url)
}

/// Creates (or finds) a queue; returns its URL and ARN.
async fn create_queue(
    sdk_config: &aws_config::SdkConfig,
    queue: &str,
) -> Result<(String, String), ProvisionError> {
    let sqs = aws_sdk_sqs::Client::new(sdk_config);
    let url = sqs
        .create_queue()
        .queue_name(queue)
        .send()
        .await
        .map_err(failed("create queue"))?
        .queue_url
        .unwrap_or_default();
    let arn = queue_arn(&sqs, &url)
        .await
        .map_err(failed("queue attributes"))?;
    Ok((url, arn))
}

/// The ARN of the queue at `url` (empty if SQS does not say).
pub async fn queue_arn(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
) -> Result<
    String,
    aws_sdk_sqs::error::SdkError<
        aws_sdk_sqs::operation::get_queue_attributes::GetQueueAttributesError,
    >,
> {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await?;
    Ok(attrs
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .cloned()
        .unwrap_or_default())
}

/// Name of the rule [`provision_job_events`] puts on the bus.
pub const JOB_EVENTS_RULE: &str = "vidpipe-mediaconvert-job-events";
/// Name of the rule [`provision_input_failure_events`] puts on the bus.
pub const INPUT_FAILURE_RULE: &str = "vidpipe-mediaconvert-input-failures";
/// Name of the rule [`provision_render_execution_events`] puts on the bus.
pub const RENDER_EXECUTIONS_RULE: &str = "vidpipe-render-executions-ended";

/// Routes MediaConvert "Job State Change" events of vidpipe's jobs on `bus` to the queue `queue` (created if
/// missing), as the SAM template routes them to the notifier; returns the queue's URL. Running it twice is harmless.
pub async fn provision_job_events(
    sdk_config: &aws_config::SdkConfig,
    bus: &str,
    queue: &str,
) -> Result<String, ProvisionError> {
    let pattern = serde_json::json!({
        "source": JOB_EVENT_SOURCES,
        "detail-type": ["MediaConvert Job State Change"],
    });
    route_events(sdk_config, bus, JOB_EVENTS_RULE, &pattern, queue).await
}

/// Routes the ERROR events of stream jobs that name a recording to make the output from alone
/// (`userMetadata.input_fallback`) on `bus` to the queue `queue`, as the SAM template routes them to the
/// compositor; returns the queue's URL. Running it twice is harmless.
pub async fn provision_input_failure_events(
    sdk_config: &aws_config::SdkConfig,
    bus: &str,
    queue: &str,
) -> Result<String, ProvisionError> {
    let pattern = serde_json::json!({
        "source": JOB_EVENT_SOURCES,
        "detail-type": ["MediaConvert Job State Change"],
        "detail": {"status": ["ERROR"], "userMetadata": {"input_fallback": [{"exists": true}]}},
    });
    route_events(sdk_config, bus, INPUT_FAILURE_RULE, &pattern, queue).await
}

/// Routes the Step Functions status changes of render executions that ended without reporting (`ABORTED`: a
/// cancel or an operator's stop; `TIMED_OUT`) on `bus` to the queue `queue`, as the SAM template routes them to the
/// notifier; returns the queue's URL. Running it twice is harmless.
pub async fn provision_render_execution_events(
    sdk_config: &aws_config::SdkConfig,
    bus: &str,
    queue: &str,
    render_state_machine_arn: &str,
) -> Result<String, ProvisionError> {
    let pattern = serde_json::json!({
        "source": [vidpipe_core::jobevent::STATES_SOURCE],
        "detail-type": [vidpipe_core::jobevent::EXECUTION_STATUS_CHANGE],
        "detail": {"status": ["ABORTED", "TIMED_OUT"], "stateMachineArn": [render_state_machine_arn]},
    });
    route_events(sdk_config, bus, RENDER_EXECUTIONS_RULE, &pattern, queue).await
}

/// Puts the rule `rule` with `pattern` on `bus`, targeting the queue `queue` (created if missing); returns the
/// queue's URL.
async fn route_events(
    sdk_config: &aws_config::SdkConfig,
    bus: &str,
    rule: &str,
    pattern: &serde_json::Value,
    queue: &str,
) -> Result<String, ProvisionError> {
    let (url, arn) = create_queue(sdk_config, queue).await?;
    let events = aws_sdk_eventbridge::Client::new(sdk_config);
    events
        .put_rule()
        .name(rule)
        .event_bus_name(bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .map_err(failed("job events rule"))?;
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id(format!("{rule}-queue"))
        .arn(arn)
        .build()
        .map_err(failed("job events target"))?;
    events
        .put_targets()
        .rule(rule)
        .event_bus_name(bus)
        .targets(target)
        .send()
        .await
        .map_err(failed("job events target"))?;
    Ok(url)
}
