//! "Did you mean" for unknown layer and keyword names.

/// The candidate `word` most likely stands for: the same name up to case and underscores
/// (`MaxPool2d`, `max_pool2d`), one it begins (`kernel` for `kernel_size`), or the nearest by
/// edit distance when that is small (`conv2`, `bais`).
pub(super) fn suggest<'n>(
    word: &str,
    candidates: impl Iterator<Item = &'n str> + Clone,
) -> Option<&'n str> {
    let fold = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let folded = fold(word);
    let prefix_of = |c: &str| folded.len() >= 3 && fold(c).starts_with(&folded);
    if let Some(c) = candidates
        .clone()
        .find(|c| fold(c) == folded)
        .or_else(|| candidates.clone().find(|c| prefix_of(c)))
    {
        return Some(c);
    }
    candidates
        .map(|c| (edit_distance(&folded, &fold(c)), c))
        .filter(|(d, c)| *d <= (c.len().max(folded.chars().count()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The optimal-string-alignment distance: insertions, deletions, substitutions and swaps of
/// neighbours (so `bais` is 1 from `bias`).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut rows = vec![(0..=b.len()).collect::<Vec<_>>()];
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let prev = &rows[i - 1];
            row[j] = (prev[j] + 1).min(row[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(rows[i - 2][j - 2] + 1);
            }
        }
        rows.push(row);
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::bind::SIGNATURES;

    #[test]
    fn spec_suggest_edit_distance() {
        assert_eq!(edit_distance("bais", "bias"), 1);
        assert_eq!(edit_distance("conv2", "conv2d"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn spec_suggest_layer_names() {
        let layers = || SIGNATURES.iter().map(|s| s.name);
        for (typo, known) in [
            ("Conv2d", "conv2d"),
            ("max_pool2d", "maxpool2d"),
            ("MaxPool2d", "maxpool2d"),
            ("LeakyReLU", "leakyrelu"),
            ("conv2", "conv2d"),
            ("lineer", "linear"),
            ("batchnorm", "batchnorm2d"),
            ("sigmod", "sigmoid"),
        ] {
            assert_eq!(suggest(typo, layers()), Some(known), "{typo}");
        }
        assert_eq!(suggest("dense", layers()), None);
        assert_eq!(suggest("x", layers()), None);
    }
}
