//! The demo's results: `metrics.json`, the table printed at the end, and `report.html`, one
//! self-contained page with every figure and plot embedded as a base64 `data:` URI.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::methods::METHODS;
use super::scores::{mean_std, MethodScores};
use super::sweeps::NoisePoint;
use crate::error::{CliError, Result};

/// One run's scores: a seed (or the user's model) and every method's [`MethodScores`].
pub struct Run {
    /// What the run was: "seed 0", or the model's file name.
    pub name: String,
    /// The scores, in [`METHODS`] order.
    pub scores: Vec<MethodScores>,
}

/// The metrics of [`MethodScores`]: `(key, heading, getter)`.
type Getter = fn(&MethodScores) -> Option<f64>;
const METRICS: [(&str, &str, Getter); 6] = [
    ("energy_in_mask", "energy in mask ↑", |s| s.energy_in_mask),
    ("pointing_game", "pointing game ↑", |s| s.pointing_game),
    ("deletion_auc", "deletion AUC ↓", |s| Some(s.deletion_auc)),
    ("insertion_auc", "insertion AUC ↑", |s| {
        Some(s.insertion_auc)
    }),
    ("randomization_spearman", "randomization ↓", |s| {
        s.randomization_spearman
    }),
    ("scatter", "scatter ↓", |s| Some(s.scatter)),
];

/// Metric `get` of method `m` over the runs, when every run has it.
fn values(runs: &[Run], m: usize, get: Getter) -> Option<Vec<f64>> {
    runs.iter().map(|r| get(&r.scores[m])).collect()
}

/// `{"<method>": {"<metric>": x or {"mean", "std", "per_seed"}, ...}, ...}`: a number for one
/// run, mean and sample standard deviation over several.
pub fn metrics_json(runs: &[Run]) -> Value {
    let mut root = Map::new();
    for (m, (key, _)) in METHODS.iter().enumerate() {
        let mut entry = Map::new();
        for (metric, _, get) in METRICS {
            let Some(v) = values(runs, m, get) else {
                continue;
            };
            let value = if v.len() == 1 {
                json!(v[0])
            } else {
                let (mean, std) = mean_std(&v);
                json!({"mean": mean, "std": std, "per_seed": v})
            };
            entry.insert(metric.to_string(), value);
        }
        root.insert(key.to_string(), Value::Object(entry));
    }
    Value::Object(root)
}

/// The scores-against-noise sweep as JSON: `{"noise_percent": [..], "energy_in_mask":
/// {"mean": [..], "std": [..], "<run>": [..], ..}, "pointing_game": {..}, "scatter": {..}}`, one
/// value per noise level (0% is the gradient); mean and sample standard deviation over the runs.
pub fn noise_sweep_json(levels: &[f64], runs: &[Run], sweep: &[Vec<NoisePoint>]) -> Value {
    let mut root = Map::new();
    let percent: Vec<f64> = levels.iter().map(|l| 100.0 * l).collect();
    root.insert("noise_percent".into(), json!(percent));
    for (metric, pick) in NoisePoint::METRICS {
        let mut entry = Map::new();
        let stats: Vec<(f64, f64)> = (0..levels.len())
            .map(|i| mean_std(&sweep.iter().map(|s| pick(&s[i])).collect::<Vec<_>>()))
            .collect();
        entry.insert(
            "mean".into(),
            json!(stats.iter().map(|s| s.0).collect::<Vec<_>>()),
        );
        entry.insert(
            "std".into(),
            json!(stats.iter().map(|s| s.1).collect::<Vec<_>>()),
        );
        for (run, values) in runs.iter().zip(sweep) {
            entry.insert(
                run.name.clone(),
                json!(values.iter().map(pick).collect::<Vec<_>>()),
            );
        }
        root.insert(metric.into(), Value::Object(entry));
    }
    Value::Object(root)
}

/// Writes `text` to `path` through a temporary file, so no partial file is left.
pub fn write_atomic(path: &Path, text: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| CliError::failure(format!("cannot write {}: {e}", path.display())))
}

/// `x` or `mean ± std` of metric `get` of method `m`, with 3 decimals.
fn cell(runs: &[Run], m: usize, get: Getter) -> Option<String> {
    let v = values(runs, m, get)?;
    let (mean, std) = mean_std(&v);
    Some(if v.len() == 1 {
        format!("{mean:.3}")
    } else {
        format!("{mean:.3} ± {std:.3}")
    })
}

/// The metrics present in every run.
fn present(runs: &[Run]) -> Vec<(&'static str, &'static str, Getter)> {
    METRICS
        .into_iter()
        .filter(|(_, _, get)| values(runs, 0, *get).is_some())
        .collect()
}

/// Prints the scores as an aligned table (mean ± sample std over the runs).
pub fn print_table(runs: &[Run]) {
    let metrics = present(runs);
    print!("\n{:<22}", "method");
    for (_, heading, _) in &metrics {
        print!(" {heading:>17}");
    }
    println!();
    for (m, (key, _)) in METHODS.iter().enumerate() {
        print!("{key:<22}");
        for (_, _, get) in &metrics {
            print!(" {:>17}", cell(runs, m, *get).unwrap_or_default());
        }
        println!();
    }
    let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    println!(
        "(mean ± sample std over {}; ↑ higher is better, ↓ lower)",
        names.join(", ")
    );
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Escapes `&`, `<` and `>` for HTML text.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// What the report shows besides the table.
pub struct Page<'a> {
    /// The heading.
    pub title: &'a str,
    /// Paragraphs about the run (plain text).
    pub notes: Vec<String>,
    /// `(caption, PNG file)` of each figure and plot, in order.
    pub pictures: Vec<(String, PathBuf)>,
}

/// Writes the self-contained report page to `path`.
pub fn write_html(page: &Page<'_>, runs: &[Run], path: &Path) -> Result<()> {
    let mut html =
        String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    html += &format!("<title>{}</title>\n", escape(page.title));
    html += "<style>body{font-family:sans-serif;max-width:1500px;margin:2em auto;padding:0 1em;\
             color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;\
             padding:4px 10px;text-align:right}th{background:#eee}td:first-child{text-align:left}\
             figure{margin:2em 0}img{max-width:100%;border:1px solid #ddd}\
             figcaption{font-size:0.95em;color:#444;margin-top:0.3em}</style></head><body>\n";
    html += &format!("<h1>{}</h1>\n", escape(page.title));
    for note in &page.notes {
        html += &format!("<p>{}</p>\n", escape(note));
    }
    let metrics = present(runs);
    html += "<h2>Metrics</h2>\n<table><tr><th>method</th>";
    for (_, heading, _) in &metrics {
        html += &format!("<th>{}</th>", escape(heading));
    }
    html += "</tr>\n";
    for (m, (key, _)) in METHODS.iter().enumerate() {
        html += &format!("<tr><td>{key}</td>");
        for (_, _, get) in &metrics {
            html += &format!(
                "<td>{}</td>",
                escape(&cell(runs, m, *get).unwrap_or_default())
            );
        }
        html += "</tr>\n";
    }
    let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    html += &format!(
        "</table>\n<p>Mean ± sample standard deviation over {}.</p>\n",
        escape(&names.join(", "))
    );
    for (caption, file) in &page.pictures {
        let bytes = std::fs::read(file)
            .map_err(|e| CliError::failure(format!("cannot read {}: {e}", file.display())))?;
        html += &format!(
            "<figure><img alt=\"{0}\" src=\"data:image/png;base64,{1}\"><figcaption>{0}\
             </figcaption></figure>\n",
            escape(caption),
            base64(&bytes)
        );
    }
    html += "</body></html>\n";
    write_atomic(path, html.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_test_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn noise_sweep_json_has_each_run_and_the_mean_per_level() {
        let run = |name: &str| Run {
            name: name.into(),
            scores: vec![],
        };
        let point = |energy, pointing, scatter| NoisePoint {
            energy,
            pointing,
            scatter,
        };
        let sweep = vec![
            vec![point(0.25, 1.0, 2.0), point(0.5, 0.0, 1.0)],
            vec![point(0.75, 0.0, 1.0), point(0.5, 0.0, 0.5)],
        ];
        let v = noise_sweep_json(&[0.0, 0.1], &[run("seed 0"), run("seed 1")], &sweep);
        assert_eq!(v["noise_percent"], json!([0.0, 10.0]));
        assert_eq!(v["energy_in_mask"]["seed 1"], json!([0.75, 0.5]));
        assert_eq!(v["energy_in_mask"]["mean"], json!([0.5, 0.5]));
        assert_eq!(v["pointing_game"]["mean"], json!([0.5, 0.0]));
        assert_eq!(v["scatter"]["mean"], json!([1.5, 0.75]));
        assert_eq!(v["scatter"]["seed 0"], json!([2.0, 1.0]));
        let std = v["pointing_game"]["std"][0].as_f64().unwrap();
        assert!((std - 0.5f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn json_has_a_number_for_one_run_and_mean_std_for_several() {
        let scores = |e: f64| MethodScores {
            energy_in_mask: Some(e),
            ..MethodScores::default()
        };
        let run = |e: f64| Run {
            name: "x".into(),
            scores: vec![scores(e); METHODS.len()],
        };
        let one = metrics_json(&[run(0.5)]);
        assert_eq!(one["gradient"]["energy_in_mask"], json!(0.5));
        assert!(one["gradient"].get("pointing_game").is_none());
        let two = metrics_json(&[run(0.25), run(0.75)]);
        assert_eq!(two["vargrad"]["energy_in_mask"]["mean"], json!(0.5));
        let std = two["vargrad"]["energy_in_mask"]["std"].as_f64().unwrap();
        assert!((std - (0.125f64).sqrt()).abs() < 1e-12);
    }
}
