//! Durations (and counts) as short human figures: the one formatter behind the terminal and
//! Markdown tables (`8.12 ms`), the plots' axes (`8.1 ms`), the cost table (`8.1 ms`) and the
//! sentences of the emulation statement and the cold-start section ([`ms_text`]). Each table
//! style is a [`Style`]: a unit per magnitude and the decimals it is shown with. Here, in the
//! formats' crate, so the statement the manifest's readers print and the analyzer's tables
//! share it.

/// One unit of a style: used for values below `below_ns`.
#[derive(Debug, Clone, Copy)]
struct Step {
    below_ns: f64,
    unit: &'static str,
    unit_ns: f64,
    decimals: usize,
}

/// How a duration is shown.
#[derive(Debug, Clone, Copy)]
pub struct Style(&'static [Step]);

const fn step(below_ns: f64, unit: &'static str, unit_ns: f64, decimals: usize) -> Step {
    Step {
        below_ns,
        unit,
        unit_ns,
        decimals,
    }
}

/// Tables: `312 ns`, `8.1 µs`, `8.12 ms`, `1.23 s`.
pub const TABLE: Style = Style(&[
    step(1e3, "ns", 1.0, 0),
    step(1e6, "µs", 1e3, 1),
    step(1e9, "ms", 1e6, 2),
    step(f64::INFINITY, "s", 1e9, 2),
]);

/// Plot axes and labels: `312 ns`, `81 µs`, `8.1 ms`, `120 ms`.
pub const AXIS: Style = Style(&[
    step(1e3, "ns", 1.0, 0),
    step(1e6, "µs", 1e3, 0),
    step(1e8, "ms", 1e6, 1),
    step(f64::INFINITY, "ms", 1e6, 0),
]);

/// The cost table's latencies: `0.5 µs`, `812.3 µs`, `8.1 ms`.
pub const COST: Style = Style(&[step(1e6, "µs", 1e3, 1), step(f64::INFINITY, "ms", 1e6, 1)]);

/// Spans of time such as staleness: `12 ms`, `4.8 s`, `5.0 min`, `2.0 h`.
pub const SPAN: Style = Style(&[
    step(1e9, "ms", 1e6, 0),
    step(120e9, "s", 1e9, 1),
    step(7200e9, "min", 60e9, 1),
    step(f64::INFINITY, "h", 3600e9, 1),
]);

/// Seconds as a span of time (staleness).
pub fn span_label(s: f64) -> String {
    if s == 0.0 {
        return "0".into();
    }
    format_ns(s * 1e9, SPAN)
}

/// `ns` nanoseconds in `style`.
pub fn format_ns(ns: f64, style: Style) -> String {
    let s = style
        .0
        .iter()
        .find(|s| ns < s.below_ns)
        .or(style.0.last())
        .copied()
        .unwrap_or(step(f64::INFINITY, "ns", 1.0, 0));
    format!("{:.*} {}", s.decimals, ns / s.unit_ns, s.unit)
}

/// Nanoseconds in the tables' style.
pub fn human_ns(ns: u64) -> String {
    format_ns(ns as f64, TABLE)
}

/// Nanoseconds in the tables' style, or `–` when there is no value.
pub fn human_ns_or_dash(ns: Option<u64>) -> String {
    ns.map_or_else(|| "–".to_owned(), human_ns)
}

/// Milliseconds as a span of time (staleness measured in ms).
pub fn span_label_ms(ms: f64) -> String {
    span_label(ms / 1e3)
}

/// Nanoseconds as milliseconds, the unit the latency charts' axes are in.
pub fn ns_to_ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// Milliseconds in the plots' style.
pub fn ms_label(ms: f64) -> String {
    format_ns(ms * 1e6, AXIS)
}

/// Seconds in the cost table's style.
pub fn secs_label(s: f64) -> String {
    format_ns(s * 1e9, COST)
}

/// A count with a thousands-style suffix (`10M`, `12.5k`).
pub fn si(v: f64) -> String {
    let (d, suffix) = if v >= 1e9 {
        (1e9, "G")
    } else if v >= 1e6 {
        (1e6, "M")
    } else if v >= 1e3 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let x = v / d;
    let s = if (x - x.round()).abs() < 1e-9 {
        format!("{x:.0}")
    } else {
        format!("{x:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    };
    format!("{s}{suffix}")
}

/// A duration in ms with three significant digits (`290 ms`, `21.3 ms`, `0.0312 ms`).
pub fn ms_text(ns: u64) -> String {
    let ms = ns as f64 / 1e6;
    let decimals = if ms >= 100.0 {
        0
    } else if ms >= 10.0 {
        1
    } else if ms >= 1.0 {
        2
    } else {
        (2.0 - ms.max(1e-6).log10().floor()) as usize
    };
    format!("{ms:.decimals$} ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_style_at_each_magnitude() {
        assert_eq!(human_ns(312), "312 ns");
        assert_eq!(human_ns(8_123), "8.1 µs");
        assert_eq!(human_ns(8_123_456), "8.12 ms");
        assert_eq!(human_ns(1_234_567_890), "1.23 s");
        assert_eq!(ms_label(0.000_5), "500 ns");
        assert_eq!(ms_label(0.081), "81 µs");
        assert_eq!(ms_label(8.12), "8.1 ms");
        assert_eq!(ms_label(120.4), "120 ms");
        assert_eq!(ms_label(5000.0), "5000 ms");
        assert_eq!(secs_label(0.000_000_5), "0.5 µs");
        assert_eq!(secs_label(0.000_812_3), "812.3 µs");
        assert_eq!(secs_label(0.008_12), "8.1 ms");
    }
}
