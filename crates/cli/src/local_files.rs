//! `vidpipe render` of a request whose sources and output are local files: the paths are named in a folder bucket
//! (`vidpipe_engine::FolderBucket`, the file system's root as `s3://vidpipe-local-files/`), so the render flow's
//! steps, which speak `s3://` URIs only, run unchanged without S3, a table or a bus.

use std::path::{Path, PathBuf};

use serde_json::Value;
use vidpipe_core::render::RenderRequest;
use vidpipe_engine::FolderBucket;

/// The bucket a local render's files are named in.
const BUCKET: &str = "vidpipe-local-files";

/// Why a request of local files cannot run.
#[derive(Debug, thiserror::Error)]
pub enum LocalFilesError {
    /// A source is not a readable file.
    #[error("{field}: {path}: {source}")]
    Source {
        /// The request's field.
        field: String,
        /// The path, as resolved.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A source is in S3 while the output is a local file.
    #[error("{field}: {uri} is in S3; a render to a local file reads local files only")]
    InS3 {
        /// The request's field.
        field: String,
        /// The URI.
        uri: String,
    },
    /// The request is not a render request's shape.
    #[error("the request: {0}")]
    Shape(String),
    /// The output exists already (a render never overwrites).
    #[error("output.uri: {0} exists already; a render never overwrites a file")]
    OutputExists(PathBuf),
    /// A path the folder bucket cannot name (not valid UTF-8, or too long for a key).
    #[error("{field}: {path} cannot be named as an object: {reason}")]
    Unnamed {
        /// The request's field.
        field: String,
        /// The path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// A request's local files, named in the folder bucket.
#[derive(Debug, Clone)]
pub struct LocalFiles {
    files: FolderBucket,
    /// The output file.
    pub output: PathBuf,
}

impl LocalFiles {
    /// The local files of `request` when its output is a local path (None when it renders to S3): every path,
    /// relative to `base` (the request file's folder), rewritten in place to its `s3://` name.
    pub fn localize(request: &mut Value, base: &Path) -> Result<Option<Self>, LocalFilesError> {
        let Some(output) = request.pointer("/output/uri").and_then(Value::as_str) else {
            return Ok(None);
        };
        if output.starts_with("s3://") {
            return Ok(None);
        }
        let files = FolderBucket::new(BUCKET, "/");
        let output = output_path(&base.join(output))?;
        // The sources as the request names them (core's one list of them); a request of another shape is refused
        // as the chunker refuses it.
        let typed: RenderRequest = serde_json::from_value(request.clone())
            .map_err(|e| LocalFilesError::Shape(e.to_string()))?;
        for (field, uri) in typed.sources() {
            if uri.starts_with("s3://") {
                return Err(LocalFilesError::InS3 {
                    field,
                    uri: uri.to_owned(),
                });
            }
            let path = base.join(uri);
            let path = std::fs::canonicalize(&path)
                .and_then(|path| std::fs::File::open(&path).map(|_| path))
                .map_err(|source| LocalFilesError::Source {
                    field: field.clone(),
                    path,
                    source,
                })?;
            // `scenes[1].overlay.image` is the JSON pointer `/scenes/1/overlay/image`.
            let pointer = format!("/{}", field.replace(['[', '.'], "/").replace(']', ""));
            if let Some(value) = request.pointer_mut(&pointer) {
                *value = Value::String(name(&files, &field, &path)?);
            }
        }
        let uri = name(&files, "output.uri", &output)?;
        request["output"]["uri"] = Value::String(uri);
        Ok(Some(Self { files, output }))
    }

    /// The folder bucket the request's files are named in.
    pub fn bucket(&self) -> &FolderBucket {
        &self.files
    }

    /// The render's work folder (`{output folder}work/{execution}/`, as the chunker places it) and the `work`
    /// folder above it, removed once the output is written; what a failed render wrote stays, to be looked at.
    pub fn remove_work_folder(&self, execution: &str) {
        let work = self.output.with_file_name("work");
        if let Err(e) = std::fs::remove_dir_all(work.join(execution)) {
            eprintln!(
                "could not remove the work folder {}: {e}",
                work.join(execution).display()
            );
        }
        // Only when empty: another render's work may be there.
        let _ = std::fs::remove_dir(work);
    }
}

/// The output's absolute path: its folder must exist, the file must not.
fn output_path(output: &Path) -> Result<PathBuf, LocalFilesError> {
    let folder = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let folder = std::fs::canonicalize(folder).map_err(|source| LocalFilesError::Source {
        field: "output.uri".into(),
        path: folder.to_path_buf(),
        source,
    })?;
    let output = folder.join(output.file_name().unwrap_or_default());
    if output.exists() {
        return Err(LocalFilesError::OutputExists(output));
    }
    Ok(output)
}

fn name(files: &FolderBucket, field: &str, path: &Path) -> Result<String, LocalFilesError> {
    files
        .uri(path)
        .map(|uri| uri.to_string())
        .map_err(|e| LocalFilesError::Unnamed {
            field: field.to_owned(),
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}
