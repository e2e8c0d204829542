//! `--mlir-timing`: wall time per pipeline element and per step of the artifact writer, printed
//! as an execution time report in mlir-opt's format. Steps record into a thread-local list that
//! is only kept while a report is being collected.

use std::cell::RefCell;
use std::time::{Duration, Instant};

thread_local! {
    static STEPS: RefCell<Option<Vec<(String, Duration)>>> = const { RefCell::new(None) };
}

/// Start collecting (dropping anything collected before).
pub fn start() {
    STEPS.with(|s| *s.borrow_mut() = Some(vec![]));
}

/// Stop collecting and return the steps in the order they finished.
pub fn finish() -> Vec<(String, Duration)> {
    STEPS.with(|s| s.borrow_mut().take().unwrap_or_default())
}

/// Record a step that took `d` (nothing when no report is being collected).
pub fn record(name: impl Into<String>, d: Duration) {
    STEPS.with(|s| {
        if let Some(v) = s.borrow_mut().as_mut() {
            v.push((name.into(), d));
        }
    });
}

/// Run `f` as the step `name`.
pub fn time<T>(name: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let r = f();
    record(name, t.elapsed());
    r
}

/// The report: total wall time, then each step with its share.
pub fn report(steps: &[(String, Duration)], total: Duration) -> String {
    let line = "===".to_string() + &"-".repeat(73) + "===\n";
    let mut s = line.clone();
    s.push_str(&format!("{:^79}\n", "... Execution time report ..."));
    s.push_str(&line);
    let t = total.as_secs_f64();
    s.push_str(&format!("  Total Execution Time: {t:.4} seconds\n\n"));
    s.push_str("  ----Wall Time----  ----Name----\n");
    let pct = |d: f64| if t > 0.0 { 100.0 * d / t } else { 0.0 };
    for (name, d) in steps {
        let d = d.as_secs_f64();
        s.push_str(&format!("  {d:>8.4} ({:>5.1}%)  {name}\n", pct(d)));
    }
    s.push_str(&format!("  {t:>8.4} ({:>5.1}%)  Total\n", 100.0));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_kept_only_while_collecting() {
        record("before", Duration::from_millis(1));
        start();
        time("a", || ());
        record("b", Duration::from_millis(250));
        let steps = finish();
        assert_eq!(
            steps.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        record("after", Duration::from_millis(1));
        assert!(finish().is_empty());
        let r = report(&steps, Duration::from_millis(500));
        assert!(r.contains("Total Execution Time: 0.5000 seconds"), "{r}");
        assert!(r.contains("  0.2500 ( 50.0%)  b\n"), "{r}");
        assert!(r.ends_with("  0.5000 (100.0%)  Total\n"), "{r}");
    }
}
