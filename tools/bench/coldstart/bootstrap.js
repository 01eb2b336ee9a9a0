// A minimal Node.js custom runtime for Lambda: the Runtime API loop (next event, the handler, its response or
// error), for scripts/bench-coldstart.sh to start Node handlers the way it starts a Rust function's bootstrap.
// HANDLER_FILE names the module whose `handler` it runs.
const http = require('http');

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const { handler } = require(process.env.HANDLER_FILE);

function call(method, path, body) {
    return new Promise((resolve, reject) => {
        const request = http.request({ host, port, method, path: `/2018-06-01/runtime/${path}` }, (response) => {
            const chunks = [];
            response.on('data', (chunk) => chunks.push(chunk));
            response.on('end', () => resolve({ headers: response.headers, body: Buffer.concat(chunks).toString() }));
        });
        request.on('error', reject);
        request.end(body);
    });
}

(async () => {
    for (;;) {
        const next = await call('GET', 'invocation/next');
        const id = next.headers['lambda-runtime-aws-request-id'];
        try {
            const result = await handler(JSON.parse(next.body));
            await call('POST', `invocation/${id}/response`, JSON.stringify(result));
        } catch (error) {
            await call('POST', `invocation/${id}/error`,
                JSON.stringify({ errorType: error.name, errorMessage: error.message }));
        }
    }
})();
