// The secbench probe for Lambda's Node.js runtime (`nodejs22.x`): the Rust probe's twin.
//
// It reads the same probe configuration (the `SECBENCH_*` variables of
// `record/src/probe_config.rs`), fetches the secret the same ways (plain-env, kms-env, ssm,
// secrets-manager, the extension's HTTP API), with the caches Node.js functions use (none, an
// in-process TTL, Powertools Parameters), at INIT or in the handler, and returns one record per
// invocation that validates against `record/schema/probe-record.schema.json`. It never returns,
// logs or throws the value: only its length and whether its SHA-256 is one of the expected
// digests. The handler is `index.handler`, started by the runtime interface client
// (`aws-lambda-ric`) as AWS's base images start it.

import { performance } from "node:perf_hooks";

const MODULE_START_MS = performance.now();
// Node's own start (`process.uptime()` counts from it) up to this module.
const UPTIME_AT_MODULE_NS = Math.round(process.uptime() * 1e9);

import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { AsyncLocalStorage } from "node:async_hooks";
import { isMainThread, threadId } from "node:worker_threads";

const SCHEMA_VERSION = 5;
// The Lambda runtimes this probe runs in; which one, Lambda says in AWS_EXECUTION_ENV
// (`AWS_Lambda_nodejs24.x`; the local stage's start scripts set it as Lambda does).
const RUNTIMES = ["nodejs22.x", "nodejs24.x"];
const PROBE_VERSION = "0.1.0";
const MAX_FETCHES = 10000;
const DEFAULT_AGENT_PORT = 2773;
const AGENT_TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token";
// Powertools' own default `maxAge` (seconds), used when the plan sets none.
const POWERTOOLS_DEFAULT_MAX_AGE_S = 5;
const SOURCES = ["plain-env", "kms-env", "ssm", "secrets-manager", "agent-secrets-manager", "agent-ssm"];
const CACHES = ["none", "ttl", "aws-caching-library", "powertools"];

const here = path.dirname(fileURLToPath(import.meta.url));

// `error-classes.json`: beside the module in a deployment package, one folder up here.
function errorClasses() {
  for (const p of [path.join(here, "error-classes.json"), path.join(here, "..", "error-classes.json")]) {
    if (existsSync(p)) return JSON.parse(readFileSync(p, "utf8"));
  }
  throw new ConfigError("LAMBDA_TASK_ROOT", "error-classes.json is not in the package");
}

class ConfigError extends Error {
  constructor(variable, reason) {
    super(`environment variable ${variable} is invalid: ${reason}`);
    this.name = "ConfigError";
  }
}

function runtime() {
  const env = process.env.AWS_EXECUTION_ENV ?? "";
  if (!env.startsWith("AWS_Lambda_")) return RUNTIMES[0]; // not in a managed runtime (a test)
  const name = env.slice("AWS_Lambda_".length);
  if (!RUNTIMES.includes(name)) throw new ConfigError("AWS_EXECUTION_ENV", `\`${name}\` is not one of ${RUNTIMES.join(", ")}`);
  return name;
}
const RUNTIME = runtime();

class InvalidEvent extends Error {
  constructor(message) {
    super(message);
    this.name = "InvalidEvent";
  }
}

class FetchError extends Error {
  constructor(errorClass, code, status) {
    super(errorClass);
    this.errorClass = errorClass;
    this.code = code ?? null;
    // What a cache with ignore_transient_errors serves its value through (error-classes.json).
    const rule = CLASSES.transient;
    this.transient = rule.classes.includes(errorClass) || (status != null && status >= rule.http_status_from);
  }
}

const CLASSES = errorClasses();
const classifyCode = (code) => CLASSES.codes[code] ?? "other";
function classifyHttp(status, code) {
  const byCode = code ? classifyCode(code) : "other";
  return byCode !== "other" ? byCode : CLASSES.http_statuses[String(status)] ?? "other";
}

// Any failure of a fetch as a FetchError: the SDK's service errors by name, its network errors
// by their system code; Powertools' wrapping errors by their cause.
function classify(err) {
  if (err instanceof FetchError) return err;
  if (err && err.$fault !== undefined && err.name) return new FetchError(classifyCode(err.name), err.name, err.$metadata?.httpStatusCode);
  const code = err?.code ?? err?.cause?.code;
  if (["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EPIPE", "EHOSTUNREACH"].includes(code)) return new FetchError("connect");
  if (err?.name === "TimeoutError" || code === "ETIMEDOUT" || err?.name === "RequestTimeout") return new FetchError("timeout");
  if (err?.cause && err.cause !== err) return classify(err.cause);
  return new FetchError("other");
}

// --- the configuration ---------------------------------------------------------------------

function durationS(text, variable) {
  const t = text.trim();
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|us|ns|s|m|h)$/.exec(t);
  if (!m) throw new ConfigError(variable, `\`${t}\` is not a duration such as 250ms, 30s or 5m`);
  const scale = { ms: 1e-3, us: 1e-6, ns: 1e-9, s: 1, m: 60, h: 3600 }[m[2]];
  return Number(m[1]) * scale;
}

function list(text, variable) {
  const items = text.split(",").map((s) => s.trim());
  if (items.some((s) => !s)) throw new ConfigError(variable, "an entry of the comma-separated list is empty");
  return items;
}

function digests(text, variable) {
  return list(text, variable).map((d) => {
    if (d.length !== 64) throw new ConfigError(variable, `a SHA-256 is 64 hex digits, this is ${d.length} characters`);
    if (!/^[0-9a-fA-F]+$/.test(d)) throw new ConfigError(variable, "not hex");
    return d.toLowerCase();
  });
}

function settingsFrom(env) {
  const need = (v, why) => {
    if (!env[v]) throw new ConfigError(v, `not set (${why})`);
    return env[v];
  };
  const s = {};
  s.source = env.SECBENCH_SOURCE || "plain-env";
  if (!SOURCES.includes(s.source)) throw new ConfigError("SECBENCH_SOURCE", `\`${s.source}\` is not one of ${SOURCES.join(", ")}`);
  s.cache = env.SECBENCH_CACHE || "none";
  if (!CACHES.includes(s.cache)) throw new ConfigError("SECBENCH_CACHE", `\`${s.cache}\` is not one of ${CACHES.join(", ")}`);
  if (s.cache === "aws-caching-library") throw new ConfigError("SECBENCH_CACHE", "AWS's caching library has no Node.js version; use powertools");
  s.fetchAt = env.SECBENCH_FETCH_AT || "handler";
  if (!["init", "handler"].includes(s.fetchAt)) throw new ConfigError("SECBENCH_FETCH_AT", "is not init or handler");
  if (s.cache === "powertools" && !["ssm", "secrets-manager"].includes(s.source)) throw new ConfigError("SECBENCH_CACHE", "powertools reads ssm and secrets-manager");
  if (s.source.startsWith("agent-") && s.fetchAt === "init") throw new ConfigError("SECBENCH_FETCH_AT", "the extension answers only in the INVOKE phase");
  s.cacheTtlS = env.SECBENCH_CACHE_TTL ? durationS(env.SECBENCH_CACHE_TTL, "SECBENCH_CACHE_TTL") : null;
  if (s.cache === "powertools" && s.cacheTtlS === null) s.cacheTtlS = POWERTOOLS_DEFAULT_MAX_AGE_S;
  if (s.cache === "ttl" && s.cacheTtlS === null) s.cacheTtlS = 300;
  const cached = s.cache === "ttl" || s.source.startsWith("agent-");
  const ignore = env.SECBENCH_IGNORE_TRANSIENT_ERRORS;
  if (ignore && !["true", "false"].includes(ignore)) throw new ConfigError("SECBENCH_IGNORE_TRANSIENT_ERRORS", `\`${ignore}\` is not true or false`);
  if (ignore && !cached) throw new ConfigError("SECBENCH_IGNORE_TRANSIENT_ERRORS", `cache = ${s.cache} with source = ${s.source} keeps no value to serve`);
  s.ignoreTransientErrors = cached ? ignore !== "false" : null;
  s.maxStaleS = null;
  if (s.cache === "ttl" && s.ignoreTransientErrors) {
    const text = env.SECBENCH_CACHE_MAX_STALE;
    s.maxStaleS = text ? durationS(text, "SECBENCH_CACHE_MAX_STALE") : CLASSES.transient.default_max_stale_s;
    if (!(s.maxStaleS > 0)) throw new ConfigError("SECBENCH_CACHE_MAX_STALE", "must be more than zero");
  }
  const sf = env.SECBENCH_SINGLE_FLIGHT;
  if (sf && !["true", "false"].includes(sf)) throw new ConfigError("SECBENCH_SINGLE_FLIGHT", `\`${sf}\` is not true or false`);
  if (sf && s.cache !== "ttl") throw new ConfigError("SECBENCH_SINGLE_FLIGHT", "single flight is the ttl cache's setting");
  s.singleFlight = sf ? sf === "true" : null;
  const mc = env.AWS_LAMBDA_MAX_CONCURRENCY;
  s.maxConcurrency = mc && /^[0-9]+$/.test(mc.trim()) && Number(mc) > 1 ? Number(mc) : null;
  s.stage = env.SECBENCH_STAGE ?? null;
  s.expected = env.SECBENCH_EXPECTED_SHA256 ? digests(env.SECBENCH_EXPECTED_SHA256, "SECBENCH_EXPECTED_SHA256") : [];
  s.attemptTimeoutS = env.SECBENCH_SDK_ATTEMPT_TIMEOUT ? durationS(env.SECBENCH_SDK_ATTEMPT_TIMEOUT, "SECBENCH_SDK_ATTEMPT_TIMEOUT") : null;
  const port = env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT;
  s.agentPort = port ? Number.parseInt(port, 10) : DEFAULT_AGENT_PORT;
  if (!Number.isInteger(s.agentPort)) throw new ConfigError("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "not a port number");
  if (env.SECBENCH_PREWARM) throw new ConfigError("SECBENCH_PREWARM", "prewarm is measured by the Rust probe only");
  if (env.SECBENCH_CPU_CALIBRATION_ROUNDS) throw new ConfigError("SECBENCH_CPU_CALIBRATION_ROUNDS", "the CPU workload is the Rust probe's");
  s.multi = env.SECBENCH_MULTI || null;
  if (s.multi && !["sequential", "batch"].includes(s.multi)) throw new ConfigError("SECBENCH_MULTI", `\`${s.multi}\`: the Node.js probe reads several secrets sequential or batch`);
  s.names = [];
  if (s.multi) {
    const v = ["secrets-manager", "agent-secrets-manager"].includes(s.source) ? "SECBENCH_SECRET_IDS" : "SECBENCH_PARAMETER_NAMES";
    s.names = list(need(v, "the secrets to read"), v);
    s.expectedEach = digests(need("SECBENCH_EXPECTED_SHA256S", "one digest per secret"), "SECBENCH_EXPECTED_SHA256S");
    if (s.expectedEach.length !== s.names.length) throw new ConfigError("SECBENCH_EXPECTED_SHA256S", `${s.expectedEach.length} digests for ${s.names.length} secrets`);
  }
  if (s.source === "plain-env") {
    s.target = need("SECBENCH_PLAINTEXT", "plain-env reads the secret from it");
  } else if (s.source === "kms-env") {
    const b64 = need("SECBENCH_CIPHERTEXT", "kms-env decrypts it");
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new ConfigError("SECBENCH_CIPHERTEXT", "is not base64");
    s.target = Buffer.from(b64, "base64");
    const ctx = env.SECBENCH_KMS_ENCRYPTION_CONTEXT;
    if (ctx === "LambdaFunctionName") s.kmsContext = { LambdaFunctionName: env.AWS_LAMBDA_FUNCTION_NAME ?? "" };
    else if (ctx) {
      s.kmsContext = {};
      for (const item of list(ctx, "SECBENCH_KMS_ENCRYPTION_CONTEXT")) {
        const i = item.indexOf("=");
        if (i < 0) throw new ConfigError("SECBENCH_KMS_ENCRYPTION_CONTEXT", "an entry is not k=v");
        s.kmsContext[item.slice(0, i)] = item.slice(i + 1);
      }
    } else s.kmsContext = null;
    s.kmsKeyId = env.SECBENCH_KMS_KEY_ID || null;
  } else if (["ssm", "agent-ssm"].includes(s.source)) {
    s.target = s.names[0] ?? need("SECBENCH_PARAMETER_NAME", "the parameter to read");
  } else {
    s.target = s.names[0] ?? need("SECBENCH_SECRET_ID", "the secret to read");
  }
  const memory = env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE;
  s.memoryMb = memory ? Number.parseInt(memory, 10) : null;
  if (memory && !/^[0-9]+$/.test(memory)) throw new ConfigError("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "not a whole number of MB");
  s.region = env.AWS_REGION || env.AWS_DEFAULT_REGION || null;
  s.functionName = env.AWS_LAMBDA_FUNCTION_NAME ?? null;
  s.functionVersion = env.AWS_LAMBDA_FUNCTION_VERSION ?? null;
  const kind = env.AWS_LAMBDA_INITIALIZATION_TYPE;
  s.initializationType = ["on-demand", "provisioned-concurrency", "snap-start"].includes(kind) ? kind : null;
  s.usesSdk = ["kms-env", "ssm", "secrets-manager"].includes(s.source);
  return s;
}

// --- the API calls each fetch makes ----------------------------------------------------------

const SERVICE_NAMES = { SSMClient: "SSM", SecretsManagerClient: "Secrets Manager", KMSClient: "KMS" };

// Each invocation's calls apart: on Lambda Managed Instances one worker thread serves several
// invocations at once, so the log is per asynchronous context (AsyncLocalStorage, as AWS's
// Node.js page for Managed Instances advises for per-request state); INIT's calls go to the
// root log.
class Calls {
  constructor() {
    this.root = { operations: [], attempts: 0 };
    this.als = new AsyncLocalStorage();
  }

  get log() {
    return this.als.getStore() ?? this.root;
  }

  get operations() {
    return this.log.operations;
  }

  get attempts() {
    return this.log.attempts;
  }

  // Runs `fn` with a log of its own.
  scope(fn) {
    return this.als.run({ operations: [], attempts: 0 }, fn);
  }

  attach(client) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        this.log.operations.push([SERVICE_NAMES[context.clientName] ?? context.clientName, context.commandName.replace(/Command$/, "")]);
        return next(args);
      },
      { step: "initialize", name: "secbenchCalls" },
    );
    client.middlewareStack.addRelativeTo(
      (next) => async (args) => {
        this.log.attempts += 1;
        return next(args);
      },
      { relation: "after", toMiddleware: "retryMiddleware", name: "secbenchAttempts" },
    );
  }

  drain() {
    const log = this.log;
    const apiCalls = [];
    for (const [service, operation] of log.operations) {
      const c = apiCalls.find((x) => x.service === service && x.operation === operation);
      if (c) c.count += 1;
      else apiCalls.push({ service, operation, count: 1 });
    }
    const attempts = log.attempts;
    log.operations = [];
    log.attempts = 0;
    return [apiCalls, attempts];
  }
}

// --- sources -------------------------------------------------------------------------------

// A fetched value: only its length and digest ever leave the probe.
class Secret {
  #value;
  constructor(value, version) {
    this.#value = Buffer.isBuffer(value) ? value : Buffer.from(value ?? "", typeof value === "string" ? "utf8" : undefined);
    this.version = version ?? null;
  }
  get length() {
    return this.#value.length;
  }
  sha256() {
    return createHash("sha256").update(this.#value).digest("hex");
  }
  toJSON() {
    return `<${this.#value.length} bytes redacted>`;
  }
}

function agentGet(s, pathAndQuery) {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: "localhost", port: s.agentPort, path: pathAndQuery, headers: { [AGENT_TOKEN_HEADER]: process.env.AWS_SESSION_TOKEN ?? "" }, timeout: (s.attemptTimeoutS ?? 10) * 1000 },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          if (res.statusCode === 200) {
            try {
              resolve(JSON.parse(body));
            } catch {
              reject(new FetchError("other"));
            }
            return;
          }
          let code = null;
          try {
            const b = JSON.parse(body);
            code = ["__type", "code", "Code", "errorType"].map((k) => b[k]).find((v) => typeof v === "string") ?? null;
            if (code) code = code.split("#").pop();
          } catch {
            // not JSON: the status alone
          }
          reject(new FetchError(classifyHttp(res.statusCode, code), code, res.statusCode));
        });
      },
    );
    req.on("timeout", () => req.destroy(new FetchError("timeout")));
    req.on("error", (e) => reject(e instanceof FetchError ? e : classify(e)));
  });
}

class Source {
  constructor(s, sdk, calls) {
    this.s = s;
    this.client = null;
    if (s.usesSdk) {
      const config = {
        maxAttempts: 3,
        retryMode: "standard",
        ...(s.attemptTimeoutS ? { requestHandler: { requestTimeout: s.attemptTimeoutS * 1000, connectionTimeout: s.attemptTimeoutS * 1000 } } : {}),
      };
      this.client = new sdk.Client(config);
      calls.attach(this.client);
      this.sdk = sdk;
    }
  }

  async fetch(name) {
    const s = this.s;
    name = name ?? s.target;
    if (s.source === "plain-env") return new Secret(s.target);
    if (s.source === "kms-env") {
      const r = await this.client.send(
        new this.sdk.DecryptCommand({
          CiphertextBlob: s.target,
          ...(s.kmsContext ? { EncryptionContext: s.kmsContext } : {}),
          ...(s.kmsKeyId ? { KeyId: s.kmsKeyId } : {}),
        }),
      );
      return new Secret(Buffer.from(r.Plaintext));
    }
    if (s.source === "ssm") {
      const r = await this.client.send(new this.sdk.GetParameterCommand({ Name: name, WithDecryption: true }));
      return new Secret(r.Parameter.Value, r.Parameter.Version !== undefined ? String(r.Parameter.Version) : null);
    }
    if (s.source === "secrets-manager") {
      const r = await this.client.send(new this.sdk.GetSecretValueCommand({ SecretId: name }));
      return new Secret(r.SecretString !== undefined ? r.SecretString : Buffer.from(r.SecretBinary), r.VersionId);
    }
    if (s.source === "agent-secrets-manager") {
      const r = await agentGet(s, `/secretsmanager/get?secretId=${encodeURIComponent(name)}`);
      return new Secret(r.SecretString ?? "", r.VersionId);
    }
    const r = await agentGet(s, `/systemsmanager/parameters/get?name=${encodeURIComponent(name)}&withDecryption=true`);
    return new Secret(r.Parameter.Value, r.Parameter.Version != null ? String(r.Parameter.Version) : null);
  }
}

// --- caches --------------------------------------------------------------------------------

class NoCache {
  constructor(source, pinned) {
    this.source = source;
    this.pinned = pinned;
    this.kept = new Map();
  }
  async get(name, force) {
    const miss = this.source.s.source.startsWith("agent-") ? "delegated" : "miss";
    if (this.pinned && !force && this.kept.has(name)) return [this.kept.get(name), "hit"];
    const secret = await this.source.fetch(name);
    if (this.pinned) this.kept.set(name, secret);
    return [secret, force && this.pinned ? "refresh" : miss];
  }
}

// The Rust probe's in-process TTL cache, for a like-for-like comparison.
// With a stale bound (ignore_transient_errors), a refresh that fails with a transient error
// serves the value held if it is younger than the bound, and the entry is fresh for another TTL.
class TtlCache {
  constructor(source, ttlS, maxStaleS, singleFlight) {
    this.source = source;
    // Single flight: a miss while another is fetching the same name waits for that fetch.
    this.inFlight = singleFlight ? new Map() : null;
    this.ttlNs = BigInt(Math.round(ttlS * 1e9));
    this.maxStaleNs = maxStaleS != null ? BigInt(Math.round(maxStaleS * 1e9)) : null;
    this.entries = new Map(); // name -> [value, fetchedNs, freshFromNs]
  }
  async get(name, force) {
    const miss = this.source.s.source.startsWith("agent-") ? "delegated" : "miss";
    const entry = this.entries.get(name);
    if (entry && !force && process.hrtime.bigint() - entry[2] < this.ttlNs) return [entry[0], "hit"];
    if (this.inFlight) {
      const pending = this.inFlight.get(name);
      if (pending) {
        await pending.catch(() => null);
        return this.get(name, false);
      }
      const fetching = this.refresh(name, entry, miss);
      this.inFlight.set(name, fetching);
      try {
        return await fetching;
      } finally {
        this.inFlight.delete(name);
      }
    }
    return this.refresh(name, entry, miss);
  }
  async refresh(name, entry, miss) {
    let secret;
    try {
      secret = await this.source.fetch(name);
    } catch (e) {
      const error = classify(e);
      const now = process.hrtime.bigint();
      if (entry && this.maxStaleNs !== null && error.transient && now - entry[1] < this.maxStaleNs) {
        entry[2] = now;
        return [entry[0], "stale"];
      }
      throw e;
    }
    const now = process.hrtime.bigint();
    this.entries.set(name, [secret, now, now]);
    return [secret, entry ? "refresh" : miss];
  }
}

// Powertools for AWS Lambda (TypeScript) Parameters, on the probe's client.
class PowertoolsCache {
  constructor(Provider, source, ttlS, calls) {
    this.provider = new Provider({ awsSdkV3Client: source.client });
    this.isSsm = source.s.source === "ssm";
    this.ttlS = ttlS;
    this.calls = calls;
    this.seen = new Set();
  }
  async get(name, force) {
    const before = this.calls.operations.length;
    const value = await this.provider.get(name, { maxAge: this.ttlS, forceFetch: force, ...(this.isSsm ? { decrypt: true } : {}) });
    const called = this.calls.operations.length > before;
    const outcome = !called ? "hit" : this.seen.has(name) ? "refresh" : "miss";
    this.seen.add(name);
    return [new Secret(typeof value === "string" ? value : Buffer.from(value)), outcome];
  }
  // Powertools' batch read: `getParametersByName` (SSM); the secrets provider reads per name.
  async getMany(names, force) {
    const out = new Map();
    if (this.isSsm) {
      const values = await this.provider.getParametersByName(Object.fromEntries(names.map((n) => [n, {}])), {
        decrypt: true,
        maxAge: this.ttlS,
        throwOnError: false,
      });
      const errors = new Set(values._errors ?? []);
      for (const n of names) out.set(n, errors.has(n) || values[n] === undefined ? new FetchError("not_found") : new Secret(values[n]));
      return out;
    }
    for (const n of names) {
      try {
        out.set(n, (await this.get(n, force))[0]);
      } catch (e) {
        out.set(n, classify(e));
      }
    }
    return out;
  }
}

// --- the probe -----------------------------------------------------------------------------

function architecture() {
  return { x64: "x86_64", arm64: "arm64" }[os.arch()] ?? null;
}

function libraries(s) {
  const names = ["aws-lambda-ric"];
  if (s.usesSdk) names.push({ "kms-env": "@aws-sdk/client-kms", ssm: "@aws-sdk/client-ssm", "secrets-manager": "@aws-sdk/client-secrets-manager" }[s.source]);
  if (s.cache === "powertools") names.push("@aws-lambda-powertools/parameters");
  const out = {};
  for (const n of names) {
    try {
      out[n] = JSON.parse(readFileSync(path.join(here, "node_modules", n, "package.json"), "utf8")).version;
    } catch {
      // not installed beside the module: not named
    }
  }
  return out;
}

const nowNs = () => Math.round(performance.now() * 1e6);
// The process's CPU; in a worker thread (Lambda Managed Instances) the thread's own, since the
// process's counts every thread's INIT and invocations.
const cpuNs = () => {
  const u = isMainThread || !process.threadCpuUsage ? process.cpuUsage() : process.threadCpuUsage();
  return (u.user + u.system) * 1000;
};

class Probe {
  static async init() {
    const p = new Probe();
    const s = (p.s = settingsFrom(process.env));
    p.calls = new Calls();
    let t = nowNs();
    let sdk = null;
    let Provider = null;
    if (s.usesSdk) {
      if (s.source === "ssm") {
        const m = await import("@aws-sdk/client-ssm");
        sdk = { Client: m.SSMClient, GetParameterCommand: m.GetParameterCommand, GetParametersCommand: m.GetParametersCommand };
        if (s.cache === "powertools") Provider = (await import("@aws-lambda-powertools/parameters/ssm")).SSMProvider;
      } else if (s.source === "secrets-manager") {
        const m = await import("@aws-sdk/client-secrets-manager");
        sdk = { Client: m.SecretsManagerClient, GetSecretValueCommand: m.GetSecretValueCommand, BatchGetSecretValueCommand: m.BatchGetSecretValueCommand };
        if (s.cache === "powertools") Provider = (await import("@aws-lambda-powertools/parameters/secrets")).SecretsProvider;
      } else {
        const m = await import("@aws-sdk/client-kms");
        sdk = { Client: m.KMSClient, DecryptCommand: m.DecryptCommand };
      }
    }
    p.importsNs = nowNs() - t;
    // The SDK for JavaScript loads its configuration (region, credentials, endpoint) lazily,
    // on the first call: it is part of the first fetch, not of INIT's client construction.
    p.sdkConfigLoadNs = 0;
    t = nowNs();
    p.source = new Source(s, sdk, p.calls);
    if (s.cache === "ttl") p.cache = new TtlCache(p.source, s.cacheTtlS, s.maxStaleS, s.singleFlight);
    else if (s.cache === "powertools") p.cache = new PowertoolsCache(Provider, p.source, s.cacheTtlS, p.calls);
    else p.cache = new NoCache(p.source, s.fetchAt === "init");
    p.clientConstructionNs = nowNs() - t;
    p.retry = s.usesSdk ? { mode: "standard", max_attempts: 3, attempt_timeout_ms: s.attemptTimeoutS ? Math.round(s.attemptTimeoutS * 1000) : null } : null;
    // On Lambda Managed Instances the runtime interface client starts worker threads, each
    // with its own INIT and cache; the environment is what they share (the process and the
    // log stream), the worker is the thread.
    if (s.maxConcurrency === null) {
      p.environmentId = randomBytes(8).toString("hex");
      p.worker = null;
    } else {
      const shared = `${process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? ""}/${process.pid}`;
      p.environmentId = createHash("sha256").update(shared).digest("hex").slice(0, 16);
      p.worker = isMainThread ? `pid:${process.pid}` : `pid:${process.pid}/thread:${threadId}`;
    }
    p.invocations = 0;
    p.libraries = libraries(s);
    const initFetch = s.fetchAt === "init" ? await p.fetch("init", false) : null;
    p.pendingInit = [
      {
        process_start_to_main_ns: UPTIME_AT_MODULE_NS,
        process_start_resolution_ns: 1000,
        sdk_config_load_ns: p.sdkConfigLoadNs,
        client_construction_ns: p.clientConstructionNs,
        init_fetch_ns: initFetch ? initFetch.latency_ns : null,
        main_to_ready_ns: Math.round((performance.now() - MODULE_START_MS) * 1e6),
        cpu_ns: cpuNs(),
        imports_ns: p.importsNs,
      },
      initFetch,
    ];
    return p;
  }

  verify(secret, expected) {
    if (!expected.length) return [null, null];
    const i = expected.indexOf(secret.sha256());
    return [i >= 0, i >= 0 ? i : null];
  }

  async fetch(phase, force) {
    if (this.s.multi) return this.fetchMany(phase, force);
    this.calls.drain();
    const cpu = cpuNs();
    const start = process.hrtime.bigint();
    let secret = null;
    let outcome;
    let error = null;
    try {
      [secret, outcome] = await this.cache.get(this.s.target, force);
    } catch (e) {
      error = classify(e);
      outcome = "error";
    }
    const latency = Number(process.hrtime.bigint() - start);
    const cpuSpent = cpuNs() - cpu;
    const [apiCalls, attempts] = this.calls.drain();
    const record = {
      phase,
      source: this.s.source,
      cache: this.s.cache,
      outcome,
      latency_ns: latency,
      sdk_attempts: attempts,
      error_class: null,
      value_length_bytes: null,
      verified: null,
      api_calls: apiCalls,
      cpu_ns: cpuSpent,
    };
    if (error) {
      record.error_class = error.errorClass;
      console.log(JSON.stringify({ level: "WARN", message: "fetch failed", source: this.s.source, error_class: error.errorClass, error_code: error.code ?? "-" }));
    } else {
      const [verified, index] = this.verify(secret, this.s.expected);
      record.value_length_bytes = secret.length;
      record.verified = verified;
      if (index !== null) record.version_index = index;
      if (secret.version !== null) record.service_version = secret.version;
    }
    return record;
  }

  // Several secrets per fetch: one call per secret in turn, or the batch read.
  async fetchMany(phase, force) {
    const s = this.s;
    this.calls.drain();
    const cpu = cpuNs();
    const start = process.hrtime.bigint();
    let values = new Map();
    const calls = [];
    const single = { ssm: "GetParameter", "secrets-manager": "GetSecretValue" }[s.source] ?? "agent GET";
    if (s.multi === "batch" && this.cache instanceof PowertoolsCache) {
      const t = process.hrtime.bigint();
      values = await this.cache.getMany(s.names, force);
      const ops = this.calls.operations;
      if (ops.length) calls.push({ operation: ops[0][1], secrets: s.names.length, latency_ns: Number(process.hrtime.bigint() - t), error_class: null, sdk_attempts: this.calls.attempts });
    } else if (s.multi === "batch") {
      values = await this.batch(calls);
    } else {
      for (const n of s.names) {
        const t = process.hrtime.bigint();
        const before = this.calls.attempts;
        let err = null;
        try {
          values.set(n, (await this.cache.get(n, force))[0]);
        } catch (e) {
          err = classify(e);
          values.set(n, err);
        }
        if (this.calls.attempts > before || err)
          calls.push({ operation: single, secrets: 1, latency_ns: Number(process.hrtime.bigint() - t), error_class: err ? err.errorClass : null, sdk_attempts: this.calls.attempts - before });
      }
    }
    const latency = Number(process.hrtime.bigint() - start);
    const cpuSpent = cpuNs() - cpu;
    const [apiCalls, attempts] = this.calls.drain();
    let failed = 0;
    const records = s.names.map((n, i) => {
      const v = values.get(n);
      if (v instanceof Secret) {
        const [verified] = this.verify(v, [s.expectedEach[i]]);
        return { index: i, outcome: apiCalls.length ? "miss" : "hit", verified, value_length_bytes: v.length, error_class: null };
      }
      failed += 1;
      return { index: i, outcome: "error", verified: null, value_length_bytes: null, error_class: v instanceof FetchError ? v.errorClass : "other" };
    });
    const agent = s.source.startsWith("agent-");
    const outcome = failed === s.names.length ? "error" : failed ? "partial" : agent ? "delegated" : apiCalls.length ? "miss" : "hit";
    return {
      phase,
      source: s.source,
      cache: s.cache,
      outcome,
      latency_ns: latency,
      sdk_attempts: attempts,
      error_class: failed ? records.find((r) => r.error_class)?.error_class ?? "other" : null,
      value_length_bytes: failed ? null : records.reduce((a, r) => a + (r.value_length_bytes ?? 0), 0),
      verified: failed ? null : records.every((r) => r.verified),
      api_calls: apiCalls,
      multi: s.multi,
      values: records,
      calls,
      cpu_ns: cpuSpent,
    };
  }

  // `GetParameters` (10 names per call) or `BatchGetSecretValue` (20 ids per call).
  async batch(calls) {
    const s = this.s;
    const out = new Map();
    const ssm = s.source === "ssm";
    const size = ssm ? 10 : 20;
    for (let i = 0; i < s.names.length; i += size) {
      const chunk = s.names.slice(i, i + size);
      const t = process.hrtime.bigint();
      const before = this.calls.attempts;
      let err = null;
      try {
        if (ssm) {
          const r = await this.source.client.send(new this.source.sdk.GetParametersCommand({ Names: chunk, WithDecryption: true }));
          for (const p of r.Parameters ?? []) out.set(p.Name, new Secret(p.Value));
          for (const n of r.InvalidParameters ?? []) out.set(n, new FetchError("not_found"));
        } else {
          const r = await this.source.client.send(new this.source.sdk.BatchGetSecretValueCommand({ SecretIdList: chunk }));
          for (const v of r.SecretValues ?? []) {
            const secret = new Secret(v.SecretString ?? Buffer.from(v.SecretBinary ?? []));
            for (const n of chunk) if (n === v.Name || n === v.ARN) out.set(n, secret);
          }
          for (const e of r.Errors ?? []) for (const n of chunk) if (n === e.SecretId) out.set(n, new FetchError(classifyCode(e.ErrorCode ?? ""), e.ErrorCode));
        }
      } catch (e) {
        err = classify(e);
        for (const n of chunk) out.set(n, err);
      }
      calls.push({ operation: ssm ? "GetParameters" : "BatchGetSecretValue", secrets: chunk.length, latency_ns: Number(process.hrtime.bigint() - t), error_class: err ? err.errorClass : null, sdk_attempts: this.calls.attempts - before });
    }
    return out;
  }

  // One invocation, its API calls logged apart from any other in flight on this thread.
  handle(event, requestId) {
    return this.calls.scope(() => this.invoke(event, requestId));
  }

  async invoke(event, requestId) {
    const start = process.hrtime.bigint();
    if (typeof event !== "object" || event === null || Array.isArray(event)) throw new InvalidEvent("invalid event: not a JSON object");
    const unknown = Object.keys(event).filter((k) => !["run_id", "scenario", "fetches", "force_refresh"].includes(k));
    if (unknown.length) throw new InvalidEvent(`invalid event: unknown field \`${unknown.sort()[0]}\``);
    for (const f of ["run_id", "scenario"]) {
      if (!(f in event)) throw new InvalidEvent(`invalid event: missing field \`${f}\``);
      if (typeof event[f] !== "string") throw new InvalidEvent(`field \`${f}\`: not a string`);
    }
    const fetches = event.fetches ?? 1;
    if (!Number.isInteger(fetches) || fetches < 0) throw new InvalidEvent("field `fetches`: not a whole number");
    if (fetches > MAX_FETCHES) throw new InvalidEvent(`field \`fetches\`: ${fetches} is more than the maximum ${MAX_FETCHES}`);
    const force = event.force_refresh ?? false;
    if (typeof force !== "boolean") throw new InvalidEvent("field `force_refresh`: not a boolean");
    this.invocations += 1;
    let init = null;
    const records = [];
    if (this.pendingInit) {
      const [breakdown, initFetch] = this.pendingInit;
      init = breakdown;
      this.pendingInit = null;
      if (initFetch) records.push(initFetch);
    }
    for (let i = 0; i < fetches; i++) records.push(await this.fetch("handler", force && i === 0));
    const s = this.s;
    const record = {
      schema_version: SCHEMA_VERSION,
      run_id: event.run_id,
      scenario: event.scenario,
      stage: s.stage,
      region: s.region,
      function_name: s.functionName,
      function_version: s.functionVersion,
      memory_mb: s.memoryMb,
      architecture: architecture(),
      environment_id: this.environmentId,
      invocation_seq: this.invocations,
      cold: this.invocations === 1,
      request_id: requestId,
      source: s.source,
      cache: s.cache,
      cache_ttl_ms: s.cacheTtlS !== null ? Math.round(s.cacheTtlS * 1000) : null,
      fetch_at: s.fetchAt,
      sdk_retry: this.retry,
      init,
      fetches: records,
      handler_duration_ns: Number(process.hrtime.bigint() - start),
      probe_version: PROBE_VERSION,
      runtime: RUNTIME,
      runtime_version: `node ${process.version}`,
      libraries: this.libraries,
    };
    if (s.ignoreTransientErrors !== null) record.ignore_transient_errors = s.ignoreTransientErrors;
    if (s.singleFlight !== null) record.single_flight = s.singleFlight;
    if (s.maxConcurrency !== null) {
      record.max_concurrency = s.maxConcurrency;
      record.worker = this.worker;
    }
    if (s.multi) {
      record.multi = s.multi;
      record.secrets = s.names.length;
    }
    if (s.initializationType) record.initialization_type = s.initializationType;
    console.log(JSON.stringify({ secbench_record: record }));
    return record;
  }
}

// INIT: the probe is built when the runtime imports this module (a failure here is the
// runtime's init error, as for any function).
let PROBE;
try {
  PROBE = await Probe.init();
} catch (e) {
  console.error(JSON.stringify({ level: "ERROR", message: `INIT failed: ${e instanceof ConfigError ? e.message : e?.name ?? "error"}` }));
  throw e;
}

export const handler = async (event, context) => PROBE.handle(event, context.awsRequestId);
