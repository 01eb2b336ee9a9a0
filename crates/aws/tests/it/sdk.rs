//! The functions' SDK configuration (`vidpipe_aws::sdk`) against a real moto server: its HTTP client, which builds
//! its connectors on first use, carries requests of two clients. Building the connector parses the compiled-in
//! root certificates (the SDK panics on one it cannot parse), though moto is reached over plain HTTP.

use vidpipe_testkit::{moto::MotoServer, unique_name};

#[tokio::test]
async fn clients_of_the_functions_configuration_reach_dynamodb_and_s3() {
    let sdk = vidpipe_aws::sdk::config_loader()
        .unwrap()
        .endpoint_url(MotoServer::shared().endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await;
    let s3 = vidpipe_aws::s3::client(&sdk, true);
    let bucket = unique_name("sdk");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let listed = s3.list_buckets().send().await.unwrap();
    assert!(
        listed
            .buckets()
            .iter()
            .any(|b| b.name() == Some(bucket.as_str()))
    );
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = unique_name("sdk");
    vidpipe_aws::provision::create_table(&ddb, &table)
        .await
        .unwrap();
    let tables = ddb.list_tables().send().await.unwrap();
    assert!(tables.table_names().contains(&table), "{tables:?}");
}
