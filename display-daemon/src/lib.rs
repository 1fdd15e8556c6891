//! placeholder

pub mod sse;
pub mod voice;
