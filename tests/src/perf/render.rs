//! `perf -- render`: time to render a ticket and encode it as ESC/POS bytes,
//! for 80 mm (576 dots) and 58 mm (384 dots) paper. Uses the print-test sample
//! ticket, the longest ticket we print (every tone on twelve extra lines).

use std::time::{Duration, Instant};

use ticket_printer::{encode_raster, render as render_ticket, sample_ticket, EncodeOptions};

use super::quantile;

const ROUNDS: usize = 300;

/// Prints `render_{80,58}mm_p50/p99` (render + encode, ms) and `ticket_bytes_{80,58}mm`.
pub fn run() -> anyhow::Result<()> {
    let at = jiff::civil::date(2025, 3, 5).at(8, 15, 0, 0);
    let ticket = sample_ticket("Trung tâm Phục vụ hành chính công tỉnh Bắc Ninh", at);
    let options = EncodeOptions::default();
    for (name, width) in [("80mm", 576u16), ("58mm", 384u16)] {
        // Warm-up: parses the fonts once (cached for the process) and warms caches.
        let mut bytes = encode_raster(&render_ticket(&ticket, width), &options);
        let mut samples: Vec<Duration> = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let start = Instant::now();
            bytes = encode_raster(&render_ticket(&ticket, width), &options);
            samples.push(start.elapsed());
        }
        samples.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!("render_{name}_p50: {:.3} ms", ms(quantile(&samples, 0.50)));
        println!("render_{name}_p99: {:.3} ms", ms(quantile(&samples, 0.99)));
        println!("ticket_bytes_{name}: {} bytes", bytes.len());
    }
    Ok(())
}
