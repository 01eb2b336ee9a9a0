//! The AWS SDK configuration every function loads once per cold start.
//!
//! The SDK's default HTTPS client (rustls on aws-lc-rs) builds a TLS configuration, root store included, each time
//! an SDK client is created, to check it early, and throws it away; the one it uses is built again on the first
//! request. vidpipe-presign created five clients (S3, DynamoDB, Step Functions, MediaConvert, and STS inside the
//! default credential chain), so it built six root stores of about 150 certificates each before answering: a third
//! of its start-up CPU, profiled on the development machine (docs/benchmarks.md, "Cold start: the SDK client's
//! start-up work cut"). The client built here is the same one, without the early check: each TLS configuration is
//! built once, when first used.
//!
//! Its trust store is the Mozilla root certificates compiled into the binary (webpki-root-certs, the set rustls
//! recommends), not the system's: the default reads the certificate bundle and every file of the certificate folder
//! and parses them (on the development machine, Debian, 147 files besides the bundle: 3 to 6 ms of the first
//! request once the early checks were gone). A function then trusts the same roots on every Lambda image.
//!
//! Credentials in the environment (Lambda's) are read directly, without building the default chain's other
//! providers ([`with_environment_credentials`]).

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_http_client::Builder;
use aws_smithy_http_client::HttpClientError;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use base64::Engine;

/// The configuration of a function: region, credentials and endpoints from the environment (as
/// `aws_config::load_defaults`), with [`config_loader`]'s HTTPS client.
pub async fn load() -> Result<SdkConfig, HttpClientError> {
    let is_set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    Ok(with_environment_credentials(config_loader()?, is_set)
        .load()
        .await)
}

/// The environment's credentials, read directly, when it holds them: the first provider of the default chain, and
/// where Lambda puts the execution role's. The chain would give the same credentials, but building it creates its
/// other providers (profile, web identity with its STS client, SSO, ECS, instance metadata) first: 0.43 ms of
/// vidpipe-presign's 0.84 ms configuration load, measured on the development machine. Without them (a developer's
/// profile, a container role), the default chain.
fn with_environment_credentials(
    loader: ConfigLoader,
    is_set: impl Fn(&str) -> bool,
) -> ConfigLoader {
    if is_set("AWS_ACCESS_KEY_ID") && is_set("AWS_SECRET_ACCESS_KEY") {
        loader.credentials_provider(EnvironmentVariableCredentialsProvider::new())
    } else {
        loader
    }
}

/// `aws_config::defaults` with the HTTPS client that trusts the compiled-in roots and builds its TLS configuration
/// on first use; a caller may set more (a test's endpoint and credentials) before loading it.
pub fn config_loader() -> Result<ConfigLoader, HttpClientError> {
    let trust = TrustStore::empty().with_pem_certificate(root_certificates_pem());
    let client = Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(TlsContext::builder().with_trust_store(trust).build()?)
        .build_https();
    Ok(aws_config::defaults(BehaviorVersion::latest())
        .http_client(SharedHttpClient::new(BuiltOnFirstUse(client))))
}

/// webpki-root-certs' certificates as one PEM bundle: the SDK's trust store takes PEM only. Written into one
/// buffer of its final size (about 230 kB), not grown piece by piece.
fn root_certificates_pem() -> String {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----\n";
    const END: &str = "\n-----END CERTIFICATE-----\n";
    let base64 = base64::engine::general_purpose::STANDARD;
    let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS;
    let size = roots
        .iter()
        .map(|der| BEGIN.len() + der.len().div_ceil(3) * 4 + END.len())
        .sum();
    let mut bundle = String::with_capacity(size);
    for der in roots {
        bundle.push_str(BEGIN);
        base64.encode_string(der, &mut bundle);
        bundle.push_str(END);
    }
    bundle
}

/// An HTTP client whose connectors (and their TLS configurations) are built only when a request needs one: the
/// SDK's own client caches the connector it uses, per timeout settings, but also builds one more for every SDK
/// client created (`validate_base_client_config`), which this one does not ask it to.
#[derive(Debug)]
struct BuiltOnFirstUse(SharedHttpClient);

impl HttpClient for BuiltOnFirstUse {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn validate_final_config(
        &self,
        components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.validate_final_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_smithy_runtime_api::client::http::http_client_fn;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
    use base64::Engine;

    use super::*;

    /// A client that counts the SDK's early checks, each of which builds a connector in the SDK's own client.
    #[derive(Debug, Clone, Default)]
    struct CountsChecks(Arc<AtomicUsize>);

    impl HttpClient for CountsChecks {
        fn http_connector(
            &self,
            settings: &HttpConnectorSettings,
            components: &RuntimeComponents,
        ) -> SharedHttpConnector {
            http_client_fn(|_, _| unreachable!("no request is sent"))
                .http_connector(settings, components)
        }

        fn validate_base_client_config(
            &self,
            _: &RuntimeComponentsBuilder,
            _: &ConfigBag,
        ) -> Result<(), BoxError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    fn new_clients(http_client: SharedHttpClient) {
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .http_client(http_client)
            .build();
        aws_sdk_dynamodb::Client::new(&sdk);
        crate::s3::client(&sdk, true);
    }

    #[test]
    fn creating_sdk_clients_builds_no_connector_through_the_wrapper_and_one_each_without_it() {
        let checks = CountsChecks::default();
        new_clients(SharedHttpClient::new(checks.clone()));
        assert_eq!(
            checks.0.load(Ordering::SeqCst),
            2,
            "the SDK checks every client it creates"
        );
        let checks = CountsChecks::default();
        new_clients(SharedHttpClient::new(BuiltOnFirstUse(
            SharedHttpClient::new(checks.clone()),
        )));
        assert_eq!(checks.0.load(Ordering::SeqCst), 0);
    }

    /// Which credentials provider `is_set` leads the loaded configuration to.
    async fn credentials_provider(is_set: impl Fn(&str) -> bool) -> &'static str {
        let sdk = with_environment_credentials(config_loader().expect("client"), is_set)
            .region(aws_config::Region::new("us-east-1"))
            .load()
            .await;
        let provider = format!("{:?}", sdk.credentials_provider().expect("credentials"));
        [
            "EnvironmentVariableCredentialsProvider",
            "DefaultCredentialsChain",
        ]
        .into_iter()
        .find(|name| provider.contains(name))
        .unwrap_or_else(|| panic!("an unexpected provider: {provider}"))
    }

    #[tokio::test]
    async fn credentials_in_the_environment_skip_building_the_default_chain() {
        let both = |name: &str| matches!(name, "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY");
        assert_eq!(
            credentials_provider(both).await,
            "EnvironmentVariableCredentialsProvider"
        );
        for is_set in [
            (|name: &str| name == "AWS_ACCESS_KEY_ID") as fn(&str) -> bool,
            |name: &str| name == "AWS_SECRET_ACCESS_KEY",
            |_: &str| false,
        ] {
            assert_eq!(
                credentials_provider(is_set).await,
                "DefaultCredentialsChain"
            );
        }
    }

    #[test]
    fn the_bundle_holds_every_compiled_in_root_once_unchanged() {
        let base64 = base64::engine::general_purpose::STANDARD;
        let bundle = root_certificates_pem();
        let decoded: Vec<Vec<u8>> = bundle
            .split("-----END CERTIFICATE-----\n")
            .filter(|block| !block.is_empty())
            .map(|block| {
                let body = block
                    .strip_prefix("-----BEGIN CERTIFICATE-----\n")
                    .expect("each block opens with its marker");
                base64.decode(body.trim_end()).expect("base64")
            })
            .collect();
        let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS;
        assert!(roots.len() > 100, "{} roots", roots.len());
        assert_eq!(decoded.len(), roots.len());
        assert_eq!(bundle.capacity(), bundle.len(), "sized once");
        for (pem, der) in decoded.iter().zip(roots) {
            assert_eq!(pem.as_slice(), der.as_ref());
        }
    }
}
