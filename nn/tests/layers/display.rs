//! `Display`: the canonical spec.

use super::*;

#[test]
fn display_gives_the_canonical_spec() {
    let d = Conv2dOptions::default;
    let p = Pool2dOptions::new;
    let cases: Vec<(Box<dyn Module<f64>>, &str)> = vec![
        (
            Box::new(conv(1, 16, [3, 3], d().padding(1), true, 0)),
            "conv2d(1,16,3,padding=1)",
        ),
        (
            Box::new(conv(3, 8, [3, 5], d().stride(2), false, 0)),
            "conv2d(3,8,(3,5),stride=2,bias=False)",
        ),
        (
            Box::new(conv(
                4,
                8,
                [3, 3],
                d().stride2([1, 2]).padding2([1, 0]).dilation(2).groups(2),
                true,
                0,
            )),
            "conv2d(4,8,3,stride=(1,2),padding=(1,0),dilation=2,groups=2)",
        ),
        (Box::new(maxpool(p(2))), "maxpool2d(2)"),
        (
            Box::new(maxpool(p(3).stride(1).padding(1))),
            "maxpool2d(3,stride=1,padding=1)",
        ),
        (Box::new(avgpool(p(2))), "avgpool2d(2)"),
        (
            Box::new(avgpool(Pool2dOptions::new2([2, 3]).stride(1))),
            "avgpool2d((2,3),stride=1)",
        ),
        (Box::new(ReLU), "relu"),
        (Box::new(Sigmoid), "sigmoid"),
        (Box::new(Tanh), "tanh"),
        (
            Box::new(LeakyReLU {
                negative_slope: 0.2,
            }),
            "leakyrelu(negative_slope=0.2)",
        ),
        (Box::new(LeakyReLU::default()), "leakyrelu"),
        (Box::new(Softmax { dim: 1 }), "softmax(dim=1)"),
        (Box::new(LogSoftmax { dim: 0 }), "logsoftmax(dim=0)"),
        (Box::new(Flatten::default()), "flatten"),
        (
            Box::new(Flatten {
                start_dim: 2,
                end_dim: -1,
            }),
            "flatten(start_dim=2)",
        ),
        (
            Box::new(Flatten {
                start_dim: 0,
                end_dim: 2,
            }),
            "flatten(start_dim=0,end_dim=2)",
        ),
        (
            Box::new(BatchNorm2d::<f64>::new(16, 1e-5, 0.1, true).unwrap()),
            "batchnorm2d(16)",
        ),
        (
            Box::new(BatchNorm2d::<f64>::new(8, 1e-3, 0.01, false).unwrap()),
            "batchnorm2d(8,eps=0.001,momentum=0.01,affine=False)",
        ),
        (Box::new(Dropout::new(0.2).unwrap()), "dropout(p=0.2)"),
        (Box::new(Dropout::new(0.5).unwrap()), "dropout"),
        (
            Box::new(Linear::<f64>::new(1568, 10, true, &mut rng(0))),
            "linear(1568,10)",
        ),
        (
            Box::new(Linear::<f64>::new(4, 2, false, &mut rng(0))),
            "linear(4,2,bias=False)",
        ),
    ];
    for (layer, spec) in &cases {
        assert_eq!(layer.to_string(), *spec);
    }
    // A Sequential joins its layers' specs with ", ".
    let mut model = Sequential::<f64>::new();
    for (layer, _) in cases.into_iter().take(4) {
        model.push_boxed(layer);
    }
    assert_eq!(
        model.to_string(),
        "conv2d(1,16,3,padding=1), conv2d(3,8,(3,5),stride=2,bias=False), \
         conv2d(4,8,3,stride=(1,2),padding=(1,0),dilation=2,groups=2), maxpool2d(2)"
    );
    assert_eq!(format!("{model:?}"), format!("Sequential({model})"));
    assert_eq!(Sequential::<f64>::new().to_string(), "");
    assert_eq!(
        pytorch_order_model().to_string(),
        "conv2d(1,4,3,padding=1), relu, batchnorm2d(4), flatten, linear(64,3)"
    );
}
