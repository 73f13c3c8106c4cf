"""AWS calls of the boot scripts, with the Python 3 standard library only.

cloud-init is itself Python, so python3 is on every image that runs user
data: nodes need no AWS CLI, and nothing is installed at boot. Credentials
come from the instance profile through IMDSv2; requests are signed with
Signature Version 4 ("Create a signed AWS API request", AWS docs).

Usage: awsapi.py COMMAND ARGS...
  imds PATH                      print an instance metadata value
  ssm-get NAME                   print a parameter's value (decrypted)
  ssm-put NAME TYPE              store $AWSAPI_VALUE in a parameter (overwrite)
  ssm-create NAME TYPE           store $AWSAPI_VALUE in a new parameter, atomically:
                                 exit 5 when it exists already
  complete-lifecycle GROUP HOOK RESULT
                                 complete this instance's lifecycle action
  heartbeat GROUP HOOK           record a heartbeat of this instance's lifecycle action
  protect GROUP true|false       set this instance's scale-in protection
  set-health Healthy|Unhealthy   set this instance's health in its group (Unhealthy:
                                 the group replaces it), respecting the grace period
  leave                          terminate this instance through its Auto Scaling group,
                                 which replaces it (the desired capacity is kept) and
                                 deregisters it from its target groups at once
  put-metrics NAMESPACE GROUP NAME=VALUE...
                                 put high-resolution Count metrics of the group
  eip-claim TAGKEY TAGVALUE      associate with this instance an Elastic IP tagged
                                 TAGKEY=TAGVALUE (the one it holds already, else
                                 a free one) and print its public address; exit
                                 3 when none is free

Exit status:
  0 done
  2 a transient failure worth retrying (throttling, a server error, no network)
  3 refused (not found, invalid)
  4 the metadata path does not exist
  5 the parameter exists already
  6 the instance's credentials were refused or are not in the metadata:
    AccessDenied, unknown keys (InvalidClientTokenId,
    UnrecognizedClientException), expired keys, or no role under
    iam/security-credentials/. IAM is eventually consistent ("Changes that
    I make are not always immediately visible", IAM User Guide): a new
    instance sees these for its first seconds, so callers retry them for a
    bounded time at boot and take them as final once the credentials worked.
  7 no open lifecycle action for this instance ("No active Lifecycle Action
    found"): Auto Scaling opens it seconds after the state change
    (aws-samples/amazon-ec2-auto-scaling-group-examples issues 3 and 5), so
    callers retry it for a bounded time before they conclude.
Secret values never travel in arguments.
"""

import datetime
import hashlib
import hmac
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from xml.etree import ElementTree

IMDS = os.environ["AWSAPI_IMDS"]
REGION = os.environ["AWSAPI_REGION"]
ENDPOINTS = {"ssm": os.environ["AWSAPI_SSM"], "autoscaling": os.environ["AWSAPI_AUTOSCALING"],
             "monitoring": os.environ.get("AWSAPI_MONITORING", ""), "ec2": os.environ.get("AWSAPI_EC2", "")}
TIMEOUT = 10
RETRYABLE_CODES = {
    "ThrottlingException", "Throttling", "TooManyUpdates", "InternalServerError",
    "InternalFailure", "ServiceUnavailable", "RequestTimeout", "RequestLimitExceeded",
}
CREDENTIAL_CODES = {
    "AccessDenied", "AccessDeniedException", "InvalidClientTokenId", "UnrecognizedClientException",
    "ExpiredToken", "ExpiredTokenException",
}

# The metadata service must be reached directly, never through a proxy.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Failure(Exception):
    """An AWS call that did not succeed, with the exit status to report."""

    def __init__(self, code, message, status):
        super().__init__(f"{code}: {message}")
        self.status = status


def metadata_token():
    req = urllib.request.Request(
        IMDS + "/latest/api/token", method="PUT",
        headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"})
    try:
        with DIRECT.open(req, timeout=TIMEOUT) as resp:
            return resp.read().decode()
    except (urllib.error.URLError, OSError) as err:
        raise Failure("MetadataUnavailable", str(err), 2) from err


def metadata(path, token=None):
    req = urllib.request.Request(
        IMDS + "/latest/" + path,
        headers={"X-aws-ec2-metadata-token": token or metadata_token()})
    try:
        with DIRECT.open(req, timeout=TIMEOUT) as resp:
            return resp.read().decode()
    except urllib.error.HTTPError as err:
        if err.code == 404:
            raise Failure("NotFound", path, 4) from err
        raise Failure("MetadataError", f"HTTP {err.code} for {path}", 2) from err
    except (urllib.error.URLError, OSError) as err:
        raise Failure("MetadataUnavailable", str(err), 2) from err


def credentials():
    token = metadata_token()
    try:
        role = metadata("meta-data/iam/security-credentials/", token).split()[0]
        creds = json.loads(metadata("meta-data/iam/security-credentials/" + role, token))
    except Failure as err:
        if err.status == 4:
            raise Failure("NoCredentials", "no instance profile credentials in the metadata (yet)", 6) from err
        raise
    return creds["AccessKeyId"], creds["SecretAccessKey"], creds["Token"]


def hmac_sha256(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def call(service, body, content_type, target=None):
    """Sends a signed POST to the service's endpoint and returns the body."""
    url = ENDPOINTS[service]
    parts = urllib.parse.urlsplit(url)
    key, secret, session = credentials()
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    headers = {
        "content-type": content_type,
        "host": parts.netloc,
        "x-amz-date": stamp,
        "x-amz-security-token": session,
    }
    if target:
        headers["x-amz-target"] = target
    names = sorted(headers)
    signed_headers = ";".join(names)
    canonical = "\n".join([
        "POST", parts.path or "/", "",
        "".join(f"{name}:{headers[name].strip()}\n" for name in names),
        signed_headers, hashlib.sha256(body).hexdigest(),
    ])
    scope = f"{stamp[:8]}/{REGION}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    signing_key = ("AWS4" + secret).encode()
    for part in (stamp[:8], REGION, service, "aws4_request"):
        signing_key = hmac_sha256(signing_key, part)
    signature = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={key}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}")
    del headers["host"]  # urllib sends the same value itself
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            return resp.read()
    except urllib.error.HTTPError as err:
        raise failure(err.code, err.read()) from err
    except (urllib.error.URLError, OSError) as err:
        raise Failure("NetworkError", str(err), 2) from err


def failure(http_status, body):
    """Turns an AWS error answer (JSON or XML) into a Failure."""
    text = body.decode(errors="replace")
    code, message = f"HTTP{http_status}", text[:200]
    try:
        doc = json.loads(text)
        code = doc.get("__type", code).split("#")[-1]
        message = doc.get("message") or doc.get("Message") or ""
    except ValueError:
        found = re.search(r"<Code>([^<]*)</Code>", text)
        if found:
            code = found.group(1)
            found = re.search(r"<Message>([^<]*)</Message>", text)
            message = found.group(1) if found else ""
    if code in RETRYABLE_CODES or http_status >= 500:
        return Failure(code, message, 2)
    if code in CREDENTIAL_CODES:
        return Failure(code, message, 6)
    if code == "ValidationError" and message.startswith("No active Lifecycle Action found"):
        return Failure(code, message, 7)
    return Failure(code, message, 3)


def ssm(operation, request):
    body = json.dumps(request).encode()
    return json.loads(call("ssm", body, "application/x-amz-json-1.1", "AmazonSSM." + operation))


FORM = "application/x-www-form-urlencoded; charset=utf-8"


def autoscaling(action, params):
    form = {"Action": action, "Version": "2011-01-01", **params}
    call("autoscaling", urllib.parse.urlencode(form).encode(), FORM)


def ec2(action, params):
    form = {"Action": action, "Version": "2016-11-15", **params}
    return call("ec2", urllib.parse.urlencode(form).encode(), FORM).decode()


def ec2_addresses(text):
    """The addresses of a DescribeAddresses answer, each as a dict of its
    scalar fields (publicIp, allocationId, instanceId, associationId)."""
    out = []
    for item in ElementTree.fromstring(text).iter():
        if item.tag.rsplit("}", 1)[-1] != "item" or item.find("{*}allocationId") is None:
            continue
        out.append({child.tag.rsplit("}", 1)[-1]: (child.text or "") for child in item if len(child) == 0})
    return out


def eip_claim(tag_key, tag_value):
    """Associates an Elastic IP of the tag with this instance, never taking
    one another instance holds (AllowReassociation false: of two nodes
    racing for one address, the second is refused and tries the next)."""
    instance = metadata("meta-data/instance-id")
    answer = ec2("DescribeAddresses", {"Filter.1.Name": "tag:" + tag_key, "Filter.1.Value.1": tag_value})
    addresses = sorted(ec2_addresses(answer), key=lambda a: a.get("publicIp", ""))
    for address in addresses:
        if address.get("instanceId") == instance:
            return address["publicIp"]
    for address in addresses:
        if address.get("associationId"):
            continue
        try:
            ec2("AssociateAddress", {"AllocationId": address["allocationId"], "InstanceId": instance,
                                     "AllowReassociation": "false"})
        except Failure as err:
            if err.status == 3:
                continue  # taken by another node meanwhile
            raise
        return address["publicIp"]
    raise Failure("NoFreeAddress", f"no free Elastic IP tagged {tag_key}={tag_value}", 3)


def main(argv):
    command, args = argv[0], argv[1:]
    if command == "imds" and len(args) == 1:
        sys.stdout.write(metadata(args[0]))
    elif command == "ssm-get" and len(args) == 1:
        answer = ssm("GetParameter", {"Name": args[0], "WithDecryption": True})
        sys.stdout.write(answer["Parameter"]["Value"])
    elif command in ("ssm-put", "ssm-create") and len(args) == 2:
        try:
            ssm("PutParameter", {"Name": args[0], "Value": os.environ["AWSAPI_VALUE"], "Type": args[1],
                                 "Overwrite": command == "ssm-put"})
        except Failure as err:
            if "ParameterAlreadyExists" in str(err):
                raise Failure("ParameterAlreadyExists", args[0], 5) from err
            raise
    elif command == "complete-lifecycle" and len(args) == 3:
        autoscaling("CompleteLifecycleAction", {
            "AutoScalingGroupName": args[0], "LifecycleHookName": args[1],
            "LifecycleActionResult": args[2], "InstanceId": metadata("meta-data/instance-id"),
        })
    elif command == "heartbeat" and len(args) == 2:
        autoscaling("RecordLifecycleActionHeartbeat", {
            "AutoScalingGroupName": args[0], "LifecycleHookName": args[1],
            "InstanceId": metadata("meta-data/instance-id"),
        })
    elif command == "protect" and len(args) == 2 and args[1] in ("true", "false"):
        autoscaling("SetInstanceProtection", {
            "AutoScalingGroupName": args[0], "ProtectedFromScaleIn": args[1],
            "InstanceIds.member.1": metadata("meta-data/instance-id"),
        })
    elif command == "set-health" and len(args) == 1 and args[0] in ("Healthy", "Unhealthy"):
        autoscaling("SetInstanceHealth", {
            "InstanceId": metadata("meta-data/instance-id"), "HealthStatus": args[0],
            "ShouldRespectGracePeriod": "true",
        })
    elif command == "leave" and not args:
        autoscaling("TerminateInstanceInAutoScalingGroup", {
            "InstanceId": metadata("meta-data/instance-id"), "ShouldDecrementDesiredCapacity": "false",
        })
    elif command == "put-metrics" and len(args) >= 3:
        form = {"Action": "PutMetricData", "Version": "2010-08-01", "Namespace": args[0]}
        for i, pair in enumerate(args[2:], 1):
            name, _, value = pair.partition("=")
            member = f"MetricData.member.{i}."
            form.update({
                member + "MetricName": name, member + "Value": str(float(value)), member + "Unit": "Count",
                member + "StorageResolution": "1",
                member + "Dimensions.member.1.Name": "AutoScalingGroupName",
                member + "Dimensions.member.1.Value": args[1],
            })
        call("monitoring", urllib.parse.urlencode(form).encode(), FORM)
    elif command == "eip-claim" and len(args) == 2:
        sys.stdout.write(eip_claim(args[0], args[1]))
    else:
        raise Failure("Usage", "see the header of awsapi.py", 3)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except Failure as err:
        print(f"awsapi: {err}", file=sys.stderr)
        sys.exit(err.status)
