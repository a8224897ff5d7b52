//! The project's four benchmark workloads (mlp, lenet, cifar, vgg64), as the peer benchmarks run them: the
//! same layers, He-initialised weights from a seed, uniform `[0, 1)` inputs, and the forward FLOPs
//! the peers count. Shared by the `bench` command and the criterion benches.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smoothgrad_autograd::Tensor;
use smoothgrad_nn::{Module, Sequential, StateKind};

/// A workload: its name, input shape (CHW) and spec.
pub struct WorkloadDef {
    /// As the peers name it.
    pub name: &'static str,
    /// One input, `[C, H, W]`.
    pub input: [usize; 3],
    /// The layers, as a spec string.
    pub spec: &'static str,
}

/// All four, in the peers' order.
pub const WORKLOADS: [WorkloadDef; 4] = [
    WorkloadDef {
        name: "mlp",
        input: [1, 28, 28],
        spec: "flatten, linear(784,256), relu, linear(256,256), relu, linear(256,10)",
    },
    WorkloadDef {
        name: "lenet",
        input: [1, 28, 28],
        spec: "conv2d(1,16,3,padding=1), relu, maxpool2d(2), conv2d(16,32,3,padding=1), relu, \
               maxpool2d(2), flatten, linear(1568,10)",
    },
    WorkloadDef {
        name: "cifar",
        input: [3, 32, 32],
        spec: "conv2d(3,32,3,padding=1), relu, conv2d(32,32,3,padding=1), relu, maxpool2d(2), \
               conv2d(32,64,3,padding=1), relu, conv2d(64,64,3,padding=1), relu, maxpool2d(2), \
               flatten, linear(4096,128), relu, linear(128,10)",
    },
    WorkloadDef {
        name: "vgg64",
        input: [3, 64, 64],
        spec: "conv2d(3,32,3,padding=1), relu, maxpool2d(2), conv2d(32,64,3,padding=1), relu, \
               maxpool2d(2), conv2d(64,128,3,padding=1), relu, maxpool2d(2), \
               conv2d(128,128,3,padding=1), relu, maxpool2d(2), flatten, linear(2048,256), relu, \
               linear(256,10)",
    },
];

impl WorkloadDef {
    /// The workload by name.
    pub fn by_name(name: &str) -> Option<&'static WorkloadDef> {
        WORKLOADS.iter().find(|w| w.name == name)
    }

    /// The model with He-initialised weights, as `workloads.weights`: weights
    /// `N(0, 2 / fan_in)`, biases `N(0, 0.01^2)`, drawn from a ChaCha8 stream seeded with `seed`.
    pub fn model(&self, seed: u64) -> Sequential {
        let mut model = Sequential::from_spec(self.spec).expect("the workload specs are valid");
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        model.visit_state_mut(&mut |name, kind, t| {
            if kind != StateKind::Parameter {
                return;
            }
            let shape = t.shape().to_vec();
            let std = if name.ends_with("weight") {
                let fan_in: usize = shape[1..].iter().product();
                (2.0 / fan_in as f64).sqrt()
            } else {
                0.01
            };
            *t = Tensor::<f32>::randn(&shape, &mut rng).map(|z| z * std as f32);
        });
        model
    }

    /// `n` inputs `[n, C, H, W]` uniform on `[0, 1)`.
    pub fn inputs(&self, n: usize, seed: u64) -> Tensor {
        let [c, h, w] = self.input;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Tensor::uniform(&[n, c, h, w], 0.0, 1.0, &mut rng)
    }

    /// Multiply-adds x 2 of one forward pass of one sample, counted as the peers do (convolutions
    /// and linear layers only).
    pub fn forward_flops(&self) -> u64 {
        let model = self.model(0);
        let mut shape = vec![1, self.input[0], self.input[1], self.input[2]];
        let mut flops = 0u64;
        for layer in model.layers() {
            let next = layer
                .output_shape(&shape)
                .expect("the workloads fit their inputs");
            let mut weight = None;
            layer.visit_state(&mut |name, _, t| {
                if name == "weight" {
                    weight = Some(t.shape().to_vec());
                }
            });
            if let Some(w) = weight {
                let per_output: usize = w[1..].iter().product();
                let outputs: usize = next[1..].iter().product();
                flops += 2 * (per_output * outputs) as u64;
            }
            shape = next;
        }
        flops
    }
}
