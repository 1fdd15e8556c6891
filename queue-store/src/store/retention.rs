//! Day summaries kept when retention removes a service day: a pure function
//! from that day's tickets to one [`DaySummary`] per issuing department.

use std::collections::BTreeMap;

use queue_protocol::{DaySummary, DurationStats, Ticket, TicketState};

/// Nearest-rank percentile of sorted, non-empty samples: the value at index
/// round((n − 1)·q). Reports use the same rule so that a day's figures are the
/// same before and after retention summarised it.
pub fn percentile<T: Copy>(sorted: &[T], q: f64) -> T {
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn stats(mut secs: Vec<u64>) -> DurationStats {
    if secs.is_empty() {
        return DurationStats::default();
    }
    secs.sort_unstable();
    let count = secs.len();
    let p90 = percentile(&secs, 0.9);
    DurationStats {
        count: u32::try_from(count).unwrap_or(u32::MAX),
        mean_secs: secs.iter().sum::<u64>() / count as u64,
        p90_secs: p90,
        max_secs: secs[count - 1],
    }
}

fn secs_between(from: i64, to: Option<i64>) -> Option<u64> {
    to.map(|to| u64::try_from(to.saturating_sub(from) / 1000).unwrap_or(0))
}

/// Summaries of `tickets` (all of one service day), by issuing department.
pub fn summarise(service_day: &str, tickets: &[Ticket]) -> Vec<DaySummary> {
    #[derive(Default)]
    struct Acc {
        summary: Option<DaySummary>,
        waiting: Vec<u64>,
        service: Vec<u64>,
    }
    let mut by_department: BTreeMap<&str, Acc> = BTreeMap::new();
    for t in tickets {
        let acc = by_department.entry(&t.issued_department).or_default();
        let s = acc.summary.get_or_insert_with(|| DaySummary {
            service_day: service_day.to_owned(),
            department: t.issued_department.clone(),
            issued: 0,
            served: 0,
            no_show: 0,
            transferred: 0,
            cancelled: 0,
            waiting: DurationStats::default(),
            service: DurationStats::default(),
        });
        s.issued += 1;
        match t.state {
            TicketState::Done => s.served += 1,
            TicketState::NoShow => s.no_show += 1,
            TicketState::Cancelled => s.cancelled += 1,
            _ => {}
        }
        if t.transfers > 0 {
            s.transferred += 1;
        }
        if let Some(w) = secs_between(t.issued_at_ms, t.called_at_ms) {
            acc.waiting.push(w);
        }
        if t.state == TicketState::Done {
            if let Some(start) = t.serving_at_ms.or(t.called_at_ms) {
                if let Some(d) = secs_between(start, t.closed_at_ms) {
                    acc.service.push(d);
                }
            }
        }
    }
    by_department
        .into_values()
        .filter_map(|acc| {
            let mut s = acc.summary?;
            s.waiting = stats(acc.waiting);
            s.service = stats(acc.service);
            Some(s)
        })
        .collect()
}
