// The AddPipe survey client's `getPresignedUrl` (the user's seed 000, "Step 1.4: Add Presigned URL Endpoint", the
// client code after "Deploy this behind API Gateway"), copied verbatim. Everything below this header is byte for byte
// the seed's code, including its placeholder API URL: as a deployment points that URL at its API Gateway stage, the
// server of this file replaces the placeholder's base (the part before /presigned-url) with the API's base;
// tools/test_survey_client.py serves it with the presign function's URL under `cargo lambda watch`. That URL is the
// only difference from the seed at run time.

async function getPresignedUrl(filename) {
    const response = await fetch('https://your-api.execute-api.us-east-1.amazonaws.com/prod/presigned-url', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ filename })
    });
    const data = await response.json();
    return data.url;
}
