// The AddPipe survey client's presign Lambda (the user's seed 000, "Step 1.4: Add Presigned URL Endpoint"), copied
// verbatim below this header: the Node.js 'aws-sdk' v2 handler that vidpipe-presign's POST /presigned-url replaces.
// scripts/bench-coldstart.sh runs it in bootstrap.js, with aws-sdk installed from npm at the version of package.json.

// Lambda function: getPresignedUrl
const AWS = require('aws-sdk');
const s3 = new AWS.S3();

exports.handler = async (event) => {
    const { filename } = JSON.parse(event.body);
    
    const params = {
        Bucket: 'com.knit.pipe-recorder-videos',
        Key: filename,
        Expires: 3600,  // 1 hour
        ContentType: 'video/webm'
    };
    
    const url = await s3.getSignedUrlPromise('putObject', params);
    
    return {
        statusCode: 200,
        headers: {
            'Access-Control-Allow-Origin': '*',
            'Access-Control-Allow-Headers': 'Content-Type'
        },
        body: JSON.stringify({ url })
    };
};
