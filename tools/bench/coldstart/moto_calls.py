"""How long moto takes to answer vidpipe-presign's calls for the survey event, without the SDK.

Sends requests of the same shape as the handler's (moto does not check signatures), each on a new connection as the
SDK opens them against moto, to a moto server started as coldstart.py starts it, and prints the median and the
fastest of each: the two calls of a new stream's first signing (the claim's conditional PutItem, the recording's
PutItem), and the two a signing of a stream that has an item adds or changes (the key's S3 HEAD, the claim as an
UpdateItem).
    .venv/bin/python tools/bench/coldstart/moto_calls.py [--runs N] --work FOLDER
"""

import argparse
import http.client
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

from coldstart import start_moto

AUTH = "AWS4-HMAC-SHA256 Credential=testing/20261207/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=0"


def timed(port, method, path, service, target=None, body=None):
    headers = {"Authorization": AUTH.format(service)}
    if target:
        headers |= {"X-Amz-Target": f"DynamoDB_20120810.{target}", "Content-Type": "application/x-amz-json-1.0"}
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request(method, path, body=json.dumps(body) if body else None, headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    if response.status not in (200, 404):
        raise SystemExit(f"{method} {target or path}: {response.status} {data!r}")
    return (time.perf_counter() - start) * 1000


def claim_new(stream):
    return {"TableName": "vidpipe-bench", "ConditionExpression": "attribute_not_exists(pk)",
            "Item": {"pk": {"S": f"STREAM#{stream}"}, "sk": {"S": "STREAM"}, "owner": {"S": "jwt:user-123"},
                     "stream": {"S": stream}, "expires_at": {"N": "1799244714"}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}


def claim_unowned(stream):
    return {"TableName": "vidpipe-bench", "Key": {"pk": {"S": f"STREAM#{stream}"}, "sk": {"S": "STREAM"}},
            "UpdateExpression": "SET #owner = :owner, #stream = :stream, #ttl = if_not_exists(#ttl, :ttl)",
            "ConditionExpression": "attribute_not_exists(#owner)",
            "ExpressionAttributeNames": {"#owner": "owner", "#stream": "stream", "#ttl": "expires_at"},
            "ExpressionAttributeValues": {":stream": {"S": stream}, ":ttl": {"N": "1799244714"},
                                          ":owner": {"S": "jwt:user-123"}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}


def recording(stream):
    rid = str(uuid.uuid4())
    item = {"pk": f"REC#{rid}", "sk": "REC", "gsi1pk": "OWNER#jwt:user-123", "gsi1sk": f"1796652714354#{rid}",
            "entity": "recording", "recording_id": rid, "kind": "camera", "status": "uploading",
            "owner": "jwt:user-123", "s3_key": f"videos/{stream}_camera.webm", "stream_name": stream,
            "content_type": "video/webm"}
    return {"TableName": "vidpipe-bench", "ConditionExpression": "attribute_not_exists(pk)",
            "Item": {**{k: {"S": v} for k, v in item.items()},
                     **{k: {"N": v} for k, v in {"created_at": "1796652714354", "expires_at": "1799244714",
                                                 "size": "0"}.items()}}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--work", required=True, type=Path, help="folder for moto's log")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    times = {"PutItem (claim_owner, ClaimIf::New)": [], "PutItem (recordings.put_new)": [],
             "S3 HEAD (refuse_taken_key)": [], "UpdateItem (claim_owner, ClaimIf::Unowned)": []}
    with open(args.work / "moto-calls.log", "wb") as log:
        moto, endpoint = start_moto(Path(sys.executable).parent, log)
        port = int(endpoint.rsplit(":", 1)[1])
        try:
            for _ in range(args.runs):
                stream = f"bench-{uuid.uuid4().hex[:12]}"
                new, put, head, update = times.values()
                new.append(timed(port, "POST", "/", "dynamodb", "PutItem", claim_new(stream)))
                put.append(timed(port, "POST", "/", "dynamodb", "PutItem", recording(stream)))
                other = f"bench-{uuid.uuid4().hex[:12]}"
                head.append(timed(port, "HEAD", f"/vidpipe-bench/videos/{other}_camera.webm", "s3"))
                update.append(timed(port, "POST", "/", "dynamodb", "UpdateItem", claim_unowned(other)))
        finally:
            moto.kill()
            moto.wait()
    print("| call | ms: median (fastest) |")
    print("|---|---|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.2f} ({min(values):.2f}) |")


if __name__ == "__main__":
    main()
