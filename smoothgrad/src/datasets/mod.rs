//! Synthetic datasets with ground truth for evaluating explanations.

pub mod scenes;
pub mod shapes;

use smoothgrad_autograd::Tensor;

/// `n` generated images of `3 x size x size`, `scene(i)` giving image `i`'s pixels (CHW), label
/// and mask: the batch `[n, 3, size, size]`, the labels and the masks, concatenated in order.
fn render(
    n: usize,
    size: usize,
    scene: impl Fn(usize) -> (Vec<f32>, usize, Vec<bool>),
) -> (Tensor<f32>, Vec<usize>, Vec<bool>) {
    let mut data = Vec::with_capacity(n * 3 * size * size);
    let mut labels = Vec::with_capacity(n);
    let mut masks = Vec::with_capacity(n * size * size);
    for i in 0..n {
        let (img, label, mask) = scene(i);
        data.extend(img);
        labels.push(label);
        masks.extend(mask);
    }
    let images = Tensor::from_vec(data, &[n, 3, size, size]).expect("n scenes of 3 x s x s");
    (images, labels, masks)
}
