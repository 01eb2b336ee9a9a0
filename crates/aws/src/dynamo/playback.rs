//! The playback packages ([`PlaybackStore`]): `pk = PLAYBACK#{asset}`, `sk = PLAYBACK`; statuses only move forward,
//! by a conditional update on the statuses before the new one.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use vidpipe_core::playback::{PlaybackPackage, PlaybackUpdate, statuses_before};
use vidpipe_core::ports::{PlaybackAdvance, PlaybackStore, StoreError};
use vidpipe_core::stream_status::StreamStatus;

use super::TTL_ATTRIBUTE;
use super::conditional::{self, Written, applied, unavailable};
use super::item::{Item, cost_attributes, cost_from_item, get_n, get_s, n, s};

/// The playback items of the table.
#[derive(Debug, Clone)]
pub struct DynamoPlaybacks {
    client: Client,
    table: String,
}

impl DynamoPlaybacks {
    /// The playback packages of `table`, through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn key(asset: &str) -> [(&'static str, AttributeValue); 2] {
        [
            ("pk", s(format!("PLAYBACK#{asset}"))),
            ("sk", s("PLAYBACK")),
        ]
    }

    /// The item of `package` as `queued`.
    fn queued_item(package: &PlaybackPackage, expires_at: u64) -> Item {
        let mut item: Item = Self::key(&package.asset)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        item.extend([
            ("asset".to_owned(), s(&package.asset)),
            ("owner".to_owned(), s(&package.owner)),
            ("bucket".to_owned(), s(&package.bucket)),
            ("folder".to_owned(), s(&package.folder)),
            ("status".to_owned(), s(StreamStatus::Queued.as_str())),
            ("mp4_key".to_owned(), s(&package.mp4_key)),
            ("poster".to_owned(), s(&package.poster)),
            (TTL_ATTRIBUTE.to_owned(), n(expires_at)),
        ]);
        if let Some(etag) = &package.source_etag {
            item.insert("source_etag".to_owned(), s(etag));
        }
        item
    }
}

/// A package from its item; `None` when an attribute it needs is missing or unreadable.
fn package(item: &Item) -> Option<PlaybackPackage> {
    Some(PlaybackPackage {
        asset: get_s(item, "asset")?,
        owner: get_s(item, "owner")?,
        bucket: get_s(item, "bucket")?,
        folder: get_s(item, "folder")?,
        status: StreamStatus::parse(&get_s(item, "status")?)?,
        mp4_key: get_s(item, "mp4_key")?,
        poster: get_s(item, "poster")?,
        duration_ms: get_n(item, "duration_ms"),
        width: get_n(item, "width"),
        height: get_n(item, "height"),
        error_code: get_s(item, "error_code"),
        source_etag: get_s(item, "source_etag"),
        job_id: get_s(item, "job_id"),
        cost: cost_from_item(item),
    })
}

impl PlaybackStore for DynamoPlaybacks {
    async fn put_queued(
        &self,
        package: &PlaybackPackage,
        expires_at: u64,
    ) -> Result<bool, StoreError> {
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::queued_item(package, expires_at)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        applied(written)
    }

    async fn replace_queued(
        &self,
        package: &PlaybackPackage,
        expires_at: u64,
        replaced: Option<&str>,
    ) -> Result<bool, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::queued_item(package, expires_at)));
        let put = match replaced {
            Some(etag) => put
                .condition_expression("source_etag = :replaced")
                .expression_attribute_values(":replaced", s(etag)),
            None => put
                .condition_expression("attribute_exists(pk) AND attribute_not_exists(source_etag)"),
        };
        applied(put.send().await)
    }

    async fn record_job(
        &self,
        asset: &str,
        source_etag: &str,
        job_id: &str,
    ) -> Result<(), StoreError> {
        let [pk, sk] = Self::key(asset);
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(pk.0, pk.1)
            .key(sk.0, sk.1)
            .update_expression("SET job_id = :job")
            .condition_expression("source_etag = :source")
            .expression_attribute_values(":job", s(job_id))
            .expression_attribute_values(":source", s(source_etag))
            .send()
            .await;
        // Not applied: the package was made again or deleted since, and this job is not its job.
        applied(written).map(|_| ())
    }

    async fn get(&self, asset: &str) -> Result<Option<PlaybackPackage>, StoreError> {
        let [pk, sk] = Self::key(asset);
        let read = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(pk.0, pk.1)
            .key(sk.0, sk.1)
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(read.item().and_then(package))
    }

    async fn advance(
        &self,
        asset: &str,
        update: &PlaybackUpdate,
    ) -> Result<PlaybackAdvance, StoreError> {
        let [pk, sk] = Self::key(asset);
        let before = statuses_before(update.status);
        if before.is_empty() {
            // Nothing moves back to `queued`.
            return Ok(match self.get(asset).await? {
                Some(package) => PlaybackAdvance::Stale(package),
                None => PlaybackAdvance::Unknown,
            });
        }
        let placeholders: Vec<String> = (0..before.len()).map(|i| format!(":from{i}")).collect();
        let mut sets = vec!["#status = :status".to_owned()];
        let optional = [
            ("duration_ms", update.duration_ms.map(n)),
            ("width", update.size.map(|size| n(size.width))),
            ("height", update.size.map(|size| n(size.height))),
            ("error_code", update.error_code.clone().map(s)),
        ];
        let mut values = Item::from([(":status".to_owned(), s(update.status.as_str()))]);
        for (status, placeholder) in before.iter().zip(&placeholders) {
            values.insert(placeholder.clone(), s(status.as_str()));
        }
        let cost = update
            .cost
            .as_ref()
            .map(cost_attributes)
            .into_iter()
            .flatten();
        for (name, value) in optional
            .into_iter()
            .chain(cost.map(|(name, value)| (name, Some(value))))
        {
            if let Some(value) = value {
                sets.push(format!("{name} = :{name}"));
                values.insert(format!(":{name}"), value);
            }
        }
        let mut condition = format!(
            "attribute_exists(pk) AND #status IN ({})",
            placeholders.join(", ")
        );
        // Only the package made from the job's source (PlaybackPackage::is_made_from).
        if let Some(etag) = &update.source_etag {
            condition.push_str(" AND (attribute_not_exists(source_etag) OR source_etag = :source)");
            values.insert(":source".to_owned(), s(etag));
        }
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(pk.0, pk.1)
            .key(sk.0, sk.1)
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression(condition)
            .expression_attribute_names("#status", "status")
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        Ok(match conditional::written(written)? {
            Written::Applied(out) => out
                .attributes()
                .and_then(package)
                .map_or(PlaybackAdvance::Unknown, PlaybackAdvance::Applied),
            Written::Refused(old) => old
                .as_ref()
                .and_then(package)
                .map_or(PlaybackAdvance::Unknown, PlaybackAdvance::Stale),
        })
    }

    async fn delete(&self, asset: &str) -> Result<(), StoreError> {
        let [pk, sk] = Self::key(asset);
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(pk.0, pk.1)
            .key(sk.0, sk.1)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
