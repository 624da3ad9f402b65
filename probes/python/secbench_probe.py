"""The secbench probe for Lambda's Python runtimes (`python3.13`, `python3.14`): the Rust probe's twin.

It reads the same probe configuration (the `SECBENCH_*` variables of
`record/src/probe_config.rs`), fetches the secret the same ways (plain-env, kms-env, ssm,
secrets-manager, the extension's HTTP API), with the caches Python functions use (none, an
in-process TTL, Powertools Parameters, AWS's `aws-secretsmanager-caching`), at INIT or in the
handler, and returns one record per invocation that validates against
`record/schema/probe-record.schema.json`. It never returns, logs or raises the value: only its
length and whether its SHA-256 is one of the expected digests.

The handler is `secbench_probe.handler`, started by the runtime interface client
(`awslambdaric`) as the managed runtime and AWS's base images start it.
"""

import os
import time

_MODULE_START_NS = time.perf_counter_ns()


def _process_age_ns():
    """Process start (the OS's start time, in clock ticks) to now, and its resolution."""
    try:
        with open("/proc/self/stat") as f:
            stat = f.read()
        ticks = int(stat[stat.rindex(")") + 2 :].split()[19])
        hz = os.sysconf("SC_CLK_TCK")
        resolution = 1_000_000_000 // hz
        return max(0, time.clock_gettime_ns(time.CLOCK_BOOTTIME) - ticks * resolution), resolution
    except (OSError, ValueError, IndexError, AttributeError):
        return None, None


# Taken first: the runtime's own start (interpreter, runtime interface client) up to here.
_PROCESS_AGE = _process_age_ns()

import base64  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import secrets as _random  # noqa: E402
import sys  # noqa: E402
import urllib.error  # noqa: E402
import urllib.parse  # noqa: E402
import urllib.request  # noqa: E402
from importlib import metadata  # noqa: E402

SCHEMA_VERSION = 5
# The Lambda runtimes this probe runs in; which one, Lambda says in AWS_EXECUTION_ENV
# (`AWS_Lambda_python3.14`; the local stage's start scripts set it as Lambda does).
RUNTIMES = ("python3.13", "python3.14")
PROBE_VERSION = "0.1.0"
MAX_FETCHES = 10_000
DEFAULT_AGENT_PORT = 2773
AGENT_TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
# Powertools' own default `max_age` (seconds), used when the plan sets none.
POWERTOOLS_DEFAULT_MAX_AGE_S = 5


def _max_concurrency():
    """AWS_LAMBDA_MAX_CONCURRENCY when above 1 (Lambda Managed Instances), else None."""
    try:
        n = int(os.environ.get("AWS_LAMBDA_MAX_CONCURRENCY", ""))
    except ValueError:
        return None
    return n if n > 1 else None


class ConfigError(Exception):
    """A variable that does not read: names the variable, never its value."""

    def __init__(self, var, reason):
        super().__init__(f"environment variable {var} is invalid: {reason}")


def _runtime():
    env = os.environ.get("AWS_EXECUTION_ENV", "")
    if not env.startswith("AWS_Lambda_"):
        return RUNTIMES[0]  # not in a managed runtime (a container, a test)
    name = env[len("AWS_Lambda_"):]
    if name not in RUNTIMES:
        raise ConfigError("AWS_EXECUTION_ENV", f"`{name}` is not one of {', '.join(RUNTIMES)}")
    return name


RUNTIME = _runtime()


class InvalidEvent(Exception):
    """An event the probe refuses: the function error `InvalidEvent`."""


class FetchError(Exception):
    """A failed fetch: its record class and the service's error code (never a message)."""

    def __init__(self, error_class, code=None, status=None):
        super().__init__(error_class)
        self.error_class = error_class
        self.code = code
        # What a cache with ignore_transient_errors serves its value through (error-classes.json).
        rule = _CLASSES["transient"]
        self.transient = error_class in rule["classes"] or (status is not None and status >= rule["http_status_from"])


def _error_classes():
    """`error-classes.json`: beside the module in a deployment package, one folder up here."""
    here = os.path.dirname(os.path.abspath(__file__))
    for path in (os.path.join(here, "error-classes.json"), os.path.join(here, "..", "error-classes.json")):
        if os.path.exists(path):
            with open(path) as f:
                return json.load(f)
    raise ConfigError("LAMBDA_TASK_ROOT", "error-classes.json is not in the package")


_CLASSES = _error_classes()
DEFAULT_MAX_STALE_S = _CLASSES["transient"]["default_max_stale_s"]


def classify_code(code):
    return _CLASSES["codes"].get(code, "other")


def classify_http(status, code):
    by_code = classify_code(code) if code else "other"
    if by_code != "other":
        return by_code
    return _CLASSES["http_statuses"].get(str(status), "other")


def classify(err):
    """Any exception of a fetch as a FetchError."""
    if isinstance(err, FetchError):
        return err
    try:
        from botocore import exceptions as bx
    except ImportError:  # a source without the SDK
        bx = None
    if bx is not None:
        if isinstance(err, bx.ClientError):
            code = err.response.get("Error", {}).get("Code")
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return FetchError(classify_code(code) if code else "other", code, status)
        if isinstance(err, (bx.ConnectTimeoutError, bx.ReadTimeoutError)):
            return FetchError("timeout")
        if isinstance(err, (bx.EndpointConnectionError, bx.ConnectionClosedError)):
            return FetchError("connect")
    # Powertools wraps the SDK's error in its own, with the SDK's as the cause.
    cause = getattr(err, "__cause__", None)
    if cause is not None and cause is not err:
        return classify(cause)
    return FetchError("other")


# --- the configuration -----------------------------------------------------------------


def _duration_s(text, var):
    """`5m`, `250ms`, `30s`, `1h` (the plan's durations) in seconds."""
    t = text.strip()
    for unit, scale in (("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if t.endswith(unit):
            number = t[: -len(unit)]
            try:
                value = float(number)
            except ValueError:
                break
            if value < 0:
                break
            return value * scale
    raise ConfigError(var, f"`{t}` is not a duration such as 250ms, 30s or 5m")


def _list(text, var):
    items = [s.strip() for s in text.split(",")]
    if any(not s for s in items):
        raise ConfigError(var, "an entry of the comma-separated list is empty")
    return items


def _digests(text, var):
    out = []
    for d in _list(text, var):
        if len(d) != 64:
            raise ConfigError(var, f"a SHA-256 is 64 hex digits, this is {len(d)} characters")
        try:
            out.append(bytes.fromhex(d))
        except ValueError:
            raise ConfigError(var, "not hex") from None
    return out


SOURCES = ("plain-env", "kms-env", "ssm", "secrets-manager", "agent-secrets-manager", "agent-ssm")
CACHES = ("none", "ttl", "aws-caching-library", "powertools")


class Settings:
    def __init__(self, env):
        def need(var, why):
            v = env.get(var)
            if not v:
                raise ConfigError(var, f"not set ({why})")
            return v

        self.source = env.get("SECBENCH_SOURCE", "plain-env")
        if self.source not in SOURCES:
            raise ConfigError("SECBENCH_SOURCE", f"`{self.source}` is not one of {', '.join(SOURCES)}")
        self.cache = env.get("SECBENCH_CACHE", "none")
        if self.cache not in CACHES:
            raise ConfigError("SECBENCH_CACHE", f"`{self.cache}` is not one of {', '.join(CACHES)}")
        self.fetch_at = env.get("SECBENCH_FETCH_AT", "handler")
        if self.fetch_at not in ("init", "handler", "restore"):
            raise ConfigError("SECBENCH_FETCH_AT", "is not init, handler or restore")
        self.snapstart = env.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start"
        if self.fetch_at == "restore" and not self.snapstart:
            raise ConfigError("SECBENCH_FETCH_AT", "restore fetches in SnapStart's after-restore hook: the function has no SnapStart")
        if self.cache == "powertools" and self.source not in ("ssm", "secrets-manager"):
            raise ConfigError("SECBENCH_CACHE", "powertools reads ssm and secrets-manager")
        if self.cache == "aws-caching-library" and self.source != "secrets-manager":
            raise ConfigError("SECBENCH_CACHE", "aws-caching-library caches Secrets Manager only")
        if self.source.startswith("agent-") and self.fetch_at in ("init", "restore"):
            raise ConfigError("SECBENCH_FETCH_AT", "the extension answers only in the INVOKE phase")
        ttl = env.get("SECBENCH_CACHE_TTL")
        self.cache_ttl_s = _duration_s(ttl, "SECBENCH_CACHE_TTL") if ttl else None
        if self.cache == "powertools" and self.cache_ttl_s is None:
            self.cache_ttl_s = POWERTOOLS_DEFAULT_MAX_AGE_S
        elif self.cache in ("ttl", "aws-caching-library") and self.cache_ttl_s is None:
            self.cache_ttl_s = 300.0
        if self.cache == "aws-caching-library":
            # The library takes whole seconds (`secret_refresh_interval`); the record says what
            # it was given.
            self.cache_ttl_s = max(1, round(self.cache_ttl_s))
        cached = self.cache in ("ttl", "aws-caching-library") or self.source.startswith("agent-")
        ignore = env.get("SECBENCH_IGNORE_TRANSIENT_ERRORS")
        if ignore not in (None, "", "true", "false"):
            raise ConfigError("SECBENCH_IGNORE_TRANSIENT_ERRORS", f"`{ignore}` is not true or false")
        if ignore and not cached:
            raise ConfigError("SECBENCH_IGNORE_TRANSIENT_ERRORS", f"cache = {self.cache} with source = {self.source} keeps no value to serve")
        if ignore == "false" and self.cache == "aws-caching-library":
            raise ConfigError("SECBENCH_IGNORE_TRANSIENT_ERRORS", "Python's aws-secretsmanager-caching serves its last value on any failed refresh and has no switch")
        self.ignore_transient_errors = (ignore != "false") if cached else None
        max_stale = env.get("SECBENCH_CACHE_MAX_STALE")
        self.max_stale_s = None
        if self.cache == "ttl" and self.ignore_transient_errors:
            self.max_stale_s = _duration_s(max_stale, "SECBENCH_CACHE_MAX_STALE") if max_stale else DEFAULT_MAX_STALE_S
            if self.max_stale_s <= 0:
                raise ConfigError("SECBENCH_CACHE_MAX_STALE", "must be more than zero")
        self.stage = env.get("SECBENCH_STAGE")
        self.expected = _digests(env["SECBENCH_EXPECTED_SHA256"], "SECBENCH_EXPECTED_SHA256") if env.get("SECBENCH_EXPECTED_SHA256") else []
        timeout = env.get("SECBENCH_SDK_ATTEMPT_TIMEOUT")
        self.attempt_timeout_s = _duration_s(timeout, "SECBENCH_SDK_ATTEMPT_TIMEOUT") if timeout else None
        port = env.get("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT")
        try:
            self.agent_port = int(port) if port else DEFAULT_AGENT_PORT
        except ValueError:
            raise ConfigError("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "not a port number") from None
        if env.get("SECBENCH_PREWARM"):
            raise ConfigError("SECBENCH_PREWARM", "prewarm is measured by the Rust probe only")
        if env.get("SECBENCH_CPU_CALIBRATION_ROUNDS"):
            raise ConfigError("SECBENCH_CPU_CALIBRATION_ROUNDS", "the CPU workload is the Rust probe's")
        self.multi = env.get("SECBENCH_MULTI")
        if self.multi and self.multi not in ("sequential", "batch"):
            raise ConfigError("SECBENCH_MULTI", f"`{self.multi}`: the Python probe reads several secrets sequential or batch")
        self.names = []
        if self.multi:
            var = "SECBENCH_SECRET_IDS" if self.source in ("secrets-manager", "agent-secrets-manager") else "SECBENCH_PARAMETER_NAMES"
            self.names = _list(need(var, "the secrets to read"), var)
            self.expected_each = _digests(need("SECBENCH_EXPECTED_SHA256S", "one digest per secret"), "SECBENCH_EXPECTED_SHA256S")
            if len(self.expected_each) != len(self.names):
                raise ConfigError("SECBENCH_EXPECTED_SHA256S", f"{len(self.expected_each)} digests for {len(self.names)} secrets")
        if self.source == "plain-env":
            self.target = need("SECBENCH_PLAINTEXT", "plain-env reads the secret from it")
        elif self.source == "kms-env":
            try:
                self.target = base64.b64decode(need("SECBENCH_CIPHERTEXT", "kms-env decrypts it"), validate=True)
            except ValueError:
                raise ConfigError("SECBENCH_CIPHERTEXT", "is not base64") from None
            context = env.get("SECBENCH_KMS_ENCRYPTION_CONTEXT")
            if context == "LambdaFunctionName":
                self.kms_context = {"LambdaFunctionName": env.get("AWS_LAMBDA_FUNCTION_NAME", "")}
            elif context:
                pairs = {}
                for item in _list(context, "SECBENCH_KMS_ENCRYPTION_CONTEXT"):
                    k, sep, v = item.partition("=")
                    if not sep:
                        raise ConfigError("SECBENCH_KMS_ENCRYPTION_CONTEXT", "an entry is not k=v")
                    pairs[k] = v
                self.kms_context = pairs
            else:
                self.kms_context = None
            self.kms_key_id = env.get("SECBENCH_KMS_KEY_ID")
        elif self.source in ("ssm", "agent-ssm"):
            self.target = self.names[0] if self.names else need("SECBENCH_PARAMETER_NAME", "the parameter to read")
        else:
            self.target = self.names[0] if self.names else need("SECBENCH_SECRET_ID", "the secret to read")
        memory = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        try:
            self.memory_mb = int(memory) if memory else None
        except ValueError:
            raise ConfigError("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "not a whole number of MB") from None
        self.region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        kind = env.get("AWS_LAMBDA_INITIALIZATION_TYPE")
        self.initialization_type = kind if kind in ("on-demand", "provisioned-concurrency", "snap-start") else None

    def uses_sdk(self):
        return self.source in ("kms-env", "ssm", "secrets-manager")


# --- the API calls each fetch makes ------------------------------------------------------


class Calls:
    """The operations the SDK client was asked for and its HTTP attempts, drained per fetch."""

    SERVICES = {"ssm": "SSM", "secretsmanager": "Secrets Manager", "kms": "KMS"}

    def __init__(self):
        self.operations = []
        self.attempts = 0
        # Operations that failed after their retries (a library serving its value through one
        # is how the probe sees a stale serve).
        self.failed = 0

    def attach(self, client):
        service = self.SERVICES.get(client.meta.service_model.endpoint_prefix, client.meta.service_model.service_name)
        events = client.meta.events

        def on_call(model, **_):
            self.operations.append((service, model.name))

        def on_send(**_):
            self.attempts += 1

        def on_after_call(http_response=None, **_):
            if http_response is not None and http_response.status_code >= 400:
                self.failed += 1

        def on_call_error(**_):
            self.failed += 1

        events.register("before-call.*.*", on_call)
        events.register("before-send.*.*", on_send)
        events.register("after-call.*.*", on_after_call)
        events.register("after-call-error.*.*", on_call_error)

    def drain(self):
        api_calls = []
        for service, operation in self.operations:
            for c in api_calls:
                if c["service"] == service and c["operation"] == operation:
                    c["count"] += 1
                    break
            else:
                api_calls.append({"service": service, "operation": operation, "count": 1})
        attempts = self.attempts
        self.operations, self.attempts = [], 0
        return api_calls, attempts


# --- sources -------------------------------------------------------------------------------


class Secret:
    """A fetched value: only its length and digest ever leave the probe."""

    __slots__ = ("value", "version")

    def __init__(self, value, version=None):
        self.value = value if isinstance(value, bytes) else value.encode()
        self.version = version

    def __repr__(self):
        return f"Secret(<{len(self.value)} bytes redacted>)"


def _agent_get(settings, path):
    token = os.environ.get("AWS_SESSION_TOKEN", "")
    request = urllib.request.Request(f"http://localhost:{settings.agent_port}{path}", headers={AGENT_TOKEN_HEADER: token})
    try:
        with urllib.request.urlopen(request, timeout=settings.attempt_timeout_s or 10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as e:
        code = None
        try:
            body = json.loads(e.read())
            code = next((body[k] for k in ("__type", "code", "Code", "errorType") if isinstance(body.get(k), str)), None)
            code = code.rsplit("#", 1)[-1] if code else None
        except (ValueError, AttributeError):
            pass
        raise FetchError(classify_http(e.code, code), code, e.code) from None
    except urllib.error.URLError as e:
        reason = getattr(e, "reason", None)
        raise FetchError("timeout" if isinstance(reason, TimeoutError) else "connect") from None
    except (TimeoutError, ConnectionError):
        raise FetchError("connect") from None
    except ValueError:
        raise FetchError("other") from None


class Source:
    """One source's client, built at INIT."""

    def __init__(self, settings, session, calls, sdk_config):
        self.settings = settings
        self.client = None
        if settings.uses_sdk():
            service = {"kms-env": "kms", "ssm": "ssm", "secrets-manager": "secretsmanager"}[settings.source]
            self.client = session.client(service, config=sdk_config)
            calls.attach(self.client)

    def fetch(self, name=None):
        s = self.settings
        name = name or s.target
        if s.source == "plain-env":
            return Secret(s.target)
        if s.source == "kms-env":
            args = {"CiphertextBlob": s.target}
            if s.kms_context is not None:
                args["EncryptionContext"] = s.kms_context
            if s.kms_key_id:
                args["KeyId"] = s.kms_key_id
            return Secret(self.client.decrypt(**args)["Plaintext"])
        if s.source == "ssm":
            p = self.client.get_parameter(Name=name, WithDecryption=True)["Parameter"]
            return Secret(p["Value"], str(p["Version"]) if "Version" in p else None)
        if s.source == "secrets-manager":
            r = self.client.get_secret_value(SecretId=name)
            value = r["SecretString"] if "SecretString" in r else r["SecretBinary"]
            return Secret(value, r.get("VersionId"))
        if s.source == "agent-secrets-manager":
            r = _agent_get(s, "/secretsmanager/get?secretId=" + urllib.parse.quote(name, safe=""))
            return Secret(r.get("SecretString") or "", r.get("VersionId"))
        r = _agent_get(s, "/systemsmanager/parameters/get?name=" + urllib.parse.quote(name, safe="") + "&withDecryption=true")
        p = r["Parameter"]
        return Secret(p["Value"], str(p["Version"]) if p.get("Version") is not None else None)


# --- caches --------------------------------------------------------------------------------


class NoCache:
    def __init__(self, source, pinned):
        self.source, self.pinned, self.kept = source, pinned, {}

    def get(self, name, force):
        miss = "delegated" if self.source.settings.source.startswith("agent-") else "miss"
        if self.pinned and not force and name in self.kept:
            return self.kept[name], "hit"
        secret = self.source.fetch(name)
        if self.pinned:
            self.kept[name] = secret
        return secret, ("refresh" if force and self.pinned else miss)


class TtlCache:
    """The Rust probe's in-process TTL cache, for a like-for-like comparison: with a stale
    bound (ignore_transient_errors), a refresh that fails with a transient error serves the
    value held if it is younger than the bound, and the entry is fresh for another TTL."""

    def __init__(self, source, ttl_s, max_stale_s=None):
        self.source, self.ttl_ns, self.entries = source, int(ttl_s * 1e9), {}
        self.max_stale_ns = int(max_stale_s * 1e9) if max_stale_s is not None else None

    def get(self, name, force):
        miss = "delegated" if self.source.settings.source.startswith("agent-") else "miss"
        entry = self.entries.get(name)  # [value, fetched_ns, fresh_from_ns]
        now = time.monotonic_ns()
        if entry is not None and not force and now - entry[2] < self.ttl_ns:
            return entry[0], "hit"
        outcome = "refresh" if entry is not None else miss
        try:
            secret = self.source.fetch(name)
        except Exception as e:  # noqa: BLE001 - classified to decide, then raised as it was
            error = classify(e)
            now = time.monotonic_ns()
            if entry is not None and self.max_stale_ns is not None and error.transient and now - entry[1] < self.max_stale_ns:
                entry[2] = now
                return entry[0], "stale"
            raise
        now = time.monotonic_ns()
        self.entries[name] = [secret, now, now]
        return secret, outcome


class PowertoolsCache:
    """Powertools for AWS Lambda (Python) Parameters, on the probe's client."""

    def __init__(self, source, ttl_s, calls):
        from aws_lambda_powertools.utilities import parameters

        self.calls, self.ttl_s, self.seen = calls, ttl_s, set()
        self.is_ssm = source.settings.source == "ssm"
        if self.is_ssm:
            self.provider = parameters.SSMProvider(boto3_client=source.client)
        else:
            self.provider = parameters.SecretsProvider(boto3_client=source.client)

    def get(self, name, force):
        before = len(self.calls.operations)
        kwargs = {"max_age": self.ttl_s, "force_fetch": force}
        if self.is_ssm:
            kwargs["decrypt"] = True
        value = self.provider.get(name, **kwargs)
        called = len(self.calls.operations) > before
        outcome = "hit" if not called else ("refresh" if name in self.seen else "miss")
        self.seen.add(name)
        return Secret(value), outcome

    def get_many(self, names, force):
        """Powertools' batch read (`get_parameters_by_name` / the secrets provider per name)."""
        if self.is_ssm:
            values = self.provider.get_parameters_by_name(
                {n: {} for n in names}, decrypt=True, max_age=self.ttl_s, raise_on_error=False
            )
            errors = set(values.pop("_errors", []) or [])
            return {n: (None if n in errors or n not in values else Secret(values[n])) for n in names}
        out = {}
        for n in names:
            try:
                out[n] = Secret(self.provider.get(n, max_age=self.ttl_s, force_fetch=force))
            except Exception as e:  # noqa: BLE001 - recorded by class
                out[n] = classify(e)
        return out


class LibraryCache:
    """AWS's `aws-secretsmanager-caching` for Python."""

    def __init__(self, source, ttl_s, calls):
        from aws_secretsmanager_caching import SecretCache, SecretCacheConfig

        self.calls = calls
        self.cache = SecretCache(config=SecretCacheConfig(secret_refresh_interval=ttl_s), client=source.client)
        self.seen = set()

    def get(self, name, force):
        if force:
            item = self.cache._get_cached_secret(name)  # the library has no public refresh
            item._refresh_needed = True
        before, failed = len(self.calls.operations), self.calls.failed
        value = self.cache.get_secret_string(name)
        called = len(self.calls.operations) > before
        outcome = "hit" if not called else ("refresh" if name in self.seen else "miss")
        if self.calls.failed > failed:
            # It answered although its call failed: it served what it held.
            outcome = "stale"
        self.seen.add(name)
        return Secret(value or ""), outcome


# --- the probe -----------------------------------------------------------------------------


def _architecture():
    return {"x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine())


def _libraries(settings):
    names = ["awslambdaric"]
    if settings.uses_sdk():
        names += ["boto3", "botocore"]
    if settings.cache == "powertools":
        names.append("aws-lambda-powertools")
    if settings.cache == "aws-caching-library":
        names.append("aws-secretsmanager-caching")
    out = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            pass
    return out


def _digest(data):
    """The first 16 hex digits of `data`'s SHA-256: which values were drawn, not the values."""
    return hashlib.sha256(data).hexdigest()[:16]


def _connections_opened(client):
    """Connections the SDK client's pools have opened so far (urllib3's `num_connections`);
    None without a client or where botocore keeps them elsewhere."""
    try:
        pools = client._endpoint.http_session._manager.pools
        return sum(p.num_connections for p in pools._container.values())
    except AttributeError:
        return None


class Probe:
    def __init__(self):
        self.age_at_start, self.age_resolution = _PROCESS_AGE
        self.settings = Settings(os.environ)
        s = self.settings
        self.calls = Calls()
        t = time.perf_counter_ns()
        session, sdk_config = None, None
        if s.uses_sdk():
            import boto3
            from botocore.config import Config

            if s.cache == "powertools":
                from aws_lambda_powertools.utilities import parameters  # noqa: F401
            if s.cache == "aws-caching-library":
                import aws_secretsmanager_caching  # noqa: F401
        self.imports_ns = time.perf_counter_ns() - t
        t = time.perf_counter_ns()
        if s.uses_sdk():
            retries = {"mode": "standard", "max_attempts": 3}
            timeouts = {"read_timeout": s.attempt_timeout_s, "connect_timeout": s.attempt_timeout_s} if s.attempt_timeout_s else {}
            sdk_config = Config(retries=retries, **timeouts)
            session = boto3.session.Session()
            self.retry = {
                "mode": "standard",
                "max_attempts": 3,
                "attempt_timeout_ms": int(s.attempt_timeout_s * 1000) if s.attempt_timeout_s else None,
            }
        else:
            self.retry = None
        self.sdk_config_load_ns = time.perf_counter_ns() - t
        t = time.perf_counter_ns()
        self.source = Source(s, session, self.calls, sdk_config)
        if s.cache == "ttl":
            self.cache = TtlCache(self.source, s.cache_ttl_s, s.max_stale_s)
        elif s.cache == "powertools":
            self.cache = PowertoolsCache(self.source, s.cache_ttl_s, self.calls)
        elif s.cache == "aws-caching-library":
            self.cache = LibraryCache(self.source, s.cache_ttl_s, self.calls)
        else:
            self.cache = NoCache(self.source, pinned=s.fetch_at in ("init", "restore"))
        self.client_construction_ns = time.perf_counter_ns() - t
        # Lambda Managed Instances: the runtime interface client forks one process per
        # AWS_LAMBDA_MAX_CONCURRENCY, each with its own INIT and cache; the environment is
        # what they share (their parent and the log stream), the worker is the process.
        self.max_concurrency = _max_concurrency()
        if self.max_concurrency is None:
            self.environment_id = _random.token_hex(8)
            self.worker = None
        else:
            shared = f"{os.environ.get('AWS_LAMBDA_LOG_STREAM_NAME', '')}/{os.getppid()}"
            self.environment_id = hashlib.sha256(shared.encode()).hexdigest()[:16]
            self.worker = f"pid:{os.getpid()}"
        self.invocations = 0
        self.libraries = _libraries(s)
        init_fetch = self.fetch("init", False) if s.fetch_at == "init" else None
        # SnapStart: randomness drawn at INIT is in the snapshot, the same in every restore.
        self.snapstart = None
        if s.snapstart:
            self.init_random = _digest(random.getrandbits(128).to_bytes(16, "big"))
            self.init_urandom = _digest(os.urandom(16))
            from snapshot_restore_py import register_after_restore

            register_after_restore(self.after_restore)
        self.pending_init = (
            {
                "process_start_to_main_ns": self.age_at_start,
                "process_start_resolution_ns": self.age_resolution,
                "sdk_config_load_ns": self.sdk_config_load_ns,
                "client_construction_ns": self.client_construction_ns,
                "init_fetch_ns": init_fetch["latency_ns"] if init_fetch else None,
                "main_to_ready_ns": time.perf_counter_ns() - _MODULE_START_NS,
                "cpu_ns": time.process_time_ns(),
                "imports_ns": self.imports_ns,
            },
            init_fetch,
        )

    def after_restore(self):
        """SnapStart's after-restore hook: a restored environment's own identity and
        randomness, and the `fetch_at = restore` fetch."""
        start = time.perf_counter_ns()
        # INIT's identity is every restore's: each restored environment draws its own.
        self.environment_id = _random.token_hex(8)
        self.connections_at_restore = _connections_opened(self.source.client)
        restore_random = _digest(random.getrandbits(128).to_bytes(16, "big"))
        restore_urandom = _digest(os.urandom(16))
        restore_fetch = self.fetch("restore", False) if self.settings.fetch_at == "restore" else None
        init, init_fetch = self.pending_init
        # INIT's fetch happened once, in the snapshot: not this environment's call.
        self.pending_init = (init, restore_fetch)
        self.snapstart = {
            "restore_hooks_ns": time.perf_counter_ns() - start,
            "init_random": self.init_random,
            "init_urandom": self.init_urandom,
            "restore_random": restore_random,
            "restore_urandom": restore_urandom,
        }

    def verify(self, secret, expected):
        if not expected:
            return None, None
        digest = hashlib.sha256(secret.value).digest()
        index = next((i for i, d in enumerate(expected) if d == digest), None)
        return index is not None, index

    def fetch(self, phase, force):
        if self.settings.multi:
            return self.fetch_many(phase, force)
        self.calls.drain()
        cpu = time.process_time_ns()
        start = time.perf_counter_ns()
        try:
            secret, outcome = self.cache.get(self.settings.target, force)
            error = None
        except Exception as e:  # noqa: BLE001 - every failure is recorded by its class
            secret, outcome, error = None, "error", classify(e)
        latency = time.perf_counter_ns() - start
        cpu_ns = time.process_time_ns() - cpu
        api_calls, attempts = self.calls.drain()
        record = {
            "phase": phase,
            "source": self.settings.source,
            "cache": self.settings.cache,
            "outcome": outcome,
            "latency_ns": latency,
            "sdk_attempts": attempts,
            "error_class": None,
            "value_length_bytes": None,
            "verified": None,
            "api_calls": api_calls,
            "cpu_ns": cpu_ns,
        }
        if error is not None:
            record["error_class"] = error.error_class
            print(json.dumps({"level": "WARN", "message": "fetch failed", "source": self.settings.source, "error_class": error.error_class, "error_code": error.code or "-"}), flush=True)
        else:
            verified, index = self.verify(secret, self.settings.expected)
            record["value_length_bytes"] = len(secret.value)
            record["verified"] = verified
            if index is not None:
                record["version_index"] = index
            if secret.version is not None:
                record["service_version"] = secret.version
        return record

    def fetch_many(self, phase, force):
        """Several secrets per fetch: one call per secret in turn, or the batch read."""
        s = self.settings
        self.calls.drain()
        cpu = time.process_time_ns()
        start = time.perf_counter_ns()
        values, calls = {}, []
        if s.multi == "batch" and isinstance(self.cache, PowertoolsCache):
            t = time.perf_counter_ns()
            got = self.cache.get_many(s.names, force)
            values = {n: (v if v is not None else FetchError("not_found")) for n, v in got.items()}
            if self.calls.operations:
                calls.append({"operation": self.calls.operations[0][1], "secrets": len(s.names), "latency_ns": time.perf_counter_ns() - t, "error_class": None, "sdk_attempts": self.calls.attempts})
        elif s.multi == "batch":
            values = self._batch(calls)
        else:
            for n in s.names:
                t = time.perf_counter_ns()
                before = self.calls.attempts
                try:
                    secret, _ = self.cache.get(n, force)
                    values[n] = secret
                    err = None
                except Exception as e:  # noqa: BLE001
                    values[n] = err = classify(e)
                called = self.calls.attempts > before
                if called or err is not None:
                    calls.append({"operation": self._single_operation(), "secrets": 1, "latency_ns": time.perf_counter_ns() - t, "error_class": err.error_class if err else None, "sdk_attempts": self.calls.attempts - before})
        latency = time.perf_counter_ns() - start
        cpu_ns = time.process_time_ns() - cpu
        api_calls, attempts = self.calls.drain()
        records, failed = [], 0
        for i, n in enumerate(s.names):
            v = values.get(n)
            if isinstance(v, Secret):
                verified, _ = self.verify(v, [s.expected_each[i]])
                records.append({"index": i, "outcome": "miss" if api_calls else "hit", "verified": verified, "value_length_bytes": len(v.value), "error_class": None})
            else:
                failed += 1
                cls = v.error_class if isinstance(v, FetchError) else "other"
                records.append({"index": i, "outcome": "error", "verified": None, "value_length_bytes": None, "error_class": cls})
        if failed == len(s.names):
            outcome = "error"
        elif failed:
            outcome = "partial"
        else:
            outcome = ("delegated" if s.source.startswith("agent-") else "miss") if api_calls or s.source.startswith("agent-") else "hit"
        first_error = next((r["error_class"] for r in records if r["error_class"]), None)
        return {
            "phase": phase,
            "source": s.source,
            "cache": s.cache,
            "outcome": outcome,
            "latency_ns": latency,
            "sdk_attempts": attempts,
            "error_class": (first_error or "other") if outcome in ("error", "partial") else None,
            "value_length_bytes": sum(r["value_length_bytes"] or 0 for r in records) if not failed else None,
            "verified": all(r["verified"] for r in records) if not failed else None,
            "api_calls": api_calls,
            "multi": s.multi,
            "values": records,
            "calls": calls,
            "cpu_ns": cpu_ns,
        }

    def _single_operation(self):
        return {"ssm": "GetParameter", "secrets-manager": "GetSecretValue"}.get(self.settings.source, "agent GET")

    def _batch(self, calls):
        """`GetParameters` (10 names per call) or `BatchGetSecretValue` (20 ids per call)."""
        s, client, out = self.settings, self.source.client, {}
        if s.source == "ssm":
            size, op = 10, "GetParameters"
        else:
            size, op = 20, "BatchGetSecretValue"
        for i in range(0, len(s.names), size):
            chunk = s.names[i : i + size]
            t = time.perf_counter_ns()
            before = self.calls.attempts
            try:
                if s.source == "ssm":
                    r = client.get_parameters(Names=chunk, WithDecryption=True)
                    for p in r.get("Parameters", []):
                        out[p["Name"]] = Secret(p["Value"])
                    for n in r.get("InvalidParameters", []):
                        out[n] = FetchError("not_found")
                else:
                    r = client.batch_get_secret_value(SecretIdList=chunk)
                    for v in r.get("SecretValues", []):
                        secret = Secret(v.get("SecretString") or v.get("SecretBinary") or b"")
                        for n in chunk:
                            if n in (v.get("Name"), v.get("ARN")):
                                out[n] = secret
                    for e in r.get("Errors", []):
                        for n in chunk:
                            if e.get("SecretId") == n:
                                out[n] = FetchError(classify_code(e.get("ErrorCode", "")), e.get("ErrorCode"))
                err = None
            except Exception as e:  # noqa: BLE001
                err = classify(e)
                for n in chunk:
                    out[n] = err
            calls.append({"operation": op, "secrets": len(chunk), "latency_ns": time.perf_counter_ns() - t, "error_class": err.error_class if err else None, "sdk_attempts": self.calls.attempts - before})
        return out

    def handle(self, event, request_id):
        start = time.perf_counter_ns()
        if not isinstance(event, dict):
            raise InvalidEvent("invalid event: not a JSON object")
        unknown = set(event) - {"run_id", "scenario", "fetches", "force_refresh"}
        if unknown:
            raise InvalidEvent(f"invalid event: unknown field `{sorted(unknown)[0]}`")
        for field in ("run_id", "scenario"):
            if field not in event:
                raise InvalidEvent(f"invalid event: missing field `{field}`")
            if not isinstance(event[field], str):
                raise InvalidEvent(f"field `{field}`: not a string")
        fetches = event.get("fetches", 1)
        if not isinstance(fetches, int) or isinstance(fetches, bool) or fetches < 0:
            raise InvalidEvent("field `fetches`: not a whole number")
        if fetches > MAX_FETCHES:
            raise InvalidEvent(f"field `fetches`: {fetches} is more than the maximum {MAX_FETCHES}")
        force = event.get("force_refresh", False)
        if not isinstance(force, bool):
            raise InvalidEvent("field `force_refresh`: not a boolean")
        self.invocations += 1
        init, records = None, []
        if self.pending_init is not None:
            init, init_fetch = self.pending_init
            self.pending_init = None
            if init_fetch is not None:
                records.append(init_fetch)
        for i in range(fetches):
            records.append(self.fetch("handler", force and i == 0))
        s = self.settings
        record = {
            "schema_version": SCHEMA_VERSION,
            "run_id": event["run_id"],
            "scenario": event["scenario"],
            "stage": s.stage,
            "region": s.region,
            "function_name": s.function_name,
            "function_version": s.function_version,
            "memory_mb": s.memory_mb,
            "architecture": _architecture(),
            "environment_id": self.environment_id,
            "invocation_seq": self.invocations,
            "cold": self.invocations == 1,
            "request_id": request_id,
            "source": s.source,
            "cache": s.cache,
            "cache_ttl_ms": int(s.cache_ttl_s * 1000) if s.cache_ttl_s is not None else None,
            "fetch_at": s.fetch_at,
            "sdk_retry": self.retry,
            "init": init,
            "fetches": records,
            "handler_duration_ns": time.perf_counter_ns() - start,
            "probe_version": PROBE_VERSION,
            "runtime": RUNTIME,
            "runtime_version": f"{platform.python_implementation()} {platform.python_version()}",
            "libraries": self.libraries,
        }
        if s.ignore_transient_errors is not None:
            record["ignore_transient_errors"] = s.ignore_transient_errors
        if self.max_concurrency is not None:
            record["max_concurrency"] = self.max_concurrency
            record["worker"] = self.worker
        if s.multi:
            record["multi"] = s.multi
            record["secrets"] = len(s.names)
        if s.initialization_type:
            record["initialization_type"] = s.initialization_type
        if self.snapstart is not None and self.invocations == 1:
            opened = _connections_opened(self.source.client)
            if opened is not None and self.connections_at_restore is not None:
                made_call = any(f["api_calls"] for f in records)
                if made_call:
                    self.snapstart["reconnected"] = opened > self.connections_at_restore
            record["snapstart"] = self.snapstart
        print(json.dumps({"secbench_record": record}), flush=True)
        return record


# INIT: the probe is built when the runtime imports this module (a failure here is the
# runtime's `Runtime.ImportModuleError`/init error, as for any function).
try:
    PROBE = Probe()
except ConfigError as e:
    print(json.dumps({"level": "ERROR", "message": f"INIT failed: {e}"}), file=sys.stderr, flush=True)
    raise


def handler(event, context):
    return PROBE.handle(event, context.aws_request_id)
