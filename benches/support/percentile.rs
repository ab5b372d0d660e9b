//! The one percentile the benches report: of latencies in microseconds, in
//! milliseconds (nearest rank; NaN when there are none).

pub fn percentile_ms(micros: &[u32], p: f64) -> f64 {
    if micros.is_empty() {
        return f64::NAN;
    }
    let mut v = micros.to_vec();
    v.sort_unstable();
    let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
    v[i] as f64 / 1000.0
}
