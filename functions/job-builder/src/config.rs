//! The job-builder's configuration, from environment variables (documented, with defaults, in the README).

pub use vidpipe_core::config::ConfigError;
use vidpipe_core::config::Vars;
use vidpipe_core::job::JobContext;

/// Everything the job-builder needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `MEDIACONVERT_ROLE_ARN` (required) and `MEDIACONVERT_QUEUE_ARN` (unset: the Default queue): what every job
    /// built carries.
    pub job_context: JobContext,
    /// `S3_FORCE_PATH_STYLE` (`false`): path-style S3 addressing, for endpoints such as moto.
    pub s3_force_path_style: bool,
}

impl Config {
    /// Reads the configuration through `var` (`std::env::var` in `main`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars::new(var);
        Ok(Self {
            job_context: JobContext {
                role: vars.required("MEDIACONVERT_ROLE_ARN")?,
                queue: vars.optional("MEDIACONVERT_QUEUE_ARN"),
            },
            s3_force_path_style: vars.flag("S3_FORCE_PATH_STYLE")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_env(vidpipe_testkit::config::vars(pairs))
    }

    #[test]
    fn the_role_is_required_and_the_queue_optional() {
        assert_eq!(
            config(&[]).unwrap_err(),
            ConfigError::new("MEDIACONVERT_ROLE_ARN", "must be set")
        );
        let role = "arn:aws:iam::123456789012:role/vidpipe-mediaconvert";
        let config = config(&[
            ("MEDIACONVERT_ROLE_ARN", role),
            ("MEDIACONVERT_QUEUE_ARN", ""),
            ("S3_FORCE_PATH_STYLE", "true"),
        ])
        .unwrap();
        assert_eq!(
            config,
            Config {
                job_context: JobContext {
                    role: role.to_owned(),
                    queue: None,
                },
                s3_force_path_style: true,
            }
        );
    }
}
