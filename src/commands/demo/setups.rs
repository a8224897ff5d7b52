//! The candidate setups of the demo's experiment: a dataset and a model each. The README's setup
//! log lists their results on seeds 100 and up (`smoothgrad demo --setup NAME --seeds 100,101,102`
//! reproduces a row); [`CHOSEN`] is the one the demo runs, chosen on those seeds alone, and the
//! demo reports it on seeds 0, 1 and 2, fixed before the choice.

use smoothgrad::datasets::scenes::ScenesConfig;

/// A dataset and a model to train on it.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    /// The name `--setup` takes.
    pub name: &'static str,
    /// One line for the README and the report.
    pub summary: &'static str,
    /// The scenes' settings.
    pub scenes: ScenesConfig,
    /// The model's spec (a `Sequential`; its outputs are the logits).
    pub spec: &'static str,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Passes over the training images in the full run.
    pub epochs: usize,
    /// Training images in the full run.
    pub train_images: usize,
    /// Images per training step.
    pub batch_size: usize,
}

/// The 3-layer CNN of the first demo (no BatchNorm), widened to 64x64 inputs.
const SHALLOW: &str = "conv2d(3,16,3,padding=1), relu, maxpool2d(2), conv2d(16,32,3,padding=1), \
    relu, maxpool2d(2), conv2d(32,64,3,padding=1), relu, maxpool2d(2), avgpool2d(8), flatten, \
    linear(64,4)";

/// A plain CNN with BatchNorm: five conv layers (8-16-32-32-64 channels), pooled down to 8x8,
/// then global pooling.
const PLAIN_BN: &str = "conv2d(3,8,3,padding=1,bias=False), batchnorm2d(8), relu, maxpool2d(2), \
    conv2d(8,16,3,padding=1,bias=False), batchnorm2d(16), relu, maxpool2d(2), \
    conv2d(16,32,3,padding=1,bias=False), batchnorm2d(32), relu, \
    conv2d(32,32,3,padding=1,bias=False), batchnorm2d(32), relu, maxpool2d(2), \
    conv2d(32,64,3,padding=1,bias=False), batchnorm2d(64), relu, avgpool2d(8), flatten, \
    linear(64,4)";

/// [`PLAIN_BN`] with global max pooling instead of global average pooling: the class score is
/// the strongest local evidence anywhere, which the distractors and the background cannot dilute.
const PLAIN_BN_MAX: &str =
    "conv2d(3,8,3,padding=1,bias=False), batchnorm2d(8), relu, maxpool2d(2), \
    conv2d(8,16,3,padding=1,bias=False), batchnorm2d(16), relu, maxpool2d(2), \
    conv2d(16,32,3,padding=1,bias=False), batchnorm2d(32), relu, \
    conv2d(32,32,3,padding=1,bias=False), batchnorm2d(32), relu, maxpool2d(2), \
    conv2d(32,64,3,padding=1,bias=False), batchnorm2d(64), relu, maxpool2d(8), flatten, \
    linear(64,4)";

/// A small ResNet: a strided stem, then three stages of one BasicBlock each (torchvision's
/// layout, 8-16-32 channels at 32x32, 16x16 and 8x8), global pooling and a linear classifier.
const RESNET: &str = "conv2d(3,8,5,stride=2,padding=2,bias=False), batchnorm2d(8), relu, \
    residual(conv2d(8,8,3,padding=1,bias=False), batchnorm2d(8), relu, \
        conv2d(8,8,3,padding=1,bias=False), batchnorm2d(8), after=relu), \
    residual(conv2d(8,16,3,stride=2,padding=1,bias=False), batchnorm2d(16), relu, \
        conv2d(16,16,3,padding=1,bias=False), batchnorm2d(16), \
        downsample=(conv2d(8,16,1,stride=2,bias=False), batchnorm2d(16)), after=relu), \
    residual(conv2d(16,32,3,stride=2,padding=1,bias=False), batchnorm2d(32), relu, \
        conv2d(32,32,3,padding=1,bias=False), batchnorm2d(32), \
        downsample=(conv2d(16,32,1,stride=2,bias=False), batchnorm2d(32)), after=relu), \
    avgpool2d(8), flatten, linear(32,4)";

/// Every candidate in the code, each tried on seed 100 (the README's log also
/// lists two earlier variants, wider and with distractors as large as the target, that did not
/// train within the budget).
pub const SETUPS: [Setup; 5] = [
    Setup {
        name: "shallow",
        summary: "3-layer CNN without BatchNorm on 64x64 scenes with two distractors",
        scenes: SCENES,
        spec: SHALLOW,
        learning_rate: 3e-3,
        epochs: 5,
        train_images: 3000,
        batch_size: 16,
    },
    Setup {
        name: "plain-bn",
        summary: "5-layer plain CNN with BatchNorm on 64x64 scenes with two distractors",
        scenes: SCENES,
        spec: PLAIN_BN,
        learning_rate: 3e-3,
        epochs: 5,
        train_images: 3000,
        batch_size: 16,
    },
    Setup {
        name: "plain-bn-b8",
        summary: "5-layer plain CNN with BatchNorm on 64x64 scenes with two distractors, batches of 8, 6 epochs",
        scenes: SCENES,
        spec: PLAIN_BN,
        learning_rate: 2e-3,
        epochs: 6,
        train_images: 3000,
        batch_size: 8,
    },
    Setup {
        name: "plain-bn-max",
        summary: "5-layer plain CNN with BatchNorm and global max pooling on 64x64 scenes with \
                  two distractors",
        scenes: SCENES,
        spec: PLAIN_BN_MAX,
        learning_rate: 3e-3,
        epochs: 5,
        train_images: 3000,
        batch_size: 16,
    },
    Setup {
        name: "resnet",
        summary: "small ResNet (strided stem, 3 BasicBlocks) on 64x64 scenes with two distractors",
        scenes: SCENES,
        spec: RESNET,
        learning_rate: 3e-3,
        epochs: 5,
        train_images: 3000,
        batch_size: 16,
    },
];

/// The scenes of most candidates: the dataset's defaults.
const SCENES: ScenesConfig = ScenesConfig {
    size: 64,
    radius: (9.0, 14.0),
    distractor_radius: (4.0, 8.0),
    distractors: 2,
    noise: 0.05,
    texture: 0.3,
};

/// The setup the demo runs.
pub const CHOSEN: &str = "plain-bn-max";

/// SmoothGrad's noise level in the demo, relative to each input's range (`--noise` in percent
/// overrides it): 10%, chosen by the README's second rule on seeds 103-105 (the lowest mean
/// SmoothGrad scatter among the levels whose mean energy in the mask and pointing game are not
/// below the gradient's).
pub const CHOSEN_NOISE: f64 = 0.10;

/// The setup named `name`.
pub fn find(name: &str) -> Option<&'static Setup> {
    SETUPS.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoothgrad_nn::{Module, Sequential};

    #[test]
    fn every_setup_builds_and_maps_its_images_to_four_logits() {
        assert!(find(CHOSEN).is_some());
        for s in &SETUPS {
            let model: Sequential = Sequential::from_spec(s.spec).unwrap();
            let n = s.scenes.size;
            assert_eq!(
                model.output_shape(&[2, 3, n, n]).unwrap(),
                vec![2, 4],
                "{}",
                s.name
            );
        }
        assert_eq!(SCENES, ScenesConfig::default());
    }
}
