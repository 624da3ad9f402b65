//! A reader made for the record's own layout: it reads the fields the analysis uses
//! ([`Lite`]) straight from the line and skips the others without building anything, about
//! twice as fast as serde_json behind `Lite`'s derive (docs/benchmarks.md).
//!
//! It is never more lenient than that derive: anything it is not sure of (an escaped string, a
//! number that is not a plain integer where one is asked, a duplicate field, a missing one,
//! nesting deeper than serde_json allows, bytes after the record) makes it answer `None`, and
//! [`super::read::parse_lite`] reads the line with serde_json instead, which accepts it or names
//! what is wrong. The enums' names come from their own `Deserialize`, the nested values the
//! analysis keeps whole (`init`, `environment_usage`, `cpu_work`, `libraries`) from serde_json
//! over their span: one definition of each. A test compares the two readers on every fixture
//! and on mutated lines, and the fuzz target `record` does the same on arbitrary bytes.

use super::lite::{Lite, LiteCall, LiteFetch, LitePlatform, LiteProbe};
use serde::de::value::{BorrowedStrDeserializer, Error as ValueError};
use serde::Deserialize;
use std::borrow::Cow;

/// Nesting this reader follows; deeper lines go to serde_json (whose own limit is 128).
const MAX_DEPTH: usize = 64;

/// Reads one record line's analysed fields, or `None` when serde_json must decide.
pub(crate) fn lite(text: &str) -> Option<Lite<'_>> {
    let (record, end) = line_at(text, 0)?;
    (end == text.len()).then_some(record)
}

/// Reads the record line that starts at `start` in `text` (several lines, as a chunk holds
/// them): the record and where its line ends (the index of its newline, or `text`'s end).
/// `None` when the line does not start with the record's `{` or does not end right after it
/// (spaces aside): the caller reads that line on its own.
pub(crate) fn line_at(text: &str, start: usize) -> Option<(Lite<'_>, usize)> {
    let mut cur = Cursor {
        text,
        bytes: text.as_bytes(),
        at: start,
    };
    if cur.bytes.get(start) != Some(&b'{') {
        return None;
    }
    let record = cur.record()?;
    cur.ws();
    matches!(cur.bytes.get(cur.at), None | Some(b'\n')).then_some((record, cur.at))
}

struct Cursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

/// A byte that ends the plain part of a JSON string: its quote, an escape, a control character.
fn is_special(byte: u8) -> bool {
    byte == b'"' || byte == b'\\' || byte < 0x20
}

/// The high bit of each byte of `word` that [`is_special`] (exact up to and including the
/// lowest one set, which is all the reader uses: a borrow can only mark bytes above a real hit).
fn special_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    let quote = zero(word ^ (ONES * u64::from(b'"')));
    let escape = zero(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word;
    (quote | escape | control) & HIGH
}

/// Two slices of the same length are equal: eight bytes at a time (the last eight overlapping),
/// inline, since keys are short and a call to `memcmp` costs more than the comparison.
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n < 8 {
        return a == b;
    }
    let word = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().unwrap_or_default());
    let mut i = 0;
    while i + 8 < n {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

/// The objects whose key order is learned ([`Cursor::object_of`]).
#[derive(Clone, Copy)]
enum Kind {
    Record,
    Platform,
    Probe,
    Fetch,
    Call,
}

thread_local! {
    /// Per kind of object, the quoted keys with their colons (`"stage":`) in the order the last
    /// object of that kind read on this thread had them.
    static ORDERS: [std::cell::RefCell<Vec<Box<[u8]>>>; 5] = Default::default();
}

/// Marks a field as read; a second time is serde's "duplicate field" (so `None`).
fn once(seen: &mut u32, bit: u32) -> Option<()> {
    if *seen & (1 << bit) != 0 {
        return None;
    }
    *seen |= 1 << bit;
    Some(())
}

impl<'a> Cursor<'a> {
    /// JSON's whitespace within a line: never a newline, so a record never runs into the next
    /// line of a chunk.
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.ws();
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// `null` (consumed, `true`) or something else (left, `false`).
    fn null(&mut self) -> Option<bool> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Some(true);
        }
        Some(false)
    }

    /// A string without escapes, borrowed; an escape or a control character is `None`.
    fn str(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        // Eight bytes at a time while eight remain, then one at a time.
        while let Some(chunk) = self.bytes.get(self.at..self.at + 8) {
            let word = u64::from_le_bytes(chunk.try_into().ok()?);
            let hits = special_bytes(word);
            if hits != 0 {
                self.at += (hits.trailing_zeros() / 8) as usize;
                return self.close(start);
            }
            self.at += 8;
        }
        while !is_special(*self.bytes.get(self.at)?) {
            self.at += 1;
        }
        self.close(start)
    }

    /// At a string's first special byte: its closing quote (the string) or not (`None`).
    fn close(&mut self, start: usize) -> Option<&'a str> {
        if self.bytes[self.at] != b'"' {
            return None;
        }
        self.at += 1;
        self.text.get(start..self.at - 1)
    }

    /// A string that names an enum variant, read by the enum's own `Deserialize`.
    fn name<T: Deserialize<'a>>(&mut self) -> Option<T> {
        let s = self.str()?;
        T::deserialize(BorrowedStrDeserializer::<ValueError>::new(s)).ok()
    }

    fn u64(&mut self) -> Option<u64> {
        self.ws();
        let start = self.at;
        let mut value: u64 = 0;
        while let Some(d @ b'0'..=b'9') = self.bytes.get(self.at).copied() {
            value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
            self.at += 1;
        }
        let digits = self.at - start;
        // No digits, a leading zero, or a fraction or exponent: serde_json decides.
        if digits == 0 || (digits > 1 && self.bytes[start] == b'0') {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = self.bytes.get(self.at) {
            return None;
        }
        Some(value)
    }

    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.u64()?).ok()
    }

    /// The span of a JSON number, checked against the grammar.
    fn number(&mut self) -> Option<&'a str> {
        self.ws();
        let start = self.at;
        let digits = |cur: &mut Self| {
            let from = cur.at;
            while let Some(b'0'..=b'9') = cur.bytes.get(cur.at) {
                cur.at += 1;
            }
            cur.at - from
        };
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        let int_start = self.at;
        let n = digits(self);
        if n == 0 || (n > 1 && self.bytes[int_start] == b'0') {
            return None;
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            if digits(self) == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.at) {
                self.at += 1;
            }
            if digits(self) == 0 {
                return None;
            }
        }
        self.text.get(start..self.at)
    }

    /// A float, converted by serde_json itself (its rounding, not std's).
    fn f64(&mut self) -> Option<f64> {
        serde_json::from_str(self.number()?).ok()
    }

    fn bool(&mut self) -> Option<bool> {
        match self.peek()? {
            b't' => self.literal(b"true").map(|()| true),
            b'f' => self.literal(b"false").map(|()| false),
            _ => None,
        }
    }

    fn opt<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.null()? {
            return Some(None);
        }
        read(self).map(Some)
    }

    /// Skips any JSON value, checking its syntax as serde_json would.
    fn skip(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.str().map(drop),
            b'{' => self.object(|cur, _| cur.skip(depth + 1)),
            b'[' => self.array(|cur| cur.skip(depth + 1)),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(drop),
        }
    }

    /// A value kept whole, read by serde_json over its span.
    fn whole<T: Deserialize<'a>>(&mut self) -> Option<T> {
        self.ws();
        let start = self.at;
        self.skip(1)?;
        serde_json::from_str(self.text.get(start..self.at)?).ok()
    }

    fn object(&mut self, field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.object_of(None, field)
    }

    /// An object's fields in turn. With a `kind`, its keys are first tried against the order
    /// the last object of that kind had on this thread (the writer's order, learned from the
    /// data): a key that matches is taken without scanning it. Prediction only saves time: a
    /// key it misses is read as any other, and becomes the prediction.
    fn object_of(
        &mut self,
        kind: Option<Kind>,
        field: impl FnMut(&mut Self, &'a str) -> Option<()>,
    ) -> Option<()> {
        match kind {
            None => self.fields(None, field),
            Some(kind) => ORDERS.with(|orders| match orders[kind as usize].try_borrow_mut() {
                Ok(mut order) => self.fields(Some(&mut order), field),
                Err(_) => self.fields(None, field),
            }),
        }
    }

    fn fields(
        &mut self,
        mut order: Option<&mut Vec<Box<[u8]>>>,
        mut field: impl FnMut(&mut Self, &'a str) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(());
        }
        let mut slot = 0;
        loop {
            let key = match order.as_deref_mut() {
                Some(order) => self.predicted_key(order, slot)?,
                None => {
                    let key = self.str()?;
                    self.eat(b':')?;
                    key
                }
            };
            slot += 1;
            field(self, key)?;
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// The key at the cursor and its colon, taken whole when it is the `slot`th of `order`,
    /// scanned (and remembered there) when not.
    fn predicted_key(&mut self, order: &mut Vec<Box<[u8]>>, slot: usize) -> Option<&'a str> {
        self.ws();
        if let Some(raw) = order.get(slot) {
            if self
                .bytes
                .get(self.at..self.at + raw.len())
                .is_some_and(|here| same(here, raw))
            {
                let key = self.text.get(self.at + 1..self.at + raw.len() - 2)?;
                self.at += raw.len();
                return Some(key);
            }
        }
        let start = self.at;
        let key = self.str()?;
        // Remembered only as written without spaces: `"key":`.
        if self.bytes.get(self.at) == Some(&b':') {
            order.truncate(slot);
            order.push(self.bytes[start..=self.at].into());
        }
        self.eat(b':')?;
        Some(key)
    }

    fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.peek()? == b']' {
            self.at += 1;
            return Some(());
        }
        loop {
            item(self)?;
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn record(&mut self) -> Option<Lite<'a>> {
        let mut seen = 0u32;
        let (mut version, mut intended, mut stage, mut scenario) = (None, None, None, None);
        let (mut phase, mut outcome, mut error_type, mut caller) = (None, None, None, None);
        let (mut slip, mut platform, mut probe, mut usage) = (None, None, None, None);
        let mut proactive = None;
        self.object_of(Some(Kind::Record), |cur, key| {
            match key {
                "run_schema_version" => {
                    once(&mut seen, 0)?;
                    version = Some(cur.u32()?);
                }
                "intended_send_unix_ms" => {
                    once(&mut seen, 1)?;
                    intended = Some(cur.u64()?);
                }
                "stage" => {
                    once(&mut seen, 2)?;
                    stage = Some(cur.str()?);
                }
                "scenario" => {
                    once(&mut seen, 3)?;
                    scenario = Some(cur.str()?);
                }
                "phase" => {
                    once(&mut seen, 4)?;
                    phase = Some(cur.name()?);
                }
                "outcome" => {
                    once(&mut seen, 5)?;
                    outcome = Some(cur.name()?);
                }
                "error_type" => {
                    once(&mut seen, 6)?;
                    error_type = cur.opt(Self::str)?;
                }
                "caller_latency_ns" => {
                    once(&mut seen, 7)?;
                    caller = Some(cur.u64()?);
                }
                "schedule_slip_ns" => {
                    once(&mut seen, 8)?;
                    slip = cur.opt(Self::u64)?;
                }
                "platform" => {
                    once(&mut seen, 9)?;
                    platform = cur.opt(Self::platform)?;
                }
                "probe" => {
                    once(&mut seen, 10)?;
                    probe = cur.opt(Self::probe)?;
                }
                "environment_usage" => {
                    once(&mut seen, 11)?;
                    usage = cur.opt(Self::whole)?;
                }
                "proactive" => {
                    once(&mut seen, 12)?;
                    proactive = Some(cur.bool()?);
                }
                _ => cur.skip(1)?,
            }
            Some(())
        })?;
        Some(Lite {
            run_schema_version: version?,
            intended_send_unix_ms: intended.unwrap_or_default(),
            stage: Cow::Borrowed(stage?),
            scenario: Cow::Borrowed(scenario?),
            phase: phase?,
            outcome: outcome?,
            error_type: error_type.map(Cow::Borrowed),
            caller_latency_ns: caller?,
            schedule_slip_ns: slip,
            platform,
            probe,
            environment_usage: usage,
            proactive: proactive.unwrap_or_default(),
        })
    }

    fn platform(&mut self) -> Option<LitePlatform<'a>> {
        let mut seen = 0u32;
        let (mut duration, mut billed, mut init, mut status) = (None, None, None, None);
        let mut restore = None;
        self.object_of(Some(Kind::Platform), |cur, key| {
            match key {
                "duration_ms" => {
                    once(&mut seen, 0)?;
                    duration = cur.opt(Self::f64)?;
                }
                "billed_duration_ms" => {
                    once(&mut seen, 1)?;
                    billed = cur.opt(Self::u64)?;
                }
                "init_duration_ms" => {
                    once(&mut seen, 2)?;
                    init = cur.opt(Self::f64)?;
                }
                "status" => {
                    once(&mut seen, 3)?;
                    status = cur.opt(Self::str)?;
                }
                "restore_duration_ms" => {
                    once(&mut seen, 4)?;
                    restore = cur.opt(Self::f64)?;
                }
                _ => cur.skip(2)?,
            }
            Some(())
        })?;
        Some(LitePlatform {
            duration_ms: duration,
            billed_duration_ms: billed,
            init_duration_ms: init,
            restore_duration_ms: restore,
            status: status.map(Cow::Borrowed),
        })
    }

    fn probe(&mut self) -> Option<LiteProbe<'a>> {
        let mut seen = 0u32;
        let (mut environment, mut cold, mut source, mut cache) = (None, None, None, None);
        let (mut fetch_at, mut memory, mut arch, mut multi) = (None, None, None, None);
        let (mut secrets, mut init_type, mut prewarm, mut build) = (None, None, None, None);
        let (mut runtime, mut runtime_version, mut libraries) = (None, None, None);
        let (mut cpu_work, mut handler, mut init, mut fetches) = (None, None, None, None);
        let (mut single_flight, mut max_concurrency, mut worker, mut ttl) =
            (None, None, None, None);
        let mut snapstart = None;
        self.object_of(Some(Kind::Probe), |cur, key| {
            match key {
                "environment_id" => {
                    once(&mut seen, 0)?;
                    environment = Some(cur.str()?);
                }
                "cold" => {
                    once(&mut seen, 1)?;
                    cold = Some(cur.bool()?);
                }
                "source" => {
                    once(&mut seen, 2)?;
                    source = Some(cur.name()?);
                }
                "cache" => {
                    once(&mut seen, 3)?;
                    cache = Some(cur.name()?);
                }
                "fetch_at" => {
                    once(&mut seen, 4)?;
                    fetch_at = Some(cur.name()?);
                }
                "memory_mb" => {
                    once(&mut seen, 5)?;
                    memory = cur.opt(Self::u32)?;
                }
                "architecture" => {
                    once(&mut seen, 6)?;
                    arch = cur.opt(Self::name)?;
                }
                "multi" => {
                    once(&mut seen, 7)?;
                    multi = cur.opt(Self::name)?;
                }
                "secrets" => {
                    once(&mut seen, 8)?;
                    secrets = cur.opt(Self::u32)?;
                }
                "initialization_type" => {
                    once(&mut seen, 9)?;
                    init_type = cur.opt(Self::name)?;
                }
                "prewarm" => {
                    once(&mut seen, 10)?;
                    prewarm = cur.opt(Self::name)?;
                }
                "probe_build" => {
                    once(&mut seen, 11)?;
                    build = cur.opt(Self::name)?;
                }
                "runtime" => {
                    once(&mut seen, 12)?;
                    runtime = cur.opt(Self::name)?;
                }
                "runtime_version" => {
                    once(&mut seen, 13)?;
                    runtime_version = cur.opt(Self::str)?;
                }
                "libraries" => {
                    once(&mut seen, 14)?;
                    libraries = Some(cur.libraries()?);
                }
                "cpu_work" => {
                    once(&mut seen, 15)?;
                    cpu_work = cur.opt(Self::whole)?;
                }
                "handler_duration_ns" => {
                    once(&mut seen, 16)?;
                    handler = Some(cur.u64()?);
                }
                "init" => {
                    once(&mut seen, 17)?;
                    init = cur.opt(Self::whole)?;
                }
                "single_flight" => {
                    once(&mut seen, 19)?;
                    single_flight = cur.opt(Self::bool)?;
                }
                "max_concurrency" => {
                    once(&mut seen, 20)?;
                    max_concurrency = cur.opt(Self::u32)?;
                }
                "worker" => {
                    once(&mut seen, 21)?;
                    worker = cur.opt(Self::str)?;
                }
                "cache_ttl_ms" => {
                    once(&mut seen, 22)?;
                    ttl = cur.opt(Self::u64)?;
                }
                "snapstart" => {
                    once(&mut seen, 23)?;
                    snapstart = cur.opt(Self::whole)?;
                }
                "fetches" => {
                    once(&mut seen, 18)?;
                    let mut list = Vec::with_capacity(1);
                    cur.array(|cur| {
                        list.push(cur.fetch()?);
                        Some(())
                    })?;
                    fetches = Some(list);
                }
                _ => cur.skip(2)?,
            }
            Some(())
        })?;
        Some(LiteProbe {
            environment_id: Cow::Borrowed(environment.unwrap_or_default()),
            cold: cold?,
            source: source?,
            cache: cache?,
            fetch_at: fetch_at?,
            memory_mb: memory,
            architecture: arch,
            multi,
            secrets,
            initialization_type: init_type,
            single_flight,
            max_concurrency,
            worker: worker.map(Cow::Borrowed),
            cache_ttl_ms: ttl,
            prewarm,
            probe_build: build,
            runtime,
            runtime_version: runtime_version.map(Cow::Borrowed),
            libraries: libraries.unwrap_or_default(),
            cpu_work,
            handler_duration_ns: handler?,
            init,
            snapstart,
            fetches: fetches?,
        })
    }

    /// The probe's library versions: an empty object read here, anything else by serde_json.
    fn libraries(&mut self) -> Option<std::collections::BTreeMap<Cow<'a, str>, Cow<'a, str>>> {
        if self.peek()? == b'{' {
            let at = self.at;
            self.at += 1;
            if self.peek()? == b'}' {
                self.at += 1;
                return Some(Default::default());
            }
            self.at = at;
        }
        self.whole()
    }

    fn fetch(&mut self) -> Option<LiteFetch<'a>> {
        let mut seen = 0u32;
        let (mut phase, mut outcome, mut version, mut latency) = (None, None, None, None);
        let (mut cpu, mut error_class, mut calls) = (None, None, None);
        self.object_of(Some(Kind::Fetch), |cur, key| {
            match key {
                "phase" => {
                    once(&mut seen, 0)?;
                    phase = Some(cur.name()?);
                }
                "outcome" => {
                    once(&mut seen, 1)?;
                    outcome = Some(cur.name()?);
                }
                "version_index" => {
                    once(&mut seen, 2)?;
                    version = cur.opt(Self::u32)?;
                }
                "latency_ns" => {
                    once(&mut seen, 3)?;
                    latency = Some(cur.u64()?);
                }
                "cpu_ns" => {
                    once(&mut seen, 4)?;
                    cpu = cur.opt(Self::u64)?;
                }
                "error_class" => {
                    once(&mut seen, 5)?;
                    error_class = cur.opt(Self::name)?;
                }
                "api_calls" => {
                    once(&mut seen, 6)?;
                    let mut list = Vec::new();
                    cur.array(|cur| {
                        list.push(cur.call()?);
                        Some(())
                    })?;
                    calls = Some(list);
                }
                _ => cur.skip(4)?,
            }
            Some(())
        })?;
        Some(LiteFetch {
            phase: phase?,
            outcome: outcome?,
            version_index: version,
            latency_ns: latency?,
            cpu_ns: cpu,
            error_class,
            api_calls: calls?,
        })
    }

    fn call(&mut self) -> Option<LiteCall<'a>> {
        let mut seen = 0u32;
        let (mut service, mut operation, mut count) = (None, None, None);
        self.object_of(Some(Kind::Call), |cur, key| {
            match key {
                "service" => {
                    once(&mut seen, 0)?;
                    service = Some(cur.str()?);
                }
                "operation" => {
                    once(&mut seen, 1)?;
                    operation = Some(cur.str()?);
                }
                "count" => {
                    once(&mut seen, 2)?;
                    count = Some(cur.u32()?);
                }
                _ => cur.skip(6)?,
            }
            Some(())
        })?;
        Some(LiteCall {
            service: Cow::Borrowed(service?),
            operation: Cow::Borrowed(operation?),
            count: count?,
        })
    }
}
