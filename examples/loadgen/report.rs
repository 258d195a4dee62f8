//! Turning merged [`Results`] into what a person or a script reads: a small table,
//! or one JSON object (written by hand: one flat object does not need serde), and
//! the live progress line.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::client::Results;

/// What was run, for the report's header.
pub struct RunInfo<'a> {
    pub mode: &'a str,
    pub target: String,
    pub connections: usize,
    pub pipeline: usize,
    pub threads: usize,
    pub size: usize,
    /// `--command` for resp, `--path` for http.
    pub detail: Option<String>,
    pub udp: bool,
    /// `--rate`: the requested requests/s (open loop).
    pub rate: Option<f64>,
}

/// Latency percentiles in microseconds: p50, p90, p99, p99.9, max.
fn percentiles(h: &Histogram<u64>) -> [f64; 5] {
    if h.is_empty() {
        return [0.0; 5];
    }
    let us = |ns: u64| ns as f64 / 1000.0;
    [
        us(h.value_at_quantile(0.50)),
        us(h.value_at_quantile(0.90)),
        us(h.value_at_quantile(0.99)),
        us(h.value_at_quantile(0.999)),
        us(h.max()),
    ]
}

/// The percentiles as a JSON object.
fn json_percentiles(h: &Histogram<u64>) -> String {
    let [p50, p90, p99, p999, max] = percentiles(h);
    format!(
        "{{\"p50\":{p50:.1},\"p90\":{p90:.1},\"p99\":{p99:.1},\"p999\":{p999:.1},\"max\":{max:.1}}}"
    )
}

fn rates(r: &Results, elapsed: Duration) -> (f64, f64) {
    let secs = elapsed.as_secs_f64().max(1e-9);
    (r.requests as f64 / secs, r.bytes as f64 / secs / 1e6)
}

/// One JSON object on one line.
pub fn json(info: &RunInfo<'_>, r: &Results, elapsed: Duration) -> String {
    let (rps, mbps) = rates(r, elapsed);
    let mut s = String::new();
    let _ = write!(
        s,
        "{{\"mode\":{},\"target\":{},\"connections\":{},\"pipeline\":{},\"threads\":{},\
         \"size\":{},\"duration_s\":{:.3},\"requests\":{},\"errors\":{},\"connect_errors\":{},\
         \"rps\":{:.1},\"mb_per_s\":{:.3},\"latency_us\":{}",
        string(info.mode),
        string(&info.target),
        info.connections,
        info.pipeline,
        info.threads,
        info.size,
        elapsed.as_secs_f64(),
        r.requests,
        r.errors,
        r.connect_errors,
        rps,
        mbps,
        json_percentiles(&r.latency),
    );
    if let Some(rate) = info.rate {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let _ = write!(
            s,
            ",\"requested_rps\":{rate:.1},\"sent_rps\":{:.1},\"outstanding\":{},\
             \"service_latency_us\":{}",
            r.sent as f64 / secs,
            r.outstanding,
            json_percentiles(&r.service)
        );
    }
    if info.udp {
        let _ = write!(
            s,
            ",\"sent\":{},\"received\":{},\"loss\":{}",
            r.udp.sent,
            r.udp.received,
            r.udp.sent.saturating_sub(r.udp.received)
        );
    }
    s.push_str(",\"errors_by_kind\":{");
    for (i, (kind, n)) in r.kinds.iter().enumerate() {
        let _ = write!(s, "{}{}:{}", if i > 0 { "," } else { "" }, string(kind), n);
    }
    s.push_str("}}");
    s
}

/// A JSON string literal.
fn string(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 2);
    s.push('"');
    for c in text.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// The human-readable report.
pub fn table(info: &RunInfo<'_>, r: &Results, elapsed: Duration) -> String {
    let (rps, mbps) = rates(r, elapsed);
    let mut s = String::new();
    let detail = info
        .detail
        .as_ref()
        .map_or(String::new(), |d| format!(" {d}"));
    let _ = writeln!(
        s,
        "{}{} -> {}: {} {}, pipeline {}, {} thread{}, {} B",
        info.mode,
        detail,
        info.target,
        info.connections,
        if info.udp { "sockets" } else { "connections" },
        info.pipeline,
        info.threads,
        if info.threads == 1 { "" } else { "s" },
        info.size
    );
    let _ = writeln!(s, "  duration        {:>12.2} s", elapsed.as_secs_f64());
    let _ = writeln!(
        s,
        "  requests        {:>12}    {} req/s",
        group(r.requests),
        group(rps.round() as u64)
    );
    let _ = writeln!(s, "  throughput      {mbps:>12.2} MB/s (reply bytes)");
    let _ = writeln!(s, "  errors          {:>12}", group(r.errors));
    let _ = writeln!(s, "  connect errors  {:>12}", group(r.connect_errors));
    if info.udp {
        let lost = r.udp.sent.saturating_sub(r.udp.received);
        let pct = if r.udp.sent > 0 {
            100.0 * lost as f64 / r.udp.sent as f64
        } else {
            0.0
        };
        let _ = writeln!(
            s,
            "  datagrams       {:>12} sent, {} received, {} lost ({pct:.3}%)",
            group(r.udp.sent),
            group(r.udp.received),
            group(lost)
        );
    }
    if let Some(rate) = info.rate {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let _ = writeln!(
            s,
            "  rate (req/s)    {:>12} requested, {} sent, {} answered",
            group(rate.round() as u64),
            group((r.sent as f64 / secs).round() as u64),
            group(rps.round() as u64)
        );
        if rps < rate * 0.99 {
            let _ = writeln!(
                s,
                "                  below the requested rate: the server (or loadgen) fell behind"
            );
        }
        let _ = writeln!(
            s,
            "  outstanding     {:>12}    due but unanswered at the end",
            group(r.outstanding)
        );
    }
    let _ = writeln!(
        s,
        "  latency (us)    {:>10} {:>10} {:>10} {:>10} {:>10}",
        "p50", "p90", "p99", "p99.9", "max"
    );
    let line = |s: &mut String, label: &str, h: &Histogram<u64>| {
        let [p50, p90, p99, p999, max] = percentiles(h);
        let _ = writeln!(
            s,
            "  {label:<16}{p50:>10.1} {p90:>10.1} {p99:>10.1} {p999:>10.1} {max:>10.1}"
        );
    };
    if info.rate.is_some() {
        line(&mut s, "from schedule", &r.latency);
        line(&mut s, "from send", &r.service);
    } else {
        line(&mut s, "", &r.latency);
    }
    for (kind, n) in &r.kinds {
        let _ = writeln!(s, "  {:>12}x  {kind}", group(*n));
    }
    s
}

/// `1234567` as `1,234,567`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut s = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            s.push(',');
        }
        s.push(c);
    }
    s
}
