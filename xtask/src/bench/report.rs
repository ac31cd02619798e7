//! Where benchmark results go (target/bench/), the markdown they are written in, the machine they
//! ran on, and the CDF plots (plotters, SVG backend).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use plotters::prelude::*;

use crate::cmd;

/// target/bench, created if needed.
pub fn out_dir() -> anyhow::Result<PathBuf> {
    let dir = cmd::target_dir().join("bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

pub fn write(name: &str, text: &str) -> anyhow::Result<PathBuf> {
    let path = out_dir()?.join(name);
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// A markdown table.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut text = format!("| {} |\n", headers.join(" | "));
    let _ = writeln!(text, "|{}", " --- |".repeat(headers.len()));
    for row in rows {
        let _ = writeln!(text, "| {} |", row.join(" | "));
    }
    text
}

fn first_line(cmd: &str, args: &[&str]) -> String {
    cmd::probe(std::process::Command::new(cmd).args(args))
        .map(|s| s.lines().next().unwrap_or("").trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Kernel, CPU count and model, date, keepalived version: a markdown list.
pub fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let keepalived =
        cmd::probe_any_status(std::process::Command::new("keepalived").arg("--version"))
            .and_then(|s| s.lines().next().map(str::to_string))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| first_line("sh", &["-c", "keepalived --version 2>&1"]));
    format!(
        "- date: {}\n- kernel: {}\n- CPUs: {cpus} × {model}\n- keepalived: {keepalived}\n",
        first_line("date", &["-u", "+%Y-%m-%d %H:%M:%S UTC"]),
        first_line("uname", &["-r"]),
    )
}

/// One panel of a CDF plot: a title and named series of values (milliseconds).
pub struct Panel {
    pub title: String,
    pub series: Vec<(String, Vec<f64>)>,
}

/// Draws one empirical CDF panel per entry, stacked, into an SVG at `path`.
pub fn cdf_svg(path: &Path, x_label: &str, panels: &[Panel]) -> anyhow::Result<()> {
    let height = 320 * panels.len().max(1) as u32;
    let root = SVGBackend::new(path, (900, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let areas = root.split_evenly((panels.len().max(1), 1));
    for (panel, area) in panels.iter().zip(areas.iter()) {
        let all: Vec<f64> = panel
            .series
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .collect();
        let (lo, hi) = all
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let (lo, hi) = if all.is_empty() {
            (0.0, 1.0)
        } else if hi - lo < 1e-6 {
            (lo - 0.5, hi + 0.5)
        } else {
            (lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05)
        };
        let mut chart = ChartBuilder::on(area)
            .caption(&panel.title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(45)
            .build_cartesian_2d(lo..hi, 0.0..1.0)
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc("fraction of runs")
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        for (i, (name, values)) in panel.series.iter().enumerate() {
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let n = sorted.len() as f64;
            let points: Vec<(f64, f64)> = sorted
                .iter()
                .enumerate()
                .flat_map(|(k, &v)| [(v, k as f64 / n), (v, (k + 1) as f64 / n)])
                .collect();
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(|e| anyhow!("{e}"))?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
    }
    root.present().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}
