//! Bridges from other demand-response APIs into OpenADR: for now, Voltus.

pub mod voltus;
