//! The `Backend` seam (TEI's design): something that scores a padded batch of token rows. The
//! ort backend runs an ONNX graph; the test backend is deterministic and records the batches it
//! saw, so queue and windowing behaviour can be tested without a model.

mod ort;
mod test;

pub use self::ort::{init_runtime, OrtBackend};
pub use self::test::{Gate, TestBackend, TestBackendLog};

use crate::BackendError;

/// A padded batch: `rows` rows of `seq_len` tokens each, row-major.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Token ids.
    pub input_ids: Vec<i64>,
    /// 1 for tokens, 0 for padding.
    pub attention_mask: Vec<i64>,
    /// Rows in the batch.
    pub rows: usize,
    /// Tokens per row (padding included).
    pub seq_len: usize,
}

impl Batch {
    /// Builds a batch from unpadded rows. `left` pads before the tokens; `pad_to` is the row
    /// length (at least the longest row).
    pub fn from_rows(rows: &[&[u32]], pad_to: usize, pad_id: u32, left: bool) -> Batch {
        let seq_len = rows.iter().map(|r| r.len()).max().unwrap_or(0).max(pad_to);
        let mut b = Batch {
            input_ids: Vec::with_capacity(rows.len() * seq_len),
            attention_mask: Vec::with_capacity(rows.len() * seq_len),
            rows: rows.len(),
            seq_len,
        };
        for r in rows {
            let pad = seq_len - r.len();
            let push_pad = |b: &mut Batch| {
                b.input_ids
                    .extend(std::iter::repeat_n(i64::from(pad_id), pad));
                b.attention_mask.extend(std::iter::repeat_n(0, pad));
            };
            if left {
                push_pad(&mut b);
            }
            b.input_ids.extend(r.iter().map(|&t| i64::from(t)));
            b.attention_mask.extend(std::iter::repeat_n(1, r.len()));
            if !left {
                push_pad(&mut b);
            }
        }
        b
    }

    /// Padded tokens in the batch (the work it costs).
    pub fn padded_tokens(&self) -> usize {
        self.rows * self.seq_len
    }
}

/// Scores batches. One backend instance is owned by one worker thread.
pub trait Backend: Send + 'static {
    /// Scores every row: `rows` vectors of one score in `[0, 1]` per label.
    ///
    /// # Errors
    /// [`BackendError`] when the model fails; every request in the batch gets the error.
    fn predict(&mut self, batch: &Batch) -> Result<Vec<Vec<f32>>, BackendError>;
}

#[cfg(test)]
mod tests {
    use super::Batch;

    /// (rows, pad_to, left, ids, mask, seq_len)
    type Case = (
        &'static [&'static [u32]],
        usize,
        bool,
        &'static [i64],
        &'static [i64],
        usize,
    );

    #[test]
    fn rows_are_padded_on_the_requested_side_to_the_longest_or_fixed_length() {
        let cases: &[Case] = &[
            (
                &[&[5, 6, 7], &[8]],
                0,
                false,
                &[5, 6, 7, 8, 0, 0],
                &[1, 1, 1, 1, 0, 0],
                3,
            ),
            (
                &[&[5, 6, 7], &[8]],
                0,
                true,
                &[5, 6, 7, 0, 0, 8],
                &[1, 1, 1, 0, 0, 1],
                3,
            ),
            (
                &[&[5], &[8, 9]],
                4,
                true,
                &[0, 0, 0, 5, 0, 0, 8, 9],
                &[0, 0, 0, 1, 0, 0, 1, 1],
                4,
            ),
            (&[&[5, 6]], 1, false, &[5, 6], &[1, 1], 2),
        ];
        for (rows, pad_to, left, ids, mask, seq_len) in cases {
            let b = Batch::from_rows(rows, *pad_to, 0, *left);
            assert_eq!(b.input_ids, *ids, "{rows:?} left={left}");
            assert_eq!(b.attention_mask, *mask, "{rows:?} left={left}");
            assert_eq!((b.rows, b.seq_len), (rows.len(), *seq_len));
            assert_eq!(b.padded_tokens(), rows.len() * seq_len);
        }
    }
}
