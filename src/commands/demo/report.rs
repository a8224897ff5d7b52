//! Scores every method on the held-out images' ground-truth masks with `smoothgrad::metrics`,
//! writes `metrics.json` and prints a table.
//!
//! Per method, averaged over the images: energy in the mask and the pointing game (1 px of
//! tolerance) of the channel-summed absolute map; deletion and insertion AUC of the target's
//! softmax probability (RISE's protocol, 32 steps); and the Spearman rank correlation between the
//! map and the map of the same model with freshly re-initialised weights (Adebayo et al.'s sanity
//! check: lower is better, a method that ignores the model scores 1).

use std::path::Path;

use serde_json::{json, Map, Value};
use smoothgrad::metrics::{
    energy_in_mask, pointing_game, randomize_parameters, reduce_abs_channels, spearman, Deletion,
    Insertion,
};
use smoothgrad_nn::Sequential;

use super::methods::{self, METHODS};
use super::train::Trained;
use super::Plan;
use crate::error::{CliError, Result};

/// The five scores of one method, averaged over images.
#[derive(Clone, Debug, Default)]
pub struct Scores {
    pub energy_in_mask: f64,
    pub pointing_game: f64,
    pub deletion_auc: f64,
    pub insertion_auc: f64,
    pub randomization_spearman: f64,
}

/// Computes every method's scores on the first `plan.metric_images` held-out images.
pub fn evaluate(trained: &Trained, plan: &Plan, seed: u64) -> Result<Vec<(&'static str, Scores)>> {
    let n = plan.metric_images.min(trained.test.len());
    println!("scoring the methods on {n} held-out images with known object masks");
    let images = trained.test.images.select_rows(0..n);
    let targets = &trained.test.labels[..n];
    let maps = methods::attributions(&trained.model, &images, targets, seed)?;
    let mut random: Sequential = Sequential::from_spec(&trained.model.to_string())?;
    randomize_parameters(&mut random, seed.wrapping_add(17));
    let random_maps = methods::attributions(&random, &images, targets, seed)?;

    let [_, c, h, w] = <[usize; 4]>::try_from(images.shape()).expect("NCHW images");
    let len = c * h * w;
    let (deletion, insertion) = (Deletion::default(), Insertion::default());
    let mut all = Vec::new();
    for ((key, _), (m, r)) in METHODS.iter().zip(maps.iter().zip(&random_maps)) {
        let mut s = Scores::default();
        for (i, &target) in targets.iter().enumerate() {
            let map = reduce_abs_channels(&m.data()[i * len..(i + 1) * len], c, h, w);
            let random_map = reduce_abs_channels(&r.data()[i * len..(i + 1) * len], c, h, w);
            let mask = trained.test.mask(i);
            let image = trained.test.image(i);
            s.energy_in_mask += energy_in_mask(&map, mask);
            s.pointing_game += f64::from(u8::from(pointing_game(&map, mask, h, w, 1.0)));
            s.deletion_auc += deletion.curve(&trained.model, &image, &map, target)?.auc;
            s.insertion_auc += insertion.curve(&trained.model, &image, &map, target)?.auc;
            s.randomization_spearman += spearman(&map, &random_map);
        }
        for v in [
            &mut s.energy_in_mask,
            &mut s.pointing_game,
            &mut s.deletion_auc,
            &mut s.insertion_auc,
            &mut s.randomization_spearman,
        ] {
            *v /= n as f64;
        }
        all.push((*key, s));
    }
    Ok(all)
}

/// `{"<method>": {"energy_in_mask": x, ...}, ...}`, pretty-printed, written atomically.
pub fn write_json(scores: &[(&str, Scores)], path: &Path) -> Result<()> {
    let mut root = Map::new();
    for (key, s) in scores {
        root.insert(
            key.to_string(),
            json!({
                "energy_in_mask": s.energy_in_mask,
                "pointing_game": s.pointing_game,
                "deletion_auc": s.deletion_auc,
                "insertion_auc": s.insertion_auc,
                "randomization_spearman": s.randomization_spearman,
            }),
        );
    }
    let text = serde_json::to_string_pretty(&Value::Object(root)).expect("JSON of numbers");
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text + "\n")
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| CliError::failure(format!("cannot write {}: {e}", path.display())))
}

/// The scores as an aligned table.
pub fn print_table(scores: &[(&str, Scores)]) {
    println!(
        "\n{:<22} {:>9} {:>9} {:>9} {:>9} {:>11}",
        "method", "energy^", "pointing^", "delete_v", "insert^", "random_v"
    );
    for (key, s) in scores {
        println!(
            "{key:<22} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>11.3}",
            s.energy_in_mask,
            s.pointing_game,
            s.deletion_auc,
            s.insertion_auc,
            s.randomization_spearman
        );
    }
    println!(
        "(^ higher is better, v lower is better; random = Spearman with a re-initialised model)"
    );
}
