//! Playback jobs' events: the package's status moves forward (`processing`, then `ready` or `failed`), and on
//! COMPLETE the storyboard step runs before `ready`: the thumbnails the job captured are tiled into sprites and the
//! WebVTT that points into them is written beside them, so a `ready` package always has its storyboard.

use serde_json::json;
use vidpipe_core::cost::JobCost;
use vidpipe_core::job::{METADATA_DESTINATION, METADATA_STORYBOARD_INTERVAL, names};
use vidpipe_core::jobevent::JobStateChange;
use vidpipe_core::notify::{DomainEvent, DomainEventType};
use vidpipe_core::playback::{
    PlaybackAsset, PlaybackPackage, PlaybackUpdate, Storyboard, capture_count,
    is_in_package_folder, thumbnail_paths,
};
use vidpipe_core::ports::{
    CallPreviews, EventPublisher, PackageFiles, PlaybackAdvance, PlaybackStore,
    ProcessedEventStore, RenderStore, StreamStatusStore,
};
use vidpipe_core::render::ports::{FetchError, FolderRemover};
use vidpipe_core::s3uri::S3Uri;
use vidpipe_core::stream_status::StreamStatus;

use crate::handler::{JobEventHandled, Notifier, NotifierError};
use crate::storyboard::{sprites, tile_size};

/// The largest thumbnail read (a 160x90 JPEG is a few kB).
const THUMBNAIL_LIMIT: u64 = 1 << 20;

impl<S, R, E, P, B, F, C> Notifier<S, R, E, P, B, F, C>
where
    S: StreamStatusStore,
    R: RenderStore,
    E: ProcessedEventStore,
    P: EventPublisher,
    B: PlaybackStore,
    F: PackageFiles + FolderRemover,
    C: CallPreviews,
{
    /// A playback job of `asset`, made from the source whose ETag is `source_etag`, reported; a job of a source the
    /// package was made again from since is stale.
    pub(crate) async fn playback_event(
        &self,
        event: &JobStateChange,
        asset: &PlaybackAsset,
        source_etag: Option<&str>,
    ) -> Result<JobEventHandled, NotifierError> {
        let detail = &event.detail;
        let wire = asset.as_wire();
        let Some(mut update) = PlaybackUpdate::from_job_state(&detail.state) else {
            return Ok(JobEventHandled::NoStatusChange {
                status: detail.state.name().to_owned(),
            });
        };
        update.cost = detail.cost();
        let Some(package) = self.playbacks.get(&wire).await? else {
            tracing::warn!(asset = %wire, job_id = %detail.job_id, "playback job of an unknown package");
            if update.status == StreamStatus::Ready {
                self.remove_late_package(event).await?;
            }
            return Ok(JobEventHandled::Ignored {
                reason: format!("unknown playback package {wire}"),
            });
        };
        if !package.is_made_from(source_etag) {
            tracing::info!(asset = %wire, job_id = %detail.job_id, "a job of an earlier source of a package made again");
            return Ok(JobEventHandled::PlaybackStale { asset: wire });
        }
        update.source_etag = source_etag.map(str::to_owned);
        if !package.can_move_to(update.status) {
            // A redelivery after a crash between the update and its announcement: announced again, same id.
            if package.status == update.status {
                self.announce_playback(event, &package).await?;
            }
            return Ok(JobEventHandled::PlaybackStale { asset: wire });
        }
        if update.status == StreamStatus::Ready
            && let Err(why) = self.storyboard(event, &package, update.duration_ms).await?
        {
            tracing::warn!(asset = %wire, job_id = %detail.job_id, why, "the storyboard cannot be made");
            update = PlaybackUpdate {
                status: StreamStatus::Failed,
                error_code: Some("storyboard_failed".into()),
                ..update
            };
        }
        Ok(match self.playbacks.advance(&wire, &update).await? {
            PlaybackAdvance::Applied(package) => {
                tracing::info!(asset = %wire, job_id = %detail.job_id, status = package.status.as_str(), cost_micro_usd = package.cost.map(|c| c.micro_usd), "playback status updated");
                self.announce_playback(event, &package).await?;
                JobEventHandled::PlaybackApplied {
                    asset: wire,
                    status: package.status.as_str().to_owned(),
                }
            }
            PlaybackAdvance::Stale(_) => JobEventHandled::PlaybackStale { asset: wire },
            PlaybackAdvance::Unknown => JobEventHandled::Ignored {
                reason: format!("unknown playback package {wire}"),
            },
        })
    }

    /// Removes what a playback job wrote after its package was deleted: its asset was deleted while the job ran,
    /// on a backend that could not stop it (the ffmpeg backend runs a package whole, in one invocation), and the
    /// files would otherwise stay until retention. Only the job's destination (`UserMetadata`), and only when it is
    /// a package folder; a failed removal fails the event, so it is delivered again.
    async fn remove_late_package(&self, event: &JobStateChange) -> Result<(), NotifierError> {
        let detail = &event.detail;
        let destination = detail
            .user_metadata
            .get(METADATA_DESTINATION)
            .and_then(|d| S3Uri::parse_str(d).ok())
            .filter(|d| d.key().ends_with('/') && is_in_package_folder(d.key()));
        let Some(folder) = destination else {
            tracing::warn!(job_id = %detail.job_id, "a late playback job without a package folder: nothing removed");
            return Ok(());
        };
        self.files
            .remove_folder(&folder)
            .await
            .map_err(NotifierError::FilesWrite)?;
        tracing::info!(job_id = %detail.job_id, %folder, "a deleted package's late files removed");
        Ok(())
    }

    /// `playback.ready` or `playback.failed` for a package that reached either; its id is derived from the status,
    /// the asset and the source the package is made from, so receivers drop repeats but not a package made again.
    async fn announce_playback(
        &self,
        event: &JobStateChange,
        package: &PlaybackPackage,
    ) -> Result<(), NotifierError> {
        let event_type = match package.status {
            StreamStatus::Ready => DomainEventType::PlaybackReady,
            StreamStatus::Failed => DomainEventType::PlaybackFailed,
            StreamStatus::Queued | StreamStatus::Processing => return Ok(()),
        };
        let announcement = DomainEvent {
            id: match &package.source_etag {
                Some(etag) => format!("{}:{}:{etag}", event_type.as_str(), package.asset),
                None => format!("{}:{}", event_type.as_str(), package.asset),
            },
            event_type,
            time: event.time.clone(),
            data: json!({
                "asset": package.asset, "status": package.status.as_str(), "job_id": event.detail.job_id,
                "duration_ms": package.duration_ms, "width": package.width, "height": package.height,
                "error": package.error_code.as_ref().map(|code| json!({"code": code})),
                "cost": package.cost.as_ref().map(JobCost::to_json),
            }),
        };
        self.publisher.publish(&announcement).await?;
        Ok(())
    }

    /// Tiles the job's thumbnails into sprites and writes them with `storyboard.vtt`; `Ok(Err(why))` when the
    /// thumbnails cannot be used (missing, not JPEGs, of different sizes), an error when the store failed.
    async fn storyboard(
        &self,
        event: &JobStateChange,
        package: &PlaybackPackage,
        duration_ms: Option<u64>,
    ) -> Result<Result<(), String>, NotifierError> {
        let detail = &event.detail;
        let Some(count) = capture_count(thumbnail_paths(&detail.state)) else {
            return Ok(Err("the job lists no thumbnails".into()));
        };
        let interval_s = detail
            .user_metadata
            .get(METADATA_STORYBOARD_INTERVAL)
            .and_then(|v| v.parse().ok())
            .unwrap_or(2);
        let uri = |name: &str| S3Uri::new(&package.bucket, format!("{}{name}", package.folder));
        let mut thumbnails = Vec::with_capacity(count as usize);
        for index in 0..count {
            let thumb =
                uri(&format!("{}.{index:07}.jpg", names::THUMBS)).map_err(|e| e.to_string());
            let thumb = match thumb {
                Ok(thumb) => thumb,
                Err(why) => return Ok(Err(why)),
            };
            match self.files.read(&thumb, THUMBNAIL_LIMIT).await {
                Ok(bytes) => thumbnails.push(bytes),
                Err(e @ FetchError::Unavailable { .. }) => return Err(NotifierError::FilesRead(e)),
                Err(e) => return Ok(Err(e.to_string())),
            }
        }
        let tile = match tile_size(&thumbnails[0]) {
            Ok(tile) => tile,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let board = Storyboard {
            count,
            tile,
            interval_s,
        };
        let sheets = match sprites(&board, &thumbnails) {
            Ok(sheets) => sheets,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let mut writes = Vec::new();
        for (sheet, jpeg) in sheets.into_iter().enumerate() {
            writes.push((Storyboard::sheet_name(sheet as u32), jpeg, "image/jpeg"));
        }
        writes.push((
            names::STORYBOARD.to_owned(),
            board.vtt(duration_ms).into_bytes(),
            "text/vtt",
        ));
        for (name, bytes, content_type) in writes {
            let target = match uri(&name) {
                Ok(target) => target,
                Err(e) => return Ok(Err(e.to_string())),
            };
            self.files
                .write(&target, bytes, content_type)
                .await
                .map_err(NotifierError::FilesWrite)?;
        }
        Ok(Ok(()))
    }
}
