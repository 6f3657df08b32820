//! Served-model licences.
