//! The `smoothgrad` command. The demo, `explain`, `render` and `bench` arrive with the CLI issue.

fn main() {
    println!(
        "smoothgrad-rs: the demo and the CLI are not built yet; run `cargo test --workspace`."
    );
}
