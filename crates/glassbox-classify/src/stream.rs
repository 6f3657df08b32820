//! Classifier windows over streamed text. The windowing itself lives in
//! [`glassbox_core::windows`] (the tower layer drives it without depending on ONNX Runtime); it is
//! re-exported here for users of this crate.

pub use glassbox_core::windows::{StreamWindow, StreamWindowConfig, StreamWindows};
