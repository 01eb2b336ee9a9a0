//! [`InMemoryPlaybacks`]: playback packages in memory, created once and moved forward only, as the DynamoDB adapter
//! does with its conditions.

use std::collections::BTreeMap;
use std::sync::Mutex;

use vidpipe_core::playback::{PlaybackPackage, PlaybackUpdate, statuses_before};
use vidpipe_core::ports::{PlaybackAdvance, PlaybackStore, StoreError};

/// Playback packages by asset.
#[derive(Debug, Default)]
pub struct InMemoryPlaybacks {
    /// The packages, by asset.
    pub items: Mutex<BTreeMap<String, PlaybackPackage>>,
}

impl InMemoryPlaybacks {
    /// The package of `asset`, if any.
    pub fn package(&self, asset: &str) -> Option<PlaybackPackage> {
        self.items
            .lock()
            .expect("playbacks lock")
            .get(asset)
            .cloned()
    }
}

impl PlaybackStore for InMemoryPlaybacks {
    async fn put_queued(
        &self,
        package: &PlaybackPackage,
        _expires_at: u64,
    ) -> Result<bool, StoreError> {
        let mut items = self.items.lock().expect("playbacks lock");
        if items.contains_key(&package.asset) {
            return Ok(false);
        }
        items.insert(package.asset.clone(), package.clone());
        Ok(true)
    }

    async fn replace_queued(
        &self,
        package: &PlaybackPackage,
        _expires_at: u64,
        replaced: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut items = self.items.lock().expect("playbacks lock");
        match items.get(&package.asset) {
            Some(stored) if stored.source_etag.as_deref() == replaced => {
                items.insert(package.asset.clone(), package.clone());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn record_job(
        &self,
        asset: &str,
        source_etag: &str,
        job_id: &str,
    ) -> Result<(), StoreError> {
        let mut items = self.items.lock().expect("playbacks lock");
        if let Some(package) = items.get_mut(asset)
            && package.source_etag.as_deref() == Some(source_etag)
        {
            package.job_id = Some(job_id.to_owned());
        }
        Ok(())
    }

    async fn get(&self, asset: &str) -> Result<Option<PlaybackPackage>, StoreError> {
        Ok(self.package(asset))
    }

    async fn advance(
        &self,
        asset: &str,
        update: &PlaybackUpdate,
    ) -> Result<PlaybackAdvance, StoreError> {
        let mut items = self.items.lock().expect("playbacks lock");
        let Some(package) = items.get_mut(asset) else {
            return Ok(PlaybackAdvance::Unknown);
        };
        if !statuses_before(update.status).contains(&package.status)
            || !package.is_made_from(update.source_etag.as_deref())
        {
            return Ok(PlaybackAdvance::Stale(package.clone()));
        }
        package.status = update.status;
        package.duration_ms = update.duration_ms.or(package.duration_ms);
        if let Some(size) = update.size {
            package.width = Some(size.width);
            package.height = Some(size.height);
        }
        package.error_code = update.error_code.clone().or(package.error_code.take());
        package.cost = update.cost.or(package.cost);
        Ok(PlaybackAdvance::Applied(package.clone()))
    }

    async fn delete(&self, asset: &str) -> Result<(), StoreError> {
        self.items.lock().expect("playbacks lock").remove(asset);
        Ok(())
    }
}
