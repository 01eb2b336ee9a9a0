//! Where a render may read and write, and who may render its chunks.
//!
//! A caller's render (one with an owner, started through the API) reads only the caller's assets
//! (`{prefix}assets/{owner}/`, [`keys::asset_prefix`]) or the configured shared assets folder, in the service's
//! bucket, writes its video only to `{prefix}renders/{owner}/{render_id}/output.mp4` ([`owned_output_key`]), and
//! names a custom renderer only from the configured list. An operator's render (no owner: `vidpipe render`, the
//! console) keeps to the bucket and the renderer list only. Every render's work files (chunks, the mixed
//! soundtrack, the stored request and probe results) go to a folder of its own execution ([`WorkFolder`]), so two
//! renders never share one, whatever their outputs.

use super::{
    Chunk, PlannedChunk, Problem, Problems, RenderError, RenderRequest, Renderer, render_uri,
};
use crate::config::{ConfigError, Vars};
use crate::keys::{check_prefix, owner_segment, render_prefix};
use crate::s3uri::{S3Uri, S3UriError};

/// Name of the video in a caller's render folder.
pub const OUTPUT_NAME: &str = "output.mp4";

/// Folder of the work files under the output's folder: `{output folder}work/{execution}/`.
const WORK_DIR: &str = "work/";

/// The key of `owner`'s render `render_id`: `{prefix}renders/{owner}/{render_id}/output.mp4`.
pub fn owned_output_key(prefix: &str, owner: &str, render_id: &str) -> String {
    format!("{}{OUTPUT_NAME}", render_prefix(prefix, owner, render_id))
}

/// The thumbnails folder of `owner`'s render `render_id`: `{prefix}renders/{owner}/{render_id}/thumbnails/`.
pub fn owned_thumbnails_key(prefix: &str, owner: &str, render_id: &str) -> String {
    format!("{}thumbnails/", render_prefix(prefix, owner, render_id))
}

/// Where renders may read and write, and which custom renderers they may name (the chunker's configuration).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RenderScope {
    /// `BUCKET`: the one bucket a render reads and writes; `None` (an operator's local run) allows any.
    pub bucket: Option<String>,
    /// `KEY_PREFIX`: the prefix of the assets and render folders.
    pub key_prefix: String,
    /// `SHARED_ASSETS_PREFIX`: a folder (a key prefix ending in `/`) every caller's render may read, if any.
    pub shared_assets_prefix: Option<String>,
    /// `RENDERER_ARNS`: the custom renderer functions a request may name (none: MediaConvert only).
    pub renderer_arns: Vec<String>,
    /// `EXPORT_RENDERER_ARN`: the custom renderer a call's export is rendered by (one of `RENDERER_ARNS`: the
    /// stack's transcoder when it runs jobs on Lambda); none: MediaConvert.
    pub export_renderer: Option<String>,
}

impl RenderScope {
    /// `BUCKET` (required), `KEY_PREFIX`, `SHARED_ASSETS_PREFIX` and `RENDERER_ARNS` (comma-separated).
    pub fn from_vars<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<Self, ConfigError> {
        let scope = Self {
            bucket: Some(vars.required("BUCKET")?),
            key_prefix: vars.optional("KEY_PREFIX").unwrap_or_default(),
            shared_assets_prefix: vars.optional("SHARED_ASSETS_PREFIX"),
            renderer_arns: vars.list("RENDERER_ARNS"),
            export_renderer: vars.optional("EXPORT_RENDERER_ARN"),
        };
        scope
            .check()
            .map_err(|(name, why)| ConfigError::new(name, why))?;
        Ok(scope)
    }

    /// The renderer of a call's export: [`RenderScope::export_renderer`], else MediaConvert.
    pub fn export_renderer(&self) -> Renderer {
        self.export_renderer
            .clone()
            .map_or(Renderer::MediaConvert, Renderer::Lambda)
    }

    /// Checks the prefixes and the export's renderer: `Err` names the variable and says what is wrong.
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        if let Some(arn) = &self.export_renderer
            && !self.renderer_arns.contains(arn)
        {
            return Err(("EXPORT_RENDERER_ARN", "must be one of RENDERER_ARNS"));
        }
        check_prefix(&self.key_prefix).map_err(|why| ("KEY_PREFIX", why))?;
        if let Some(shared) = &self.shared_assets_prefix {
            check_prefix(shared).map_err(|why| ("SHARED_ASSETS_PREFIX", why))?;
            if shared.is_empty() {
                // An empty shared folder would be the whole bucket: every caller's files.
                return Err((
                    "SHARED_ASSETS_PREFIX",
                    "must not be empty (that is the whole bucket)",
                ));
            }
        }
        Ok(())
    }
}

impl RenderRequest {
    /// Every object the request reads, each with its JSON path, in the request's order.
    pub fn sources(&self) -> Vec<(String, &str)> {
        let mut sources = Vec::new();
        for (i, scene) in self.scenes.iter().enumerate() {
            for (field, uri) in [("image", &scene.image), ("video", &scene.video)] {
                if let Some(uri) = uri {
                    sources.push((format!("scenes[{i}].{field}"), uri.as_str()));
                }
            }
            for (k, tile) in scene.tiles.iter().flatten().enumerate() {
                sources.push((format!("scenes[{i}].tiles[{k}].video"), tile.video.as_str()));
            }
            if let Some(overlay) = &scene.overlay {
                sources.push((format!("scenes[{i}].overlay.image"), overlay.image.as_str()));
            }
        }
        for (k, sound) in self.sounds.iter().enumerate() {
            sources.push((format!("sounds[{k}].source"), sound.source.as_str()));
        }
        if let Some(soundtrack) = &self.soundtrack {
            for (field, uri) in [
                ("voiceover", &soundtrack.voiceover),
                ("music", &soundtrack.music),
            ] {
                if let Some(uri) = uri {
                    sources.push((format!("soundtrack.{field}"), uri.as_str()));
                }
            }
        }
        sources
    }

    /// Checks that a valid request stays within `scope`: every source and the output in the scope's bucket, the
    /// renderer in its list, and, for `owner`'s render, every source in the owner's assets or the shared folder
    /// and the output exactly [`owned_output_key`] (its thumbnails, if any, [`owned_thumbnails_key`]). Every problem is named by its JSON path.
    pub fn confine(&self, scope: &RenderScope, owner: Option<&str>) -> Result<(), RenderError> {
        let mut problems = Problems::default();
        let in_bucket = |uri: &S3Uri| scope.bucket.as_deref().is_none_or(|b| uri.bucket() == b);
        let bucket_problem = |uri: &str| {
            format!(
                "`{uri}` is not in the bucket `{}`",
                scope.bucket.as_deref().unwrap_or_default()
            )
        };
        let own_assets = owner.map(|owner| crate::keys::asset_prefix(&scope.key_prefix, owner));
        for (path, uri) in self.sources() {
            let Ok(parsed) = render_uri(uri) else {
                continue;
            };
            if !in_bucket(&parsed) {
                problems.add(path, bucket_problem(uri));
            } else if let Some(own) = &own_assets {
                let readable = std::iter::once(own.as_str())
                    .chain(scope.shared_assets_prefix.as_deref())
                    .any(|folder| parsed.key().starts_with(folder));
                if !readable {
                    let shared = scope
                        .shared_assets_prefix
                        .as_deref()
                        .map(|s| format!(" or the shared assets `{s}`"))
                        .unwrap_or_default();
                    problems.add(
                        path,
                        format!("`{uri}` is not one of your assets (`{own}`{shared}): upload it with POST /uploads kind `asset`"),
                    );
                }
            }
        }
        if let Ok(output) = render_uri(&self.output.uri) {
            if !in_bucket(&output) {
                problems.add("output.uri".into(), bucket_problem(&self.output.uri));
            } else if let Some(owner) = owner {
                let expected = owned_output_key(&scope.key_prefix, owner, &self.render_id);
                if output.key() != expected {
                    problems.add(
                        "output.uri".into(),
                        format!(
                            "`{}` is chosen by the server: it must be `{expected}` in the bucket",
                            self.output.uri
                        ),
                    );
                }
            }
        }
        if let Some(thumbnails) = &self.output.thumbnails
            && let Ok(folder) = render_uri(&thumbnails.uri)
        {
            if !in_bucket(&folder) {
                problems.add(
                    "output.thumbnails.uri".into(),
                    bucket_problem(&thumbnails.uri),
                );
            } else if let Some(owner) = owner {
                let expected = owned_thumbnails_key(&scope.key_prefix, owner, &self.render_id);
                if folder.key() != expected {
                    problems.add(
                        "output.thumbnails.uri".into(),
                        format!(
                            "`{}` is chosen by the server: it must be `{expected}` in the bucket",
                            thumbnails.uri
                        ),
                    );
                }
            }
        }
        if let Renderer::Lambda(arn) = &self.renderer
            && !scope.renderer_arns.iter().any(|allowed| allowed == arn)
        {
            problems.add(
                "renderer.lambda".into(),
                format!("`{arn}` is not an allowed renderer (RENDERER_ARNS)"),
            );
        }
        if problems.0.is_empty() {
            Ok(())
        } else {
            Err(RenderError::Invalid(problems.0))
        }
    }

    /// The folder of the work files of this request's render by `execution` (the state machine's execution name).
    pub fn work_folder(&self, execution: &str) -> Result<WorkFolder, RenderError> {
        let invalid = |e: S3UriError| {
            RenderError::Invalid(vec![Problem {
                path: "output.uri".into(),
                message: e.to_string(),
            }])
        };
        let output = S3Uri::parse_str(&self.output.uri).map_err(invalid)?;
        let folder = output
            .key()
            .rsplit_once('/')
            .map_or("", |(folder, _)| folder);
        let folder = if folder.is_empty() {
            String::new()
        } else {
            format!("{folder}/")
        };
        let key = format!("{folder}{WORK_DIR}{}/", owner_segment(execution));
        // Checked once here with the longest name written under it, so `chunk` and `file` cannot fail.
        S3Uri::new(output.bucket(), format!("{key}chunks/00000.mp4")).map_err(invalid)?;
        Ok(WorkFolder {
            bucket: output.bucket().to_owned(),
            key,
        })
    }
}

/// The folder of one execution's work files: `{output folder}work/{execution}/` (the execution name as one key
/// segment, escaped like an owner). An execution name is unique among a state machine's running executions, so
/// two renders running at once never share their chunks, even with one output URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkFolder {
    bucket: String,
    key: String,
}

impl WorkFolder {
    /// The folder itself, `s3://bucket/.../work/{execution}/`.
    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// Where chunk `index` is rendered: `chunks/{index:05}.mp4` in the folder.
    pub fn chunk(&self, index: u32) -> S3Uri {
        self.file(&format!("chunks/{index:05}.mp4"))
    }

    /// `chunks`, each with where it is rendered ([`WorkFolder::chunk`]): the Map's items.
    pub fn planned(&self, chunks: &[Chunk]) -> Vec<PlannedChunk> {
        chunks
            .iter()
            .map(|c| PlannedChunk {
                index: c.index,
                start_frame: c.start_frame,
                end_frame: c.end_frame,
                output_uri: self.chunk(c.index).to_string(),
            })
            .collect()
    }

    /// A work file of the folder (`soundtrack.m4a`, `request.json`, `media.json`).
    pub fn file(&self, name: &str) -> S3Uri {
        // The folder was checked with a longer name than any caller's (`chunks/00000.mp4`, 16 bytes); a chunk index
        // above 99999 is one byte longer, far within S3's 1024.
        S3Uri::new(&self.bucket, format!("{}{name}", self.key))
            .unwrap_or_else(|e| unreachable!("work file names are short: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::example_with;
    use serde_json::json;

    const OWNER: &str = "jwt:user-1";

    fn scope() -> RenderScope {
        RenderScope {
            bucket: Some("media".into()),
            key_prefix: "videos/".into(),
            shared_assets_prefix: Some("videos/shared/".into()),
            renderer_arns: vec!["arn:aws:lambda:us-east-1:123456789012:function:ok".into()],
            export_renderer: None,
        }
    }

    /// The example request made `OWNER`'s: its assets and its render folder.
    fn owned(edit: impl FnOnce(&mut serde_json::Value)) -> RenderRequest {
        let value = example_with(|v| {
            let assets = "s3://media/videos/assets/jwt%3Auser-1";
            v["output"]["uri"] =
                "s3://media/videos/renders/jwt%3Auser-1/promo-42/output.mp4".into();
            v["scenes"][0]["image"] = format!("{assets}/a1/title.png").into();
            v["scenes"][1]["video"] = format!("{assets}/a2/demo.mp4").into();
            v["scenes"][1]["overlay"]["image"] = "s3://media/videos/shared/product.png".into();
            v["soundtrack"]["voiceover"] = format!("{assets}/a3/vo.mp3").into();
            v["soundtrack"]["music"] = "s3://media/videos/shared/bed.mp3".into();
            edit(v);
        });
        RenderRequest::from_json(&value.to_string()).unwrap()
    }

    fn problems(request: &RenderRequest, owner: Option<&str>) -> Vec<String> {
        match request.confine(&scope(), owner) {
            Ok(()) => Vec::new(),
            Err(RenderError::Invalid(problems)) => {
                problems.iter().map(Problem::to_string).collect()
            }
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn own_and_shared_assets_into_the_own_render_folder_are_confined() {
        assert_eq!(problems(&owned(|_| {}), Some(OWNER)), Vec::<String>::new());
        assert_eq!(
            owned_output_key("videos/", OWNER, "promo-42"),
            "videos/renders/jwt%3Auser-1/promo-42/output.mp4"
        );
    }

    #[test]
    fn every_source_outside_the_callers_space_is_named() {
        let request = owned(|v| {
            v["scenes"][0]["image"] = "s3://media/videos/assets/jwt%3Auser-2/a1/title.png".into();
            v["scenes"][1]["video"] =
                "s3://other-bucket/videos/assets/jwt%3Auser-1/demo.mp4".into();
            v["scenes"][1]["overlay"]["image"] = "s3://media/videos/sharedx/product.png".into();
            v["soundtrack"]["music"] = "s3://media/videos/renders/jwt%3Auser-2/r/output.png".into();
        });
        let found = problems(&request, Some(OWNER));
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(
            found[0].starts_with("scenes[0].image: ")
                && found[0].contains("not one of your assets")
        );
        assert!(
            found[1].starts_with("scenes[1].video: ")
                && found[1].contains("not in the bucket `media`")
        );
        assert!(found[2].starts_with("scenes[1].overlay.image: "));
        assert!(found[3].starts_with("soundtrack.music: "));
    }

    #[test]
    fn an_output_of_the_callers_choosing_is_refused() {
        for uri in [
            "s3://media/videos/renders/jwt%3Auser-1/other-render/output.mp4",
            "s3://media/videos/renders/jwt%3Auser-2/promo-42/output.mp4",
            "s3://media/videos/stream-1_composited.mp4",
            "s3://other-bucket/videos/renders/jwt%3Auser-1/promo-42/output.mp4",
        ] {
            let found = problems(&owned(|v| v["output"]["uri"] = uri.into()), Some(OWNER));
            assert_eq!(found.len(), 1, "{uri}: {found:?}");
            assert!(found[0].starts_with("output.uri: "), "{found:?}");
        }
    }

    #[test]
    fn thumbnails_go_only_to_the_callers_render_folder_and_an_operators_anywhere_in_the_bucket() {
        let with =
            |uri: &str| owned(|v| v["output"]["thumbnails"] = json!({"uri": uri, "count": 3}));
        let own = "s3://media/videos/renders/jwt%3Auser-1/promo-42/thumbnails/";
        assert_eq!(
            owned_thumbnails_key("videos/", OWNER, "promo-42"),
            own.trim_start_matches("s3://media/")
        );
        assert_eq!(problems(&with(own), Some(OWNER)), Vec::<String>::new());
        for uri in [
            "s3://media/videos/renders/jwt%3Auser-2/promo-42/thumbnails/",
            "s3://media/videos/renders/jwt%3Auser-1/promo-42/",
            "s3://media/elsewhere/",
            "s3://other-bucket/videos/renders/jwt%3Auser-1/promo-42/thumbnails/",
        ] {
            let found = problems(&with(uri), Some(OWNER));
            assert_eq!(found.len(), 1, "{uri}: {found:?}");
            assert!(found[0].starts_with("output.thumbnails.uri: "), "{found:?}");
        }
        assert_eq!(
            problems(&with("s3://media/elsewhere/"), None),
            Vec::<String>::new()
        );
        assert_eq!(problems(&with("s3://other-bucket/t/"), None).len(), 1);
    }

    #[test]
    fn an_operators_render_keeps_to_the_bucket_only() {
        let request = owned(|v| {
            v["scenes"][0]["image"] = "s3://media/anywhere/title.png".into();
            v["output"]["uri"] = "s3://media/anywhere/promo.mp4".into();
        });
        assert_eq!(problems(&request, None), Vec::<String>::new());
        let elsewhere = owned(|v| v["output"]["uri"] = "s3://other-bucket/promo.mp4".into());
        assert_eq!(problems(&elsewhere, None).len(), 1);
        let any_bucket = RenderScope {
            bucket: None,
            ..scope()
        };
        assert_eq!(elsewhere.confine(&any_bucket, None), Ok(()));
    }

    #[test]
    fn only_listed_renderers_are_allowed() {
        let listed = owned(|v| {
            v["renderer"] =
                serde_json::json!({"lambda": "arn:aws:lambda:us-east-1:123456789012:function:ok"})
        });
        assert_eq!(problems(&listed, Some(OWNER)), Vec::<String>::new());
        let other = owned(|v| {
            v["renderer"] =
                serde_json::json!({"lambda": "arn:aws:lambda:us-east-1:123456789012:function:evil"})
        });
        let found = problems(&other, None);
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("renderer.lambda: ") && found[0].contains("RENDERER_ARNS"));
    }

    #[test]
    fn the_work_folder_is_the_executions_own_beside_the_output() {
        let request = owned(|_| {});
        let work = request.work_folder("exec-1").unwrap();
        assert_eq!(
            work.chunk(7).to_string(),
            "s3://media/videos/renders/jwt%3Auser-1/promo-42/work/exec-1/chunks/00007.mp4"
        );
        assert_eq!(
            work.file("media.json").to_string(),
            "s3://media/videos/renders/jwt%3Auser-1/promo-42/work/exec-1/media.json"
        );
        // Another execution with the same output never shares a file; a name is one escaped segment.
        assert_ne!(request.work_folder("exec-2").unwrap(), work);
        let odd = request.work_folder("../x").unwrap();
        assert!(odd.uri().ends_with("/work/%2E.%2Fx/"), "{}", odd.uri());
        let at_root = owned(|v| v["output"]["uri"] = "s3://media/promo.mp4".into());
        assert_eq!(
            at_root.work_folder("e").unwrap().uri(),
            "s3://media/work/e/"
        );
    }

    #[test]
    fn the_scope_is_read_from_the_environment() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            Vars::new(move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            })
        };
        let read = RenderScope::from_vars(&vars(&[
            ("BUCKET", "media"),
            ("KEY_PREFIX", "videos/"),
            ("SHARED_ASSETS_PREFIX", "videos/shared/"),
            (
                "RENDERER_ARNS",
                "arn:aws:lambda:us-east-1:123456789012:function:ok, ",
            ),
        ]));
        assert_eq!(read, Ok(scope()));
        assert_eq!(
            RenderScope::from_vars(&vars(&[])).unwrap_err().name,
            "BUCKET"
        );
        let bad = vars(&[("BUCKET", "media"), ("SHARED_ASSETS_PREFIX", "shared")]);
        assert_eq!(
            RenderScope::from_vars(&bad).unwrap_err().name,
            "SHARED_ASSETS_PREFIX"
        );
        assert_eq!(scope().export_renderer(), Renderer::MediaConvert);
        const OK: &str = "arn:aws:lambda:us-east-1:123456789012:function:ok";
        let exports = RenderScope::from_vars(&vars(&[
            ("BUCKET", "media"),
            ("RENDERER_ARNS", OK),
            ("EXPORT_RENDERER_ARN", OK),
        ]))
        .unwrap();
        assert_eq!(exports.export_renderer(), Renderer::Lambda(OK.into()));
        let unlisted = vars(&[("BUCKET", "media"), ("EXPORT_RENDERER_ARN", OK)]);
        assert_eq!(
            RenderScope::from_vars(&unlisted).unwrap_err().name,
            "EXPORT_RENDERER_ARN"
        );
    }

    #[test]
    fn a_shared_prefix_must_be_a_folder_and_not_the_bucket() {
        assert_eq!(scope().check(), Ok(()));
        for shared in ["", "shared", "/shared/"] {
            let bad = RenderScope {
                shared_assets_prefix: Some(shared.into()),
                ..scope()
            };
            assert_eq!(
                bad.check().unwrap_err().0,
                "SHARED_ASSETS_PREFIX",
                "{shared:?}"
            );
        }
    }
}
